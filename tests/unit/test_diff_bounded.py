"""The "metres moved" diff: right for known shifts, and its cost bounded whatever the size of a changed shape."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import shapely

from urban_plan import diff
from urban_plan.datum import from_gauss_kruger_4548, gauss_kruger_4548

# What the exact (quadratic) routine may be handed at most: vertices of one old+new pair, and over a whole diff
# the sum of old x new vertex products. Fixed here, independently of the module's own constants.
PAIR_VERTEX_LIMIT = 5_000
TOTAL_WORK_LIMIT = 50_000_000
CENTRE = gauss_kruger_4548(117.17, 36.98)
REAL_HAUSDORFF = shapely.hausdorff_distance  # for expected values, outside the counting below


def ring_lonlat(n: int, *, radius_m: float = 500.0, dx_m: float = 0.0, dy_m: float = 0.0) -> list[list[float]]:
    """A closed ring of n vertices around the district centre, drawn in metres and moved by (dx, dy) metres."""
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    x = float(CENTRE[0]) + radius_m * np.cos(angles) + dx_m
    y = float(CENTRE[1]) + radius_m * np.sin(angles) + dy_m
    lon, lat = from_gauss_kruger_4548(x, y)
    ring = np.column_stack([lon, lat]).tolist()
    return [*ring, ring[0]]


def points_lonlat(n: int, *, dx_m: float = 0.0, seed: int = 7) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    x = float(CENTRE[0]) + rng.uniform(-800, 800, n) + dx_m
    y = float(CENTRE[1]) + rng.uniform(-800, 800, n)
    lon, lat = from_gauss_kruger_4548(x, y)
    return np.column_stack([lon, lat]).tolist()


def fc(*geometries: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"id": f"f{i}", "name_zh": "甲"}, "geometry": g}
            for i, g in enumerate(geometries)
        ],
    }


def polygon(ring: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def exact_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(old, new) vertex counts of every pair handed to GEOS' Hausdorff routine, the one whose cost is quadratic."""
    calls: list[tuple[int, int]] = []
    real = shapely.hausdorff_distance

    def counting(a: Any, b: Any, *args: Any, **kwargs: Any) -> Any:
        for one, two in zip(np.atleast_1d(a), np.atleast_1d(b), strict=True):
            calls.append((int(shapely.get_num_coordinates(one)), int(shapely.get_num_coordinates(two))))
        return real(a, b, *args, **kwargs)

    monkeypatch.setattr(shapely, "hausdorff_distance", counting)
    return calls


def moved(old: dict[str, Any], new: dict[str, Any]) -> float | None:
    (change,) = diff.diff_collections(fc(old), fc(new)).changed
    return change.moved_m


@pytest.mark.parametrize("vertices", [40, 1_000])
def test_a_small_polygon_moved_100_m_east_is_reported_as_moved_100_m(vertices: int) -> None:
    assert moved(polygon(ring_lonlat(vertices)), polygon(ring_lonlat(vertices, dx_m=100))) == pytest.approx(
        100, abs=0.1
    )


def test_a_40k_vertex_polygon_moved_100_m_is_reported_as_moved_100_m_without_the_exact_routine(
    exact_calls: list[tuple[int, int]],
) -> None:
    result = moved(polygon(ring_lonlat(40_000)), polygon(ring_lonlat(40_000, dx_m=60, dy_m=80)))
    assert result == pytest.approx(100, abs=0.1)
    assert all(a + b <= PAIR_VERTEX_LIMIT for a, b in exact_calls), exact_calls


def test_a_redrawn_large_polygon_gets_an_approximate_distance_within_a_few_metres(
    exact_calls: list[tuple[int, int]],
) -> None:
    # Other vertex count, other start: no vertex-to-vertex correspondence, so the bounded estimate is used.
    old = polygon(ring_lonlat(6_000))
    other = ring_lonlat(5_999, radius_m=530, dx_m=100)
    new = polygon(other[7:-1] + other[:8])
    truth = REAL_HAUSDORFF(*_projected(old, new))
    result = moved(old, new)
    assert truth == pytest.approx(130, abs=1)
    assert result == pytest.approx(truth, abs=5)
    assert all(a + b <= PAIR_VERTEX_LIMIT for a, b in exact_calls), exact_calls


def test_a_multipoint_of_100k_points_moved_100_m_is_measured_without_the_exact_routine(
    exact_calls: list[tuple[int, int]],
) -> None:
    old = {"type": "MultiPoint", "coordinates": points_lonlat(100_000)}
    new = {"type": "MultiPoint", "coordinates": points_lonlat(100_000, dx_m=100)}
    assert moved(old, new) == pytest.approx(100, abs=0.1)
    assert all(a + b <= PAIR_VERTEX_LIMIT for a, b in exact_calls), exact_calls


def test_many_mid_sized_changed_shapes_share_one_bounded_budget_of_exact_work(
    exact_calls: list[tuple[int, int]],
) -> None:
    count, vertices = 150, 900  # each pair under any per-pair budget; all of them together far over the total
    old = fc(*(polygon(ring_lonlat(vertices, radius_m=100 + i)) for i in range(count)))
    new = fc(*(polygon(ring_lonlat(vertices, radius_m=100 + i, dx_m=10)) for i in range(count)))
    result = diff.diff_collections(old, new)
    assert len(result.changed) == count
    assert all(c.moved_m == pytest.approx(10, abs=0.5) for c in result.changed)
    assert sum(a * b for a, b in exact_calls) <= TOTAL_WORK_LIMIT


def test_rounding_noise_on_a_large_polygon_is_not_a_move() -> None:
    ring = ring_lonlat(30_000)
    nudged = [[lon + 1e-7, lat] for lon, lat in ring]  # about a centimetre: RFC 7946 rounding, not an edit
    result = diff.diff_collections(fc(polygon(ring)), fc(polygon(nudged)))
    assert result.is_empty and result.unchanged == 1


def test_a_small_edit_is_still_measured_exactly(exact_calls: list[tuple[int, int]]) -> None:
    old = {"type": "LineString", "coordinates": [[117.16, 36.97], [117.17, 36.98], [117.18, 36.99]]}
    new = {"type": "LineString", "coordinates": [[117.16, 36.97], [117.172, 36.98], [117.18, 36.99]]}
    expected = REAL_HAUSDORFF(*_projected(old, new))
    assert moved(old, new) == pytest.approx(expected, rel=1e-9)
    assert exact_calls == [(3, 3)]


def _projected(*geometries: dict[str, Any]) -> list[Any]:
    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(gauss_kruger_4548(coords[:, 0], coords[:, 1]))

    return [shapely.transform(shapely.geometry.shape(g), project) for g in geometries]


def test_a_jittered_point_cloud_gets_an_estimate_marked_as_approximate(exact_calls: list[tuple[int, int]]) -> None:
    # Same points, each moved a different way: no single shift, so the grid estimate decides (and says so).
    old_points = points_lonlat(3_000)
    rng = np.random.default_rng(3)
    new_points = [[lon + dx, lat] for (lon, lat), dx in zip(old_points, rng.uniform(0, 2e-4, 3_000), strict=True)]
    old = {"type": "MultiPoint", "coordinates": old_points}
    new = {"type": "MultiPoint", "coordinates": new_points}
    truth = REAL_HAUSDORFF(*_projected(old, new))
    (change,) = diff.diff_collections(fc(old), fc(new)).changed
    assert change.moved_approximate
    assert change.moved_m == pytest.approx(truth, abs=3)
    assert exact_calls == []
