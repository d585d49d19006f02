"""The upload page brings any file into an existing or a new layer: new layer, new fields, options, refusals."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import streamlit as st

from tests.app.conftest import EDITOR_PASSWORD, log_in, raw_keys, texts
from tests.schools import SCHOOLS, schools_geojson
from urban_plan import auth, layer_admin, registry
from urban_plan.i18n import t
from urban_plan.registry import RegistryError
from urban_plan.store import FileLayerStore


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.SECRETS_ENV, raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def password_hash() -> str:
    return auth.hash_password(EDITOR_PASSWORD)


def upload_page(app: Any, password_hash: str, lang: str = "zh", layers: list[str] | None = None) -> Any:
    at = app(lang)
    entry: dict[str, Any] = {"password_hash": password_hash}
    if layers is not None:
        entry["layers"] = layers
    at.secrets["editors"] = {"li": entry}
    at.run()
    log_in(at)
    at.switch_page("app_pages/upload.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def new_layer(at: Any, name_zh: str = "学校", name_en: str = "Schools", layer_id: str = "") -> Any:
    at.selectbox(key="upload_target").set_value("__new__").run()
    at.text_input(key="nl_name_zh").input(name_zh)
    at.text_input(key="nl_name_en").input(name_en)
    if layer_id:
        at.text_input(key="nl_id").input(layer_id)
    return at.run()


def upload(at: Any, data: bytes, name: str = "schools.geojson") -> Any:
    at.file_uploader[0].upload(name, data, "application/geo+json")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def button(at: Any, text: str) -> Any:
    return next(b for b in at.button if text in b.label)


def screen(at: Any) -> str:
    return "\n".join(texts(at))


def editor_key(at: Any, prefix: str) -> str:
    return next(e.key for e in at.data_editor if e.key and e.key.startswith(prefix))


def store_files(data_dir: Path) -> dict[str, bytes]:
    """Every stored version and manifest (not the login database beside them, which a login writes)."""
    files = sorted(p for p in (data_dir / "store").rglob("*") if p.is_file() and "auth.sqlite3" not in p.name)
    return {str(p.relative_to(data_dir)): p.read_bytes() for p in files}


def test_an_editor_creates_a_school_layer_whose_chinese_columns_become_its_fields(
    app: Any, password_hash: str, data_dir: Path
) -> None:
    at = upload(new_layer(upload_page(app, password_hash)), schools_geojson())
    assert "图层编号将为:schools" in screen(at)
    proposed = next(e for e in at.data_editor if e.key.startswith("upload_table_nf_")).value
    assert list(proposed.iloc[:, 0]) == ["学段", "建设单位", "占地面积(公顷)"]
    assert list(proposed["type"]) == ["enum", "text", "number"]
    assert [m.value for m in at.metric][:4] == ["6", "0", "0", "6"]  # added, removed, changed, total
    button(at, "创建图层“学校”并发布第 1 版").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("已创建图层:学校(编号 schools)" in s.value for s in at.success)

    store = FileLayerStore(data_dir)
    layer = store.registry()["schools"]
    assert (layer.name_zh, layer.name_en, layer.role, layer.tracks_progress) == ("学校", "Schools", "overlay", False)
    assert [(f.name, f.type) for f in layer.fields] == [
        ("学段", "enum"),
        ("建设单位", "text"),
        ("占地面积(公顷)", "number"),
    ]
    assert layer.field("学段").option_values() == ("小学", "初中", "高中")
    first = store.load("schools", 1)["features"][0]["properties"]
    assert (first["id"], first["学段"], first["建设单位"], first["占地面积(公顷)"]) == (
        "sch-01",
        "小学",
        "济阳区教育和体育局",
        2.4,
    )
    assert store.latest("schools").author == "li"


def test_the_new_fields_are_published_as_the_editor_edited_them(app: Any, password_hash: str, data_dir: Path) -> None:
    at = upload(new_layer(upload_page(app, password_hash, "en")), schools_geojson())
    key = editor_key(at, "upload_table_nf_")
    at.session_state[key] = {  # as the browser sends cell edits: English labels, the area shown in tooltips
        "edited_rows": {0: {"label_en": "Stage"}, 2: {"label_en": "Site area (ha)", "tooltip": True}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    button(at, "Create the layer “Schools” and publish version 1").click().run()
    assert any("Created the layer Schools (id schools)" in s.value for s in at.success)
    layer = FileLayerStore(data_dir).registry()["schools"]
    assert layer.field("学段").label_en == "Stage"
    assert (layer.field("占地面积(公顷)").label_en, layer.field("占地面积(公顷)").tooltip) == ("Site area (ha)", True)


def test_a_type_the_values_do_not_fit_is_reported_per_feature_and_nothing_is_published(
    app: Any, password_hash: str, data_dir: Path
) -> None:
    at = upload(new_layer(upload_page(app, password_hash, "en")), schools_geojson())
    key = editor_key(at, "upload_table_nf_")
    at.session_state[key] = {"edited_rows": {1: {"type": "number"}}, "added_rows": [], "deleted_rows": []}  # 建设单位
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.error and "errors" in at.error[-1].value
    assert not any("Create the layer" in b.label for b in at.button)
    assert "schools" not in FileLayerStore(data_dir).registry()


@pytest.mark.parametrize(
    ("lang", "layer_id", "reason"),
    [
        ("zh", "roads", "id_exists"),
        ("en", "roads", "id_exists"),
        ("en", "Schools!", "bad_id"),
        ("zh", "layers", "id_reserved"),
    ],
)
def test_a_layer_id_that_exists_or_is_unsafe_is_refused_with_the_reason(
    app: Any, password_hash: str, data_dir: Path, lang: str, layer_id: str, reason: str
) -> None:
    before = store_files(data_dir)
    at = new_layer(upload_page(app, password_hash, lang), layer_id=layer_id)
    assert not at.exception
    with pytest.raises(RegistryError) as refused:
        registry.add_layer(FileLayerStore(data_dir).registry(), layer_id, name_zh="学", name_en="S", role="overlay")
    assert refused.value.code == reason
    expected = layer_admin.error_text(refused.value, lang)
    assert [e.value for e in at.error] == [expected]
    assert layer_id in expected
    assert not any("发布" in b.label or "publish" in b.label for b in at.button)
    assert store_files(data_dir) == before


def test_a_new_layer_needs_both_names_first(app: Any, password_hash: str) -> None:
    at = new_layer(upload_page(app, password_hash, "en"), name_zh="学校", name_en="")
    assert t("uploadpage.name_first", "en") in [i.value for i in at.info]


def test_an_editor_of_some_layers_sees_only_those_and_cannot_add_a_layer(app: Any, password_hash: str) -> None:
    at = upload_page(app, password_hash, layers=["roads", "rail"])
    assert at.selectbox(key="upload_target").options == ["高铁连接", "新改扩建道路"]
    assert "+ 新建图层" not in screen(at)


def test_the_store_refuses_a_new_layer_from_an_editor_of_some_layers_even_if_the_page_offered_it(
    app: Any, password_hash: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui import upload_form

    monkeypatch.setattr(upload_form, "may_add_layers", lambda actor: True)  # a page bug must not open the door
    at = upload(new_layer(upload_page(app, password_hash, "en", layers=["roads"])), schools_geojson())
    before = store_files(data_dir)
    button(at, "Create the layer").click().run()
    assert not at.exception
    assert not at.success
    assert at.error and "li" in at.error[-1].value
    assert store_files(data_dir) == before


def test_a_file_into_an_existing_layer_declares_its_new_columns_when_published(
    app: Any, password_hash: str, data_dir: Path
) -> None:
    fc = json.loads((data_dir / "projects.geojson").read_text(encoding="utf-8"))
    for feature in fc["features"]:
        feature["properties"]["建设单位"] = "济阳区城市建设投资集团"
    at = upload(upload_page(app, password_hash), json.dumps(fc, ensure_ascii=False).encode(), "projects.geojson")
    assert "新字段(1 个)" in screen(at)
    assert not at.error, [e.value for e in at.error] + [str(df.value) for df in at.dataframe]
    button(at, "发布为新版本").click().run()
    assert any("第 4 版" in s.value for s in at.success)
    store = FileLayerStore(data_dir)
    assert store.registry()["projects"].field("建设单位") is not None
    assert {f["properties"]["建设单位"] for f in store.load("projects")["features"]} == {"济阳区城市建设投资集团"}


def test_a_column_left_out_on_purpose_is_not_kept(app: Any, password_hash: str, data_dir: Path) -> None:
    data = schools_geojson(extra={"联系人": "王老师"})
    at = upload(new_layer(upload_page(app, password_hash)), data)
    digest = hashlib.sha256(data).hexdigest()
    at.session_state[f"field_map_{digest}_schools"] = {"联系人": "-"}
    at.run()
    proposed = next(e for e in at.data_editor if e.key.startswith("upload_table_nf_")).value
    assert "联系人" not in list(proposed.iloc[:, 0])
    button(at, "创建图层").click().run()
    props = FileLayerStore(data_dir).load("schools")["features"][0]["properties"]
    assert "联系人" not in props and props["建设单位"] == "济阳区教育和体育局"


def test_ids_from_row_order_and_a_fixed_status_for_a_layer_that_tracks_progress(
    app: Any, password_hash: str, data_dir: Path
) -> None:
    at = new_layer(upload_page(app, password_hash, "en"), name_zh="在建学校", name_en="School works")
    at.checkbox(key="nl_tracks").check().run()
    at = upload(at, schools_geojson())
    assert at.error  # a layer that tracks progress needs a status: the file has none
    key = editor_key(at, "upload_table_constants_")
    at.session_state[key] = {
        "edited_rows": {},
        "added_rows": [{"field": "status", "value": "规划"}],
        "deleted_rows": [],
    }
    digest = hashlib.sha256(schools_geojson()).hexdigest()
    at.selectbox(key=f"id_from_{digest}_school_works").set_value("row").run()
    assert not at.exception, [e.message for e in at.exception]
    button(at, "Create the layer “School works”").click().run()
    features = FileLayerStore(data_dir).load("school_works")["features"]
    assert {f["properties"]["status"] for f in features} == {"planned"}
    ids = [f["properties"]["id"] for f in features]
    assert len(set(ids)) == 6 and "sch-01" not in ids


def test_inside_only_leaves_far_features_out_and_lists_them(app: Any, password_hash: str, data_dir: Path) -> None:
    data = schools_geojson(outside=True)
    at = upload(new_layer(upload_page(app, password_hash, "en")), data)
    assert at.error  # a school in Beijing is refused
    digest = hashlib.sha256(data).hexdigest()
    at.checkbox(key=f"inside_{digest}_schools").check().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("1 feature(s) outside Jiyang District" in w.value for w in at.warning)
    assert any("sch-07" in " ".join(map(str, df.value.to_numpy().ravel())) for df in at.dataframe)
    button(at, "Create the layer").click().run()
    assert len(FileLayerStore(data_dir).load("schools")["features"]) == 6


def test_the_new_layer_flow_shows_no_raw_keys(app: Any, password_hash: str) -> None:
    for lang in ("zh", "en"):
        at = upload(new_layer(upload_page(app, password_hash, lang)), schools_geojson())
        assert raw_keys(at) == []


def test_a_file_with_several_layers_asks_which_one_to_read(app: Any, password_hash: str, tmp_path: Path) -> None:
    import geopandas as gpd
    import shapely

    path = tmp_path / "教育设施.gpkg"
    frame = gpd.GeoDataFrame(
        {"编号": [f"s{i}" for i in range(6)], "名称": [row[0] for row in SCHOOLS], "学段": [row[1] for row in SCHOOLS]},
        geometry=[shapely.Point(row[4]) for row in SCHOOLS],
        crs="EPSG:4326",
    )
    frame.to_file(path, layer="学校", driver="GPKG")
    frame.iloc[:2].to_file(path, layer="幼儿园", driver="GPKG")
    data = path.read_bytes()
    at = upload(new_layer(upload_page(app, password_hash, "en")), data, path.name)
    choice = at.selectbox(key=f"src_layer_{hashlib.sha256(data).hexdigest()}")
    assert sorted(choice.options) == ["学校", "幼儿园"]
    choice.set_value("幼儿园").run()
    assert not at.exception, [e.message for e in at.exception]
    assert [m.value for m in at.metric][:4] == ["2", "0", "0", "2"]
