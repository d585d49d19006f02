"""History page: every version of every layer (archived too), the registry and the documents; view, roll back."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from ui import auth, data, state, widgets
from urban_plan import diff, display, frame, mapping, problems, publishing, store, tables
from urban_plan.i18n import label, t
from urban_plan.registry import COLLECTION as REGISTRY
from urban_plan.registry import Registry

lang = state.lang()
s = data.store()
registry = s.registry()
st.title(t("history.title", lang))


def collection_name(code: str) -> str:
    """A layer by its registry name (archived ones marked: their history stays readable), else a document."""
    layer = registry.get(code)
    if layer is not None:
        return t("tables2.archived_layer", lang, name=layer.name(lang)) if layer.archived else layer.name(lang)
    return t("tables2.collection_layers", lang) if code == REGISTRY else label("layer", code, lang)


@st.cache_data(max_entries=8, show_spinner=False)
def version_changes(layer: str, number: int, base: int, sha256: str, root: str) -> diff.CollectionDiff:
    """What a version changed against the one it was based on: computed once per version."""
    del sha256, root  # cache key only
    return diff.diff_collections(s.load(layer, base) if base else None, s.load(layer, number))


collections = list(store.known_collections(s))
requested = st.query_params.get("layer")
default = (registry.progress_layers() or registry.ids() or (collections[0],))[0]
layer = st.selectbox(
    t("history.layer", lang),
    collections,
    index=collections.index(requested if requested in collections else default),
    format_func=collection_name,
    key=f"history_layer_{lang}",
)
st.query_params["layer"] = layer
is_layer = s.is_layer(layer)
versions = s.history(layer)
if not versions:
    st.info(t("store.no_versions", lang, collection=collection_name(layer)))
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
        file_name=f"{layer}-v{chosen}.{'geojson' if is_layer else 'json'}",
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
    if is_layer:
        definition = registry[layer]
        shown = frame.collection_frame(s.load(layer, chosen), layer)
        context = data.layers().context if definition.role != "base" else frame.empty_frame()
        options = state.map_options(colour_by="status")
        st_folium(
            mapping.base_map(context, options),
            key=f"history-map-{lang}",
            feature_group_to_add=mapping.overlay_groups(shown, options, layers=[layer]),
            layer_control=mapping.layer_control(),
            returned_objects=[],
            use_container_width=True,
            height=520,
        )
        changes = version_changes(layer, chosen, version.base, version.sha256, os.environ.get(store.DATA_DIR_ENV, ""))
        st.markdown(f"**{t('tables2.version_changes', lang, number=chosen)}**")
        if changes.is_empty:
            st.caption(t("tables2.no_changes", lang))
        else:
            before = s.load(layer, version.base) if version.base else None
            names = tables.feature_names(lang, before, s.load(layer, chosen))
            table = tables.change_table(changes, lang, definition, names)
            st.dataframe(table, hide_index=True, width="stretch")
    elif layer == REGISTRY:
        layers_then = Registry.from_payload(s.load(layer, chosen))
        st.dataframe(pd.DataFrame(tables.registry_rows(layers_then, lang)), hide_index=True, width="stretch")
    else:
        st.json(s.load(layer, chosen), expanded=False)
