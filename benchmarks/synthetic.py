"""Reproducible synthetic land parcels inside Jiyang District, for the performance benchmark.

The parcels tile a compact, roughly round area around the district's centre: a jittered grid whose cells share
their borders exactly (like real cadastral parcels), each edge bent by 0-2 extra vertices, so every parcel has
6-12 vertices. Everything is derived from a fixed seed and from the cell's position in the grid, so the first
1,000 parcels of the 50,000-parcel set are exactly the 1,000-parcel set (the sizes are nested).

    from benchmarks import synthetic
    fc = synthetic.parcels(1000)                     # a canonical FeatureCollection for the "projects" layer
    synthetic.make_data_dir(Path("/tmp/d"), 1000)    # a copy of geodata/ with those parcels published
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
GEODATA = ROOT / "geodata"
BOUNDARY = GEODATA / "sources" / "jiyang_boundary.geojson"

SEED = 20230111  # the article's date: any fixed number would do
CELL_LON = 0.0010  # about 89 m east-west at 37°N
CELL_LAT = 0.0008  # about 89 m north-south: parcels of roughly 0.8 ha
CENTRE = (117.139, 37.025)  # near the district's centroid
CORNER_JITTER = 0.18  # share of a cell a corner may move, each axis
BEND = 0.07  # share of a cell an extra edge vertex may move off the straight edge
STATUSES = ("planned", "in_progress", "completed")
LAYER = "projects"


@dataclass(frozen=True)
class _Grid:
    """The jittered grid over the district's bounding box, and the usable cells ranked by distance to the centre."""

    x0: float
    y0: float
    nx: int  # cells east-west
    ny: int  # cells north-south
    corners: np.ndarray  # (nx+1, ny+1, 2) jittered corner coordinates
    h_bends: np.ndarray  # (nx, ny+1) 0-2 extra vertices on the horizontal edge from corner (i,j) to (i+1,j)
    v_bends: np.ndarray  # (nx+1, ny) 0-2 extra vertices on the vertical edge from corner (i,j) to (i,j+1)
    h_offsets: np.ndarray  # (nx, ny+1, 2) perpendicular offsets of those vertices, as shares of a cell
    v_offsets: np.ndarray  # (nx+1, ny, 2)
    ranked: np.ndarray  # (m, 2) cell indices (i, j) inside the district, nearest to CENTRE first


@functools.cache
def _grid() -> _Grid:
    boundary_doc = json.loads(BOUNDARY.read_text(encoding="utf-8"))
    boundary = shapely.from_geojson(json.dumps(boundary_doc["features"][0]["geometry"]))
    shapely.prepare(boundary)
    west, south, east, north = boundary.bounds
    nx = int(np.ceil((east - west) / CELL_LON))
    ny = int(np.ceil((north - south) / CELL_LAT))
    rng = np.random.default_rng(SEED)
    jitter = rng.uniform(-CORNER_JITTER, CORNER_JITTER, size=(nx + 1, ny + 1, 2))
    ii, jj = np.meshgrid(np.arange(nx + 1), np.arange(ny + 1), indexing="ij")
    corners = np.empty((nx + 1, ny + 1, 2))
    corners[..., 0] = west + (ii + jitter[..., 0]) * CELL_LON
    corners[..., 1] = south + (jj + jitter[..., 1]) * CELL_LAT
    # Horizontal edges get 1-2 extra vertices, vertical ones 0-2: 4 corners + 2..8 = 6..12 vertices per parcel.
    h_bends = rng.integers(1, 3, size=(nx, ny + 1))
    v_bends = rng.integers(0, 3, size=(nx + 1, ny))
    h_offsets = rng.uniform(-BEND, BEND, size=(nx, ny + 1, 2))
    v_offsets = rng.uniform(-BEND, BEND, size=(nx + 1, ny, 2))
    # Usable cells: the jittered quadrilateral (bends stay well inside its margin) lies inside the district.
    ci, cj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    ci, cj = ci.ravel(), cj.ravel()
    rings = np.stack(
        [corners[ci, cj], corners[ci + 1, cj], corners[ci + 1, cj + 1], corners[ci, cj + 1], corners[ci, cj]], axis=1
    )
    quads = shapely.polygons(rings)
    inside = shapely.contains(boundary, shapely.buffer(quads, 0.2 * CELL_LAT, quad_segs=1))
    ci, cj = ci[inside], cj[inside]
    centre_x = west + (ci + 0.5) * CELL_LON
    centre_y = south + (cj + 0.5) * CELL_LAT
    distance = np.hypot((centre_x - CENTRE[0]) * np.cos(np.radians(CENTRE[1])), centre_y - CENTRE[1])
    order = np.lexsort((cj, ci, distance))  # nearest first; ties broken by position, so the order is total
    ranked = np.column_stack([ci, cj])[order]
    return _Grid(west, south, nx, ny, corners, h_bends, v_bends, h_offsets, v_offsets, ranked)


def capacity() -> int:
    """How many parcels fit inside the district at this cell size."""
    return len(_grid().ranked)


def _edge(grid: _Grid, a: tuple[int, int], b: tuple[int, int]) -> list[tuple[float, float]]:
    """The vertices of the edge from corner a to corner b, without b. Shared edges come out identical (reversed
    for the neighbour), so neighbouring parcels share their border exactly."""
    (ai, aj), (bi, bj) = a, b
    if aj == bj:  # horizontal
        i, j = min(ai, bi), aj
        k, offsets, scale = int(grid.h_bends[i, j]), grid.h_offsets[i, j], CELL_LAT
    else:  # vertical
        i, j = ai, min(aj, bj)
        k, offsets, scale = int(grid.v_bends[i, j]), grid.v_offsets[i, j], CELL_LON
    start, end = grid.corners[min(a, b)], grid.corners[max(a, b)]
    points = [tuple(start)]
    direction = end - start
    normal = np.array([-direction[1], direction[0]]) / (np.hypot(*direction) or 1.0)
    for index in range(k):
        share = (index + 1) / (k + 1)
        points.append(tuple(start + share * direction + offsets[index] * scale * normal))
    if a > b:  # walking the shared edge the other way: same points, reversed, starting at a
        points = [tuple(end), *reversed(points[1:])]
    return points


def _ring(grid: _Grid, i: int, j: int) -> list[list[float]]:
    """Counter-clockwise exterior ring (RFC 7946) of cell (i, j), closed, rounded to 1e-6 degrees (~0.1 m)."""
    path = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1), (i, j)]
    points: list[tuple[float, float]] = []
    for a, b in zip(path, path[1:], strict=False):
        points.extend(_edge(grid, a, b))
    points.append(points[0])
    return [[round(float(x), 6), round(float(y), 6)] for x, y in points]


def _properties(rank: int, rng: np.random.Generator) -> dict[str, Any]:
    status = STATUSES[int(rng.integers(0, 3))]
    reported = rng.random() < 0.7
    if status == "planned":
        progress = 0.0 if reported else None
    elif status == "in_progress":
        progress = float(int(rng.integers(5, 96))) if reported else None
    else:
        progress = 100.0 if reported else None
    start = dt.date(2021, 1, 1) + dt.timedelta(days=int(rng.integers(0, 1460)))
    end = start + dt.timedelta(days=int(rng.integers(180, 1460)))
    return {
        "id": f"parcel-{rank:06d}",
        "name_zh": f"地块 {rank:06d}",
        "name_en": f"Parcel {rank:06d}",
        "kind": "parcel",
        "status": status,
        "progress": progress,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "investment_yi": None,
        "source": "synthetic benchmark",
        "confidence": "approximate",
        "note": None,
    }


def parcels(n: int, start: int = 0) -> dict[str, Any]:
    """Parcels ranked start+1 .. start+n (nearest the centre first) as a canonical FeatureCollection."""
    grid = _grid()
    if start + n > len(grid.ranked):
        raise ValueError(f"only {len(grid.ranked)} parcels fit in the district, asked for {start + n}")
    features = []
    for rank in range(start + 1, start + n + 1):
        i, j = (int(v) for v in grid.ranked[rank - 1])
        rng = np.random.default_rng([SEED, i, j])  # a parcel's attributes depend on its cell only
        features.append(
            {
                "type": "Feature",
                "properties": _properties(rank, rng),
                "geometry": {"type": "Polygon", "coordinates": [_ring(grid, i, j)]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def status_counts(fc: dict[str, Any]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for feature in fc["features"]:
        counts[feature["properties"]["status"]] = counts.get(feature["properties"]["status"], 0) + 1
    return counts


def copy_geodata(target: Path) -> Path:
    """A private copy of the shipped geodata (never written to in place)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(GEODATA, target, ignore=shutil.ignore_patterns(".lock"))
    return target


def publish_layer(data_dir: Path, fc: dict[str, Any], message: str) -> int:
    """Publish `fc` as the new current version of the projects layer in `data_dir`; returns its number."""
    from urban_plan.store import Actor, FileLayerStore

    store = FileLayerStore(data_dir)
    latest = store.latest(LAYER)
    info = store.publish(
        LAYER, fc, actor=Actor("bench", "editor"), base_version=latest.number if latest else 0, message=message
    )
    return info.number


def make_data_dir(target: Path, n: int) -> Path:
    """A copy of geodata/ whose current projects layer is the first `n` synthetic parcels."""
    copy_geodata(target)
    publish_layer(target, parcels(n), f"benchmark: {n} synthetic parcels")
    return target


def upload_variant(n: int) -> dict[str, Any]:
    """What a planner would upload next: the first `n` parcels with about 10% changed in status and progress,
    1% moved by a few metres, the last 0.5% removed and 0.5% new parcels added (the diff has work to do)."""
    fc = parcels(n)
    rng = np.random.default_rng([SEED, n, 1])
    features = fc["features"]
    drop = max(1, n // 200)
    features = features[:-drop]
    for feature in features:
        roll = rng.random()
        props = feature["properties"]
        if roll < 0.10:
            props["status"] = "completed"
            props["progress"] = 100.0
        elif roll < 0.11:
            ring = feature["geometry"]["coordinates"][0]
            feature["geometry"]["coordinates"][0] = [[round(x + 0.00005, 6), round(y, 6)] for x, y in ring]
    features += parcels(drop, start=n)["features"]
    return {"type": "FeatureCollection", "features": features}


def write_geojson(path: Path, fc: dict[str, Any]) -> Path:
    """One feature per line, as desktop GIS exports it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in fc["features"])
    path.write_text(
        '{"type":"FeatureCollection","name":"projects","features":[\n' + lines + "\n]}\n", encoding="utf-8"
    )
    return path


def check(fc: dict[str, Any]) -> dict[str, Any]:
    """Shape statistics, and a hard failure if any parcel is invalid or out of the 6-12 vertex range."""
    geoms = shapely.from_geojson(np.array([json.dumps(f["geometry"]) for f in fc["features"]], dtype=object))
    valid = shapely.is_valid(geoms)
    vertices = shapely.get_num_coordinates(geoms) - 1  # the closing point repeats the first
    if not valid.all():
        bad = int(np.flatnonzero(~valid)[0])
        raise AssertionError(f"invalid parcel {fc['features'][bad]['properties']['id']}: {shapely.is_valid_reason(geoms[bad])}")
    if vertices.min() < 6 or vertices.max() > 12:
        raise AssertionError(f"vertex counts out of range: {vertices.min()}..{vertices.max()}")
    union_area = shapely.union_all(geoms).area
    return {
        "features": len(geoms),
        "vertices_min": int(vertices.min()),
        "vertices_max": int(vertices.max()),
        "vertices_mean": round(float(vertices.mean()), 2),
        "overlap_share": round(1 - union_area / float(shapely.area(geoms).sum()), 6),  # ~0: they tile
        "bounds": [round(v, 4) for v in shapely.total_bounds(geoms).tolist()],
        "statuses": status_counts(fc),
    }


if __name__ == "__main__":
    import sys

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print(json.dumps(check(parcels(count)), ensure_ascii=False), f"capacity={capacity()}")
