"""Differences between two versions of a layer: features added, removed, changed field by field, moved in metres."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from urban_plan import schema

# Geometry changes smaller than this are rounding noise (RFC 7946 output keeps 7 decimals, about 1 cm).
MOVE_TOLERANCE_M = 0.05


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class FeatureChange:
    id: str
    name_zh: str
    change: str  # "added" | "removed" | "changed"
    fields: tuple[FieldChange, ...] = ()
    moved_m: float | None = None  # Hausdorff distance between old and new geometry, metres; None if unchanged


@dataclass
class CollectionDiff:
    added: list[FeatureChange] = field(default_factory=list)
    removed: list[FeatureChange] = field(default_factory=list)
    changed: list[FeatureChange] = field(default_factory=list)
    unchanged: int = 0
    old_total: int = 0
    new_total: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
            "total": self.new_total,
        }

    def rows(self) -> list[FeatureChange]:
        return self.added + self.removed + self.changed


def diff_collections(old: dict[str, Any] | None, new: dict[str, Any]) -> CollectionDiff:
    """Compare two FeatureCollections by feature id (features without an id count as added/removed)."""
    old_features = _by_id(old)
    new_features = _by_id(new)
    result = CollectionDiff(old_total=len(old_features), new_total=len(new_features))
    for fid, feature in new_features.items():
        if fid not in old_features:
            result.added.append(FeatureChange(fid, _name(feature), "added"))
    for fid, feature in old_features.items():
        if fid not in new_features:
            result.removed.append(FeatureChange(fid, _name(feature), "removed"))
    common = [fid for fid in new_features if fid in old_features]
    moved = _moved_metres(
        [old_features[f].get("geometry") for f in common], [new_features[f].get("geometry") for f in common]
    )
    for fid, moved_m in zip(common, moved, strict=True):
        old_props = old_features[fid].get("properties") or {}
        new_props = new_features[fid].get("properties") or {}
        changes = tuple(
            FieldChange(name, old_props.get(name), new_props.get(name))
            for name in _field_order(old_props, new_props)
            if old_props.get(name) != new_props.get(name)
        )
        geometry_moved = moved_m is not None and moved_m > MOVE_TOLERANCE_M
        if changes or geometry_moved:
            result.changed.append(
                FeatureChange(fid, _name(new_features[fid]), "changed", changes, moved_m if geometry_moved else None)
            )
        else:
            result.unchanged += 1
    return result


def summary(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, int]:
    """Counts of added, removed and changed features, and the new total (kept with each version)."""
    return diff_collections(old, new).counts()


def _by_id(fc: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row, feature in enumerate((fc or {}).get("features", []), start=1):
        fid = (feature.get("properties") or {}).get("id")
        out[str(fid) if fid not in (None, "") else f"#{row}"] = feature
    return out


def _name(feature: dict[str, Any]) -> str:
    return str((feature.get("properties") or {}).get("name_zh") or "")


def _field_order(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    extra = sorted((set(old) | set(new)) - set(schema.FIELDS))
    return [f for f in schema.FIELDS if f in old or f in new] + extra


def _moved_metres(old: list[Any], new: list[Any]) -> list[float | None]:
    """Hausdorff distance in metres (CGCS2000 Gauss-Krüger 117E, the district's own projection), only for the
    geometries that differ: plain equality of the parsed members first (C speed), shapes only for the rest."""
    if not old:
        return []
    result: list[float | None] = [None] * len(old)
    todo = np.array([a != b for a, b in zip(old, new, strict=True)], dtype=bool)
    if not todo.any():
        return result
    from urban_plan.datum import gauss_kruger_4548  # pyproj transformer, loaded only when geometry changed

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = gauss_kruger_4548(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    indices = np.flatnonzero(todo)
    a = shapely.transform(_to_geoms([old[i] for i in indices]), project)
    b = shapely.transform(_to_geoms([new[i] for i in indices]), project)
    distances = shapely.hausdorff_distance(a, b)
    for index, distance in zip(indices, distances, strict=True):
        result[int(index)] = float(distance) if np.isfinite(distance) else float("inf")
    return result


def _to_geoms(geometries: list[Any]) -> np.ndarray:
    texts = [json.dumps(g) if g else None for g in geometries]
    return shapely.from_geojson(np.array(texts, dtype=object), on_invalid="ignore")
