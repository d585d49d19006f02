"""The fast map path (layers prepared once, filters select rows) draws exactly what the plain path draws."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.affinity

from urban_plan import filters, frame, mapping, progress, registry, schema
from urban_plan.filters import Criteria
from urban_plan.store import FileLayerStore

ROOT = Path(__file__).resolve().parents[2]
ON = dt.date(2026, 11, 26)


def parcels(n: int, seed: int = 3) -> gpd.GeoDataFrame:
    """n square parcels in the district (more than LARGE_LAYER: the lean, canvas path)."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    cells = [(i % side, i // side) for i in range(n)]
    geoms = [
        shapely.box(117.0 + x * 0.002, 36.9 + y * 0.002, 117.0 + x * 0.002 + 0.0018, 36.9 + y * 0.002 + 0.0018)
        for x, y in cells
    ]
    data = pd.DataFrame(
        {
            "layer": "projects",
            "id": [f"p{i}" for i in range(n)],
            "name_zh": [f"地块{i}" for i in range(n)],
            "name_en": None,
            "kind": "parcel",
            "status": rng.choice(list(schema.STATUSES), n),
            "progress": np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 101, n)).astype(float),
            "start_date": "2024-01-01",
            "end_date": rng.choice(["2025-06-30", "2027-12-31", None], n),
            "investment_yi": np.nan,
            "source": "synthetic",
            "confidence": "approximate",
            "note": None,
        }
    )
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326")


def drawn_keys(groups: list[folium.FeatureGroup], page: str = "") -> set[tuple[str, str]]:
    """What the groups draw, with `page`: the data blocks of the page around the map (shared layers)."""
    m = folium.Map(tiles=None)
    for group in groups:
        group.add_to(m)
    keys = set()
    for block in mapping.embedded_collections(page + m.get_root().render()):
        for feature in block["features"]:
            props = feature["properties"]
            key = props.get("_k") or mapping.feature_key_from_text(props["_tip"])
            keys.add(tuple(key.split("/")) if isinstance(key, str) else key)
    return keys


CRITERIA = [
    Criteria(),
    Criteria(statuses=frozenset({"in_progress"})),
    Criteria(progress_min=20, progress_max=60, include_unreported=False),
    Criteria(end_to=dt.date(2026, 1, 1), include_undated=False),
    Criteria(layers=frozenset({"rail", "roads"}), show_placeholder=False),
]


@pytest.mark.parametrize("criteria", CRITERIA)
@pytest.mark.parametrize("source", ["shipped", "parcels"])
def test_the_fast_path_draws_exactly_the_features_of_the_plain_path(source: str, criteria: Criteria) -> None:
    if source == "shipped":
        store = FileLayerStore(ROOT / "geodata")
        everything = frame.layers_frame({layer: store.load(layer) for layer in registry.builtin().overlays()})
    else:
        everything = parcels(mapping.LARGE_LAYER + 500)
    rated = progress.rate_frame(everything, ON, "zh")
    options = mapping.MapOptions(colour_by="rating")

    plain = mapping.overlay_groups(filters.apply(rated, criteria, registry.builtin()), options)

    keep = filters.mask(rated, criteria, registry.builtin())
    prepared = {
        name: mapping.prepare_layer(rated[rated["layer"] == name], options)
        for name in registry.builtin().overlays()
        if (rated["layer"] == name).any()
    }
    by_layer = {name: keep[(rated["layer"] == name).to_numpy()] for name in prepared}
    fast = mapping.prepared_overlay_groups(prepared, by_layer, {k: int(v.sum()) for k, v in by_layer.items()}, options)

    expected = {(row.layer, row.id) for row in filters.apply(rated, criteria, registry.builtin()).itertuples()}
    shared = mapping.shared_overlays(prepared)
    assert bool(shared) == (source == "parcels")  # the parcels take the shared path, the shipped layers do not
    page = mapping.shared_data_html(shared, options)
    assert drawn_keys(fast, page) == drawn_keys(plain) == expected


def test_large_layers_are_lean_and_drawn_on_canvas() -> None:
    rated = progress.rate_frame(parcels(mapping.LARGE_LAYER + 1), ON, "zh")
    prepared = mapping.prepare_layer(rated, mapping.MapOptions())
    assert prepared.large
    html = mapping.base_map(frame.empty_frame()).add_child(
        mapping.styled_layer(prepared, mapping.MapOptions(), lambda f: {})
    )
    text = html.get_root().render()
    data = text.replace("\\u005f", "_").split("var raw = ")[-1]  # the layer's element (upBuild comes with the map)
    assert ", true).addTo(" in data and "_pop" not in data.split(".addTo(")[0]  # canvas; no popups
    small = mapping.prepare_layer(rated.head(10), mapping.MapOptions())
    assert not small.large and '"\\u005fpop"' in small.features[0]


@pytest.mark.parametrize("shape", ["polygons", "multipolygons", "lines"])
def test_the_compact_encoding_of_a_large_layer_decodes_to_the_same_shapes_within_a_metre(shape: str) -> None:
    layer = parcels(mapping.LARGE_LAYER + 10)
    if shape == "multipolygons":
        layer["geometry"] = [shapely.MultiPolygon([g, shapely.affinity.translate(g, 0.5)]) for g in layer.geometry]
    if shape == "lines":
        layer["geometry"] = layer.geometry.boundary
        layer["layer"] = "roads"
        layer["progress"] = np.nan  # no completed-share pieces: the compact path
    prepared = mapping.prepare_layer(layer, mapping.MapOptions())
    assert prepared.compact == ("L" if shape == "lines" else "P")
    html = folium.Map(tiles=None).add_child(mapping.styled_layer(prepared, mapping.MapOptions(), lambda f: {}))
    (decoded,) = mapping.embedded_collections(html.get_root().render())
    got = shapely.from_geojson([json.dumps(f["geometry"]) for f in decoded["features"]])
    distances = shapely.hausdorff_distance(got, shapely.force_2d(layer.geometry.values))
    assert distances.max() < 1.5e-5  # about a metre
    assert [f["properties"]["_k"] for f in decoded["features"]][:2] == [
        f"{layer['layer'].iloc[0]}/p0",
        f"{layer['layer'].iloc[0]}/p1",
    ]
