"""The layers page: editors manage the layer registry in the browser (names, order, archive, fields), safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import streamlit as st

from tests.app.conftest import EDITOR_PASSWORD, log_in, raw_keys, texts
from tests.app.test_wording import english_in
from urban_plan import auth, layer_admin, registry
from urban_plan.registry import FieldDef
from urban_plan.store import Actor, ConflictError, FileLayerStore

PAGE = "app_pages/layers.py"
SEED = Actor("seed", "editor")
WANG = Actor("wang", "editor")
SCHOOL_FIELDS = (
    FieldDef("学段", "学段", "Stage", "enum", options=(("小学", "小学", "Primary"), ("初中", "初中", "Junior"))),
    FieldDef("建设单位", "建设单位", "Builder"),
    FieldDef("编码", "编码", "Code"),
)


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.SECRETS_ENV, raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()  # the login throttle and the store object live there


def editor_on_page(at: Any, layers: list[str] | None = None) -> Any:
    at.run()
    entry: dict[str, Any] = {"password_hash": auth.hash_password(EDITOR_PASSWORD)}
    if layers is not None:
        entry["layers"] = layers
    at.secrets["editors"] = {"li": entry}
    log_in(at)
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def add_schools(data_dir: Path) -> None:
    """A 学校 layer (points, not tracking progress) with Chinese attributes, and two schools in it."""
    store = FileLayerStore(data_dir)
    layer_admin.add_layer(
        store, SEED, "schools", name_zh="学校", name_en="Schools", role="overlay", families=("point",),
        fields=SCHOOL_FIELDS,
    )  # fmt: skip
    features = [
        school("sch-1", "济阳第一小学", [117.205, 36.978], {"学段": "小学", "建设单位": "区教体局", "编码": "A01"}),
        school("sch-2", "济阳实验中学", [117.115, 36.972], {"学段": "初中", "建设单位": "区城投", "编码": "A02"}),
    ]
    store.publish("schools", {"type": "FeatureCollection", "features": features}, actor=SEED, base_version=0)


def school(fid: str, name: str, where: list[float], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"id": fid, "name_zh": name, **extra},
        "geometry": {"type": "Point", "coordinates": where},
    }


def stored(data_dir: Path) -> registry.Registry:
    return FileLayerStore(data_dir).registry()


def registry_versions(data_dir: Path) -> int:
    latest = FileLayerStore(data_dir).latest(registry.COLLECTION)
    return latest.number if latest else 0


def screen(at: Any) -> str:
    return "\n".join(texts(at))


def button(at: Any, prefix: str) -> Any:
    """The button whose key starts with `prefix` (keys carry the registry version the page was drawn from)."""
    (found,) = [b for b in at.button if (b.key or "").startswith(prefix)]
    return found


def widget(at: Any, kind: str, prefix: str, suffix: str) -> Any:
    (found,) = [w for w in getattr(at, kind) if (w.key or "").startswith(prefix) and w.key.endswith(suffix)]
    return found


def layer_box(at: Any) -> Any:
    (found,) = [box for box in at.selectbox if (box.key or "").startswith("lp_layer_")]
    return found


def choose_layer(at: Any, layer_id: str) -> Any:
    layer_box(at).set_value(layer_id).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


# --- who sees the page ---------------------------------------------------------------------------------------------


def test_a_viewer_has_no_layers_page(app) -> None:
    at = app().run()
    with pytest.raises(ValueError, match="layers"):
        at.switch_page(PAGE).run()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_lists_every_layer_in_order_with_what_a_planner_asks(app, data_dir: Path, lang: str) -> None:
    add_schools(data_dir)
    at = editor_on_page(app(lang))
    assert raw_keys(at) == []
    table = at.dataframe[0].value
    ids = table[table.columns[1]].tolist()
    assert ids == ["layout", "projects", "rail", "roads", "schools", "context"]  # overlays by order, base last
    row = table.iloc[ids.index("schools")].tolist()
    if lang == "zh":
        assert row[2:] == ["学校", "Schools", "叠加图层", "否", "点", "#8e24aa", 2, 3, "使用中"]
        assert table.iloc[ids.index("roads")].tolist()[4:] == ["叠加图层", "是", "线", "#c26a00", 9, 0, "使用中"]
    else:
        assert row[4:] == ["Overlay", "no", "point", "#8e24aa", 2, 3, "active"]
        assert "Version history of the layer registry" in screen(at)


def test_the_chinese_page_speaks_chinese_apart_from_the_english_names_it_lists(app, data_dir: Path) -> None:
    add_schools(data_dir)
    at = editor_on_page(app())
    choose_layer(at, "schools")
    data = ("Dataframe:英文", "Dataframe:颜色", "ColorPicker.value", "TextInput.value")  # names, labels, colours
    assert [found for found in english_in(at, "li") if not found[0].startswith(data)] == []


def test_switching_language_keeps_the_chosen_layer_and_redraws_the_choices(app, data_dir: Path) -> None:
    add_schools(data_dir)
    at = editor_on_page(app())
    choose_layer(at, "schools")
    at.radio(key="lang_choice").set_value("en").run()
    assert not at.exception
    assert layer_box(at).value == "schools" and layer_box(at).format_func("schools") == "Schools"
    role = widget(at, "selectbox", "lp_meta_schools_", "_role")
    assert role.value == "overlay" and role.format_func("overlay") == "Overlay"


# --- metadata ------------------------------------------------------------------------------------------------------


def test_an_editor_renames_a_layer_and_the_new_version_says_who(app, data_dir: Path) -> None:
    at = editor_on_page(app("en"))
    choose_layer(at, "roads")
    widget(at, "text_input", "lp_meta_roads_", "_zh").input("道路工程")
    widget(at, "text_input", "lp_meta_roads_", "_en").input("Road works")
    widget(at, "text_input", "lp_meta_roads_", "_message").input("names from the 2024 plan")
    button(at, "lp_go_meta_roads_").click().run()
    assert not at.exception, [e.message for e in at.exception]
    roads = stored(data_dir)["roads"]
    assert (roads.name_zh, roads.name_en, roads.colour) == ("道路工程", "Road works", "#c26a00")
    info = FileLayerStore(data_dir).latest(registry.COLLECTION)
    assert (info.number, info.author, info.message) == (2, "li", "names from the 2024 plan")
    assert "Saved as version 2 of the layer registry" in " ".join(s.value for s in at.success)
    assert "Road works" in at.dataframe[0].value.iloc[:, 3].tolist()  # the list shows the new name at once
    assert widget(at, "text_input", "lp_meta_roads_", "_en").value == "Road works"


def test_the_registry_history_is_one_click_away_and_lists_the_rename(app, data_dir: Path) -> None:
    at = editor_on_page(app())
    widget(at, "text_input", "lp_meta_layout_", "_zh").input("城市布局")
    button(at, "lp_go_meta_layout_").click().run()
    (link,) = at.page_link
    assert (link.proto.page, link.proto.query_string) == ("history", "layer=layers")
    at.query_params["layer"] = "layers"  # what following the link sends
    at.switch_page("app_pages/history.py").run()
    assert not at.exception, [e.message for e in at.exception]
    versions = at.dataframe[0].value
    assert len(versions) == 2 and "li" in versions.to_string()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_empty_name_is_refused_in_the_users_language_and_nothing_is_written(app, data_dir: Path, lang) -> None:
    at = editor_on_page(app(lang))
    choose_layer(at, "rail")
    widget(at, "text_input", "lp_meta_rail_", "_en").input("   ")
    button(at, "lp_go_meta_rail_").click().run()
    assert not at.exception
    (error,) = at.error
    assert ("名称" in error.value) == (lang == "zh") and ("name" in error.value.lower()) == (lang == "en"), error.value
    assert registry_versions(data_dir) == 1 and stored(data_dir)["rail"].name_en == "High-speed rail link"


def test_a_new_colour_and_progress_tracking_are_saved_together(app, data_dir: Path) -> None:
    add_schools(data_dir)
    at = editor_on_page(app())
    choose_layer(at, "schools")
    widget(at, "color_picker", "lp_meta_schools_", "_colour").pick("#AD1457")
    widget(at, "selectbox", "lp_meta_schools_", "_role").set_value("base")
    button(at, "lp_go_meta_schools_").click().run()
    schools = stored(data_dir)["schools"]
    assert (schools.colour, schools.role) == ("#ad1457", "base")
    assert registry_versions(data_dir) == 3  # one version for the whole form


def test_saving_an_unchanged_form_writes_nothing(app, data_dir: Path) -> None:
    at = editor_on_page(app())
    button(at, "lp_go_meta_layout_").click().run()
    assert "没有需要保存的修改" in " ".join(i.value for i in at.info)
    assert registry_versions(data_dir) == 1


# --- order ---------------------------------------------------------------------------------------------------------


def test_moving_a_layer_up_changes_the_order_of_every_list(app, data_dir: Path) -> None:
    at = editor_on_page(app())
    choose_layer(at, "roads")
    assert button(at, "lp_go_down_roads_").disabled is False
    button(at, "lp_go_up_roads_").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert stored(data_dir).ids() == ("layout", "projects", "roads", "rail", "context")
    assert at.dataframe[0].value.iloc[:, 1].tolist()[:4] == ["layout", "projects", "roads", "rail"]
    choose_layer(at, "layout")
    assert button(at, "lp_go_up_layout_").disabled is True  # already first


# --- archive and restore -------------------------------------------------------------------------------------------


def test_an_archived_layer_is_hidden_marked_and_restorable(app, data_dir: Path) -> None:
    add_schools(data_dir)
    at = editor_on_page(app())
    choose_layer(at, "schools")
    assert button(at, "lp_go_archive_schools_").disabled is True  # not without the confirmation
    at.checkbox(key=next(c.key for c in at.checkbox if c.key.startswith("lp_sure_schools_"))).check().run()
    button(at, "lp_go_archive_schools_").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert stored(data_dir)["schools"].archived and "schools" not in stored(data_dir).ids()
    table = at.dataframe[0].value
    assert table.iloc[-1].tolist()[1] == "schools" and table.iloc[-1].tolist()[-1] == "已归档"
    assert "学校(已归档)" in layer_box(at).options
    assert "历史仍可在“版本历史”页查看" in " ".join(i.value for i in at.info)
    button(at, "lp_go_restore_schools").click().run()
    assert not stored(data_dir)["schools"].archived and "schools" in stored(data_dir).ids()
    history = FileLayerStore(data_dir).history("schools")
    assert len(history) == 1  # the layer's own versions were never touched


def test_archiving_is_refused_while_a_change_to_that_layer_waits_for_a_conflict_choice(app, data_dir: Path) -> None:
    at = editor_on_page(app("en"))
    choose_layer(at, "rail")
    widget(at, "text_input", "lp_meta_rail_", "_en").input("Rail link")
    layer_admin.edit_layer(FileLayerStore(data_dir), WANG, "roads", colour="#123456")
    button(at, "lp_go_meta_rail_").click().run()
    assert at.warning  # the conflict: the rename waits
    at.checkbox(key=next(c.key for c in at.checkbox if c.key.startswith("lp_sure_rail_"))).check().run()
    button(at, "lp_go_archive_rail_").click().run()
    (error,) = at.error
    assert "unpublished work" in error.value and "an unsaved change on this page" in error.value
    assert not stored(data_dir)["rail"].archived and registry_versions(data_dir) == 2


def test_archiving_is_refused_while_this_session_has_an_upload_waiting_for_that_layer(app, data_dir: Path) -> None:
    at = editor_on_page(app())
    at.switch_page("app_pages/upload.py").run()
    at.selectbox(key="upload_target").set_value("roads").run()
    at.file_uploader(key="upload_file").upload(
        "roads.geojson", (data_dir / "roads.geojson").read_bytes(), "application/json"
    )
    at.run()
    at.switch_page(PAGE).run()
    choose_layer(at, "roads")
    at.checkbox(key=next(c.key for c in at.checkbox if c.key.startswith("lp_sure_roads_"))).check().run()
    button(at, "lp_go_archive_roads_").click().run()
    (error,) = at.error
    assert "还有未发布的内容:上传页面中一次尚未发布的上传" in error.value, error.value
    assert not stored(data_dir)["roads"].archived and registry_versions(data_dir) == 1
    choose_layer(at, "rail")  # another layer has nothing waiting
    at.checkbox(key=next(c.key for c in at.checkbox if c.key.startswith("lp_sure_rail_"))).check().run()
    button(at, "lp_go_archive_rail_").click().run()
    assert not at.error and stored(data_dir)["rail"].archived


# --- fields --------------------------------------------------------------------------------------------------------


def field_form(at: Any, index: int) -> str:
    """Choose the schools layer's field number `index`; the prefix of its form's widget keys."""
    (box,) = [box for box in at.selectbox if (box.key or "").startswith("lp_field_schools_")]
    box.set_value(index).run()
    (label,) = [w.key for w in at.text_input if w.key.startswith(f"lp_fd_schools_{index}_") and w.key.endswith("_zh")]
    return label.removesuffix("_zh")


def test_a_field_label_and_an_enum_values_label_are_saved(app, data_dir: Path) -> None:
    add_schools(data_dir)
    at = editor_on_page(app("en"))
    choose_layer(at, "schools")
    fields = at.dataframe[1].value
    assert fields.iloc[:, 0].tolist() == ["学段", "建设单位", "编码"]
    assert fields.iloc[0].tolist()[8] == "Primary, Junior"
    key = field_form(at, 0)
    at.text_input(key=f"{key}_en").input("School stage")
    at.session_state[f"{key}_options"] = {
        "edited_rows": {1: {"label_en": "Junior secondary"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.checkbox(key=f"{key}_tooltip").check()
    button(at, "lp_go_fd_schools_0_").click().run()
    assert not at.exception, [e.message for e in at.exception]
    stage = stored(data_dir)["schools"].field("学段")
    assert stage.label_en == "School stage" and stage.tooltip is True
    assert stage.options == (("小学", "小学", "Primary"), ("初中", "初中", "Junior secondary"))


def test_a_type_change_the_values_do_not_fit_is_refused_naming_the_value(app, data_dir: Path) -> None:
    add_schools(data_dir)
    at = editor_on_page(app())
    choose_layer(at, "schools")
    key = field_form(at, 1)
    at.selectbox(key=f"{key}_type").set_value("number")
    button(at, "lp_go_fd_schools_1_").click().run()
    assert not at.exception
    (error,) = at.error
    assert "区教体局" in error.value, error.value  # the first stored value that is not a number
    assert stored(data_dir)["schools"].field("建设单位").type == "text" and registry_versions(data_dir) == 2
    assert at.selectbox(key=f"{key}_type").value == "number"  # the form keeps what the user chose


def test_a_text_field_becomes_an_enum_of_the_values_the_layer_holds(app, data_dir: Path) -> None:
    add_schools(data_dir)
    at = editor_on_page(app())
    choose_layer(at, "schools")
    key = field_form(at, 2)
    at.selectbox(key=f"{key}_type").set_value("enum")
    button(at, "lp_go_fd_schools_2_").click().run()
    code = stored(data_dir)["schools"].field("编码")
    assert code.type == "enum" and code.option_values() == ("A01", "A02")


def test_an_enum_value_the_layer_still_uses_cannot_be_removed(app, data_dir: Path) -> None:
    add_schools(data_dir)
    at = editor_on_page(app("en"))
    choose_layer(at, "schools")
    key = field_form(at, 0)
    at.session_state[f"{key}_options"] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [1]}
    button(at, "lp_go_fd_schools_0_").click().run()
    (error,) = at.error
    assert "初中" in error.value, error.value
    assert stored(data_dir)["schools"].field("学段").option_values() == ("小学", "初中")


# --- rights --------------------------------------------------------------------------------------------------------


def test_an_editor_of_some_layers_manages_only_those(app, data_dir: Path) -> None:
    at = editor_on_page(app("en"), layers=["projects"])
    assert layer_box(at).options == ["Five urban projects"]
    assert "Layers you may edit: Five urban projects" in screen(at)
    assert not [b for b in at.button if (b.key or "").startswith(("lp_go_up_", "lp_go_down_"))]  # order: all layers
    assert len(at.dataframe[0].value) == 5  # every layer is still listed
    widget(at, "text_input", "lp_meta_projects_", "_en").input("Five projects")
    button(at, "lp_go_meta_projects_").click().run()
    assert stored(data_dir)["projects"].name_en == "Five projects"


def test_an_editor_of_the_registry_itself_manages_every_layer(app, data_dir: Path) -> None:
    at = editor_on_page(app("en"), layers=["layers"])
    assert len(layer_box(at).options) == 5
    choose_layer(at, "context")
    button(at, "lp_go_up_context_").click().run()
    assert stored(data_dir).ids()[-2:] == ("context", "roads")


def test_layer_names_on_the_page_read_as_typed_never_as_formatting(app, data_dir: Path) -> None:
    layer_admin.edit_layer(FileLayerStore(data_dir), SEED, "projects", name_en="**Five** [projects](http://x)")
    at = editor_on_page(app("en"), layers=["projects"])
    note = next(c.value for c in at.caption if "Layers you may edit" in c.value)
    assert r"\*\*Five\*\* \[projects\](http://x)" in note, note
    checkbox = next(c for c in at.checkbox if c.key.startswith("lp_sure_projects_"))
    assert r"\*\*Five\*\*" in checkbox.label


def test_rights_withdrawn_while_the_page_is_open_take_the_form_away_and_write_nothing(app, data_dir: Path) -> None:
    at = editor_on_page(app("en"), layers=["projects"])
    widget(at, "text_input", "lp_meta_projects_", "_en").input("Five projects")
    same_password = at.secrets["editors"]["li"]["password_hash"]  # a new hash would log li out
    at.secrets["editors"] = {"li": {"password_hash": same_password, "layers": ["roads"]}}
    button(at, "lp_go_meta_projects_").click().run()
    assert not at.exception
    assert layer_box(at).options == ["Nine road works"]
    assert registry_versions(data_dir) == 1 and stored(data_dir)["projects"].name_en == "Five urban projects"


# --- conflicts -----------------------------------------------------------------------------------------------------


def test_a_save_on_a_newer_registry_version_shows_who_saved_and_keeps_the_edit(app, data_dir: Path) -> None:
    at = editor_on_page(app("en"))
    choose_layer(at, "roads")
    widget(at, "text_input", "lp_meta_roads_", "_en").input("Road works")
    layer_admin.edit_layer(FileLayerStore(data_dir), WANG, "roads", message="renamed", name_en="Nine roads")
    button(at, "lp_go_meta_roads_").click().run()
    assert not at.exception, [e.message for e in at.exception]
    (warning,) = at.warning
    assert "based on version 1, the latest is now version 2" in warning.value
    assert "wang" in warning.value and "renamed" in warning.value
    assert "English name: you Road works, they Nine roads" in warning.value
    assert widget(at, "text_input", "lp_meta_roads_", "_en").value == "Road works"  # still there, not saved
    assert stored(data_dir)["roads"].name_en == "Nine roads"
    button(at, "lp_go_on_top").click().run()
    assert not at.exception and not at.warning
    assert stored(data_dir)["roads"].name_en == "Road works" and registry_versions(data_dir) == 3


def test_discarding_after_a_conflict_loads_the_newer_version(app, data_dir: Path) -> None:
    at = editor_on_page(app("en"))
    choose_layer(at, "roads")
    widget(at, "text_input", "lp_meta_roads_", "_en").input("Road works")
    layer_admin.edit_layer(FileLayerStore(data_dir), WANG, "roads", name_en="Nine roads")
    button(at, "lp_go_meta_roads_").click().run()
    at.button(key="lp_discard").click().run()
    assert not at.warning
    assert widget(at, "text_input", "lp_meta_roads_", "_en").value == "Nine roads"
    assert registry_versions(data_dir) == 2


def test_a_save_that_races_another_is_kept_for_the_users_choice(app, data_dir: Path, monkeypatch) -> None:
    at = editor_on_page(app("en"))
    choose_layer(at, "rail")
    widget(at, "text_input", "lp_meta_rail_", "_en").input("Rail link")
    real = layer_admin.edit_layer

    def raced(store: Any, actor: Actor, layer_id: str, message: str = "", **changes: Any) -> Any:
        # Wang's save lands between the page's check and the write: the store refuses the stale base.
        real(store, WANG, "layout", colour="#654321")
        raise ConflictError("stale_base", collection="layers", base=1, latest=2)

    monkeypatch.setattr(layer_admin, "edit_layer", raced)
    button(at, "lp_go_meta_rail_").click().run()
    assert "the latest is now version 2" in at.warning[0].value
    monkeypatch.setattr(layer_admin, "edit_layer", real)
    button(at, "lp_go_on_top").click().run()
    now = stored(data_dir)
    assert now["rail"].name_en == "Rail link" and now["layout"].colour == "#654321"
