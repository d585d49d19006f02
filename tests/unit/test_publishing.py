"""The one write path for uploads: preview writes nothing; publish checks role, errors, large removals, base."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from urban_plan import diff, ingest, publishing, registry
from urban_plan.store import Actor, ConflictError, FileLayerStore, InvalidPayload, PermissionDenied

EDITOR = Actor("li", "editor")


def upload(data_dir: Path, change=None) -> bytes:
    fc = json.loads((data_dir / "projects.geojson").read_text(encoding="utf-8"))
    if change:
        change(fc)
    return json.dumps(fc, ensure_ascii=False).encode()


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".lock"}


def test_a_preview_writes_nothing_and_diffs_against_the_current_version(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    before = snapshot(data_dir)

    def complete(fc):
        fc["features"][3]["properties"].update(status="completed", progress=100)
        fc["features"][3]["geometry"]["coordinates"][0] = [117.11, 36.885]  # about 890 m east

    item = publishing.preview(store, "p.geojson", upload(data_dir, complete), ingest.Options("projects"))
    assert snapshot(data_dir) == before
    assert item.base_number == 3 and item.diff.counts() == {"added": 0, "removed": 0, "changed": 1, "total": 5}
    (change,) = item.diff.changed
    assert {(f.field, f.old, f.new) for f in change.fields} == {
        ("status", "in_progress", "completed"),
        ("progress", None, 100.0),
    }
    assert 850 < change.moved_m < 950
    table = publishing.change_table(item.diff, "zh")
    assert table.iloc[0]["字段变化"] == "状态 在建→已完工; 进度 未上报→100%"


def test_a_viewer_or_an_editor_of_other_layers_cannot_publish(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    item = publishing.preview(store, "p.geojson", upload(data_dir), ingest.Options("projects"))
    before = snapshot(data_dir)
    for actor in (Actor("guest", "viewer"), Actor("li", "editor", frozenset({"roads"})), Actor(" ", "editor")):
        with pytest.raises(PermissionDenied):
            publishing.publish(store, item, actor=actor, message="x")
    assert snapshot(data_dir) == before


def test_an_upload_with_errors_cannot_be_published(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    item = publishing.preview(store, "p.geojson", b"{not json", ingest.Options("projects"))
    with pytest.raises(InvalidPayload):
        publishing.publish(store, item, actor=EDITOR, message="x")


@pytest.mark.parametrize("keep", [0, 1, 2])
def test_emptying_or_mostly_removing_a_layer_needs_confirmation(data_dir: Path, keep: int) -> None:
    store = FileLayerStore(data_dir)
    data = upload(data_dir, lambda fc: fc.update(features=fc["features"][:keep]))
    item = publishing.preview(store, "p.geojson", data, ingest.Options("projects"))
    assert item.large_removal
    before = snapshot(data_dir)
    with pytest.raises(publishing.NeedsConfirmation):
        publishing.publish(store, item, actor=EDITOR, message="x")
    assert snapshot(data_dir) == before
    version = publishing.publish(store, item, actor=EDITOR, message="x", confirm_large_removal=True)
    assert version.counts["total"] == keep


def test_removing_a_few_features_needs_no_confirmation(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    item = publishing.preview(
        store, "p.geojson", upload(data_dir, lambda fc: fc["features"].pop()), ingest.Options("projects")
    )
    assert not item.large_removal
    assert publishing.publish(store, item, actor=EDITOR, message="x").counts["removed"] == 1


def test_a_publish_based_on_an_outdated_preview_is_a_conflict(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    first = publishing.preview(store, "p.geojson", upload(data_dir), ingest.Options("projects"))
    second = publishing.preview(store, "p.geojson", upload(data_dir), ingest.Options("projects"))
    publishing.publish(store, first, actor=EDITOR, message="first")
    before = snapshot(data_dir)
    with pytest.raises(ConflictError):
        publishing.publish(store, second, actor=EDITOR, message="second")
    assert snapshot(data_dir) == before


def test_rollback_checks_the_role_and_republishes(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    with pytest.raises(PermissionDenied):
        publishing.rollback(store, "projects", 1, actor=Actor("guest", "viewer"), base_version=3)
    version = publishing.rollback(store, "projects", 1, actor=EDITOR, base_version=3)
    assert version.restored_from == 1 and store.load("projects", 4) == store.load("projects", 1)


def test_identical_geometry_within_rounding_is_not_a_move() -> None:
    feature = {
        "type": "Feature",
        "properties": {"id": "a", "name_zh": "甲", "status": "planned"},
        "geometry": {"type": "Point", "coordinates": [117.17, 36.98]},
    }
    nudged = json.loads(json.dumps(feature))
    nudged["geometry"]["coordinates"] = [117.1700001, 36.98]
    result = diff.diff_collections({"features": [feature]}, {"features": [nudged]})
    assert result.is_empty and result.unchanged == 1


def test_publishing_a_preview_diffs_once_and_records_the_previews_counts(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileLayerStore(data_dir)
    calls: list[int] = []
    real = diff.diff_collections

    def counted(old, new):
        calls.append(1)
        return real(old, new)

    monkeypatch.setattr(diff, "diff_collections", counted)

    def complete(fc):
        fc["features"][3]["properties"].update(status="completed", progress=100)

    item = publishing.preview(store, "p.geojson", upload(data_dir, complete), ingest.Options("projects"))
    version = publishing.publish(store, item, actor=EDITOR, message="")
    assert len(calls) == 1  # the preview's diff; not again for the record, nor under the writers' lock
    assert version.counts == item.diff.counts() == {"added": 0, "removed": 0, "changed": 1, "total": 5}


# --- open attributes and new layers -------------------------------------------------------------------------------


def with_columns(data_dir: Path, **columns: object) -> bytes:
    """The shipped projects with extra columns on every feature (value, or a function of the feature's index)."""

    def add(fc):
        for i, feature in enumerate(fc["features"]):
            feature["properties"].update({k: v(i) if callable(v) else v for k, v in columns.items()})

    return upload(data_dir, add)


def test_publishing_declares_the_uploads_new_fields_first_and_a_second_upload_declares_nothing(
    data_dir: Path,
) -> None:
    store = FileLayerStore(data_dir)
    data = with_columns(data_dir, 建设单位=lambda i: ["区住建局", "区城投"][i % 2], 用地面积=lambda i: f"{i + 1}.5")
    item = publishing.preview(store, "projects-2026.geojson", data, ingest.Options("projects"))
    assert {f.name: f.type for f in item.result.new_fields} == {"建设单位": "enum", "用地面积": "number"}
    assert store.latest("layers").number == 1
    version = publishing.publish(store, item, actor=Actor("li", "editor", frozenset({"projects"})), message="m")
    layers = store.latest("layers")
    assert layers.number == 2 and "projects-2026.geojson" in layers.message and "建设单位" in layers.message
    assert store.registry()["projects"].field("用地面积").type == "number"
    assert store.load("projects", version.number)["features"][0]["properties"]["用地面积"] == 1.5

    again = publishing.preview(store, "projects-2026.geojson", data, ingest.Options("projects"))
    assert again.result.new_fields == () and again.diff.is_empty
    publishing.publish(store, again, actor=EDITOR, message="same again")
    assert store.latest("layers").number == 2


def test_a_refused_publish_with_new_fields_writes_nothing_not_even_the_fields(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    stale = publishing.preview(store, "p.geojson", with_columns(data_dir, 联系人="王工"), ingest.Options("projects"))
    publishing.publish(store, publishing.preview(store, "p.geojson", upload(data_dir), ingest.Options("projects")),
                       actor=EDITOR, message="someone else first")  # fmt: skip
    before = snapshot(data_dir)
    with pytest.raises(ConflictError):
        publishing.publish(store, stale, actor=EDITOR, message="late")
    with pytest.raises(PermissionDenied):
        publishing.publish(store, stale, actor=Actor("wang", "editor", frozenset({"roads"})), message="x")
    assert snapshot(data_dir) == before


def test_the_change_preview_names_attribute_changes_by_their_labels(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    first = publishing.preview(
        store, "p.geojson", with_columns(data_dir, 建设单位="区住建局"), ingest.Options("projects")
    )
    publishing.publish(store, first, actor=EDITOR, message="")
    labelled = registry.edit_field(store.registry(), "projects", "建设单位", label_en="Builder")
    store.publish("layers", labelled.to_payload(), actor=EDITOR, base_version=2, message="label")
    second = publishing.preview(
        store, "p.geojson", with_columns(data_dir, 建设单位="区城投"), ingest.Options("projects")
    )
    assert len(second.diff.changed) == 5
    # one value five times was proposed as a choice field; the new value is added to its choices on publish
    assert [f.option_values() for f in second.result.new_fields] == [("区住建局", "区城投")]
    layer = store.registry()["projects"]
    assert set(publishing.change_table(second.diff, "en", layer)["Field changes"]) == {"Builder 区住建局→区城投"}
    assert set(publishing.change_table(second.diff, "zh", layer)["字段变化"]) == {"建设单位 区住建局→区城投"}


def schools_file() -> bytes:
    rows = [("s1", "济阳街道第一小学", "小学", "区教体局", "3.2"), ("s2", "济北中学", "初中", "区教体局", "5"),
            ("s3", "崔寨小学", "小学", "崔寨街道", "2.1"), ("s4", "回河中学", "初中", "区教体局", "4.4")]  # fmt: skip
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [117.17 + i / 100, 36.98]},
         "properties": {"编号": fid, "名称": name, "学段": stage, "建设单位": unit, "占地面积(公顷)": area}}
        for i, (fid, name, stage, unit, area) in enumerate(rows)
    ]  # fmt: skip
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def reviewed_schools(file: bytes) -> registry.LayerDef:
    """What the editor reviewed: the proposed fields with English labels, the area made a required number."""
    proposed = ingest.read_upload("schools.geojson", file, ingest.Options("schools", layer_def=SCHOOLS)).new_fields
    fields = tuple(
        dataclasses.replace(f, label_en={"学段": "Stage", "建设单位": "Builder"}.get(f.name, "Area (ha)"),
                            required=f.name.startswith("占地"))
        for f in proposed
    )  # fmt: skip
    return dataclasses.replace(SCHOOLS, fields=fields)


SCHOOLS = registry.LayerDef("schools", "学校", "Schools", "overlay", False, frozenset({"point"}), "#00695c")


def test_a_new_layer_comes_from_a_file_with_its_reviewed_fields_and_its_first_version(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    file = schools_file()
    layer = reviewed_schools(file)
    assert {f.name: f.type for f in layer.fields} == {"学段": "enum", "建设单位": "enum", "占地面积(公顷)": "number"}
    layers_version, first = publishing.publish_new_layer(
        store, "schools.geojson", file, ingest.Options("schools"), layer, actor=EDITOR
    )
    assert layers_version.number == 2 and "schools" in layers_version.message
    assert first.number == 1 and first.counts["total"] == 4
    stored_layer = store.registry()["schools"]
    assert (stored_layer.name_zh, stored_layer.tracks_progress) == ("学校", False)
    assert stored_layer.field("学段").label_en == "Stage" and stored_layer.field("占地面积(公顷)").required
    props = store.load("schools")["features"][0]["properties"]
    assert (props["id"], props["学段"], props["建设单位"], props["占地面积(公顷)"]) == ("s1", "小学", "区教体局", 3.2)
    assert props["status"] is None


def test_a_new_layer_whose_file_no_longer_fits_the_reviewed_fields_is_refused_with_the_problems(
    data_dir: Path,
) -> None:
    store = FileLayerStore(data_dir)
    file = schools_file()
    layer = reviewed_schools(file)
    changed = file.replace(b'"5"', '"约5"'.encode())
    before = snapshot(data_dir)
    with pytest.raises(publishing.UploadRefused) as refused:
        publishing.publish_new_layer(store, "schools.geojson", changed, ingest.Options("schools"), layer, actor=EDITOR)
    assert [(p.code, p.feature, p.field) for p in refused.value.problems] == [
        ("attribute_not_number", "s2", "占地面积(公顷)")
    ]
    with pytest.raises(PermissionDenied):  # an editor of some layers may not add one
        publishing.publish_new_layer(
            store,
            "schools.geojson",
            file,
            ingest.Options("schools"),
            layer,
            actor=Actor("li", "editor", frozenset({"projects"})),
        )
    with pytest.raises(registry.RegistryError) as taken:
        publishing.publish_new_layer(
            store, "p.geojson", file, ingest.Options("roads"), dataclasses.replace(layer, id="roads"), actor=EDITOR
        )
    assert taken.value.code == "id_exists"
    assert snapshot(data_dir) == before
