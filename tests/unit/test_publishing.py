"""The one write path for uploads: preview writes nothing; publish checks role, errors, large removals, base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from urban_plan import diff, ingest, publishing
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
