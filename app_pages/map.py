"""Map page: KPI cards, the planning map with every layer, details of the clicked feature, changes, exports."""

from __future__ import annotations

import streamlit as st

from ui import data, exports, layout, state, widgets
from urban_plan import mapping
from urban_plan.i18n import t

view = state.view()
lang = view.lang
layers = data.layers(view.as_of)
options = state.map_options(url_extent=True)
drawn = data.map_data(layers, view.as_of, view.criteria, state.thresholds(), options)
changed = data.changes(view.compare, view.as_of, lang, view.criteria)

layout.styles()
layout.fit_map()
with st.container(key="up-head"):  # title and as-of line: the stamp of a printed page
    st.title(t("map.title", lang))
    widgets.plain(widgets.view_caption(view, lang))
widgets.kpi_cards(drawn.kpis, len(layers.overlays), lang)

if simplified := mapping.simplified_notice(drawn.groups_input[0].values(), lang):
    st.info(simplified)

# Side by side on wide screens; the stylesheet puts the details under the map when the room is narrow.
map_col, details_col = st.container(key="up-mapzone").columns([3, 1], gap="medium")
with map_col:
    # Only clicks rerun the script (the clicked feature's tooltip names it); pans and zooms do not.
    result = widgets.planning_map(
        view, drawn, options, name="map", height=640, returned_objects=["last_object_clicked_tooltip"]
    )
with details_col:
    st.subheader(t("map.details", lang))
    key = mapping.feature_key_from_text((result or {}).get("last_object_clicked_tooltip"))
    found = widgets.find_feature([drawn.shown, layers.context], *key) if key else None
    widgets.feature_details(found, lang, layers.registry)

if view.compare:
    widgets.changes_table(changed, view.compare, lang)
widgets.provenance(layers.versions, lang)
exports.export_buttons(view, layers, drawn, changed)
