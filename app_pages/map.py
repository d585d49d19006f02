"""Map page: KPI cards, the planning map with every layer, and details of the clicked feature."""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from ui import data, state, widgets
from urban_plan import filters, mapping
from urban_plan.i18n import t

view = state.view()
lang = view.lang
layers = data.layers()
shown = filters.apply(layers.overlays, view.criteria)

st.title(t("map.title", lang))
st.caption(filters.describe(view.criteria, lang))
widgets.kpi_cards(shown, layers.overlays, lang)

map_col, details_col = st.columns([3, 1], gap="medium")
with map_col:
    result = st_folium(
        mapping.base_map(layers.context, lang=lang, basemap=view.basemap),
        key=f"map-{lang}-{view.basemap}",
        feature_group_to_add=mapping.overlay_groups(shown, lang=lang),
        layer_control=mapping.layer_control(),
        returned_objects=["last_object_clicked_tooltip"],  # only clicks rerun the script; pans and zooms do not
        use_container_width=True,
        height=640,
    )
with details_col:
    st.subheader(t("map.details", lang))
    key = mapping.feature_key_from_text((result or {}).get("last_object_clicked_tooltip"))
    widgets.feature_details(widgets.find_feature([shown, layers.context], *key) if key else None, lang)

widgets.provenance(layers.versions, lang)
