"""Upload page (editors only): any GIS file into a layer they may write or a new layer; check, preview, publish."""

from __future__ import annotations

import hashlib

import streamlit as st

from ui import auth, data, state, upload_form, widgets
from urban_plan import display, ingest
from urban_plan.i18n import t

lang = state.lang()
st.title(t("upload.title", lang))
actor = auth.current_actor()
if actor is None:  # the page is only in the navigation for editors; a direct call still stops here
    st.error(t("upload.login_needed", lang))
    st.stop()

target = upload_form.choose_target(actor, data.registry(), lang)
suffixes = sorted(ingest.SUPPORTED_SUFFIXES)
uploaded = st.file_uploader(
    t("uploadpage.file", lang),
    type=sorted({suffix.rsplit(".", 1)[-1] for suffix in suffixes}),  # the uploader matches the last suffix only
    help=t("uploadpage.file_help", lang, formats=" ".join(suffixes)),
    key=upload_form.FILE_KEY,
)
datum_choice = st.radio(
    t("upload.datum", lang),
    ["wgs84", "gcj02", "bd09"],
    horizontal=True,
    format_func=lambda code: t(f"upload.datum_{code}", lang),
    help=t("upload.datum_help", lang),
)
if target is None or uploaded is None:
    st.session_state.pop(upload_form.DRAFT_KEY, None)
    if uploaded is None:
        st.info(t("upload.hint", lang))
    st.stop()

raw = uploaded.getvalue()
digest = hashlib.sha256(raw).hexdigest()
keys = {k: f"{k}_{digest}_{target.layer.id}" for k in ("field_map", "repair", "id_from", "inside", "new_fields")}
chosen = upload_form.source_layer(uploaded.name, raw, digest, lang)
settings = st.expander(t("uploadpage.options", lang))
with settings:
    inside_only = st.checkbox(t("uploadpage.inside_only", lang), key=keys["inside"])
    set_values = upload_form.constants(target.layer, lang)
edited = upload_form.edited_fields(keys["new_fields"])
layer_def = upload_form.effective_layer(target, edited)
repair = st.session_state.get(keys["repair"], False)
options = ingest.Options(
    layer_def.id,
    datum=datum_choice,
    field_map=st.session_state.get(keys["field_map"]),
    repair=repair,
    source_name=uploaded.name,
    set_values=set_values,
    id_from=st.session_state.get(keys["id_from"]) or None,
    inside_only=inside_only,
    source_layer=chosen,
    layer_def=layer_def,
)
item = upload_form.read(target, digest, uploaded.name, raw, options)
result = item.result
st.session_state[upload_form.DRAFT_KEY] = target.layer.id  # while the file waits, the layers page will not archive
with settings:
    upload_form.id_choice(result.source_fields, keys["id_from"], lang)

st.subheader(t("upload.read", lang))
detected = display.detected_text(result.detected, lang) or "—"
widgets.plain(t("upload.detected", lang, features=result.feature_count, detected=detected))
if result.source_fields:
    with st.expander(t("upload.field_map", lang), expanded=bool(result.errors)):
        now = result.field_map
        table_key = f"{upload_form.TABLE_PREFIX}fm_{digest}_{hash(str(now))}"
        mapped = widgets.field_mapping_editor(result.source_fields[: ingest.MAX_PROPERTIES], now, table_key, lang)
        if mapped != {k: now.get(k) for k in mapped}:
            st.session_state[keys["field_map"]] = {**now, **mapped}
            st.rerun()
reviewed = upload_form.fields_to_review(edited, result.new_fields)
if reviewed:
    st.subheader(t("uploadpage.new_fields", lang, count=len(reviewed)))
    st.caption(t("uploadpage.new_fields_new" if target.new else "uploadpage.new_fields_help", lang))
    fields = upload_form.fields_editor(reviewed, f"{upload_form.TABLE_PREFIX}nf_{digest}_{hash(reviewed)}", lang)
    if fields is None:
        st.stop()
    if fields != reviewed:
        st.session_state[keys["new_fields"]] = fields
        st.rerun()
upload_form.problems_and_left_out(result, lang)
if result.invalid_geometry or repair:
    st.checkbox(t("upload.repair", lang, count=result.invalid_geometry), key=keys["repair"])
if not result.ok:
    st.error(t("upload.fix_first", lang, count=len(result.errors)))
    st.stop()

st.subheader(t("upload.preview", lang))
changes = item.diff
old = data.store().load(target.layer.id, item.against.number) if item.against else None
widgets.change_preview(changes, old, result.collection, target.layer.id, lang)

upload_form.publish_step(target, item, (uploaded.name, raw, options), reviewed, actor, lang)
