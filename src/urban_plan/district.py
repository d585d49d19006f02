"""Whether uploaded features belong to Jiyang District: inside, partly inside, grazing from next door, or far away."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from urban_plan.schema import Problem

BOUNDARY_FILE = Path(__file__).resolve().parents[2] / "geodata" / "sources" / "jiyang_boundary.geojson"
# About 3 km around the boundary: digitising error of a feature that is inside (a bridge sketched on the Yellow
# River, the district's southern edge). It never lets in a feature that has no part inside the district itself.
MARGIN_DEG = 0.03
# An area this many times the district's is a city, province or country outline, not a feature of the district
# (济南市 is about 9.5 times Jiyang; China about 9,000 times).
HUGE_AREA_FACTOR = 3.0
# A polygon reaching beyond the margin with less than this share of its area inside is a neighbour's shape that
# grazes the boundary (boundaries from different sources disagree by up to a kilometre along a 50 km edge).
SLIVER_SHARE = 0.10

POLYGON_TYPES = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
LINE_TYPES = (shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING)


def check(geoms: np.ndarray, keys: Sequence[str], *, inside_only: bool = False) -> tuple[list[Problem], np.ndarray]:
    """Problems for the features (WGS84 shapely geometries; None or empty ones are skipped) that do not belong to
    the district, and a mask of the features refused. With `inside_only` (a city-wide file) those features are
    left out with a warning each (code left_out_outside) instead of errors; partly inside ones are kept either way.

    Rules: a feature with no part inside the district polygon itself is refused (outside_district); a polygon many
    times the district's area is refused whatever it overlaps (district_far_too_large: a wrong file, layer or CRS);
    a polygon with under SLIVER_SHARE of its area inside is refused (mostly_outside_district); any other feature
    reaching beyond the margin is accepted with the share inside (partly_inside_district: a rail line runs on to
    the next city). Within the margin, the rest is digitising error and nothing is said."""
    boundary, margin = boundary_and_margin()
    refused = np.zeros(len(geoms), dtype=bool)
    problems: list[Problem] = []
    present = np.array([g is not None for g in geoms], dtype=bool)
    present[present] = ~shapely.is_empty(geoms[present])
    idx = np.flatnonzero(present)
    if not len(idx):
        return problems, refused
    shapes = geoms[idx].copy()
    invalid = ~shapely.is_valid(shapes)  # reported apart; made valid here so no overlay or predicate can raise
    if invalid.any():
        shapes[invalid] = shapely.make_valid(shapes[invalid])
    types = shapely.get_type_id(shapes)
    polygons = np.isin(types, POLYGON_TYPES)
    huge = np.zeros(len(idx), dtype=bool)
    if polygons.any():
        huge[polygons] = shapely.area(shapes[polygons]) > HUGE_AREA_FACTOR * boundary.area
    within_margin = shapely.contains(margin, shapes)  # prepared: the common case costs one fast call
    touches = shapely.intersects(boundary, shapes)
    # A polygon within the margin that crosses the boundary is measured too: mostly outside is a neighbour's shape
    grazing = polygons & within_margin & touches
    grazing[grazing] = ~shapely.contains(boundary, shapes[grazing])
    grazing[grazing] = [share_inside(shape, boundary) < SLIVER_SHARE for shape in shapes[grazing]]
    look = np.flatnonzero(huge | ~within_margin | ~touches | grazing)
    if not len(look):
        return problems, refused
    centres = shapely.get_coordinates(shapely.centroid(shapes[look]))
    for j, centre in zip(look, centres, strict=True):
        index = int(idx[j])
        where = f"{centre[0]:.5f}, {centre[1]:.5f}"
        code, params = _verdict(shapes[j], boundary, bool(huge[j]), bool(touches[j]))
        if code == "partly_inside_district":
            problems.append(Problem(code, keys[index], "geometry", where, params, severity="warning"))
            continue
        refused[index] = True
        if inside_only:
            problems.append(Problem("left_out_outside", keys[index], "geometry", where, params, severity="warning"))
        else:
            problems.append(Problem(code, keys[index], "geometry", where, params))
    return problems, refused


def _verdict(shape: Any, boundary: Any, huge: bool, touches: bool) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The problem code and its parameters for one feature that is not simply inside (within the margin)."""
    if huge:
        ratio = shapely.area(shape) / boundary.area
        return "district_far_too_large", (("ratio", f"{ratio:,.0f}" if ratio >= 10 else f"{ratio:.1f}"),)
    if not touches:
        return "outside_district", ()
    share = share_inside(shape, boundary)
    if shapely.get_type_id(shape) in POLYGON_TYPES and share < SLIVER_SHARE:
        return "mostly_outside_district", (("share", percent(share)),)
    return "partly_inside_district", (("share", percent(share)),)


def share_inside(shape: Any, boundary: Any | None = None) -> float:
    """The share of a feature inside the district: of its area (polygons), length (lines) or points."""
    boundary = boundary if boundary is not None else boundary_and_margin()[0]
    if not shape.is_valid:
        shape = shapely.make_valid(shape)
    kind = shapely.get_type_id(shape)
    if kind in POLYGON_TYPES or shape.geom_type == "GeometryCollection":
        total = shape.area
        return float(shape.intersection(boundary).area / total) if total > 0 else 0.0
    if kind in LINE_TYPES:
        total = shape.length
        return float(shape.intersection(boundary).length / total) if total > 0 else 0.0
    points = shapely.get_parts(shape)
    return float(shapely.intersects(boundary, points).mean()) if len(points) else 0.0


def percent(share: float) -> str:
    """A share for people: one decimal under 10 %, '<0.1%' rather than a misleading 0 %."""
    value = share * 100
    if 0 < value < 0.1:
        return "<0.1%"
    return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"


@cache
def boundary_and_margin() -> tuple[Any, Any]:
    """The district and the margin around it (the shipped boundary, not the store), both prepared."""
    data = json.loads(BOUNDARY_FILE.read_text(encoding="utf-8"))
    boundary = shapely.from_geojson(json.dumps(data["features"][0]["geometry"]))
    margin = boundary.buffer(MARGIN_DEG)
    shapely.prepare(boundary)
    shapely.prepare(margin)
    return boundary, margin
