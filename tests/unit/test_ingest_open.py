"""Open attributes through read_upload: every column is kept under its own name with a type, constants and ids
as the uploader sets them, and the small defects of issue 10 (null properties, empty files)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit import corpus
from urban_plan import i18n, ingest, problems, registry, schema
from urban_plan.ingest import Options, Result
from urban_plan.registry import FieldDef, LayerDef

SRC = Path(__file__).resolve().parents[2] / "src" / "urban_plan"
PROJECTS = registry.builtin()["projects"]
CONTEXT = registry.builtin()["context"]


def upload(*rows: dict[str, Any] | None, name: str = "a.geojson", **options: Any) -> Result:
    """Read one point feature per row of properties (None: `"properties": null`) into the projects layer."""
    options.setdefault("layer", "projects")
    features = [corpus.feature(row, corpus.point()) for row in rows]
    return ingest.read_upload(name, corpus.to_bytes(corpus.collection(*features)), Options(**options))


def stored(result: Result) -> list[dict[str, Any]]:
    assert result.ok, result.problems
    assert result.collection is not None
    return [f["properties"] for f in result.collection["features"]]


def errors(result: Result) -> list[tuple[str, str, str]]:
    return [(p.code, p.feature, p.field) for p in result.errors]


def with_fields(layer: LayerDef, *fields: FieldDef) -> LayerDef:
    return dataclasses.replace(layer, fields=fields)


# --- extra columns are kept -----------------------------------------------------------------------------------


def test_extra_chinese_columns_are_kept_under_their_names_with_types_inferred() -> None:
    rows = [
        corpus.props(f"p{i}", 建设单位=unit, 用地面积=area, 批复日期=date, 学段=stage, 重点=key, 范围=extent)
        for i, (unit, area, date, stage, key, extent) in enumerate(
            [
                ("区住建局", "12.5", "2026/9/30", "小学", True, {"街道": ["济北"]}),
                ("区城投", "1,250", "2027年1月5日", "小学", False, [1, 2]),
                ("区住建局", 8, None, "初中", True, None),
                ("区交通局", " ", "2025-03-01", "初中", False, None),
            ]
        )
    ]
    result = upload(*rows)
    props = stored(result)
    assert props[0]["建设单位"] == "区住建局" and props[1]["用地面积"] == 1250 and props[0]["用地面积"] == 12.5
    assert [p.get("批复日期") for p in props] == ["2026-09-30", "2027-01-05", None, "2025-03-01"]
    assert props[0]["范围"] == {"街道": ["济北"]} and props[1]["范围"] == [1, 2]
    assert "用地面积" not in props[3] and "范围" not in props[2]  # blank values are omitted, not stored as null
    types = {f.name: f.type for f in result.new_fields}
    assert types == {"建设单位": "text", "用地面积": "number", "批复日期": "date", "学段": "enum", "重点": "boolean",
                     "范围": "json"}  # fmt: skip
    assert next(f for f in result.new_fields if f.name == "学段").option_values() == ("小学", "初中")
    assert not [p for p in result.problems if p.code == "fields_dropped"]


def test_a_declared_attribute_is_read_as_its_type_and_a_value_that_does_not_fit_is_an_error_per_feature() -> None:
    layer = with_fields(PROJECTS, FieldDef("用地面积", "用地面积", "Site area", "number"))
    result = upload(corpus.props("p1", 用地面积="1,250.5"), corpus.props("p2", 用地面积="约3公顷"), layer_def=layer)
    assert errors(result) == [("attribute_not_number", "p2", "用地面积")]
    problem = result.errors[0]
    assert problem.found == "约3公顷"
    zh, en = problems.message(problem, "zh"), problems.message(problem, "en")
    assert "约3公顷" in zh and "数字" in zh and "文字类型" in zh
    assert "约3公顷" in en and "number" in en and "text" in en
    fixed = upload(corpus.props("p1", 用地面积="1,250.5"), layer_def=layer)
    assert stored(fixed)[0]["用地面积"] == 1250.5 and fixed.new_fields == ()


@pytest.mark.parametrize(
    ("type_", "value", "code"),
    [("date", "明年", "attribute_not_date"), ("boolean", "也许", "attribute_not_boolean"),
     ("text", {"a": 1}, "attribute_not_text"), ("text", "长" * 2001, "text_too_long")],
)  # fmt: skip
def test_each_declared_type_names_what_it_found(type_: str, value: Any, code: str) -> None:
    layer = with_fields(PROJECTS, FieldDef("字段", "字段", "Field", type_))
    result = upload(corpus.props("p1", 字段=value), layer_def=layer)
    assert errors(result) == [(code, "p1", "字段")]
    assert i18n.has(f"problem.{code}", "zh") and i18n.has(f"problem.{code}", "en")


def test_a_new_value_of_a_declared_enum_is_accepted_added_to_the_field_and_named() -> None:
    stage = FieldDef("学段", "学段", "Stage", "enum", options=(("小学", "小学", "Primary"),))
    result = upload(
        corpus.props("p1", 学段="小学"), corpus.props("p2", 学段="高中"), layer_def=with_fields(PROJECTS, stage)
    )
    assert [p.get("学段") for p in stored(result)] == ["小学", "高中"]
    (notice,) = [p for p in result.warnings if p.code == "enum_value_added"]
    assert (notice.field, notice.found) == ("学段", "高中")
    (field,) = result.new_fields
    assert field.option_values() == ("小学", "高中") and field.options[0] == ("小学", "小学", "Primary")


def test_a_declared_required_attribute_must_be_there() -> None:
    layer = with_fields(PROJECTS, FieldDef("建设单位", "建设单位", "Builder", required=True))
    assert errors(upload(corpus.props("p1"), layer_def=layer)) == [("required_field_unmapped", "*", "建设单位")]
    blank = upload(corpus.props("p1", 建设单位="区城投"), corpus.props("p2", 建设单位=" "), layer_def=layer)
    assert errors(blank) == [("missing_required", "p2", "建设单位")]


def test_column_names_are_trimmed_and_ones_that_cannot_be_attributes_are_errors_saying_what_to_do() -> None:
    assert "建设单位" in stored(upload(corpus.props("p1", **{" 建设单位 ": "区城投"})))[0]
    kept_note = upload(corpus.props("p1", note="内部"), field_map={"note": None})
    assert errors(kept_note) == [("attribute_name_canonical", "*", "note")]
    assert "对应" in problems.message(kept_note.errors[0], "zh") and "map" in problems.message(
        kept_note.errors[0], "en"
    )
    for name in ("geometry", "_fid", "Properties"):
        assert errors(upload(corpus.props("p1", **{name: 1}))) == [("attribute_name_reserved", "*", name)]
    twice = upload(corpus.props("p1", **{"单位": "a", "单位 ": "b"}))
    assert errors(twice) == [("attribute_name_twice", "*", "单位")]


def test_a_column_left_out_on_purpose_is_not_stored_and_is_named_in_a_notice() -> None:
    result = upload(corpus.props("p1", 联系人="张三", 电话="123"), field_map={"联系人": "-", "电话": "-"})
    assert "联系人" not in stored(result)[0] and "电话" not in stored(result)[0]
    (notice,) = result.warnings
    assert (notice.code, notice.found) == ("fields_left_out", "联系人, 电话")
    assert result.field_map["联系人"] == "-" and {f.name for f in result.new_fields} == set()


def test_a_layer_that_tracks_no_progress_needs_no_status_but_a_progress_layer_does() -> None:
    row = {"编号": "c1", "名称": "济阳街道"}
    assert stored(upload(row, layer="context"))[0]["status"] is None
    assert errors(upload(row)) == [("required_field_unmapped", "*", "status")]


def test_a_gbk_geojson_keeps_its_chinese_extra_columns() -> None:
    row = {**corpus.GBK_PROPERTIES, "建设单位": "济阳区住房和城乡建设局", "联系人": "王工"}
    data = corpus.to_bytes(corpus.collection(corpus.feature(row, corpus.point())), encoding="gbk")
    result = ingest.read_upload("a.geojson", data, Options("projects"))
    assert "GBK" in result.detected["encoding"]
    (props,) = stored(result)
    assert (props["建设单位"], props["联系人"], props["name_zh"]) == ("济阳区住房和城乡建设局", "王工", "济阳黄河大桥")


def test_a_gbk_shapefile_without_cpg_keeps_its_chinese_extra_columns() -> None:
    rows = corpus.road_rows(建设单位="区城投", 长度=2.5)
    parts = corpus.shapefile_parts(rows, corpus.road_geometries(), encoding="GBK")
    result = ingest.read_upload("roads.zip", corpus.zipped(parts, drop=(".cpg",)), Options("roads"))
    (props,) = stored(result)
    assert (props["建设单位"], props["长度"]) == ("区城投", 2.5)
    assert {f.name: f.type for f in result.new_fields} == {"建设单位": "text", "长度": "number"}


def test_a_file_read_again_after_its_fields_are_declared_gives_the_same_features_and_nothing_new() -> None:
    first = upload(
        corpus.props("p1", 建设单位="区城投", 面积="3.5", 范围={"a": [1]}), corpus.props("p2", 建设单位="区住建局")
    )
    declared = registry.declare_fields(registry.builtin(), "projects", first.new_fields)["projects"]
    again = ingest.read_upload(
        "b.geojson", json.dumps(first.collection).encode(), Options("projects", layer_def=declared)
    )
    assert again.ok and again.new_fields == ()
    assert again.collection == first.collection


# --- constants ---------------------------------------------------------------------------------------------------


def test_a_constant_gives_every_feature_the_value_read_as_the_field_reads_it() -> None:
    rows = [{"编号": "a", "名称": "甲"}, {"编号": "b", "名称": "乙"}]
    result = upload(*rows, set_values=(("status", "规划"), ("progress", "0%")))
    assert [(p["status"], p["progress"]) for p in stored(result)] == [("planned", 0.0), ("planned", 0.0)]
    by_alias = upload(*rows, set_values=(("状态", "在建"),))
    assert {p["status"] for p in stored(by_alias)} == {"in_progress"}


def test_a_constant_for_a_field_the_file_has_wins_with_a_notice() -> None:
    result = upload(corpus.props("p1", status="已完工"), set_values=(("status", "planned"),))
    assert stored(result)[0]["status"] == "planned"
    (notice,) = result.warnings
    assert (notice.code, notice.field, notice.found) == ("constant_replaces_column", "status", "status")


def test_a_constant_for_an_attribute_takes_its_type() -> None:
    layer = with_fields(PROJECTS, FieldDef("批次", "批次", "Batch", "number"))
    assert {p["批次"] for p in stored(upload(corpus.props("p1"), set_values=(("批次", "2"),), layer_def=layer))} == {2}
    bad = upload(corpus.props("p1"), set_values=(("批次", "第二批"),), layer_def=layer)
    assert errors(bad) == [("attribute_not_number", "p1", "批次")]


def test_a_constant_status_that_is_no_status_word_is_reported() -> None:
    assert errors(upload({"编号": "a", "名称": "甲"}, set_values=(("status", "烂尾"),))) == [
        ("bad_status", "a", "status")
    ]


def test_a_constant_for_a_field_nobody_knows_is_an_error_listing_the_fields() -> None:
    result = upload(corpus.props("p1"), set_values=(("颜色", "红"),))
    assert errors(result) == [("unknown_constant_field", "*", "颜色")]
    assert "status" in dict(result.errors[0].params)["known"]


# --- ids ---------------------------------------------------------------------------------------------------------


def test_ids_from_a_named_column_whatever_the_aliases_say() -> None:
    rows = [
        {"编码": "JY-01", "编号": "旧7", "名称": "甲", "状态": "规划"},
        {"编码": "JY-02", "编号": "旧7", "名称": "乙", "状态": "规划"},
    ]
    result = upload(*rows, id_from="编码")
    props = stored(result)
    assert [p["id"] for p in props] == ["JY-01", "JY-02"]
    assert [p["编号"] for p in props] == ["旧7", "旧7"]  # the alias column is kept, as an attribute
    assert result.field_map["编码"] == "id" and result.field_map["编号"] is None


def test_ids_from_a_column_that_is_not_there_is_an_error_listing_the_columns() -> None:
    result = upload({"名称": "甲", "状态": "规划"}, id_from="编码")
    assert errors(result) == [("id_from_missing", "*", "id")]
    assert dict(result.errors[0].params)["columns"] == "名称, 状态"
    assert "名称, 状态" in problems.message(result.errors[0], "en")


def test_ids_from_row_order_are_stable_when_the_same_file_comes_again() -> None:
    rows = [{"名称": n, "状态": "规划"} for n in ("甲", "乙", "丙")]
    first = upload(*rows, id_from="row")
    assert [p["id"] for p in stored(first)] == ["R000001", "R000002", "R000003"]
    assert stored(upload(*rows, id_from="row")) == stored(first)


def test_ids_from_row_order_replace_a_column_named_id_with_a_notice() -> None:
    result = upload(corpus.props("x9"), id_from="row")
    assert stored(result)[0]["id"] == "R000001"
    assert [(p.code, p.field) for p in result.warnings] == [("id_column_replaced", "id")]


# --- smaller defects -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "properties", [None, {}, {"id": "", "name_zh": " ", "status": None}], ids=["null", "empty", "blank"]
)
def test_a_feature_with_null_or_empty_properties_gets_the_missing_field_errors(properties: Any) -> None:
    beside = upload(corpus.props("p1"), properties)
    assert set(errors(beside)) == {
        ("missing_required", "#2", "id"),
        ("missing_required", "#2", "name_zh"),
        ("missing_required", "#2", "status"),
    }


def test_a_feature_with_null_properties_alone_is_refused_like_one_with_empty_properties() -> None:
    unmapped = [("required_field_unmapped", "*", name) for name in ("id", "name_zh", "status")]
    assert errors(upload(None)) == errors(upload({})) == unmapped


def test_a_file_without_features_says_so_and_not_that_fields_are_unmapped() -> None:
    result = upload()
    assert [(p.code, p.severity) for p in result.problems] == [("no_features", "warning")]
    assert result.collection == {"type": "FeatureCollection", "features": []}
    assert "没有任何要素" in problems.message(result.problems[0], "zh")
    assert "no features" in problems.message(result.problems[0], "en")


def test_an_empty_shapefile_with_columns_says_it_has_no_features(tmp_path: Path) -> None:
    import geopandas
    import pyogrio

    frame = geopandas.GeoDataFrame({"名称": ["x"], "状态": ["规划"]}, geometry=corpus.road_geometries(), crs=4326)
    pyogrio.write_dataframe(frame.iloc[:0], tmp_path / "roads.shp", encoding="UTF-8")
    parts = {p.suffix: p.read_bytes() for p in sorted(tmp_path.iterdir())}
    result = ingest.read_upload("roads.zip", corpus.zipped(parts), Options("roads"))
    assert result.source_fields == ["名称", "状态"]
    assert [p.code for p in result.problems] == ["no_features"]


# --- every code has its words ----------------------------------------------------------------------------------


def test_every_problem_code_ingest_and_the_district_check_can_give_has_a_message_in_both_languages() -> None:
    text = (SRC / "ingest.py").read_text(encoding="utf-8") + (SRC / "district.py").read_text(encoding="utf-8")
    found = set(re.findall(r'(?:Problem|_file_problem)\(\s*"([a-z_]+)"', text))
    found |= set(re.findall(r'^\s+return "([a-z_]+)", \(', text, flags=re.M))  # district verdicts
    found |= {f"attribute_not_{t}" for t in ("number", "date", "boolean", "text")}
    assert {"no_features", "district_far_too_large", "mostly_outside_district", "left_out_outside"} <= found
    missing = [(lang, code) for code in sorted(found) for lang in i18n.LANGS if not i18n.has(f"problem.{code}", lang)]
    assert missing == []


# --- whatever the uploader chooses, reading returns a result ------------------------------------------------------


def test_random_choices_of_constants_ids_maps_and_filtering_never_make_reading_raise() -> None:
    import random

    rng = random.Random(10)
    files = [c for c in corpus.CASES if c.filename.endswith(".geojson") and not c.raises and not c.limits][:60]
    targets = [None, "-", "id", "status", "note", "nonsense"]
    for _ in range(80):
        case = rng.choice(files)
        data = corpus.build(case)
        columns = ["编号", "名称", "状态", "id", "status", "note", "建设单位", " 单位 "]
        options = Options(
            rng.choice(registry.builtin().ids()),
            field_map={c: rng.choice(targets) for c in rng.sample(columns, 3)} if rng.random() < 0.5 else None,
            set_values=tuple((rng.choice([*columns, "颜色"]), rng.choice(["规划", "12", "", "x"])) for _ in range(2)),
            id_from=rng.choice([None, "row", "编号", "缺失"]),
            inside_only=rng.random() < 0.5,
        )
        result = ingest.read_upload(case.filename, data, options)
        assert result.ok == (result.collection is not None) and (not result.ok or not result.errors)
        for problem in result.problems:
            assert i18n.has(f"problem.{problem.code}", "en"), problem
        if result.collection is not None:
            declared = registry.declare_fields(registry.builtin(), options.layer, result.new_fields)
            assert schema.validate_collection(result.collection, declared[options.layer]) == []
