"""The shipped layers: schema, facts as of the latest dated report, honesty about what is unknown."""

from __future__ import annotations

import datetime as dt
import filecmp
import json
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape

from urban_plan import registry, schema, seed
from urban_plan.store import FileLayerStore

ROOT = Path(__file__).resolve().parents[2]
GEODATA = ROOT / "geodata"


def load(layer: str) -> dict:
    return json.loads((GEODATA / f"{layer}.geojson").read_text(encoding="utf-8"))


@pytest.mark.parametrize("layer", registry.builtin().ids())
def test_every_shipped_layer_follows_the_schema(layer: str) -> None:
    fc = load(layer)
    assert fc["type"] == "FeatureCollection" and "crs" not in fc  # RFC 7946: WGS84, no crs member
    assert schema.validate_collection(fc, registry.builtin()[layer]) == []
    for feature in fc["features"]:
        assert set(feature["properties"]) == set(schema.FIELDS)
        assert feature["properties"]["source"], "every feature says where it came from"
        assert feature["properties"]["confidence"] in schema.CONFIDENCES


@pytest.mark.parametrize("layer", registry.builtin().ids())
def test_every_shipped_feature_lies_in_the_district(layer: str) -> None:
    boundary = shape(load("context")["features"][0]["geometry"]).buffer(0.01)  # ~1 km for river-edge sketches
    for feature in load(layer)["features"]:
        assert boundary.contains(shape(feature["geometry"])), feature["properties"]["id"]


def test_the_five_projects_are_the_articles_five_and_no_investment_split_is_invented() -> None:
    props = [f["properties"] for f in load("projects")["features"]]
    assert sorted(p["name_zh"] for p in props) == sorted(
        ["精致城市建设", "更衣亭城市更新", "滨河片区市政道路建设", "黄河大道北延", "大寺河市政设施建设"]
    )
    assert all(p["investment_yi"] is None for p in props)
    assert schema.FIVE_PROJECTS_TOTAL_YI == 135.8


def test_the_nine_road_works_are_placeholders_that_say_so() -> None:
    props = [f["properties"] for f in load("roads")["features"]]
    assert len(props) == 9
    for p in props:
        assert p["confidence"] == "placeholder"
        assert "未公开" in p["name_zh"] and "not public" in p["name_en"]


def test_the_rail_layer_has_the_station_the_line_and_the_connector_across_g220() -> None:
    features = {f["properties"]["id"]: f for f in load("rail")["features"]}
    assert {"rail-station", "rail-hsr", "rail-connector"} <= set(features)
    g220 = shape(next(f for f in load("context")["features"] if f["properties"]["id"] == "ctx-g220")["geometry"])
    assert shape(features["rail-connector"]["geometry"]).crosses(g220)
    station = shape(features["rail-station"]["geometry"])
    assert station.x < shapely.get_coordinates(g220)[:, 0].max()  # the station is west of G220


def test_status_and_dates_come_from_the_latest_dated_facts() -> None:
    projects = {f["properties"]["id"]: f["properties"] for f in load("projects")["features"]}
    huanghe = projects["prj-huanghe-north"]
    assert (huanghe["status"], huanghe["end_date"], huanghe["progress"]) == ("in_progress", "2026-09-30", None)
    assert projects["prj-dasi-river"]["status"] == "planned"  # no report since the 2023 plan
    rail = {f["properties"]["id"]: f["properties"] for f in load("rail")["features"]}
    assert rail["rail-hsr"]["status"] == "in_progress" and rail["rail-hsr"]["progress"] is None
    assert "70%" in rail["rail-hsr"]["note"]  # the component figures are reported, no overall figure is made up


def test_the_layout_reading_is_labelled_as_an_interpretation() -> None:
    for feature in load("layout")["features"]:
        assert "解读" in feature["properties"]["note"] and "interpretation" in feature["properties"]["note"]


def test_the_mirror_files_equal_the_current_versions_in_the_store() -> None:
    store = FileLayerStore(GEODATA)
    for layer in registry.builtin().ids():
        assert (GEODATA / f"{layer}.geojson").read_bytes() == store.load_bytes(layer)


def test_the_seeded_history_has_the_dated_facts() -> None:
    store = FileLayerStore(GEODATA)
    as_of = {v.as_of for layer in registry.builtin().ids() for v in store.history(layer)}
    assert {"2023-01-11", "2023-12-31", "2024-11-11", "2025-11-30", "2026-02-28", "2026-03-10"} <= as_of
    assert store.effective("rail", dt.date(2023, 6, 1)).number == 1  # only the planned connector then


def test_rebuilding_the_seed_reproduces_the_shipped_store_exactly(tmp_path: Path) -> None:
    seed.main(str(tmp_path))
    comparison = filecmp.dircmp(tmp_path / "store", GEODATA / "store", ignore=[".lock"])
    differing = comparison.diff_files + [f"{d}/{f}" for d, sub in comparison.subdirs.items() for f in sub.diff_files]
    missing = comparison.left_only + comparison.right_only
    assert not differing and not missing, (differing, missing)
    for layer in registry.builtin().ids():
        assert (tmp_path / f"{layer}.geojson").read_bytes() == (GEODATA / f"{layer}.geojson").read_bytes()
