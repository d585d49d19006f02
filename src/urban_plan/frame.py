"""Layers as one GeoDataFrame (canonical columns + `layer`), and back to GeoJSON."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urban_plan import schema

COLUMNS: tuple[str, ...] = ("layer", *schema.FIELDS)


def layers_frame(payloads: Mapping[str, dict[str, Any] | None]) -> gpd.GeoDataFrame:
    """One frame for several layers' FeatureCollections, in the order given; missing layers are skipped."""
    frames = [collection_frame(fc, layer) for layer, fc in payloads.items() if fc is not None]
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_frame()
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326")


def collection_frame(fc: dict[str, Any], layer: str) -> gpd.GeoDataFrame:
    features = fc.get("features", [])
    if not features:
        return empty_frame()
    rows = [{name: (f.get("properties") or {}).get(name) for name in schema.FIELDS} for f in features]
    data = pd.DataFrame(rows, columns=list(schema.FIELDS))
    data.insert(0, "layer", layer)
    data["progress"] = pd.to_numeric(data["progress"], errors="coerce").astype(float)
    data["investment_yi"] = pd.to_numeric(data["investment_yi"], errors="coerce").astype(float)
    texts = np.array([json.dumps(f["geometry"]) if f.get("geometry") else None for f in features], dtype=object)
    geometry = shapely.from_geojson(texts, on_invalid="ignore")
    return gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:4326")


def empty_frame() -> gpd.GeoDataFrame:
    return _empty().copy()  # building one costs ~10 ms; copies are cheap


@functools.cache
def _empty() -> gpd.GeoDataFrame:
    data = pd.DataFrame({name: pd.Series(dtype=object) for name in COLUMNS})
    data["progress"] = data["progress"].astype(float)
    data["investment_yi"] = data["investment_yi"].astype(float)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def to_feature_collection(frame: pd.DataFrame, *, decimals: int = 7) -> dict[str, Any]:
    """Canonical FeatureCollection of a frame's rows (RFC 7946: WGS84, no crs member)."""
    geoms = shapely.set_precision(np.asarray(frame.geometry.values, dtype=object), 10**-decimals) if len(frame) else []
    features = []
    for (_, row), geom in zip(frame.iterrows(), geoms, strict=True):
        props = {name: _plain(row.get(name)) for name in schema.FIELDS}
        features.append({"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(geom))})
    return {"type": "FeatureCollection", "features": features}


def _plain(value: Any) -> Any:
    """JSON-ready value: NaN/NaT become null, numpy scalars become Python numbers."""
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and np.isnan(value) else value
    if value is pd.NaT:
        return None
    return value
