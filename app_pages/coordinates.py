"""Coordinates tool: paste or click a point and read it in WGS84, GCJ-02, BD-09 and CGCS2000 Gauss-Krüger."""

from __future__ import annotations

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from ui import data, state
from urban_plan import coordinates, datum, mapping
from urban_plan.i18n import t

lang = state.lang()
st.title(t("coords.title", lang))
st.caption(t("coords.intro", lang))
options = state.map_options(colour_by="status")

left, right = st.columns([2, 3], gap="large")
with left:
    system = st.selectbox(t("coords.system", lang), coordinates.SYSTEMS, format_func=lambda s: t(f"coords.{s}", lang))
    text = st.text_input(t("coords.paste", lang), placeholder="117.170000, 36.980000", max_chars=coordinates.MAX_INPUT)
point = st.session_state.get("coords_clicked")
if text.strip():
    try:
        point = coordinates.parse(text, system)
    except coordinates.CoordinateError as exc:
        point = None
        left.error(t(f"coords.{exc.code}", lang, found=exc.found))

marker = folium.FeatureGroup(name=t("coords.point", lang), control=False)
if point is not None:  # drawn in the map's datum, so it sits where it belongs on any basemap
    lon, lat = datum.convert_point(point.lon, point.lat, "wgs84", options.datum)
    folium.CircleMarker([lat, lon], radius=9, color="#c62828", weight=3, fill=True, fill_opacity=0.3).add_to(marker)
with right:
    clicked = st_folium(
        mapping.base_map(data.layers().context, options),
        key=f"coords-map-{lang}-{options.basemap}",
        feature_group_to_add=[marker],
        returned_objects=["last_clicked"],  # this page is about clicks: they rerun it, pans do not
        use_container_width=True,
        height=460,
    )
where = (clicked or {}).get("last_clicked")
if where and where != st.session_state.get("coords_last_click"):
    st.session_state["coords_last_click"] = where
    lon, lat = datum.convert_point(where["lng"], where["lat"], options.datum, "wgs84")  # clicks come in the map datum
    st.session_state["coords_clicked"] = coordinates.Point(lon, lat)
    if not text.strip():
        st.rerun()

with left:
    if point is None:
        st.info(t("coords.hint", lang))
    else:
        if point.swapped:
            st.caption(t("coords.swapped", lang))
        values = coordinates.represent(point)
        rows = [(t(f"coords.{s}", lang), *values[s]) for s in coordinates.SYSTEMS]
        columns = [t("coords.col_system", lang), t("coords.col_x", lang), t("coords.col_y", lang)]
        st.dataframe(pd.DataFrame(rows, columns=columns), hide_index=True, width="stretch")
        for system_id in coordinates.SYSTEMS:
            st.code(", ".join(values[system_id]), language=None)
        st.caption(f"{coordinates.dms(point.lon, 'E', 'W')} {coordinates.dms(point.lat, 'N', 'S')}")
