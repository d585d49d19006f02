"""Layers page (editors): every layer of the registry; rename, recolour, reorder, archive, restore, edit fields.

Each save is a new version of the registry document (its history and rollback are on the History page).
"""

from __future__ import annotations

import streamlit as st

from ui import auth, data, layer_forms, state, widgets
from urban_plan import registry
from urban_plan.i18n import t

lang = state.lang()
st.title(t("layerspage.title", lang))
actor = auth.current_actor()
if actor is None:  # the page is only in the navigation for editors; a direct call still stops here
    st.error(t("layerspage.login_needed", lang))
    st.stop()

widgets.plain(t("layerspage.intro", lang))
st.page_link(
    "app_pages/history.py",
    label=t("layerspage.history_link", lang),
    icon=":material/history:",
    query_params={"layer": registry.COLLECTION},
)
layer_forms.show_saved_message()
base = layer_forms.base_number()
layer_forms.conflict_panel(actor, lang)
st.dataframe(layer_forms.overview(data.registry(), lang), hide_index=True, width="stretch")

# The forms are drawn from the version the edit started on: a save by someone else meanwhile is a conflict to
# resolve, never a form silently refilled under the user's typing.
drawn = layer_forms.registry_at(base)
listed = (*drawn.active(), *(layer for layer in drawn.ordered() if layer.archived))
full_rights = actor.may_write(registry.COLLECTION)  # an editor of the registry itself may change every layer
writable = [layer.id for layer in listed if full_rights or actor.may_write(layer.id)]
if not full_rights:
    names = t("layerspage.list_sep", lang).join(drawn.name(i, lang) for i in writable)
    st.caption(layer_forms.md(t("layerspage.rights_note", lang, layers=names or "—")))
if not writable:
    st.info(t("layerspage.no_writable", lang))
    st.stop()

st.subheader(t("layerspage.manage", lang))
# One selectbox per language (its options read differently), the choice kept across a switch.
kept = st.session_state.get("_lp_chosen")
chosen = st.selectbox(
    t("layerspage.choose", lang),
    writable,
    index=writable.index(kept) if kept in writable else 0,
    format_func=lambda i: (
        t("layerspage.archived_tag", lang, name=drawn.name(i, lang)) if drawn[i].archived else drawn.name(i, lang)
    ),
    key=f"lp_layer_{lang}",
)
st.session_state["_lp_chosen"] = chosen
layer = drawn[chosen]
left, right = st.columns([3, 2], gap="large")
with left:
    if not layer.archived:
        layer_forms.metadata_form(layer, actor, lang, base)
with right:
    if full_rights:  # a move renumbers every active layer: only an editor of all of them may do it
        layer_forms.order_buttons(layer, drawn, actor, lang, base)
    layer_forms.archive_control(layer, actor, lang, base)
layer_forms.fields_section(layer, actor, lang, base)
