"""Feature table page: the filtered features as a table, with CSV and GeoJSON downloads."""

from __future__ import annotations

import json

import streamlit as st

from ui import data, layout, state, widgets
from urban_plan import filters, frame, tables
from urban_plan.i18n import t

view = state.view()
lang = view.lang
layers = data.layers(view.as_of)
shown = filters.apply(layers.overlays, view.criteria)

layout.styles()
st.title(t("table.title", lang))
widgets.plain(widgets.view_caption(view, lang))
widgets.kpi_cards(shown, layers.overlays, lang)

table = tables.feature_table(shown, lang)
progress_header = tables.headers(lang)["progress"]
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        progress_header: st.column_config.ProgressColumn(progress_header, min_value=0, max_value=100, format="%d%%")
    },
)
left, right, _ = st.columns([1, 1, 3])
left.download_button(
    t("table.download_csv", lang),
    data=tables.csv_bytes(table),  # formula-safe for Excel, with the BOM Chinese Windows needs
    file_name="jiyang-features.csv",
    mime="text/csv",
)
right.download_button(
    t("table.download_geojson", lang),
    data=json.dumps(frame.to_feature_collection(shown), ensure_ascii=False).encode("utf-8"),
    file_name="jiyang-features.geojson",
    mime="application/geo+json",
)
widgets.provenance(layers.versions, lang)
