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
    """The jittered grid over the district's bounding box, and the usable cells ranked by distance to the centre.
    Every random number is drawn once for the whole grid, so a parcel depends only on its cell."""

    corners: np.ndarray  # (nx+1, ny+1, 2) jittered corner coordinates
    h_bends: np.ndarray  # (nx, ny+1) 1-2 extra vertices on the horizontal edge from corner (i,j) to (i+1,j)
    v_bends: np.ndarray  # (nx+1, ny) 0-2 extra vertices on the vertical edge from corner (i,j) to (i,j+1)
    h_offsets: np.ndarray  # (nx, ny+1, 2) perpendicular offsets of those vertices, as shares of a cell
    v_offsets: np.ndarray  # (nx+1, ny, 2)
    attributes: dict[str, np.ndarray]  # (nx, ny) each: status, reported, progress, start, duration
    ranked: np.ndarray  # (m, 2) cell indices (i, j) inside the district, nearest to CENTRE first


@functools.cache
def _grid() -> _Grid:
    boundary_doc = json.loads(BOUNDARY.read_text(encoding="utf-8"))
    boundary = shapely.from_geojson(json.dumps(boundary_doc["features"][0]["geometry"]))
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
    attributes = {
        "status": rng.integers(0, len(STATUSES), size=(nx, ny)),
        "reported": rng.random(size=(nx, ny)) < 0.7,
        "progress": rng.integers(5, 96, size=(nx, ny)),
        "start": rng.integers(0, 1460, size=(nx, ny)),
        "duration": rng.integers(180, 1460, size=(nx, ny)),
    }
    # Usable cells: the cell's centre lies inside the district shrunk by more than a jittered cell's reach.
    inner = boundary.buffer(-2 * max(CELL_LON, CELL_LAT))
    ci, cj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    ci, cj = ci.ravel(), cj.ravel()
    centre_x = west + (ci + 0.5) * CELL_LON
    centre_y = south + (cj + 0.5) * CELL_LAT
    inside = shapely.contains_xy(inner, centre_x, centre_y)
    ci, cj, centre_x, centre_y = ci[inside], cj[inside], centre_x[inside], centre_y[inside]
    distance = np.hypot((centre_x - CENTRE[0]) * np.cos(np.radians(CENTRE[1])), centre_y - CENTRE[1])
    order = np.lexsort((cj, ci, distance))  # nearest first; ties broken by position, so the order is total
    ranked = np.column_stack([ci, cj])[order]
    return _Grid(corners, h_bends, v_bends, h_offsets, v_offsets, attributes, ranked)


def capacity() -> int:
    """How many parcels fit inside the district at this cell size."""
    return len(_grid().ranked)


def _edge_points(
    start: list[float], end: list[float], bends: int, offsets: list[float], scale: float
) -> list[tuple[float, float]]:
    """Start corner plus the extra vertices of the edge start->end (canonical direction), without the end corner.
    Neighbours compute the same edge from the same numbers, so they share their border exactly."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = (dx * dx + dy * dy) ** 0.5 or 1.0
    nx_, ny_ = -dy / length, dx / length
    points = [(start[0], start[1])]
    for index in range(bends):
        share = (index + 1) / (bends + 1)
        off = offsets[index] * scale
        points.append((start[0] + share * dx + off * nx_, start[1] + share * dy + off * ny_))
    return points


def _rings(cells: np.ndarray) -> list[list[list[float]]]:
    """Counter-clockwise exterior rings (RFC 7946) of the cells, closed, rounded to 1e-6 degrees (~0.1 m)."""
    g = _grid()
    i, j = cells[:, 0], cells[:, 1]
    c00, c10 = g.corners[i, j].tolist(), g.corners[i + 1, j].tolist()
    c11, c01 = g.corners[i + 1, j + 1].tolist(), g.corners[i, j + 1].tolist()
    bottom = (g.h_bends[i, j].tolist(), g.h_offsets[i, j].tolist())
    top = (g.h_bends[i, j + 1].tolist(), g.h_offsets[i, j + 1].tolist())
    left = (g.v_bends[i, j].tolist(), g.v_offsets[i, j].tolist())
    right = (g.v_bends[i + 1, j].tolist(), g.v_offsets[i + 1, j].tolist())
    rings = []
    for n in range(len(cells)):
        south = _edge_points(c00[n], c10[n], bottom[0][n], bottom[1][n], CELL_LAT)
        east = _edge_points(c10[n], c11[n], right[0][n], right[1][n], CELL_LON)
        north = _edge_points(c01[n], c11[n], top[0][n], top[1][n], CELL_LAT)  # canonical west->east ...
        west = _edge_points(c00[n], c01[n], left[0][n], left[1][n], CELL_LON)  # ... and south->north
        # Walk counter-clockwise: south edge eastwards, east edge northwards, north and west edges reversed.
        path = south + east + [(c11[n][0], c11[n][1]), *reversed(north[1:])] + [north[0], *reversed(west[1:])]
        path.append(path[0])
        rings.append([[round(x, 6), round(y, 6)] for x, y in path])
    return rings


def parcels(n: int, start: int = 0) -> dict[str, Any]:
    """Parcels ranked start+1 .. start+n (nearest the centre first) as a canonical FeatureCollection."""
    g = _grid()
    if start + n > len(g.ranked):
        raise ValueError(f"only {len(g.ranked)} parcels fit in the district, asked for {start + n}")
    cells = g.ranked[start : start + n]
    i, j = cells[:, 0], cells[:, 1]
    a = {name: values[i, j].tolist() for name, values in g.attributes.items()}
    first = dt.date(2021, 1, 1)
    features = []
    for index, ring in enumerate(_rings(cells)):
        rank = start + index + 1
        status = STATUSES[a["status"][index]]
        progress = None
        if a["reported"][index]:
            progress = {"planned": 0.0, "in_progress": float(a["progress"][index]), "completed": 100.0}[status]
        begin = first + dt.timedelta(days=a["start"][index])
        finish = begin + dt.timedelta(days=a["duration"][index])
        properties = {
            "id": f"parcel-{rank:06d}",
            "name_zh": f"地块 {rank:06d}",
            "name_en": f"Parcel {rank:06d}",
            "kind": "parcel",
            "status": status,
            "progress": progress,
            "start_date": begin.isoformat(),
            "end_date": finish.isoformat(),
            "investment_yi": None,
            "source": "synthetic benchmark",
            "confidence": "approximate",
            "note": None,
        }
        features.append(
            {"type": "Feature", "properties": properties, "geometry": {"type": "Polygon", "coordinates": [ring]}}
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
    path.write_text('{"type":"FeatureCollection","name":"projects","features":[\n' + lines + "\n]}\n", encoding="utf-8")
    return path


def check(fc: dict[str, Any]) -> dict[str, Any]:
    """Shape statistics, and a hard failure if any parcel is invalid or out of the 6-12 vertex range."""
    geoms = shapely.from_geojson(np.array([json.dumps(f["geometry"]) for f in fc["features"]], dtype=object))
    valid = shapely.is_valid(geoms)
    vertices = shapely.get_num_coordinates(geoms) - 1  # the closing point repeats the first
    if not valid.all():
        bad = int(np.flatnonzero(~valid)[0])
        raise AssertionError(
            f"invalid parcel {fc['features'][bad]['properties']['id']}: {shapely.is_valid_reason(geoms[bad])}"
        )
    if vertices.min() < 6 or vertices.max() > 12:
        raise AssertionError(f"vertex counts out of range: {vertices.min()}..{vertices.max()}")
    # Tiling check on a sample (a union of 50k polygons is slow): the parcels must not overlap.
    sample = geoms[: min(len(geoms), 2000)]
    union_area = shapely.union_all(sample).area
    return {
        "features": len(geoms),
        "vertices_min": int(vertices.min()),
        "vertices_max": int(vertices.max()),
        "vertices_mean": round(float(vertices.mean()), 2),
        "overlap_share": round(1 - union_area / float(shapely.area(sample).sum()), 6),  # ~0: they tile
        "bounds": [round(v, 4) for v in shapely.total_bounds(geoms).tolist()],
        "statuses": status_counts(fc),
    }


if __name__ == "__main__":
    import sys

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print(json.dumps(check(parcels(count)), ensure_ascii=False), f"capacity={capacity()}")
