"""Open attributes travel whole: store -> frame -> table, CSV and GeoJSON download -> upload again = no change; the
dashboard, charts, pack and exports take their layers from the registry."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from urban_plan import charts, dashboard, diff, export, frame, i18n, ingest, mapping, progress, publishing, tables
from urban_plan import registry as reg
from urban_plan.registry import FieldDef, Registry
from urban_plan.store import Actor, FileLayerStore, known_collections

ON = dt.date(2026, 3, 31)
EDITOR = Actor("王工", "editor")
NESTED = {"附件": [{"名称": "批复.pdf", "页数": 3}], "审批": {"日期": "2024-05-06", "通过": True}}
# Values a bureau's export carries, each kept exactly: Chinese names with brackets, a whole and a decimal number,
# a formula-like approval number (a CSV injection attempt), nested JSON, a yes/no and a missing value.
ATTRIBUTES: list[dict[str, Any]] = [
    {
        "建设单位": "区住建局",
        "用地面积(公顷)": 12,
        "批复文号": "济阳发改〔2024〕15号",
        "附件信息": NESTED,
        "是否重点": True,
    },
    {"建设单位": "区城投公司", "用地面积(公顷)": 3.75, "批复文号": '=HYPERLINK("http://x")', "是否重点": False},
    {"建设单位": "区城投公司", "用地面积(公顷)": None, "附件信息": [1, "二", {"三": 3}]},
]
SCHOOL_POINTS = [(117.205, 36.978), (117.17, 36.98), (117.16, 36.99), (117.18, 36.97)]


def schools_file() -> bytes:
    """A 学校 points file as a bureau exports it: canonical aliases (编号, 名称) and extra Chinese columns."""
    features = [
        {
            "type": "Feature",
            "properties": {
                "编号": f"xx-{i}",
                "名称": f"济阳第{i}小学",
                "学段": "小学" if i % 2 else "初中",
                "在校生人数": 600 + i,
                "办学性质": "公办",
                "详情": {"校区": [f"东校区{i}"], "建成": 2000 + i},
            },
            "geometry": {"type": "Point", "coordinates": list(point)},
        }
        for i, point in enumerate(SCHOOL_POINTS, start=1)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode("utf-8")


def with_attributes(store: FileLayerStore) -> tuple[dict[str, Any], Registry]:
    """The projects layer with extra Chinese columns on three features, and a registry that declares them."""
    payload = copy.deepcopy(store.load("projects"))
    for feature, extra in zip(payload["features"], ATTRIBUTES, strict=False):
        feature["properties"].update(extra)
    fields = (
        FieldDef("建设单位", "建设单位", "Builder", "enum", options=(("区住建局", "区住建局", "Housing bureau"),
                                                                  ("区城投公司", "区城投公司", "City investment co."))),
        FieldDef("用地面积(公顷)", "用地面积(公顷)", "Land area (ha)", "number"),
        FieldDef("批复文号", "批复文号", "Approval no.", "text"),
        FieldDef("附件信息", "附件信息", "Attachments", "json"),
        FieldDef("是否重点", "是否重点", "Key project", "boolean"),
    )  # fmt: skip
    return payload, reg.declare_fields(store.registry(), "projects", fields)


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_a_layer_with_chinese_and_nested_attributes_comes_back_from_the_frame_unchanged(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    payload, layers = with_attributes(store)
    shown = frame.collection_frame(payload, "projects")
    assert list(shown.columns)[-6:] == ["建设单位", "用地面积(公顷)", "批复文号", "附件信息", "是否重点", "geometry"]
    back = frame.to_feature_collection(shown, layers["projects"])
    assert diff.diff_collections(payload, back).is_empty
    for before, after in zip(payload["features"], back["features"], strict=True):
        # Exactly the same properties: 12 stays 12 (not 12.0), nested JSON stays nested, missing stays missing.
        assert json.dumps(after["properties"], sort_keys=True) == json.dumps(
            {k: v for k, v in before["properties"].items() if v is not None or k in after["properties"]},
            sort_keys=True,
        )
    assert "用地面积(公顷)" not in back["features"][2]["properties"]  # a missing value is left out, not null
    assert back["features"][0]["properties"]["附件信息"] == NESTED


def test_several_layers_in_one_frame_write_back_only_their_own_attributes(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    payload, layers = with_attributes(store)
    both = frame.layers_frame({"projects": payload, "roads": store.load("roads")})
    assert {"建设单位", "附件信息"} <= set(both.columns)
    back = frame.to_feature_collection(both, layers)
    roads = [f for f in back["features"] if f["properties"]["id"].startswith("road")]
    assert roads and all("建设单位" not in f["properties"] for f in roads)  # the other layer's empty column
    projects = back["features"][: len(payload["features"])]
    assert diff.diff_collections(payload, {"type": "FeatureCollection", "features": projects}).is_empty
    rated = progress.rate_frame(both, ON, "zh")
    assert diff.diff_collections(payload, frame.to_feature_collection(rated[rated["layer"] == "projects"])).is_empty


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_table_and_its_csv_show_a_layers_attributes_with_their_labels(data_dir: Path, lang: str) -> None:
    store = FileLayerStore(data_dir)
    payload, layers = with_attributes(store)
    layers = reg.edit_field(layers, "projects", "批复文号", table=False)  # hidden from the table on purpose
    shown = frame.collection_frame(payload, "projects")
    table = tables.feature_table(shown, lang, layers)
    builder = "建设单位" if lang == "zh" else "Builder"
    area, key = ("用地面积(公顷)", "是否重点") if lang == "zh" else ("Land area (ha)", "Key project")
    attachments = "附件信息" if lang == "zh" else "Attachments"
    assert list(table.columns)[-4:] == [builder, area, attachments, key]
    assert "批复文号" not in table.columns and "Approval no." not in table.columns
    first = table.iloc[0]
    assert first[builder] == ("区住建局" if lang == "zh" else "Housing bureau")  # the enum's label
    assert first[area] == 12 and table[area].dtype.kind == "f"  # numbers sort as numbers
    assert json.loads(first[attachments]) == NESTED
    assert first[key] == i18n.t("tables2.yes", lang)
    assert table.iloc[3][builder] == "" and table.iloc[3][key] == ""
    assert set(table[i18n.t("field.layer", lang)]) == {layers.name("projects", lang)}
    rows = read_csv(tables.csv_bytes(table))
    assert rows[0][-4:] == [builder, area, attachments, key]
    assert rows[1][-4:-2] == [first[builder], "12.0"] and json.loads(rows[1][-2]) == NESTED


def test_an_attribute_whose_label_repeats_a_column_header_gets_its_own_header(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    payload, layers = with_attributes(store)
    layers = reg.edit_field(layers, "projects", "建设单位", label_zh="状态", label_en="Status")
    table = tables.feature_table(frame.collection_frame(payload, "projects"), "zh", layers)
    assert "状态 (建设单位)" in table.columns and list(table.columns).count("状态") == 1
    assert set(table["状态"]) <= {i18n.t(f"status.{s}", "zh") for s in ("planned", "in_progress", "completed")}


def test_formula_like_attribute_values_reach_the_csv_as_text(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    payload, layers = with_attributes(store)
    table = tables.feature_table(frame.collection_frame(payload, "projects"), "en", layers)
    rows = read_csv(tables.csv_bytes(table))
    column = rows[0].index("Approval no.")
    assert rows[2][column] == '\'=HYPERLINK("http://x")'


def test_the_history_shows_attribute_changes_by_their_labels(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    payload, layers = with_attributes(store)
    changed = copy.deepcopy(payload)
    changed["features"][1]["properties"]["建设单位"] = "区住建局"
    changes = diff.diff_collections(payload, changed)
    table = tables.change_table(changes, "en", layers["projects"])
    (fields,) = table[i18n.t("diff.col_fields", "en")]
    assert fields == "Builder City investment co.→Housing bureau"
    assert tables.change_table(changes, "zh", layers["projects"]).iloc[0, 3] == "建设单位 区城投公司→区住建局"
    moved = progress.compare(
        frame.collection_frame(payload, "projects"), frame.collection_frame(changed, "projects"), "en", layers
    )
    assert moved.iloc[0]["change"] == "other" and "Builder" in moved.iloc[0]["detail"]


# --- through the real upload path (ingest -> publish -> frame -> download -> upload again) ---------------------


def upload(store: FileLayerStore, name: str, data: bytes, layer: str) -> publishing.Preview:
    options = ingest.Options(layer=layer, layer_def=store.registry()[layer])
    return publishing.preview(store, name, data, options)


def test_an_export_of_a_layer_with_chinese_columns_uploads_again_with_no_change(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    payload, _ = with_attributes(store)
    first = upload(store, "项目.geojson", json.dumps(payload, ensure_ascii=False).encode("utf-8"), "projects")
    assert first.result.ok, first.result.problems
    names = {"建设单位", "用地面积(公顷)", "批复文号", "附件信息", "是否重点"}
    assert {f.name for f in first.result.new_fields} == names
    publishing.publish(store, first, actor=EDITOR, message="带属性", as_of=ON)
    layers = store.registry()
    assert set(layers["projects"].field_names()) >= {"建设单位", "用地面积(公顷)", "批复文号", "附件信息"}
    stored = store.load("projects")
    assert stored["features"][0]["properties"]["附件信息"] == NESTED
    assert stored["features"][0]["properties"]["用地面积(公顷)"] == 12

    # What the table page offers for download: the layer's frame written back with its original column names.
    shown = frame.collection_frame(stored, "projects")
    download = json.dumps(frame.to_feature_collection(shown, layers), ensure_ascii=False).encode("utf-8")
    again = upload(store, "jiyang-projects.geojson", download, "projects")
    assert again.result.ok, again.result.problems
    assert again.result.new_fields == ()
    assert again.diff is not None and again.diff.is_empty, [c.fields for c in again.diff.changed]


def test_a_new_schools_layer_from_a_file_round_trips_and_stays_out_of_the_dashboard(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    data = schools_file()
    proposal = ingest.read_upload("学校.geojson", data, ingest.Options(layer="schools", layer_def=reg.LayerDef(
        "schools", "学校", "Schools", families=frozenset({"point"}))))  # fmt: skip
    school = reg.LayerDef(
        "schools", "学校", "Schools", "overlay", False, frozenset({"point"}), fields=tuple(proposal.new_fields)
    )
    publishing.publish_new_layer(
        store, "学校.geojson", data, ingest.Options(layer="schools", layer_def=school), school, actor=EDITOR, as_of=ON
    )
    layers = store.registry()
    assert "schools" in layers.overlays() and "schools" not in layers.progress_layers()
    stored = store.load("schools")
    assert stored["features"][0]["properties"]["详情"] == {"校区": ["东校区1"], "建成": 2001}

    shown = frame.collection_frame(stored, "schools")
    table = tables.feature_table(shown, "zh", layers)
    assert {"学段", "在校生人数", "办学性质", "详情"} <= set(table.columns)
    download = json.dumps(frame.to_feature_collection(shown, layers), ensure_ascii=False).encode("utf-8")
    again = upload(store, "jiyang-schools.geojson", download, "schools")
    assert again.result.ok and again.diff is not None and again.diff.is_empty

    # The dashboard's lists and charts, and the meeting pack, have no place for a layer without progress.
    overlays = frame.layers_frame({name: store.load(name) for name in layers.overlays()})
    rated = progress.rate_frame(overlays, ON, "zh")
    assert "济阳第1小学" not in set(charts._works(rated, "zh", layers)["label"])
    for ratings in (("red", "yellow"), ("missing",)):
        assert "济阳第1小学" not in " ".join(dashboard.schedule_table(rated, "zh", ratings, layers).iloc[:, 0])
    assert "学校" not in json.dumps(charts.status_chart(overlays, "zh", layers).to_dict(), ensure_ascii=False)
    assert "济阳第1小学" not in pages(export.meeting_pack_html(store, on=ON, since=None, lang="zh"))


def pages(html: str) -> str:
    """The pack's printed pages (their maps' scripts, which carry tooltips for every feature drawn, left out)."""
    return html.split("<body>", 1)[1].split("<script>", 1)[0]


# --- a new layer that tracks progress appears everywhere progress is followed ---------------------------------


def add_progress_layer(store: FileLayerStore) -> Registry:
    """A 公园 layer that tracks progress (two parks under construction), published with its registry entry."""
    layers = reg.add_layer(
        store.registry(),
        "parks",
        name_zh="公园绿地",
        name_en="Parks",
        role="overlay",
        tracks_progress=True,
        families=("point", "polygon"),
        fields=(FieldDef("管护单位", "管护单位", "Keeper"),),
    )
    head = store.latest(reg.COLLECTION)
    store.publish(reg.COLLECTION, layers.to_payload(), actor=EDITOR, base_version=head.number if head else 0)
    parks = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "id": f"park-{i}",
                    "name_zh": f"澄波湖公园{i}期",
                    "name_en": f"Chengbo Lake Park phase {i}",
                    "status": "in_progress",
                    "progress": 20.0 * i,
                    "start_date": "2025-01-01",
                    "end_date": "2026-12-31",
                    "管护单位": "区园林局",
                },
                "geometry": {"type": "Point", "coordinates": [117.17 + i / 100, 36.98]},
            }
            for i in (1, 2)
        ],
    }
    store.publish("parks", parks, actor=EDITOR, base_version=0, as_of=ON)
    return store.registry()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_new_progress_layer_appears_in_the_dashboard_charts_and_pack(data_dir: Path, lang: str) -> None:
    store = FileLayerStore(data_dir)
    layers = add_progress_layer(store)
    assert layers.progress_layers()[-1] == "parks"
    overlays = frame.layers_frame({name: store.load(name) for name in layers.overlays()})
    rated = progress.rate_frame(overlays, ON, lang)
    park = "澄波湖公园1期" if lang == "zh" else "Chengbo Lake Park phase 1"
    assert park in set(charts._works(rated, lang, layers)["label"])
    status = json.dumps(charts.status_chart(overlays, lang, layers).to_dict(), ensure_ascii=False)
    assert layers.name("parks", lang) in status
    behind = dashboard.schedule_table(rated, lang, ("red", "yellow"), layers)
    assert set(behind[i18n.t("field.layer", lang)]) >= {layers.name("parks", lang)}  # 20% where 51% was due

    body = pages(export.meeting_pack_html(store, on=ON, since=None, lang=lang))
    assert park in body and "区园林局" in body  # a page of its own, with its own attribute in the facts
    assert layers.name("parks", lang) in body
    assert len(store.history("parks")) == 1 and "parks" in progress.state_on(store, None)


def test_an_archived_layer_leaves_the_pack_but_not_the_history(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    layers = reg.set_archived(add_progress_layer(store), "parks", True)
    head = store.latest(reg.COLLECTION)
    store.publish(reg.COLLECTION, layers.to_payload(), actor=EDITOR, base_version=head.number if head else 0)
    assert "parks" not in progress.state_on(store, None)
    assert "澄波湖公园1期" not in pages(export.meeting_pack_html(store, on=ON, since=None, lang="zh"))
    assert "parks" in known_collections(store) and len(store.history("parks")) == 1


def test_the_exported_map_and_its_source_note_name_a_new_layer(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    layers = add_progress_layer(store)
    versions = progress.state_on(store, None)
    context = frame.layers_frame({name: store.load(name) for name in layers.bases()})
    overlays = progress.rate_frame(frame.layers_frame({name: store.load(name) for name in layers.overlays()}), ON, "en")
    note = export.source_note(versions, "en", layers)
    assert "Parks" in note
    html = export.standalone_html(
        context,
        overlays,
        options=mapping.MapOptions(lang="en"),
        title="Jiyang",
        as_of_line="as of",
        source_note=note,
        registry=layers,
    )
    assert "up-l-parks" in html  # its features are drawn, in a group of their own
    assert "up-legend-layer-parks" in html  # and the legend has its entry

    from_store = export.map_html(store, on=None, since=dt.date(2024, 1, 1), lang="en")  # the CLI's render-html
    assert "up-l-parks" in from_store and "up-legend-layer-parks" in from_store and "up-change" in from_store

    pack = export.meeting_pack_html(store, on=ON, since=None, lang="en")
    legends = re.findall(r'<div class="up-legend pack-legend">(.*?)</div><div class="caption">', pack, re.S)
    assert legends and all("up-legend-layer-parks" in legend and ">Parks<" in legend for legend in legends)


def test_a_table_of_a_layer_without_progress_leaves_out_the_construction_columns() -> None:
    layers = reg.add_layer(
        reg.builtin(),
        "schools",
        name_zh="学校",
        name_en="Schools",
        role="overlay",
        fields=(FieldDef("学段", "学段", "Stage", "enum", options=(("小学", "小学", "Primary"),)),),
    )
    fc = json.loads(schools_file())
    for feature in fc["features"]:
        props = feature["properties"]
        feature["properties"] = {"id": props["编号"], "name_zh": props["名称"], "学段": "小学"}
    table = tables.feature_table(frame.collection_frame(fc, "schools"), "en", layers, progress_columns=False)
    assert list(table.columns) == ["Name", "Layer", "Kind", "Confidence", "Source", "Note", "ID", "Stage"]
    assert set(table["Layer"]) == {"Schools"} and set(table["Stage"]) == {"Primary"}


def test_a_layer_without_progress_shows_empty_construction_cells_not_no_data_in_a_mixed_table() -> None:
    layers = reg.add_layer(reg.builtin(), "schools", name_zh="学校", name_en="Schools", role="overlay")
    mixed = pd.DataFrame(
        [
            {"layer": "schools", "id": "s1", "name_zh": "实验小学", "investment_yi": None, "end_date": None},
            {"layer": "roads", "id": "r1", "name_zh": "纬三路", "investment_yi": None, "end_date": None},
        ]
    )
    table = tables.feature_table(mixed, "zh", layers)
    school, road = table.to_dict("records")
    assert school["投资(亿元)"] == "" and school["计划完工"] == ""
    assert road["投资(亿元)"] != "" and road["计划完工"] != ""  # a road work's missing figure is said to be missing
