"""Upload page (editors only): check a GeoJSON or zipped shapefile, preview the changes, publish a new version."""

from __future__ import annotations

import datetime as dt
import hashlib

import streamlit as st

from ui import auth, data, state, widgets
from urban_plan import display, ingest, problems, publishing, store
from urban_plan.i18n import label, t

lang = state.lang()
st.title(t("upload.title", lang))
actor = auth.current_actor()
if actor is None:  # the page is only in the navigation for editors; a direct call still stops here
    st.error(t("upload.login_needed", lang))
    st.stop()

# Project layers are what planners update most: offer them first.
writable = [name for name in ("projects", "roads", "rail", "layout", "context") if actor.may_write(name)]
layer = st.selectbox(t("upload.layer", lang), writable, format_func=lambda code: label("layer", code, lang))
uploaded = st.file_uploader(t("upload.file", lang), type=["geojson", "json", "zip"], help=t("upload.file_help", lang))
datum_choice = st.radio(
    t("upload.datum", lang),
    ["wgs84", "gcj02", "bd09"],
    horizontal=True,
    format_func=lambda code: t(f"upload.datum_{code}", lang),
    help=t("upload.datum_help", lang),
)
if uploaded is None:
    st.info(t("upload.hint", lang))
    st.stop()

raw = uploaded.getvalue()
digest = hashlib.sha256(raw).hexdigest()
map_key = f"field_map_{digest}"
repair = st.session_state.get(f"repair_{digest}", False)
item = data.preview(
    digest,
    uploaded.name,
    raw,
    ingest.Options(
        layer, datum=datum_choice, field_map=st.session_state.get(map_key), repair=repair, source_name=uploaded.name
    ),
)
result = item.result

st.subheader(t("upload.read", lang))
detected = display.detected_text(result.detected, lang) or "—"
widgets.plain(t("upload.detected", lang, features=result.feature_count, detected=detected))
if result.source_fields:
    with st.expander(t("upload.field_map", lang), expanded=bool(result.errors)):
        mapping_now = result.field_map
        edited = widgets.field_mapping_editor(
            result.source_fields[: ingest.MAX_PROPERTIES], mapping_now, f"fm_{digest}_{hash(str(mapping_now))}", lang
        )
        if edited != {k: mapping_now.get(k) for k in edited}:
            st.session_state[map_key] = {**mapping_now, **edited}
            st.rerun()
if result.problems:
    st.dataframe(problems.table(result.problems, lang), hide_index=True, width="stretch")
if result.invalid_geometry or repair:
    st.checkbox(t("upload.repair", lang, count=result.invalid_geometry), key=f"repair_{digest}")
if not result.ok:
    st.error(t("upload.fix_first", lang, count=len(result.errors)))
    st.stop()

st.subheader(t("upload.preview", lang))
changes = item.diff
old = data.store().load(layer, item.against.number) if item.against else None
widgets.change_preview(changes, old, result.collection, layer, lang)

st.subheader(t("upload.publish", lang))
as_of = st.date_input(
    t("upload.as_of", lang), value=dt.date.today(), max_value=dt.date.today(), help=t("upload.as_of_help", lang)
)
message = st.text_input(t("upload.message", lang), max_chars=500)
confirmed = True
if item.large_removal:
    st.warning(
        t(
            "store.needs_confirmation",
            lang,
            removed=len(changes.removed),
            before=changes.old_total,
            after=changes.new_total,
        )
    )
    confirmed = st.checkbox(t("upload.confirm_removal", lang))
if st.button(t("upload.publish_button", lang, base=item.base_number), type="primary", disabled=not confirmed):
    try:
        version = publishing.publish(
            data.store(), item, actor=actor, message=message, as_of=as_of, confirm_large_removal=confirmed
        )
    except store.StoreError as exc:
        st.error(problems.store_message(exc, lang))
    except OSError as exc:  # a read-only or full data folder: nothing was written, the upload stays on the page
        st.error(problems.write_error_message(exc, lang))
    else:
        st.success(t("upload.published", lang, layer=label("layer", layer, lang), number=version.number))
        st.page_link("app_pages/map.py", label=t("upload.see_map", lang), icon=":material/map:")
