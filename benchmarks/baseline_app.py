"""The naive baseline: the map app a typical Streamlit user writes first, for the benchmark to compare against.

Read the layer, filter it with a multiselect, show `gdf.explore()` with `st_folium`'s default arguments. No
caching, no key, no returned_objects, no feature groups: on purpose (see benchmarks/README.md).

    BENCH_DATA_DIR=/path/to/data streamlit run benchmarks/baseline_app.py
"""

import os

import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

data_dir = os.environ.get("BENCH_DATA_DIR", "geodata")
gdf = gpd.read_file(os.path.join(data_dir, "projects.geojson"))

statuses = sorted(gdf["status"].dropna().unique())
chosen = st.multiselect("status", statuses, default=statuses)
filtered = gdf[gdf["status"].isin(chosen)]

st_folium(filtered.explore())
