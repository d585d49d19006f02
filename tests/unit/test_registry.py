"""The layer registry's rules: what a layer or field may be, each refusal with its reason, and type inference."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from urban_plan import fieldtypes, i18n, layer_admin, registry
from urban_plan.registry import FieldDef, RegistryError

SRC = Path(registry.__file__).parent


def refused(code: str, call, *args, **kwargs) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def schools(**changes) -> registry.Registry:
    fields = (
        FieldDef("建设单位", "建设单位", "Builder"),
        FieldDef("学段", "学段", "Level", "enum", options=(("小学", "小学", "Primary"), ("初中", "初中", "Middle"))),
    )
    defaults = dict(name_zh="学校", name_en="Schools", role="overlay", families=("point",), fields=fields)
    return registry.add_layer(registry.builtin(), "schools", **(defaults | changes))


def test_a_new_layer_gets_a_free_colour_and_comes_after_the_other_overlays() -> None:
    layers = schools()
    new = layers["schools"]
    assert new.colour not in {layer.colour for layer in registry.builtin().layers}
    assert layers.overlays()[-1] == "schools" and "schools" not in layers.progress_layers()
    assert new.required_fields == ("id", "name_zh")  # no status: a school does not get built in this layer


@pytest.mark.parametrize(
    ("layer_id", "code"),
    [
        ("projects", "id_exists"),
        ("targets", "id_reserved"),
        ("layers", "id_reserved"),
        ("History", "id_reserved"),
        ("学校", "bad_id"),
        ("../etc", "bad_id"),
        ("Schools", "bad_id"),
        ("s", "bad_id"),
        ("9schools", "bad_id"),
        ("x" * 33, "bad_id"),
    ],
)
def test_a_layer_id_that_exists_is_reserved_or_unsafe_is_refused(layer_id: str, code: str) -> None:
    refused(code, registry.add_layer, registry.builtin(), layer_id, name_zh="学校", name_en="Schools", role="overlay")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"name_zh": "  "}, "bad_name"),
        ({"name_en": "x" * 61}, "bad_name"),
        ({"name_zh": "五大项目"}, "name_exists"),
        ({"name_en": "nine ROAD works"}, "name_exists"),
        ({"role": "background"}, "bad_role"),
        ({"families": ("point", "raster")}, "bad_families"),
        ({"families": ()}, "bad_families"),
        ({"colour": "red"}, "bad_colour"),
        ({"fields": (FieldDef(" Status", "状态", "Status"),)}, "field_is_canonical"),
        ({"fields": (FieldDef("NAME_ZH", "名称", "Name"),)}, "field_is_canonical"),
        ({"fields": (FieldDef("geometry", "几何", "Geometry"),)}, "field_reserved"),
        ({"fields": (FieldDef("_hidden", "隐藏", "Hidden"),)}, "field_reserved"),
        ({"fields": (FieldDef("用地面积 ", "用地面积", "Area"),)}, "bad_field_name"),
        ({"fields": (FieldDef("a\nb", "a", "b"),)}, "bad_field_name"),
        ({"fields": (FieldDef("面积", "面积", "Area", "float"),)}, "bad_field_type"),
        ({"fields": (FieldDef("面积", "面积", "Area", "text", options=(("a", "a", "a"),)),)}, "options_need_enum"),
        ({"fields": (FieldDef("学段", "学段", "Level", "enum"),)}, "bad_enum"),
        ({"fields": (FieldDef("学段", "学段", "Level", "enum", options=(("小学", "", ""),) * 2),)}, "duplicate_option"),
        ({"fields": (FieldDef("学段", "学段", "Level", "enum", options=((" 小学", "", ""),)),)}, "bad_enum"),
        ({"fields": (FieldDef("面积", "面积", "Area"), FieldDef("面积", "面积", "Area"))}, "duplicate_field"),
        ({"fields": (FieldDef("面积", "面" * 61, "Area"),)}, "bad_field_label"),
    ],
)
def test_each_broken_rule_of_a_new_layer_is_refused_with_its_reason(changes: dict, code: str) -> None:
    refused(code, schools, **changes)


def test_too_many_layers_are_refused() -> None:
    layers = registry.builtin()
    for n in range(registry.MAX_LAYERS - len(layers.layers)):
        layers = registry.add_layer(layers, f"layer_{n}", name_zh=f"图层{n}", name_en=f"Layer {n}", role="base")
    refused("too_many_layers", registry.add_layer, layers, "one_more", name_zh="多", name_en="More", role="base")


def test_editing_a_layer_changes_only_what_was_asked_and_refuses_unknown_or_empty_changes() -> None:
    layers = registry.edit_layer(schools(), "schools", name_en=" Primary schools ", tracks_progress=True)
    edited = layers["schools"]
    assert (edited.name_en, edited.tracks_progress, edited.name_zh) == ("Primary schools", True, "学校")
    assert "schools" in layers.progress_layers() and edited.required_fields == ("id", "name_zh", "status")
    refused("not_editable", registry.edit_layer, layers, "schools", id="other")
    refused("no_change", registry.edit_layer, layers, "schools", name_zh="学校")
    refused("no_such_layer", registry.edit_layer, layers, "nowhere", name_zh="某")
    refused("name_exists", registry.edit_layer, layers, "schools", name_zh="高铁连接")
    refused("bad_order", registry.edit_layer, layers, "schools", order="first")
    assert registry.edit_layer(layers, "schools", families="point, polygon")["schools"].families == {
        "point",
        "polygon",
    }


def test_archive_and_restore_keep_the_layer_and_say_when_nothing_changes() -> None:
    archived = registry.set_archived(schools(), "schools", True)
    assert "schools" in archived and "schools" not in archived.ids() and "schools" in archived.ids(archived=True)
    refused("already_archived", registry.set_archived, archived, "schools", True)
    refused("is_archived", registry.move, archived, "schools", -1)
    restored = registry.set_archived(archived, "schools", False)
    assert restored["schools"] == schools()["schools"]
    refused("not_archived", registry.set_archived, restored, "schools", False)


def test_moving_a_layer_changes_only_its_own_order_when_there_is_room() -> None:
    moved = registry.move(registry.builtin(), "roads", -1)
    assert moved.ids() == ("layout", "projects", "roads", "rail", "context")
    changed = [layer.id for layer in moved.layers if layer != registry.builtin()[layer.id]]
    assert changed == ["roads"]  # so an editor of roads alone may move roads
    assert registry.move(moved, "roads", -5).ids()[0] == "roads"
    refused("cannot_move", registry.move, registry.builtin(), "layout", -1)
    refused("bad_step", registry.move, registry.builtin(), "layout", 0)


def test_moving_into_a_full_gap_renumbers_every_layer() -> None:
    tight = registry.Registry(
        tuple(dataclasses.replace(layer, order=i) for i, layer in enumerate(registry.builtin().ordered()))
    )
    moved = registry.move(tight, "context", -1)
    assert moved.ids() == ("layout", "projects", "rail", "context", "roads")
    assert [layer.order for layer in moved.active()] == [10, 20, 30, 40, 50]


def test_declaring_fields_adds_new_ones_and_new_enum_values_but_never_changes_a_declared_type() -> None:
    layers = registry.declare_fields(
        schools(),
        "schools",
        [
            FieldDef("学生数", "学生数", "学生数", "number"),
            FieldDef("学段", "学段", "学段", "enum", options=(("初中", "初中", "初中"), ("高中", "高中", "高中"))),
            FieldDef("建设单位", "建设单位", "建设单位", "number"),
        ],
    )
    layer = layers["schools"]
    assert layer.field_names() == ("建设单位", "学段", "学生数")
    assert layer.field("学段").option_values() == ("小学", "初中", "高中")
    assert layer.field("建设单位").type == "text"
    refused("field_is_canonical", registry.declare_fields, layers, "schools", [FieldDef("Progress", "进度", "P")])


def test_a_type_change_that_the_stored_values_do_not_fit_is_refused_naming_the_value() -> None:
    layers = schools()
    edit = registry.edit_field
    error = refused("type_does_not_fit", edit, layers, "schools", "建设单位", ["区教体局"], type="number")
    assert error.params["found"] == "区教体局"
    assert edit(layers, "schools", "建设单位", [None], type="number")["schools"].field("建设单位").type == "number"
    refused("option_in_use", registry.edit_field, layers, "schools", "学段", ["初中"], options=[("小学", "小学", "P")])
    refused("required_has_blanks", registry.edit_field, layers, "schools", "建设单位", ["区教体局", ""], required=True)
    refused("no_such_field", registry.edit_field, layers, "schools", "校长", [], label_en="Head")
    refused("field_not_editable", registry.edit_field, layers, "schools", "建设单位", [], label="单位")
    refused("no_change", registry.edit_field, layers, "schools", "建设单位", [], label_en="Builder")


def test_a_text_field_made_an_enum_takes_its_current_values_as_options() -> None:
    layers = registry.edit_field(
        schools(), "schools", "建设单位", ["区教体局", "区住建局", "区教体局", None], type="enum"
    )
    assert layers["schools"].field("建设单位").option_values() == ("区教体局", "区住建局")
    relabelled = registry.edit_field(
        layers,
        "schools",
        "建设单位",
        ["区教体局"],
        options=[{"value": "区教体局", "label_zh": "教体局", "label_en": "Education"}],
    )
    assert relabelled["schools"].field("建设单位").option_label("区教体局", "en") == "Education"


def test_the_stored_form_round_trips_and_a_malformed_one_is_refused() -> None:
    layers = schools()
    assert registry.Registry.from_payload(layers.to_payload()) == layers
    assert registry.validate_payload(layers.to_payload()) == []
    assert registry.validate_payload({"layers": "schools"})
    payload = layers.to_payload()
    payload["layers"][-1]["fields"][0]["name"] = "status"
    assert any("field_is_canonical" in p for p in registry.validate_payload(payload))
    payload = layers.to_payload()
    payload["layers"].append(payload["layers"][0])
    assert any("duplicate id" in p for p in registry.validate_payload(payload))
    payload = layers.to_payload()
    payload["layers"][-1]["fields"][1]["options"] = [{"value": ["not", "text"]}]
    assert registry.validate_payload(payload)  # refused, not a crash


def test_slug_proposes_a_valid_free_id_for_any_name() -> None:
    assert registry.slug("Primary schools") == "primary_schools"
    assert registry.slug("学校") == "layer_1"
    assert registry.slug("学校", taken=["layer_1"]) == "layer_2"
    assert registry.slug("Projects", taken=registry.builtin().ids()) == "projects_1"
    assert registry.slug("History") == "history_1"  # reserved
    for text in ("2024 plan", "a", "x" * 80, "___"):
        assert registry.ID_PATTERN.fullmatch(registry.slug(text)), text


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 2.5, None], ("number", ())),
        (["1,200", "35.5", " "], ("number", ())),
        (["0", "1", "2"], ("number", ())),
        (["0101", "0102", "0103"], ("text", ())),  # codes keep their leading zero
        (["2026/9/30", "2026年10月1日"], ("date", ())),
        ([dt.date(2026, 9, 30), dt.datetime(2026, 10, 1)], ("date", ())),
        ([dt.datetime(2026, 10, 1, 8, 30)], ("text", ())),  # a time of day is not a date
        ([True, False], ("boolean", ())),
        ([{"a": 1}, [1, 2]], ("json", ())),
        (["规划", "在建", "规划", "在建"], ("enum", ("规划", "在建"))),
        (["济阳一中", "济阳二中"], ("text", ())),  # all different: names, not categories
        ([None, float("nan"), ""], ("text", ())),
    ],
)
def test_type_inference_is_cautious(values: list, expected: tuple) -> None:
    assert fieldtypes.infer(values) == expected


def test_coercion_reads_what_planners_write_and_keeps_what_it_cannot() -> None:
    assert fieldtypes.coerce("1,234.5", "number") == (1234.5, True)
    assert fieldtypes.coerce(12.0, "number") == (12, True)
    assert fieldtypes.coerce("2026年9月30日", "date") == ("2026-09-30", True)
    assert fieldtypes.coerce("是", "boolean") == (True, True)
    assert fieldtypes.coerce("很多", "number") == ("很多", False)
    assert fieldtypes.coerce("  ", "number") == (None, True)
    assert fieldtypes.fits("2026-02-30", "date") is False


def _codes(path: Path) -> set[str]:
    """Every code a RegistryError is raised with in a module (both branches of a conditional code too)."""
    codes = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "RegistryError" and node.args:
            codes |= {
                c.value for c in ast.walk(node.args[0]) if isinstance(c, ast.Constant) and isinstance(c.value, str)
            }
    return codes


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_refusal_has_a_sentence_in_both_languages(lang: str) -> None:
    codes = _codes(SRC / "registry.py") | _codes(SRC / "layer_admin.py")
    assert {"id_exists", "field_is_canonical", "type_does_not_fit", "not_archived", "has_drafts"} <= codes
    for code in sorted(codes | {"id_exists_archived"}):
        assert i18n.has(f"registry.{code}", lang), code
    assert i18n.has("store.layer_archived", lang)
    text = layer_admin.error_text(RegistryError("type_does_not_fit", field="学生数", type="number", found="很多"), lang)
    assert "学生数" in text and "很多" in text and ("数字" if lang == "zh" else "number") in text
