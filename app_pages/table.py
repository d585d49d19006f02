"""Feature table page: the filtered features as a table (a layer's own columns too), with CSV and GeoJSON downloads."""

from __future__ import annotations

import json

import streamlit as st

from ui import data, layout, state, widgets
from urban_plan import filters, frame, tables
from urban_plan.i18n import t

view = state.view()
lang = view.lang
layers = data.layers(view.as_of)
registry = layers.registry
shown = filters.apply(layers.overlays, view.criteria, registry)

layout.styles()
st.title(t("table.title", lang))
widgets.plain(widgets.view_caption(view, lang))
widgets.kpi_cards(filters.kpis(shown, layers.registry), len(layers.overlays), lang)

# Every overlay the filters show, or one active layer (a base layer too) with all of its own columns.
choices = ["", *registry.overlays(), *registry.bases()]
chosen = st.selectbox(
    t("tables2.layer_choice", lang),
    choices,
    format_func=lambda code: registry.name(code, lang) if code else t("tables2.all_overlays", lang),
    key=f"table_layer_{lang}",
)
if not chosen:
    part = shown
elif chosen in registry.overlays():
    part = shown[shown["layer"] == chosen]
else:
    part = layers.context[layers.context["layer"] == chosen] if len(layers.context) else layers.context

# A layer that does not track progress has no status, progress, dates or investment to show.
progress_layers = registry.progress_layers()
tracked = (not chosen and (not len(part) or part["layer"].isin(progress_layers).any())) or chosen in progress_layers
table = tables.feature_table(part, lang, registry, progress_columns=tracked)
progress_header = tables.headers(lang)["progress"]
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        progress_header: st.column_config.ProgressColumn(progress_header, min_value=0, max_value=100, format="%d%%")
    },
)
stem = f"jiyang-{chosen}" if chosen else "jiyang-features"
left, right, _ = st.columns([1, 1, 3])
left.download_button(
    t("table.download_csv", lang),
    data=tables.csv_bytes(table),  # formula-safe for Excel, with the BOM Chinese Windows needs
    file_name=f"{stem}.csv",
    mime="text/csv",
)
right.download_button(
    t("table.download_geojson", lang),
    # Original attribute names and values: the file uploaded again into its layer changes nothing.
    data=json.dumps(frame.to_feature_collection(part, registry), ensure_ascii=False).encode("utf-8"),
    file_name=f"{stem}.geojson",
    mime="application/geo+json",
)
widgets.provenance(layers.versions, lang)
