"""The district check: inside is accepted, far away or huge or grazing from next door is refused with a reason, a
line running on beyond the district is accepted with its share inside, and "inside only" leaves the rest out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
import shapely.affinity

from tests.unit import corpus
from urban_plan import district, ingest, problems, registry
from urban_plan.ingest import Options, Result

ROOT = Path(__file__).resolve().parents[2]
BOUNDARY = shapely.union_all(
    shapely.get_parts(shapely.from_geojson(json.dumps(json.loads(district.BOUNDARY_FILE.read_text())["features"][0])))
)
CENTRE = BOUNDARY.representative_point()


def geojson_of(shape: Any) -> dict[str, Any]:
    return json.loads(shapely.to_geojson(shape))


def read(*items: tuple[str, Any], layer: str = "projects", **options: Any) -> Result:
    """Read features (id, shapely geometry) with valid properties into `layer`."""
    features = [corpus.feature(corpus.props(fid), geojson_of(shape)) for fid, shape in items]
    return ingest.read_upload("a.geojson", corpus.to_bytes(corpus.collection(*features)), Options(layer, **options))


def codes(result: Result) -> list[tuple[str, str, str]]:
    return [(p.code, p.feature, p.severity) for p in result.problems]


def just_outside(distance_deg: float) -> shapely.Point:
    """A point `distance_deg` outside the boundary: inside the old 3 km tolerance margin when small."""
    ring = shapely.boundary(BOUNDARY.buffer(distance_deg))
    return shapely.Point(shapely.get_coordinates(ring)[0])


def neighbour_with_share(target: float) -> tuple[shapely.Polygon, float]:
    """A district-sized polygon shifted west until only about `target` of its area overlaps the district, as a
    neighbouring district's outline from another source does. Returns it and its true share (from GEOS overlay)."""
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        shape = shapely.affinity.translate(BOUNDARY.convex_hull, xoff=-mid)
        share = shape.intersection(BOUNDARY).area / shape.area
        lo, hi = (mid, hi) if share > target else (lo, mid)
    return shape, share


def sampled_share(line: shapely.LineString, samples: int = 2000) -> float:
    """Share of a line inside the district, estimated independently by sampling points along it."""
    points = [line.interpolate(i / (samples - 1), normalized=True) for i in range(samples)]
    return float(np.mean(shapely.contains(BOUNDARY, points)))


def test_a_feature_inside_the_district_passes_without_a_word() -> None:
    result = read(("p1", CENTRE), ("p2", shapely.box(*CENTRE.buffer(0.01).bounds)))
    assert result.ok and result.problems == []


@pytest.mark.parametrize("distance", [0.005, 0.02])
def test_a_point_just_outside_the_boundary_is_refused_even_within_the_old_margin(distance: float) -> None:
    result = read(("p1", just_outside(distance)))
    assert codes(result) == [("outside_district", "p1", "error")]
    assert not result.ok


def test_a_far_away_feature_is_refused_with_where_it_lies() -> None:
    result = read(("bj", shapely.Point(corpus.BEIJING)))
    (problem,) = result.errors
    assert (problem.code, problem.feature, problem.field) == ("outside_district", "bj", "geometry")
    assert "116.4" in problem.found and "39.9" in problem.found


@pytest.mark.parametrize(
    ("shape", "at_least"),
    [
        (shapely.box(73.5, 18.2, 134.8, 53.5), 1000),  # all of China, roughly
        (shapely.affinity.scale(BOUNDARY.convex_hull, 3.1, 3.1), 3),  # a city-sized area around Jiyang (济南市)
    ],
    ids=["china", "city"],
)
def test_an_area_many_times_the_district_is_refused_with_the_likely_cause(shape: Any, at_least: float) -> None:
    result = read(("big", shape))
    (problem,) = result.errors
    assert (problem.code, problem.feature) == ("district_far_too_large", "big")
    ratio = float(dict(problem.params)["ratio"].replace(",", ""))
    assert ratio >= at_least
    zh, en = problems.message(problem, "zh"), problems.message(problem, "en")
    assert "文件" in zh and "图层" in zh and "坐标系" in zh
    assert "file" in en and "layer" in en and "coordinate system" in en


@pytest.mark.parametrize("target", [0.001, 0.015])
def test_a_neighbouring_polygon_that_only_grazes_the_district_is_refused(target: float) -> None:
    shape, share = neighbour_with_share(target)
    result = read(("nb", shape))
    (problem,) = result.errors
    assert (problem.code, problem.feature) == ("mostly_outside_district", "nb")
    shown = dict(problem.params)["share"]
    assert shown == district.percent(share) and shown.endswith("%")
    assert "相邻" in problems.message(problem, "zh") and "neighbouring" in problems.message(problem, "en")


def small_straddling(target: float) -> tuple[shapely.Polygon, float]:
    """A 400 m square across the boundary, placed so that about `target` of it is inside: well within the old
    3 km margin, where digitising error used to excuse anything that touched the district."""
    x, y = shapely.get_coordinates(shapely.boundary(BOUNDARY))[10]
    candidates = []
    for step in np.linspace(-0.004, 0.004, 161):
        for dx, dy in ((step, 0.0), (0.0, step)):
            shape = shapely.box(x + dx - 0.002, y + dy - 0.002, x + dx + 0.002, y + dy + 0.002)
            candidates.append((abs(shape.intersection(BOUNDARY).area / shape.area - target), shape))
    shape = min(candidates, key=lambda c: c[0])[1]
    return shape, shape.intersection(BOUNDARY).area / shape.area


def test_a_small_shape_across_the_boundary_mostly_outside_is_refused_and_mostly_inside_passes() -> None:
    _, margin = district.boundary_and_margin()
    outside, share = small_straddling(0.04)
    assert margin.contains(outside) and 0.01 < share < 0.08
    assert codes(read(("s1", outside))) == [("mostly_outside_district", "s1", "error")]
    inside, share = small_straddling(0.7)
    assert margin.contains(inside) and 0.6 < share < 0.8
    assert read(("s2", inside)).problems == []


def test_a_polygon_mostly_inside_that_reaches_beyond_is_accepted_with_its_share() -> None:
    shape, share = neighbour_with_share(0.6)
    result = read(("half", shape))
    assert result.ok
    (warning,) = result.warnings
    assert (warning.code, warning.feature) == ("partly_inside_district", "half")
    assert dict(warning.params)["share"] == f"{share * 100:.0f}%"


def test_a_line_running_beyond_the_district_is_accepted_with_the_share_inside() -> None:
    line = shapely.LineString(corpus.HALF_OUTSIDE)
    result = read(("r1", line), layer="roads")
    assert result.ok
    (warning,) = result.warnings
    assert (warning.code, warning.feature, warning.field) == ("partly_inside_district", "r1", "geometry")
    shown = float(dict(warning.params)["share"].rstrip("%"))
    assert shown == pytest.approx(sampled_share(line) * 100, abs=1.5)
    assert 0 < shown < 100


def test_inside_only_keeps_the_features_inside_and_lists_each_one_left_out() -> None:
    grazing, _ = neighbour_with_share(0.01)
    features = [
        corpus.feature(corpus.props("in1"), geojson_of(CENTRE)),
        corpus.feature(corpus.props("far", status=None), corpus.point(corpus.BEIJING)),  # its errors do not count
        corpus.feature(corpus.props("huge"), geojson_of(shapely.box(73.5, 18.2, 134.8, 53.5))),
        corpus.feature(corpus.props("nb"), geojson_of(grazing)),
        corpus.feature(corpus.props("line"), corpus.line(corpus.HALF_OUTSIDE)),
    ]
    data = corpus.to_bytes(corpus.collection(*features))
    refused = ingest.read_upload("a.geojson", data, Options("projects"))
    assert {(p.code, p.feature) for p in refused.errors} >= {
        ("outside_district", "far"),
        ("district_far_too_large", "huge"),
        ("mostly_outside_district", "nb"),
    }
    result = ingest.read_upload("a.geojson", data, Options("projects", inside_only=True))
    assert result.ok, result.errors
    assert [f["properties"]["id"] for f in result.collection["features"]] == ["in1", "line"]
    left_out = sorted(p.feature for p in result.warnings if p.code == "left_out_outside")
    assert left_out == ["far", "huge", "nb"]
    assert all(p.field == "geometry" and p.found for p in result.warnings if p.code == "left_out_outside")
    assert "partly_inside_district" in {p.code for p in result.warnings}


def test_row_ids_stay_those_of_the_file_when_features_are_left_out() -> None:
    features = [
        corpus.feature({"名称": "外", "状态": "规划"}, corpus.point(corpus.BEIJING)),
        corpus.feature({"名称": "内", "状态": "规划"}, geojson_of(CENTRE)),
    ]
    data = corpus.to_bytes(corpus.collection(*features))
    result = ingest.read_upload("a.geojson", data, Options("projects", inside_only=True, id_from="row"))
    assert [f["properties"]["id"] for f in result.collection["features"]] == ["R000002"]
    assert [p.feature for p in result.warnings if p.code == "left_out_outside"] == ["R000001"]


def test_an_invalid_polygon_across_the_boundary_is_reported_not_raised() -> None:
    x, y = shapely.get_coordinates(shapely.boundary(BOUNDARY))[0]
    bow_tie = shapely.Polygon([(x - 0.05, y - 0.05), (x + 0.05, y + 0.05), (x + 0.05, y - 0.05), (x - 0.05, y + 0.05)])
    assert not bow_tie.is_valid
    assert codes(read(("b1", bow_tie))) == [
        ("partly_inside_district", "b1", "warning"),
        ("invalid_geometry", "b1", "error"),
    ]
    assert codes(read(("b1", bow_tie), repair=True))[-1] == ("geometry_repaired", "b1", "warning")


def shipped_collections() -> list[Any]:
    """Every layer as shipped, and every stored version of it (the seeded history)."""
    out = []
    for layer in registry.builtin().ids():
        out.append(pytest.param(layer, ROOT / "geodata" / f"{layer}.geojson", id=f"{layer}-mirror"))
        for path in sorted((ROOT / "geodata" / "store" / layer).glob("v*.json")):
            out.append(pytest.param(layer, path, id=f"{layer}-{path.stem}"))
    return out


@pytest.mark.parametrize(("layer", "path"), shipped_collections())
def test_every_shipped_feature_is_accepted_again_by_re_import(layer: str, path: Path) -> None:
    result = ingest.read_upload(path.name, path.read_bytes(), Options(layer))
    assert result.errors == []
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert len(result.collection["features"]) == len(stored["features"])
    assert all(p.code in ("partly_inside_district",) for p in result.warnings), result.warnings
