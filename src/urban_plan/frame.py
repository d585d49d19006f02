"""Layers as one GeoDataFrame (`layer`, the canonical columns, then each layer's open attributes), and back."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urban_plan import schema

if TYPE_CHECKING:
    from urban_plan.registry import LayerDef, Registry

COLUMNS: tuple[str, ...] = ("layer", *schema.FIELDS)
# Columns the app adds to a frame itself (ratings, changes): never written back as a feature's attributes.
DERIVED_COLUMNS = frozenset({"rating", "expected", "behind", "rating_reason", "change", "detail"})
_NOT_ATTRIBUTES = frozenset({*COLUMNS, "geometry"})


def layers_frame(payloads: Mapping[str, dict[str, Any] | None]) -> gpd.GeoDataFrame:
    """One frame for several layers' FeatureCollections, in the order given; missing layers are skipped. Columns
    are the union: a layer's attribute column is empty (NaN) on the other layers' rows."""
    frames = [collection_frame(fc, layer) for layer, fc in payloads.items() if fc is not None]
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_frame()
    if len(frames) == 1:
        return frames[0]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326")


def collection_frame(fc: dict[str, Any], layer: str) -> gpd.GeoDataFrame:
    """A layer's features: `layer`, the canonical fields, then its open attributes under their original names, in
    the order the features' keys are first seen. Attribute columns hold the stored values as they are (object
    dtype: 12 stays 12, a nested object stays an object), so writing the frame back changes nothing."""
    features = fc.get("features", [])
    if not features:
        return empty_frame()
    props = [f.get("properties") or {} for f in features]
    extra = list(dict.fromkeys(name for p in props for name in p if name not in _NOT_ATTRIBUTES))
    columns: dict[str, Any] = {"layer": pd.Series([layer] * len(props), dtype=object)}
    for name in schema.FIELDS:
        columns[name] = pd.Series([p.get(name) for p in props], dtype=object)
    for name in extra:
        columns[name] = pd.Series([p.get(name) for p in props], dtype=object)
    data = pd.DataFrame(columns)
    data["progress"] = pd.to_numeric(data["progress"], errors="coerce").astype(float)
    data["investment_yi"] = pd.to_numeric(data["investment_yi"], errors="coerce").astype(float)
    texts = np.array([json.dumps(f["geometry"]) if f.get("geometry") else None for f in features], dtype=object)
    geometry = shapely.from_geojson(texts, on_invalid="ignore")
    return gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:4326")


def attribute_columns(frame: pd.DataFrame) -> list[str]:
    """The frame's open-attribute columns (not canonical, not `layer`, not geometry, not added by the app)."""
    return [c for c in frame.columns if c not in _NOT_ATTRIBUTES and c not in DERIVED_COLUMNS and c != "geometry"]


def empty_frame() -> gpd.GeoDataFrame:
    return _empty().copy()  # building one costs ~10 ms; copies are cheap


@functools.cache
def _empty() -> gpd.GeoDataFrame:
    data = pd.DataFrame({name: pd.Series(dtype=object) for name in COLUMNS})
    data["progress"] = data["progress"].astype(float)
    data["investment_yi"] = data["investment_yi"].astype(float)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def to_feature_collection(
    frame: pd.DataFrame, layer_def: LayerDef | Registry | None = None, *, decimals: int = 7
) -> dict[str, Any]:
    """A FeatureCollection of a frame's rows (RFC 7946: WGS84, no crs member): the canonical fields, then the open
    attributes under their original names, leaving out those a row does not have (missing or NaN), so that the
    file read back in makes no change. With a LayerDef (or a Registry: each row's own layer), only the attributes
    the layer declares are written; without one, every attribute column."""
    n = len(frame)
    geoms = shapely.set_precision(np.asarray(frame.geometry.values, dtype=object), 10**-decimals) if n else []
    texts = shapely.to_geojson(geoms) if n else []
    # Whole columns as lists, then rows: iterrows builds a Series per row, ~100x slower on a big layer.
    canonical = [(name, _column(frame, name)) for name in schema.FIELDS]
    extra = [(name, _column(frame, name)) for name in attribute_columns(frame)]
    layers = _column(frame, "layer")
    allowed = _declared(layer_def)
    features = []
    for i in range(n):
        props = {name: _plain(values[i]) for name, values in canonical}
        names = allowed(layers[i])
        for name, values in extra:
            if names is not None and name not in names:
                continue
            value = _plain(values[i])
            if value is not None:
                props[name] = value
        geometry = None if texts[i] is None else json.loads(texts[i])
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    return frame[name].tolist() if name in frame.columns else [None] * len(frame)


def _declared(layer_def: LayerDef | Registry | None) -> Any:
    """row's layer id -> the attribute names that layer declares (None: no restriction)."""
    if layer_def is None:
        return lambda _layer: None
    if hasattr(layer_def, "fields"):
        names = frozenset(layer_def.field_names())  # type: ignore[union-attr]
        return lambda _layer: names
    registry = layer_def

    def names_of(layer: Any) -> frozenset[str]:
        found = registry.get(layer) if isinstance(layer, str) else None  # type: ignore[union-attr]
        return frozenset(found.field_names()) if found else frozenset()

    return names_of


def _plain(value: Any) -> Any:
    """JSON-ready value: NaN/NaT become null, numpy scalars become Python numbers; lists and objects as they are."""
    if value is None or isinstance(value, (dict, list, str, bool)):
        return value
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and np.isnan(value) else value
    if value is pd.NaT:
        return None
    if isinstance(value, (tuple, np.ndarray)):
        return list(value)
    return value
