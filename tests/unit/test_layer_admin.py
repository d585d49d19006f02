"""Layer administration through the store: each change one registry version, refusals write nothing, rights hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from urban_plan import layer_admin, registry
from urban_plan.registry import FieldDef, RegistryError
from urban_plan.store import Actor, ConflictError, FileLayerStore, InvalidPayload, NotFound, PermissionDenied

WANG = Actor("wang", "editor")  # every layer
LI = Actor("li", "editor", frozenset({"schools"}))  # only the schools layer (created later)
VIEWER = Actor("visitor", "viewer")


@pytest.fixture
def store(data_dir: Path) -> FileLayerStore:
    return FileLayerStore(data_dir)


def add_schools(store: FileLayerStore, **changes: Any) -> None:
    fields = (
        FieldDef("建设单位", "建设单位", "Builder"),
        FieldDef("学生数", "学生数", "Pupils"),  # text: as a first upload might have guessed
    )
    layer_admin.add_layer(
        store,
        WANG,
        "schools",
        **(
            {"name_zh": "学校", "name_en": "Schools", "role": "overlay", "families": ("point",), "fields": fields}
            | changes
        ),
    )


def school(fid: str, lon: float, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"id": fid, "name_zh": f"学校{fid}", **props},
        "geometry": {"type": "Point", "coordinates": [lon, 36.98]},
    }


def publish_schools(store: FileLayerStore, *features: dict[str, Any], actor: Actor = WANG) -> None:
    latest = store.latest("schools")
    store.publish(
        "schools",
        {"type": "FeatureCollection", "features": list(features)},
        actor=actor,
        base_version=latest.number if latest else 0,
    )


def registry_versions(store: FileLayerStore) -> int:
    return len(store.history(registry.COLLECTION))


def test_adding_a_layer_is_one_registry_version_that_names_the_change(store: FileLayerStore) -> None:
    assert registry_versions(store) == 1
    add_schools(store)
    version = store.latest(registry.COLLECTION)
    assert (version.number, version.author, version.base) == (2, "wang", 1)
    assert "schools" in version.message and "学校" in version.message and "Schools" in version.message
    assert store.registry().overlays()[-1] == "schools" and store.is_layer("schools")
    assert store.history("schools") == []  # empty until its first upload
    publish_schools(store, school("S1", 117.17, 建设单位="区教体局", 学生数="2400"))
    assert store.current("schools").number == 1


def test_a_refused_change_writes_nothing_and_says_why_in_both_languages(store: FileLayerStore) -> None:
    with pytest.raises(RegistryError) as refused:
        layer_admin.add_layer(store, WANG, "roads", name_zh="道路", name_en="Roads 2", role="overlay")
    assert registry_versions(store) == 1
    zh, en = (layer_admin.error_text(refused.value, lang) for lang in ("zh", "en"))
    assert "roads" in zh and "新改扩建道路" in zh and "换一个编号" in zh
    assert "already exists" in en and "Choose another id" in en


def test_someone_publishing_the_registry_meanwhile_is_a_conflict_and_nothing_of_ours_is_written(
    store: FileLayerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = registry.add_layer

    def add_while_someone_else_publishes(current: registry.Registry, *args: Any, **kwargs: Any) -> registry.Registry:
        layer_admin.edit_layer(store, WANG, "roads", name_en="Road works")  # another editor, between read and write
        return original(current, *args, **kwargs)

    monkeypatch.setattr(registry, "add_layer", add_while_someone_else_publishes)
    with pytest.raises(ConflictError):
        add_schools(store)
    assert "schools" not in store.registry() and store.registry()["roads"].name_en == "Road works"
    assert registry_versions(store) == 2


def test_an_editor_of_one_layer_changes_only_that_layer_and_never_adds_one(store: FileLayerStore) -> None:
    with pytest.raises(PermissionDenied):
        layer_admin.add_layer(store, LI, "parks", name_zh="公园", name_en="Parks", role="overlay")
    add_schools(store)  # created by an editor of every layer: li's rights take effect now
    publish_schools(store, school("S1", 117.17, 建设单位="区教体局"), actor=LI)
    layer_admin.edit_layer(store, LI, "schools", name_en="Schools and kindergartens")
    layer_admin.edit_field(store, LI, "schools", "建设单位", label_en="Built by")
    layer_admin.move(store, LI, "schools", -1)  # only her layer's order changes, so she may
    # what publishing an upload with a new column does: declare it, as li, on her layer
    latest = store.latest(registry.COLLECTION)
    declared = registry.declare_fields(store.registry(), "schools", [FieldDef("电话", "电话", "电话")])
    store.publish(registry.COLLECTION, declared.to_payload(), actor=LI, base_version=latest.number)
    assert store.registry()["schools"].field("电话") is not None
    before = registry_versions(store)
    for change in (
        lambda: layer_admin.edit_layer(store, LI, "projects", name_en="Projects"),
        lambda: layer_admin.archive(store, LI, "roads"),
        lambda: layer_admin.edit_field(store, VIEWER, "schools", "建设单位", label_en="By"),
        lambda: store.publish(
            registry.COLLECTION,
            registry.declare_fields(store.registry(), "projects", [FieldDef("电话", "电话", "电话")]).to_payload(),
            actor=LI,
            base_version=before,
        ),
    ):
        with pytest.raises(PermissionDenied):
            change()
    assert registry_versions(store) == before


def test_a_field_type_the_stored_values_do_not_fit_is_refused_naming_the_value(store: FileLayerStore) -> None:
    add_schools(store)
    publish_schools(store, school("S1", 117.17, 学生数="2400"), school("S2", 117.18, 学生数="约1800"))
    before = registry_versions(store)
    with pytest.raises(RegistryError) as refused:
        layer_admin.edit_field(store, WANG, "schools", "学生数", type="number")
    assert refused.value.code == "type_does_not_fit"
    assert "2400" in layer_admin.error_text(refused.value, "zh") and "数字" in layer_admin.error_text(
        refused.value, "zh"
    )
    assert registry_versions(store) == before
    layer_admin.edit_field(store, WANG, "schools", "学生数", type="enum", tooltip=True)
    field = store.registry()["schools"].field("学生数")
    assert (field.type, field.option_values(), field.tooltip) == ("enum", ("2400", "约1800"), True)


def test_a_type_every_stored_value_can_be_read_as_converts_the_data_in_a_new_layer_version(
    store: FileLayerStore,
) -> None:
    """学生数 was guessed as text: as a number it must convert the stored values, or no upload could ever fix it
    (each would be read as text again)."""
    add_schools(store)
    publish_schools(
        store, school("S1", 117.17, 学生数="2,400"), school("S2", 117.18, 学生数="1800"), school("S3", 117.19)
    )
    version = layer_admin.edit_field(store, WANG, "schools", "学生数", type="number")
    assert store.registry()["schools"].field("学生数").type == "number" and version.number == 3
    converted = store.latest("schools")
    assert converted.number == 2 and converted.counts["changed"] == 2 and "数字" in converted.message
    values = [f["properties"].get("学生数") for f in store.load("schools")["features"]]
    assert values == [2400, 1800, None]
    layer_admin.edit_field(store, WANG, "schools", "学生数", type="text")
    assert [f["properties"].get("学生数") for f in store.load("schools")["features"]] == ["2400", "1800", None]


def test_a_conversion_that_cannot_be_written_undoes_its_registry_change(
    store: FileLayerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_schools(store)
    publish_schools(store, school("S1", 117.17, 学生数="2400"))
    original = layer_admin._publish

    def someone_publishes_the_layer_meanwhile(*args: Any, **kwargs: Any):
        version = original(*args, **kwargs)
        publish_schools(store, school("S9", 117.2))  # another editor, after our registry version
        return version

    monkeypatch.setattr(layer_admin, "_publish", someone_publishes_the_layer_meanwhile)
    with pytest.raises(ConflictError):
        layer_admin.edit_field(store, WANG, "schools", "学生数", type="number")
    assert store.registry()["schools"].field("学生数").type == "text"  # undone, as a new version
    assert store.latest(registry.COLLECTION).restored_from == 2
    assert [f["properties"]["id"] for f in store.load("schools")["features"]] == ["S9"]


def test_tracking_progress_is_refused_while_the_layers_features_have_no_status(store: FileLayerStore) -> None:
    add_schools(store)
    publish_schools(store, school("S1", 117.17))
    with pytest.raises(RegistryError) as refused:
        layer_admin.edit_layer(store, WANG, "schools", tracks_progress=True)
    assert refused.value.code == "layer_does_not_fit"
    assert "S1" in layer_admin.error_text(refused.value, "en")
    assert not store.registry()["schools"].tracks_progress
    layer_admin.edit_layer(store, WANG, "schools", families=("point", "polygon"), colour="#00695c")
    assert store.registry()["schools"].families == {"point", "polygon"}


def test_an_archived_layer_takes_no_uploads_keeps_its_history_and_comes_back(store: FileLayerStore) -> None:
    add_schools(store)
    publish_schools(store, school("S1", 117.17))
    with pytest.raises(RegistryError) as drafts:
        layer_admin.archive(store, WANG, "schools", drafts=1)
    assert drafts.value.code == "has_drafts" and not store.registry()["schools"].archived
    layer_admin.archive(store, WANG, "schools")
    layers = store.registry()
    assert "schools" not in layers.ids() + layers.overlays() and "schools" in layers.ids(archived=True)
    assert [v.number for v in store.history("schools")] == [1]  # history kept, readable
    with pytest.raises(InvalidPayload) as archived:
        publish_schools(store, school("S2", 117.18))
    assert archived.value.code == "layer_archived"
    assert "恢复" in layer_admin.error_text(archived.value, "zh") and "Restore" in layer_admin.error_text(
        archived.value, "en"
    )
    with pytest.raises(RegistryError):
        layer_admin.archive(store, WANG, "schools")  # already archived
    layer_admin.restore(store, WANG, "schools")
    publish_schools(store, school("S2", 117.18))
    assert store.current("schools").number == 2


def test_rolling_the_registry_back_keeps_later_layers_archived_with_their_data(store: FileLayerStore) -> None:
    add_schools(store)
    publish_schools(store, school("S1", 117.17))
    layer_admin.edit_layer(store, WANG, "roads", name_en="Road works")
    version = layer_admin.rollback(store, WANG, 1)
    assert version.restored_from == 1
    layers = store.registry()
    assert layers["roads"].name_en == registry.builtin()["roads"].name_en
    assert layers["schools"].archived and store.load("schools")["features"][0]["properties"]["id"] == "S1"
    with pytest.raises(RegistryError) as taken:  # the id stays taken: a new layer never inherits old history
        layer_admin.add_layer(store, WANG, "schools", name_zh="学校2", name_en="Schools 2", role="overlay")
    assert taken.value.code == "id_exists" and "恢复" in layer_admin.error_text(taken.value, "zh")


def test_operations_on_layers_that_do_not_exist_are_refused(store: FileLayerStore) -> None:
    for change in (
        lambda: layer_admin.edit_layer(store, WANG, "nowhere", name_zh="某"),
        lambda: layer_admin.archive(store, WANG, "nowhere"),
        lambda: layer_admin.move(store, WANG, "nowhere", 1),
        lambda: layer_admin.edit_field(store, WANG, "projects", "电话", label_en="Phone"),
    ):
        with pytest.raises(RegistryError) as refused:
            change()
        assert refused.value.code in {"no_such_layer", "no_such_field"}
    with pytest.raises(NotFound):
        layer_admin.rollback(store, WANG, 99)
    assert registry_versions(store) == 1
