"""The store keeps a layer's open attributes only as its registry declares them, and knows layers only from it."""

from __future__ import annotations

import dataclasses

import pytest

from urban_plan import registry, schema
from urban_plan.registry import FieldDef
from urban_plan.store import Actor, FileLayerStore, InvalidPayload, NotFound, PermissionDenied

EDITOR = Actor("li", "editor")
SCHOOLS_ONLY = Actor("wang", "editor", frozenset({"schools"}))


def _school(fid: str = "s1", **extra: object) -> dict:
    return {
        "type": "Feature",
        "properties": {"id": fid, "name_zh": "实验小学", **extra},
        "geometry": {"type": "Point", "coordinates": [117.17, 36.98]},
    }


def _collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def _with_schools(store: FileLayerStore, fields: tuple[FieldDef, ...] = ()) -> None:
    grown = registry.add_layer(
        store.registry(), "schools", name_zh="学校", name_en="Schools", role="overlay", families={"point"},
        fields=fields,
    )  # fmt: skip
    store.publish(registry.COLLECTION, grown.to_payload(), actor=EDITOR, base_version=0, message="学校图层")


@pytest.fixture
def store(tmp_path) -> FileLayerStore:
    return FileLayerStore(tmp_path)


def test_a_store_without_a_registry_knows_the_shipped_layers_and_nothing_else(store: FileLayerStore) -> None:
    assert store.registry() == registry.builtin()
    with pytest.raises(NotFound):
        store.publish("schools", _collection(_school()), actor=EDITOR, base_version=0)
    assert store.history("roads") == []


def test_a_registered_layer_takes_features_without_status_and_keeps_declared_attributes(store) -> None:
    builder, area = FieldDef("建设单位", "建设单位", "Builder"), FieldDef("占地面积", "占地面积", "Area", "number")
    _with_schools(store, (builder, area))
    payload = _collection(_school(建设单位="区教体局", 占地面积=2.5))
    version = store.publish("schools", payload, actor=EDITOR, base_version=0)
    stored = store.load("schools", version.number)["features"][0]["properties"]
    assert stored == {"id": "s1", "name_zh": "实验小学", "建设单位": "区教体局", "占地面积": 2.5}
    assert "status" not in store.registry()["schools"].required_fields


def test_an_undeclared_or_ill_typed_attribute_is_refused_and_nothing_is_written(store) -> None:
    _with_schools(store, (FieldDef("占地面积", "占地面积", "Area", "number"),))
    for bad in (_school(联系人="张三"), _school(占地面积="two hectares")):
        with pytest.raises(InvalidPayload) as refused:
            store.publish("schools", _collection(bad), actor=EDITOR, base_version=0)
        assert "undeclared_field" in str(refused.value) or "bad_attribute" in str(refused.value)
    assert store.history("schools") == []


def test_a_progress_layer_still_requires_a_status() -> None:
    problems = schema.validate_properties({"id": "r1", "name_zh": "路"}, 1, registry.builtin()["roads"])
    assert [(p.code, p.field) for p in problems] == [("missing_required", "status")]
    assert schema.validate_properties({"id": "c1", "name_zh": "河"}, 1, registry.builtin()["context"]) == []


def test_an_archived_layer_refuses_new_versions_until_restored(store) -> None:
    _with_schools(store)
    store.publish("schools", _collection(_school()), actor=EDITOR, base_version=0)
    archived = registry.set_archived(store.registry(), "schools", True)
    store.publish(registry.COLLECTION, archived.to_payload(), actor=EDITOR, base_version=1)
    assert "schools" not in store.registry().ids() and "schools" in store.registry().ids(archived=True)
    with pytest.raises(InvalidPayload):
        store.publish("schools", _collection(_school("s2")), actor=EDITOR, base_version=1)
    assert [v.number for v in store.history("schools")] == [1]  # history kept and readable
    assert store.load("schools", 1)["features"][0]["properties"]["id"] == "s1"


def test_a_per_layer_editor_may_declare_fields_on_their_layer_but_not_add_or_change_others(store) -> None:
    _with_schools(store)
    declared = registry.declare_fields(store.registry(), "schools", [FieldDef("学段", "学段", "Stage")])
    store.publish(registry.COLLECTION, declared.to_payload(), actor=SCHOOLS_ONLY, base_version=1)
    assert store.registry()["schools"].field_names() == ("学段",)
    renamed = registry.edit_layer(store.registry(), "roads", name_zh="道路")
    added = registry.add_layer(store.registry(), "parks", name_zh="公园", name_en="Parks", role="overlay")
    for payload in (renamed.to_payload(), added.to_payload()):
        with pytest.raises(PermissionDenied):
            store.publish(registry.COLLECTION, payload, actor=SCHOOLS_ONLY, base_version=2)
    assert store.latest(registry.COLLECTION).number == 2


def test_the_registry_round_trips_through_its_stored_form() -> None:
    enum = FieldDef("学段", "学段", "Stage", "enum", options=(("小学", "小学", "Primary"), ("初中", "初中", "Middle")))
    grown = registry.add_layer(
        registry.builtin(), "schools", name_zh="学校", name_en="Schools", role="overlay", fields=(enum,)
    )
    assert registry.validate_payload(grown.to_payload()) == []
    assert registry.Registry.from_payload(grown.to_payload()) == grown
    broken = grown.to_payload()
    broken["layers"][-1] = {**broken["layers"][-1], "id": "Bad Id"}
    assert registry.validate_payload(broken)
    assert dataclasses.replace(grown["schools"], archived=True) != grown["schools"]


def test_a_layer_leaves_the_registry_only_by_archiving_even_through_a_rollback(store) -> None:
    store.publish(registry.COLLECTION, registry.builtin().to_payload(), actor=EDITOR, base_version=0)
    grown = registry.add_layer(store.registry(), "schools", name_zh="学校", name_en="Schools", role="overlay")
    store.publish(registry.COLLECTION, grown.to_payload(), actor=EDITOR, base_version=1)
    store.publish("schools", _collection(_school()), actor=EDITOR, base_version=0)
    with pytest.raises(InvalidPayload) as refused:
        store.publish(registry.COLLECTION, registry.builtin().to_payload(), actor=EDITOR, base_version=2)
    assert refused.value.code == "layer_removed"
    # Version 1 predates 学校: rolling back to it archives the layer instead of orphaning its data and history.
    store.rollback(registry.COLLECTION, 1, actor=EDITOR, base_version=2)
    assert "schools" not in store.registry().ids() and store.registry()["schools"].archived
    assert store.load("schools")["features"][0]["properties"]["id"] == "s1"


def test_a_second_store_on_the_same_folder_sees_each_new_version_and_registry_at_once(tmp_path) -> None:
    writer, reader = FileLayerStore(tmp_path), FileLayerStore(tmp_path)  # two server processes, in effect
    assert reader.history("context") == [] and "schools" not in reader.registry()
    _with_schools(writer)
    assert "schools" in reader.registry()
    for number in (1, 2, 3):
        writer.publish("schools", _collection(_school(f"s{number}")), actor=EDITOR, base_version=number - 1)
        assert [v.number for v in reader.history("schools")] == list(range(1, number + 1))
        assert reader.load("schools")["features"][0]["properties"]["id"] == f"s{number}"
