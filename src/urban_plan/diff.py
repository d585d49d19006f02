"""Differences between two versions of a layer: features added, removed, changed field by field, moved in metres."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from urban_plan import display, schema
from urban_plan.i18n import label, normalise_lang, t

if TYPE_CHECKING:
    from urban_plan.registry import LayerDef

# Geometry changes smaller than this are rounding noise (RFC 7946 output keeps 7 decimals, about 1 cm).
MOVE_TOLERANCE_M = 0.05
# GEOS' exact Hausdorff costs old x new vertices: it gets a pair only while the pair has at most this many vertices
# (~20 ms) and the diff's total stays under this product (~0.4 s); larger shapes take the linear-cost estimate.
EXACT_VERTEX_BUDGET = 2_000
EXACT_WORK_BUDGET = 20_000_000
GRID_CELLS = 2_000  # estimate grid: at most this many cells along the longer side of the pair's bounds
GRID_POINTS = 50_000  # at most this many occupied cells per shape (the grid is coarsened beyond)
DENSIFY_POINTS = 200_000  # at most about this many points when densifying one outline (wider steps beyond)


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
    moved_approximate: bool = False  # moved_m is the bounded-cost estimate (within a few metres), not exact


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
    moved, approximate = _moved_metres(
        [old_features[f].get("geometry") for f in common], [new_features[f].get("geometry") for f in common]
    )
    for fid, moved_m, rough in zip(common, moved, approximate, strict=True):
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
                FeatureChange(
                    fid,
                    _name(new_features[fid]),
                    "changed",
                    changes,
                    moved_m if geometry_moved else None,
                    geometry_moved and rough,
                )
            )
        else:
            result.unchanged += 1
    return result


def field_text(change: FieldChange, lang: str, layer: LayerDef | None = None) -> str:
    """One field's change for people: '状态 在建→已完工', '建设单位 区住建局→区城投'. Open attributes are named by
    their label in the layer's registry entry, enum values by their labels, nested values as compact JSON."""
    name = change.field
    if name == ("name_en" if normalise_lang(lang) == "zh" else "name_zh"):  # the other language's name: no values
        return t("change.updated", lang, fields=label("field", name, lang))
    if name in schema.FIELDS:
        old, new = display.value_text(name, change.old, lang), display.value_text(name, change.new, lang)
        if name == "kind":  # a code (core_area): its label
            old, new = (label("kind", v, lang) if v else "—" for v in (change.old, change.new))
        if name in _BILINGUAL_TEXTS:  # shipped notes and sources say it in both languages: the reader's half
            old, new = display.local_text(old, lang), display.local_text(new, lang)
        return f"{label('field', name, lang)} {old}→{new}"
    spec = layer.field(name) if layer is not None else None
    title = spec.label(lang) if spec is not None else name
    return f"{title} {_attribute_text(change.old, spec, lang)}→{_attribute_text(change.new, spec, lang)}"


_BILINGUAL_TEXTS = frozenset({"source", "note"})


def _attribute_text(value: Any, spec: Any, lang: str) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if spec is not None and spec.type == "enum":
        return spec.option_label(value, lang)
    return str(value)


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


def _moved_metres(old: list[Any], new: list[Any]) -> tuple[list[float | None], list[bool]]:
    """How far each changed geometry moved, in metres (CGCS2000 Gauss-Krüger 117E, the district's own projection),
    only for the geometries that differ: plain equality of the parsed members first (C speed), shapes only for the
    rest. GEOS' Hausdorff distance is exact but costs old x new vertices, so it only gets pairs within the budgets;
    larger shapes get `_bounded_moved`, whose cost grows with their vertex count, not its square. Also says which
    distances are estimates."""
    result: list[float | None] = [None] * len(old)
    approximate = [False] * len(old)
    if not old:
        return result, approximate
    todo = np.array([a != b for a, b in zip(old, new, strict=True)], dtype=bool)
    if not todo.any():
        return result, approximate
    from urban_plan.datum import gauss_kruger_4548  # pyproj transformer, loaded only when geometry changed

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = gauss_kruger_4548(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    indices = np.flatnonzero(todo)
    a = shapely.transform(_to_geoms([old[i] for i in indices]), project)
    b = shapely.transform(_to_geoms([new[i] for i in indices]), project)
    work = shapely.get_num_coordinates(a).astype(np.int64) * shapely.get_num_coordinates(b)
    pair = shapely.get_num_coordinates(a) + shapely.get_num_coordinates(b)
    exact = np.zeros(len(indices), dtype=bool)
    order = np.argsort(work, kind="stable")  # the cheapest pairs first, so a few huge ones cannot starve the rest
    affordable = order[(pair[order] <= EXACT_VERTEX_BUDGET) & (np.cumsum(work[order]) <= EXACT_WORK_BUDGET)]
    exact[affordable] = True
    distances = np.full(len(indices), np.nan)
    if exact.any():
        distances[exact] = shapely.hausdorff_distance(a[exact], b[exact])
    for k in np.flatnonzero(~exact):
        distances[k], rough = _bounded_moved(a[k], b[k])
        approximate[int(indices[k])] = rough
    for index, distance in zip(indices, distances, strict=True):
        result[int(index)] = float(distance) if np.isfinite(distance) else float("inf")
    return result, approximate


def _bounded_moved(a: Any, b: Any) -> tuple[float, bool]:
    """The Hausdorff distance of two large shapes (metres), at a cost linear in their vertices; and whether it is
    an estimate.

    Same structure: a rigid shift moved every vertex by the same vector, whose length is then the exact distance;
    otherwise the largest distance any vertex moved is an upper bound. Else, or when that bound is loose, both
    outlines (for point shapes: the points) are densified and snapped to one grid, and the distance is taken
    between the two sets of cells with a spatial index: within about 2.5 cells of the true value. The grid has
    about as many cells per side as the pair has vertices (at most `GRID_CELLS`), and is coarsened until each set
    has at most `GRID_POINTS` cells.
    """
    if a is None or b is None or shapely.is_empty(a) or shapely.is_empty(b):
        return float("nan"), False
    ca, cb = shapely.get_coordinates(a), shapely.get_coordinates(b)
    vertex_shift = None
    if len(ca) == len(cb) and _structure(a) == _structure(b):
        steps = cb - ca
        mean = steps.mean(axis=0)
        if float(np.abs(steps - mean).max()) <= MOVE_TOLERANCE_M:
            return float(np.hypot(*mean)), False  # a rigid shift: its extreme vertex moved exactly this far
        vertex_shift = float(np.sqrt((steps**2).sum(axis=1)).max())
    lower = np.minimum(ca.min(axis=0), cb.min(axis=0))
    upper = np.maximum(ca.max(axis=0), cb.max(axis=0))
    cells_per_side = min(max(len(ca) + len(cb), 256), GRID_CELLS)
    cell = max(float((upper - lower).max()), MOVE_TOLERANCE_M) / cells_per_side
    cells_a, cells_b = _snapped(a, lower, cell), _snapped(b, lower, cell)
    while max(len(cells_a), len(cells_b)) > GRID_POINTS:  # dense point clouds: coarser cells, same bound in cells
        cells_a, cells_b, cell = _unique_cells(cells_a // 2), _unique_cells(cells_b // 2), cell * 2
    estimate = cell * max(_farthest_nearest(cells_a, cells_b), _farthest_nearest(cells_b, cells_a))
    if vertex_shift is not None and vertex_shift <= estimate + 2.5 * cell:
        return vertex_shift, True  # an upper bound within the estimate's error band: the better of the two
    return float(estimate), True


def _structure(geometry: Any) -> tuple[int, ...]:
    """Type, parts and ring sizes: equal structures pair their vertices one to one."""
    kind = int(shapely.get_type_id(geometry))
    if kind in (0, 1, 2, 4):  # point, line, ring, multipoint: the vertex count (compared by the caller) is all
        return (kind,)
    parts = shapely.get_parts(geometry)
    rings = shapely.get_rings(parts) if kind in (3, 6) else parts
    return (kind, len(parts), *shapely.get_num_coordinates(rings).tolist())


def _snapped(geometry: Any, origin: np.ndarray, cell: float) -> np.ndarray:
    """Integer grid cells the shape's outline passes through (its points, for point shapes)."""
    outline = shapely.boundary(geometry) if shapely.get_type_id(geometry) in (3, 6) else geometry
    length = float(shapely.length(outline))
    spacing = max(cell, length / DENSIFY_POINTS)  # a long wiggly outline: fewer, wider steps, still bounded
    dense = shapely.segmentize(outline, spacing) if length else outline
    return _unique_cells(np.floor((shapely.get_coordinates(dense) - origin) / cell).astype(np.int64))


def _unique_cells(cells: np.ndarray) -> np.ndarray:
    """Distinct (column, row) pairs, sorted as one int64 key each (much faster than np.unique on rows)."""
    keys = np.unique(cells[:, 0] * (1 << 32) + cells[:, 1])
    return np.column_stack([keys >> 32, keys & 0xFFFFFFFF])


def _farthest_nearest(source: np.ndarray, target: np.ndarray) -> float:
    """max over source cells of the distance (in cells) to the nearest target cell."""
    tree = shapely.STRtree(shapely.points(target.astype(float)))
    _, distances = tree.query_nearest(shapely.points(source.astype(float)), return_distance=True, all_matches=False)
    return float(distances.max()) if len(distances) else 0.0


def _to_geoms(geometries: list[Any]) -> np.ndarray:
    texts = [json.dumps(g) if g else None for g in geometries]
    return shapely.from_geojson(np.array(texts, dtype=object), on_invalid="ignore")
