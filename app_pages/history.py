"""History page: every version of a layer, viewable on the map, downloadable, and (for editors) restorable."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from ui import auth, data, state, widgets
from urban_plan import display, frame, mapping, problems, publishing, schema, store, tables
from urban_plan.i18n import label, t

lang = state.lang()
s = data.store()
st.title(t("history.title", lang))

layers = list(store.known_collections())
requested = st.query_params.get("layer")
layer = st.selectbox(
    t("history.layer", lang),
    layers,
    index=layers.index(requested) if requested in layers else 1,
    format_func=lambda code: label("layer", code, lang),
    key=f"history_layer_{lang}",
)
st.query_params["layer"] = layer
versions = s.history(layer)
if not versions:
    st.info(t("store.no_versions", lang, collection=label("layer", layer, lang)))
    st.stop()

current = s.current(layer)
rows = pd.DataFrame(tables.version_rows(versions, current, lang))
# Display only: the seeding script reads as what it is, a message in the reader's language, 第 3 版 for v3.
rows[t("history.col_version", lang)] = [display.version_text(v.number, lang) for v in reversed(versions)]
rows[t("history.col_author", lang)] = [display.author_text(v.author, lang) for v in reversed(versions)]
rows[t("history.col_message", lang)] = [display.local_text(v.message, lang) for v in reversed(versions)]
st.dataframe(rows, hide_index=True, width="stretch")
numbers = [v.number for v in reversed(versions)]
chosen = st.selectbox(
    t("history.version", lang), numbers, format_func=lambda n: display.version_text(n, lang), key=f"history_v_{layer}"
)
version = next(v for v in versions if v.number == chosen)
widgets.plain(
    t(
        "history.version_caption",
        lang,
        number=version.number,
        as_of=version.as_of,
        author=display.author_text(version.author, lang),
        saved=display.local_time(version.saved_at),
        message=display.local_text(version.message, lang),
    )
)

left, right = st.columns([3, 1], gap="medium")
with right:
    st.download_button(
        t("history.download", lang),
        data=s.load_bytes(layer, chosen),
        file_name=f"{layer}-v{chosen}.{'geojson' if layer in schema.LAYERS else 'json'}",
        mime="application/json",
    )
    actor = auth.current_actor()
    if actor and actor.may_write(layer) and chosen != versions[-1].number:
        st.divider()
        st.markdown(f"**{t('history.rollback', lang)}**")
        sure = st.checkbox(t("history.rollback_confirm", lang, number=chosen), key=f"rb_sure_{layer}_{chosen}")
        if st.button(t("history.rollback_button", lang, number=chosen), disabled=not sure, type="primary"):
            try:
                new = publishing.rollback(s, layer, chosen, actor=actor, base_version=versions[-1].number)
                st.success(t("history.rolled_back", lang, number=chosen, new=new.number))
                st.rerun()
            except store.StoreError as exc:
                st.error(problems.store_message(exc, lang))
            except OSError as exc:  # a read-only or full data folder: nothing was written
                st.error(problems.write_error_message(exc, lang))
with left:
    if layer in schema.LAYERS:
        shown = frame.collection_frame(s.load(layer, chosen), layer)
        context = data.layers().context if layer != "context" else frame.empty_frame()
        st_folium(
            mapping.base_map(context, state.map_options(colour_by="status")),
            key=f"history-map-{lang}",
            feature_group_to_add=mapping.overlay_groups(shown, state.map_options(colour_by="status"), layers=[layer]),
            layer_control=mapping.layer_control(),
            returned_objects=[],
            use_container_width=True,
            height=520,
        )
    else:
        st.json(s.load(layer, chosen), expanded=False)
