"""The versioned store: what a publish records, what it refuses (writing nothing), rollback, as-of dates, integrity."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from urban_plan import cli, diff, documents, registry
from urban_plan import store as store_module
from urban_plan.store import (
    Actor,
    ConflictError,
    FileLayerStore,
    InvalidPayload,
    NotFound,
    PermissionDenied,
    StoreError,
    known_collections,
    serialise,
)

TODAY = dt.date.today()
EDITOR = Actor("王工", "editor")
POINT = {"type": "Point", "coordinates": [117.17, 36.98]}
LINE = {"type": "LineString", "coordinates": [[117.16, 36.97], [117.18, 36.99]]}
POLYGON = {"type": "Polygon", "coordinates": [[[117.16, 36.97], [117.18, 36.97], [117.18, 36.99], [117.16, 36.97]]]}


def feature(fid: Any = "a", *, status: Any = "planned", geometry: Any = POINT, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"id": fid, "name_zh": "甲", "status": status, **props},
        "geometry": copy.deepcopy(geometry),
    }


def fc(*features: dict[str, Any], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **members, "features": list(features)}


def targets_payload(**changes: Any) -> dict[str, Any]:
    row = {"id": "road_works", "label_zh": "新改扩建道路", "target": 9, "reported": None, "reported_as_of": None}
    return {"rows": [{**row, **changes}]}


def valid_payload(collection: str) -> Any:
    return {"roads": fc(feature("r1", geometry=LINE)), "targets": targets_payload()}.get(collection, fc(feature()))


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root with its bytes, except the writers' lock file (an empty file the lock library keeps)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def shifted(geometry: dict[str, Any], dx: float) -> dict[str, Any]:
    """The geometry moved east by dx degrees."""

    def move(coords: Any) -> Any:
        return [coords[0] + dx, *coords[1:]] if isinstance(coords[0], float | int) else [move(c) for c in coords]

    return {**geometry, "coordinates": move(geometry["coordinates"])}


def latest_number(store: FileLayerStore, collection: str) -> int:
    latest = store.latest(collection)
    return latest.number if latest else 0


@pytest.fixture
def store(tmp_path: Path) -> FileLayerStore:
    """An empty store: no collection published yet."""
    return FileLayerStore(tmp_path / "empty")


@pytest.fixture
def seeded(data_dir: Path) -> FileLayerStore:
    """A private copy of the shipped data with its seeded history (projects v1–v3, rail v1–v4, targets v1–v2…)."""
    return FileLayerStore(data_dir)


# Publishing ---------------------------------------------------------------------------------------------------------


def test_a_publish_records_number_author_time_message_date_hash_base_and_counts(seeded: FileLayerStore) -> None:
    before = seeded.history("projects")
    payload = seeded.load("projects", 3)
    payload["features"].append(feature("prj-new"))
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)

    info = seeded.publish(
        "projects", payload, actor=EDITOR, base_version=3, message="  新增项目 / a new project  ", as_of=TODAY
    )

    assert (info.number, info.author, info.base, info.restored_from) == (4, "王工", 3, None)
    assert info.message == "新增项目 / a new project"
    assert info.as_of == TODAY.isoformat()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info.saved_at)
    saved = dt.datetime.strptime(info.saved_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert started <= saved <= dt.datetime.now(dt.UTC)
    stored = (seeded.root / "store" / "projects" / "v000004.json").read_bytes()
    assert (
        info.sha256
        == hashlib.sha256(stored).hexdigest()
        == hashlib.sha256(seeded.load_bytes("projects", 4)).hexdigest()
    )
    assert info.counts == {"added": 1, "removed": 0, "changed": 0, "total": 6}
    assert seeded.history("projects") == [*before, info]
    assert seeded.latest("projects") == info == seeded.current("projects")


def test_the_first_publish_of_a_collection_is_version_one_based_on_nothing(store: FileLayerStore) -> None:
    assert store.history("projects") == []
    info = store.publish("projects", fc(feature("a"), feature("b")), actor=EDITOR, base_version=0)
    assert (info.number, info.base) == (1, 0)
    assert info.counts == {"added": 2, "removed": 0, "changed": 0, "total": 2}
    assert store.history("projects") == [info]
    assert (store.root / "store" / "projects" / "manifest.json").is_file()


def _first(edit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """An edit of the feature prj-gengyiting (the seeded point) in a payload."""

    def apply(payload: dict[str, Any]) -> None:
        target = next(f for f in payload["features"] if f["properties"]["id"] == "prj-gengyiting")
        edit(target)

    return apply


COUNT_CASES = [
    pytest.param(lambda p: None, {"added": 0, "removed": 0, "changed": 0, "total": 5}, id="nothing-changed"),
    pytest.param(
        lambda p: p["features"].append(feature("x")), {"added": 1, "removed": 0, "changed": 0, "total": 6}, id="added"
    ),
    pytest.param(lambda p: p["features"].pop(0), {"added": 0, "removed": 1, "changed": 0, "total": 4}, id="removed"),
    pytest.param(
        _first(lambda f: f["properties"].update(status="completed", progress=100)),
        {"added": 0, "removed": 0, "changed": 1, "total": 5},
        id="status-changed",
    ),
    pytest.param(
        _first(lambda f: f.update(geometry=shifted(f["geometry"], 0.01))),
        {"added": 0, "removed": 0, "changed": 1, "total": 5},
        id="moved-about-900-m",
    ),
    pytest.param(
        _first(lambda f: f.update(geometry=shifted(f["geometry"], 1e-9))),
        {"added": 0, "removed": 0, "changed": 0, "total": 5},
        id="nudged-below-tolerance",
    ),
    pytest.param(
        lambda p: p.update(features=[*p["features"][1:], feature("x")]),
        {"added": 1, "removed": 1, "changed": 0, "total": 5},
        id="one-replaced",
    ),
]


@pytest.mark.parametrize(("edit", "counts"), COUNT_CASES)
def test_counts_compare_the_new_payload_with_the_latest_version(
    seeded: FileLayerStore, edit: Callable[[dict[str, Any]], None], counts: dict[str, int]
) -> None:
    payload = seeded.load("projects", 3)
    edit(payload)
    assert seeded.publish("projects", payload, actor=EDITOR, base_version=3).counts == counts


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (dt.datetime(2024, 1, 1, 8, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=8))), "2024-01-01T00:00:05Z"),
        (dt.datetime(2024, 1, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))), "2024-01-02T04:30:00Z"),
        (dt.datetime(2024, 6, 30, 12, 0, 0, 999_999, tzinfo=dt.UTC), "2024-06-30T12:00:00Z"),
    ],
)
def test_saved_at_is_stored_in_utc_to_the_second_whatever_offset_is_given(
    store: FileLayerStore, given: dt.datetime, stored: str
) -> None:
    info = store.publish("projects", fc(feature()), actor=EDITOR, base_version=0, saved_at=given)
    assert info.saved_at == stored == store.history("projects")[0].saved_at


def test_the_message_is_trimmed_and_capped_at_500_characters(store: FileLayerStore) -> None:
    info = store.publish("projects", fc(feature()), actor=EDITOR, base_version=0, message="\n 说明" + "x" * 600 + " ")
    assert info.message == ("说明" + "x" * 600)[:500]
    assert len(store.history("projects")[0].message) == 500


@pytest.mark.parametrize("collection", ["projects", "targets"])
def test_the_stored_bytes_are_the_serialised_payload_and_load_gives_the_payload_back(
    store: FileLayerStore, collection: str
) -> None:
    payload = valid_payload(collection)
    store.publish(collection, payload, actor=EDITOR, base_version=0)
    assert store.load_bytes(collection, 1) == serialise(payload)
    assert store.load(collection, 1) == payload == store.load(collection)


def test_history_is_append_only_and_old_version_files_never_change(seeded: FileLayerStore) -> None:
    store_dir = seeded.root / "store" / "projects"
    files_before = {p.name: p.read_bytes() for p in store_dir.glob("v*.json")}
    history = seeded.history("projects")
    for step in range(3):
        payload = seeded.load("projects")
        payload["features"].append(feature(f"extra-{step}"))
        info = seeded.publish(
            "projects", payload, actor=EDITOR, base_version=history[-1].number, message=f"step {step}"
        )
        now = seeded.history("projects")
        assert now == [*history, info]  # earlier rows unchanged, one appended
        history = now
    assert [v.number for v in history] == [1, 2, 3, 4, 5, 6]
    assert [v.base for v in history] == [0, 1, 2, 3, 4, 5]
    assert all((store_dir / name).read_bytes() == data for name, data in files_before.items())
    for version in history:
        assert seeded.load_bytes("projects", version.number)  # every version still there and intact
        seeded.load("projects", version.number)


def test_the_mirror_file_equals_the_current_versions_bytes_after_every_publish(store: FileLayerStore) -> None:
    mirror = store.root / "projects.geojson"
    assert not mirror.exists()
    for number in range(1, 4):
        payload = fc(*(feature(f"p{i}") for i in range(number)))
        store.publish("projects", payload, actor=EDITOR, base_version=number - 1)
        assert mirror.read_bytes() == store.load_bytes("projects") == store.load_bytes("projects", number)
        assert json.loads(mirror.read_bytes()) == payload


def test_the_shipped_mirrors_equal_their_current_versions(seeded: FileLayerStore) -> None:
    for layer in registry.builtin().ids():
        assert (seeded.root / f"{layer}.geojson").read_bytes() == seeded.load_bytes(layer), layer


def test_documents_get_no_mirror_file(store: FileLayerStore) -> None:
    store.publish("targets", targets_payload(), actor=EDITOR, base_version=0)
    assert not list(store.root.glob("*.geojson")) and not (store.root / "targets.json").exists()


# Refusals: nothing is written ---------------------------------------------------------------------------------------

VIEWER = Actor("李四", "viewer")
ROADS_ONLY = Actor("张三", "editor", frozenset({"roads"}))


def conflict(collection: str, changes: dict[str, Any], detail: str, name: str) -> Any:
    return pytest.param(collection, changes, ConflictError, "stale_base", detail, id=name)


def denied(collection: str, actor: Actor, name: str) -> Any:
    return pytest.param(collection, {"actor": actor}, PermissionDenied, "not_allowed", actor.name.strip(), id=name)


def invalid(collection: str, payload: Any, detail: str, name: str) -> Any:
    return pytest.param(collection, {"payload": payload}, InvalidPayload, "invalid_payload", detail, id=name)


NOT_FC = "not_a_feature_collection"

REFUSALS = [
    # (collection, changes to a valid publish, exception, code, text expected in the error's params)
    conflict("projects", {"base": -1}, "'latest': 3", "stale-base"),
    conflict("projects", {"base": +1}, "'base': 4", "base-from-the-future"),
    conflict("projects", {"base_version": 0}, "'base': 0", "base-zero-on-a-history"),
    conflict("targets", {"base": -1}, "'latest': 2", "stale-base-on-a-document"),
    denied("projects", VIEWER, "viewer"),
    denied("projects", ROADS_ONLY, "editor-of-other-layers"),
    denied("targets", ROADS_ONLY, "editor-of-roads-on-targets"),
    denied("projects", Actor("  ", "editor"), "blank-name"),
    denied("projects", Actor("", "editor"), "empty-name"),
    denied("projects", Actor("王工", "Editor"), "role-not-exact"),
    denied("projects", Actor("王工", ""), "no-role"),
    invalid("projects", fc(feature(status="done")), "bad_status", "status-alias-not-canonical"),
    invalid("projects", fc(feature(status="demolished")), "bad_status", "unknown-status"),
    invalid("projects", fc(feature("a"), feature("a")), "duplicate_id", "duplicate-ids"),
    invalid("projects", fc(feature(name_zh=" ")), "missing_required", "blank-name-zh"),
    invalid("projects", fc(feature("a b")), "bad_id", "id-with-space"),
    invalid("projects", fc(feature(progress=120)), "bad_progress", "progress-over-100"),
    invalid("roads", fc(feature("r1", geometry=POINT)), "wrong_geometry", "point-in-roads"),
    invalid("rail", fc(feature("r1", geometry=POLYGON)), "wrong_geometry", "polygon-in-rail"),
    invalid("projects", fc(feature(geometry=None)), "missing_geometry", "null-geometry"),
    invalid("projects", [feature()], NOT_FC, "a-list"),
    invalid("projects", feature(), NOT_FC, "a-feature"),
    invalid("projects", None, NOT_FC, "none"),
    invalid("projects", json.dumps(fc(feature())), NOT_FC, "json-text"),
    invalid("projects", targets_payload(), NOT_FC, "targets-in-a-layer"),
    invalid("targets", fc(feature()), "expected {'rows'", "layer-in-targets"),
    invalid("targets", targets_payload(target=-1), "road_works.target", "negative-target"),
    invalid("targets", {"rows": targets_payload()["rows"] * 2}, "duplicate id", "duplicate-target-rows"),
    invalid("targets", targets_payload(reported=3), "needs the date", "reported-without-date"),
    invalid("targets", targets_payload(colour="red"), "unknown fields", "unknown-target-field"),
    pytest.param(
        "projects", {"as_of": TODAY + dt.timedelta(days=1)}, InvalidPayload, "as_of_in_future", "", id="as-of-tomorrow"
    ),
    pytest.param("buildings", {}, NotFound, "no_such_collection", "buildings", id="unknown-collection"),
    pytest.param("../projects", {}, NotFound, "no_such_collection", "", id="path-as-collection"),
]


def attempt_publish(store: FileLayerStore, collection: str, changes: dict[str, Any]) -> None:
    latest = latest_number(store, collection) if collection in known_collections() else 0
    store.publish(
        collection,
        changes.get("payload", valid_payload(collection)),
        actor=changes.get("actor", EDITOR),
        base_version=changes.get("base_version", latest + changes.get("base", 0)),
        message="refused",
        as_of=changes.get("as_of"),
    )


@pytest.mark.parametrize(("collection", "changes", "error", "code", "detail"), REFUSALS)
def test_a_refused_publish_raises_its_error_and_changes_nothing_on_disk(
    seeded: FileLayerStore, collection: str, changes: dict[str, Any], error: type[StoreError], code: str, detail: str
) -> None:
    before = snapshot(seeded.root)
    with pytest.raises(error) as raised:
        attempt_publish(seeded, collection, changes)
    assert type(raised.value) is error and raised.value.code == code
    assert detail in str(raised.value.params)
    assert snapshot(seeded.root) == before


def test_a_refused_first_publish_leaves_the_collection_empty(store: FileLayerStore) -> None:
    for changes in ({"base": 1}, {"actor": VIEWER}, {"payload": fc(feature(status="x"))}):
        with pytest.raises(StoreError):
            attempt_publish(store, "projects", changes)
    assert store.history("projects") == [] and store.latest("projects") is None
    assert snapshot(store.root) == {}


def test_the_conflict_error_names_both_the_base_and_the_latest_version(seeded: FileLayerStore) -> None:
    with pytest.raises(ConflictError) as raised:
        seeded.publish("projects", fc(feature()), actor=EDITOR, base_version=1)
    assert raised.value.params == {"collection": "projects", "base": 1, "latest": 3}


def test_an_editor_limited_to_a_collection_may_publish_it(seeded: FileLayerStore) -> None:
    info = seeded.publish("roads", fc(feature("r1", geometry=LINE)), actor=ROADS_ONLY, base_version=1)
    assert info.author == "张三" and info.number == 2


def test_as_of_today_is_accepted_and_is_the_default(store: FileLayerStore) -> None:
    assert (
        store.publish("projects", fc(feature()), actor=EDITOR, base_version=0, as_of=TODAY).as_of == TODAY.isoformat()
    )
    assert store.publish("projects", fc(feature()), actor=EDITOR, base_version=1).as_of == TODAY.isoformat()


# Known bugs: malformed payloads escape validation (see the report) --------------------------------------------------

MALFORMED_REASON = (
    "BUG: store.validate_payload / schema.validate_collection assume the FeatureCollection's shape, so a malformed "
    "one crashes with KeyError/TypeError/AttributeError (in validation, or in serialise under the lock) instead of "
    "being refused as InvalidPayload"
)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"type": "FeatureCollection"}, id="no-features-member"),
        pytest.param({"type": "FeatureCollection", "features": None}, id="features-null"),
        pytest.param(fc("not a feature"), id="feature-not-an-object"),  # type: ignore[arg-type]
        pytest.param(fc({"type": "Feature", "properties": "id=a", "geometry": POINT}), id="properties-not-an-object"),
        pytest.param(fc({**feature(), "geometry": "POINT (117 36)"}), id="geometry-not-an-object"),
    ],
)
def test_a_malformed_feature_collection_is_refused_as_invalid_payload(seeded: FileLayerStore, payload: Any) -> None:
    before = snapshot(seeded.root)
    with pytest.raises(InvalidPayload):
        seeded.publish("projects", payload, actor=EDITOR, base_version=3)
    assert snapshot(seeded.root) == before


NON_FINITE_REASON = (
    "BUG: validation does not look at numbers outside the canonical properties, so NaN/Infinity in coordinates or "
    "extra properties reaches serialise(), which raises a bare ValueError (features use allow_nan=False) - and in "
    "top-level members such as bbox it is written as NaN (the head uses json.dumps' default allow_nan=True), "
    "which is not JSON (RFC 8259) and breaks the .geojson mirror for desktop GIS"
)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(fc(feature(geometry={"type": "Point", "coordinates": [math.nan, 36.98]})), id="nan-coordinate"),
        pytest.param(
            fc(feature(geometry={"type": "Point", "coordinates": [117.17, math.inf]})), id="infinite-coordinate"
        ),
        pytest.param(fc(feature(area_km2=math.nan)), id="nan-extra-property"),
        pytest.param(fc(feature(), bbox=[math.nan, 36.9, 117.3, 37.1]), id="nan-in-bbox"),
    ],
)
def test_a_payload_with_non_finite_numbers_is_refused_as_invalid_payload(seeded: FileLayerStore, payload: Any) -> None:
    before = snapshot(seeded.root)
    with pytest.raises(InvalidPayload):
        seeded.publish("projects", payload, actor=EDITOR, base_version=3)
    assert snapshot(seeded.root) == before


def test_a_geometry_without_coordinates_is_refused_as_invalid_payload(seeded: FileLayerStore) -> None:
    with pytest.raises(InvalidPayload):
        seeded.publish("projects", fc(feature(geometry={"type": "Point"})), actor=EDITOR, base_version=3)


# Rollback -----------------------------------------------------------------------------------------------------------


def test_rollback_publishes_the_old_payload_again_as_a_new_number(seeded: FileLayerStore) -> None:
    before = seeded.history("projects")
    info = seeded.rollback("projects", 1, actor=EDITOR, base_version=3)

    assert (info.number, info.base, info.restored_from) == (4, 3, 1)
    assert info.message == "rollback to v1" and info.author == "王工" and info.as_of == TODAY.isoformat()
    assert info.sha256 == before[0].sha256
    assert seeded.load_bytes("projects", 4) == seeded.load_bytes("projects", 1)
    assert seeded.load("projects", 4) == seeded.load("projects", 1)
    assert info.counts == {"added": 0, "removed": 0, "changed": 3, "total": 5}  # v1 against the base v3, not v1
    assert seeded.history("projects") == [*before, info]
    assert seeded.current("projects") == info
    assert (seeded.root / "projects.geojson").read_bytes() == seeded.load_bytes("projects", 1)


def test_rollback_takes_a_message_and_an_as_of_date(seeded: FileLayerStore) -> None:
    info = seeded.rollback(
        "rail", 2, actor=EDITOR, base_version=4, message="误发布 / published by mistake", as_of=dt.date(2026, 3, 10)
    )
    assert (info.message, info.as_of, info.restored_from) == ("误发布 / published by mistake", "2026-03-10", 2)
    assert seeded.current("rail") == info  # ties v4 on as-of; the later number wins


def test_every_version_stays_loadable_after_rollbacks_of_rollbacks(seeded: FileLayerStore) -> None:
    seeded.rollback("projects", 1, actor=EDITOR, base_version=3)
    seeded.rollback("projects", 3, actor=EDITOR, base_version=4)
    info = seeded.rollback("projects", 4, actor=EDITOR, base_version=5)
    assert info.restored_from == 4 and seeded.load("projects", 6) == seeded.load("projects", 1)
    history = seeded.history("projects")
    assert [v.number for v in history] == [1, 2, 3, 4, 5, 6]
    assert [v.restored_from for v in history] == [None, None, None, 1, 3, 4]
    assert all(seeded.load("projects", v.number) is not None for v in history)


@pytest.mark.parametrize(
    ("kwargs", "error", "code"),
    [
        pytest.param({"to": 1, "actor": EDITOR, "base_version": 2}, ConflictError, "stale_base", id="stale-base"),
        pytest.param({"to": 1, "actor": VIEWER, "base_version": 3}, PermissionDenied, "not_allowed", id="viewer"),
        pytest.param({"to": 9, "actor": EDITOR, "base_version": 3}, NotFound, "no_such_version", id="unknown-version"),
        pytest.param({"to": 0, "actor": EDITOR, "base_version": 3}, NotFound, "no_such_version", id="version-zero"),
        pytest.param(
            {"to": 1, "actor": EDITOR, "base_version": 3, "as_of": TODAY + dt.timedelta(days=1)},
            InvalidPayload,
            "as_of_in_future",
            id="as-of-tomorrow",
        ),
    ],
)
def test_a_refused_rollback_changes_nothing_on_disk(
    seeded: FileLayerStore, kwargs: dict[str, Any], error: type[StoreError], code: str
) -> None:
    before = snapshot(seeded.root)
    with pytest.raises(error) as raised:
        seeded.rollback("projects", **kwargs)
    assert raised.value.code == code
    assert snapshot(seeded.root) == before


# Which version is in effect -----------------------------------------------------------------------------------------


@pytest.fixture
def dated(store: FileLayerStore) -> FileLayerStore:
    """v1 as of 2024-01-01, v2 and v3 both as of 2024-06-01 (a tie), v4 a backfill as of 2023-01-01."""
    for number, as_of in enumerate(["2024-01-01", "2024-06-01", "2024-06-01", "2023-01-01"], start=1):
        payload = fc(feature(f"v{number}"))
        store.publish("projects", payload, actor=EDITOR, base_version=number - 1, as_of=dt.date.fromisoformat(as_of))
    return store


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("2022-12-31", None),  # before everything
        ("2023-01-01", 4),  # the backfill is the only data describing that day
        ("2023-12-31", 4),
        ("2024-01-01", 1),
        ("2024-05-31", 1),
        ("2024-06-01", 3),  # a tie on as-of: the later publish wins
        ("2025-01-01", 3),  # the backfill (published last) does not hide newer data
        (TODAY.isoformat(), 3),
    ],
)
def test_effective_is_the_greatest_as_of_not_after_the_date_and_the_later_number_on_ties(
    dated: FileLayerStore, on: str, expected: int | None
) -> None:
    found = dated.effective("projects", dt.date.fromisoformat(on))
    assert (found.number if found else None) == expected


def test_current_and_load_follow_the_effective_version_while_latest_is_the_last_published(
    dated: FileLayerStore,
) -> None:
    assert dated.current("projects").number == 3
    assert dated.effective("projects").number == 3
    assert dated.latest("projects").number == 4
    assert dated.load("projects") == fc(feature("v3"))
    assert dated.load_bytes("projects") == dated.load_bytes("projects", 3)
    assert (dated.root / "projects.geojson").read_bytes() == dated.load_bytes("projects", 3)


def test_a_backfilled_older_snapshot_does_not_change_current_or_the_mirror(seeded: FileLayerStore) -> None:
    current = seeded.current("projects")
    mirror = (seeded.root / "projects.geojson").read_bytes()
    info = seeded.publish(
        "projects",
        fc(feature("old")),
        actor=EDITOR,
        base_version=3,
        as_of=dt.date(2023, 6, 30),
        message="补录 / backfill",
    )
    assert info.number == 4 and seeded.latest("projects") == info
    assert seeded.current("projects") == current
    assert seeded.effective("projects", dt.date(2023, 7, 1)) == info
    assert seeded.effective("projects", dt.date(2023, 12, 31)).number == 2
    assert (seeded.root / "projects.geojson").read_bytes() == mirror
    # and the next publish is based on the latest (the backfill), not on the current version
    with pytest.raises(ConflictError):
        seeded.publish("projects", fc(feature()), actor=EDITOR, base_version=3)
    assert seeded.publish("projects", fc(feature()), actor=EDITOR, base_version=4).number == 5


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("2023-01-10", None),
        ("2023-01-11", 1),
        ("2024-11-10", 1),
        ("2024-11-11", 2),
        ("2026-03-09", 3),
        ("2026-03-10", 4),
    ],
)
def test_the_seeded_rail_history_is_in_effect_from_each_reports_date(
    seeded: FileLayerStore, on: str, expected: int | None
) -> None:
    found = seeded.effective("rail", dt.date.fromisoformat(on))
    assert (found.number if found else None) == expected
    assert seeded.current("rail").number == 4


def test_an_unpublished_collection_has_no_latest_effective_or_current_version(store: FileLayerStore) -> None:
    for collection in known_collections():
        assert store.history(collection) == []
        assert store.latest(collection) is None
        assert store.effective(collection, TODAY) is None
        assert store.current(collection) is None


# Integrity and lookups ----------------------------------------------------------------------------------------------

TAMPERINGS = [
    pytest.param(lambda b: b.replace(b"planned", b"complet", 1), id="a-word-changed"),
    pytest.param(lambda b: b + b"\n", id="a-newline-appended"),
    pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
    pytest.param(lambda b: b"", id="emptied"),
    pytest.param(lambda b: json.dumps(json.loads(b)).encode(), id="same-json-other-bytes"),
]


@pytest.mark.parametrize("tamper", TAMPERINGS)
def test_loading_a_tampered_version_raises_corrupt_version(
    seeded: FileLayerStore, tamper: Callable[[bytes], bytes]
) -> None:
    path = seeded.root / "store" / "projects" / "v000002.json"
    path.write_bytes(tamper(path.read_bytes()))
    with pytest.raises(StoreError) as raised:
        seeded.load("projects", 2)
    assert raised.value.code == "corrupt_version"
    assert raised.value.params == {"collection": "projects", "number": 2}
    for number in (1, 3):
        seeded.load("projects", number)  # the others are unaffected


def test_loading_a_tampered_current_version_without_a_number_raises_corrupt_version(seeded: FileLayerStore) -> None:
    path = seeded.root / "store" / "targets" / "v000002.json"
    path.write_bytes(path.read_bytes().replace(b"2156", b"2157"))
    with pytest.raises(StoreError) as raised:
        seeded.load("targets")
    assert raised.value.code == "corrupt_version"


def test_a_publish_on_top_of_a_tampered_latest_version_is_refused_and_writes_nothing(seeded: FileLayerStore) -> None:
    path = seeded.root / "store" / "projects" / "v000003.json"
    path.write_bytes(path.read_bytes() + b" ")
    before = snapshot(seeded.root)
    with pytest.raises(StoreError) as raised:
        seeded.publish("projects", fc(feature()), actor=EDITOR, base_version=3)
    assert raised.value.code == "corrupt_version"
    assert snapshot(seeded.root) == before


def test_load_bytes_of_a_tampered_version_raises_corrupt_version(seeded: FileLayerStore) -> None:
    path = seeded.root / "store" / "projects" / "v000002.json"
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(StoreError, match="corrupt_version"):
        seeded.load_bytes("projects", 2)


NOT_FOUND = [
    pytest.param(lambda s: s.history("buildings"), "no_such_collection", id="history-of-unknown-collection"),
    pytest.param(lambda s: s.latest("buildings"), "no_such_collection", id="latest-of-unknown-collection"),
    pytest.param(lambda s: s.current("Projects"), "no_such_collection", id="collection-names-are-exact"),
    pytest.param(lambda s: s.load("buildings"), "no_such_collection", id="load-unknown-collection"),
    pytest.param(lambda s: s.load_bytes("buildings", 1), "no_such_collection", id="load-bytes-unknown-collection"),
    pytest.param(lambda s: s.load("projects", 4), "no_such_version", id="load-version-after-latest"),
    pytest.param(lambda s: s.load("projects", 0), "no_such_version", id="load-version-zero"),
    pytest.param(lambda s: s.load("projects", -1), "no_such_version", id="load-negative-version"),
    pytest.param(lambda s: s.load_bytes("rail", 99), "no_such_version", id="load-bytes-unknown-version"),
]


@pytest.mark.parametrize(("call", "code"), NOT_FOUND)
def test_unknown_collections_and_versions_raise_not_found(
    seeded: FileLayerStore, call: Callable[[FileLayerStore], Any], code: str
) -> None:
    with pytest.raises(NotFound) as raised:
        call(seeded)
    assert raised.value.code == code


@pytest.mark.parametrize("call", [lambda s: s.load("projects"), lambda s: s.load_bytes("targets", 1)])
def test_loading_from_a_collection_never_published_raises_not_found(
    store: FileLayerStore, call: Callable[[FileLayerStore], Any]
) -> None:
    with pytest.raises(NotFound) as raised:
        call(store)
    assert raised.value.code == "no_versions"


# The targets document -----------------------------------------------------------------------------------------------


def test_the_targets_document_validates_and_versions_like_a_layer(seeded: FileLayerStore) -> None:
    history = seeded.history("targets")
    assert [v.number for v in history] == [1, 2]
    current = seeded.load("targets")
    assert documents.validate_targets(current) == []
    assert current == seeded.load("targets", 2)

    update = copy.deepcopy(current)
    flats = next(r for r in update["rows"] if r["id"] == "resettlement_flats")
    flats.update(reported=4600, reported_as_of="2024-12-31")
    assert documents.validate_targets(update) == []
    info = seeded.publish("targets", update, actor=EDITOR, base_version=2, as_of=dt.date(2024, 12, 31), message="2024")

    assert (info.number, info.base, info.counts, info.as_of) == (3, 2, {}, "2024-12-31")
    assert seeded.load("targets") == update
    assert seeded.load_bytes("targets", 3) == serialise(update)
    assert info.sha256 == hashlib.sha256(seeded.load_bytes("targets", 3)).hexdigest()
    assert seeded.effective("targets", dt.date(2024, 6, 1)).number == 2

    restored = seeded.rollback("targets", 1, actor=EDITOR, base_version=3)
    assert (restored.number, restored.restored_from) == (4, 1)
    assert seeded.load("targets") == seeded.load("targets", 1)
    assert [v.number for v in seeded.history("targets")] == [1, 2, 3, 4]
    with pytest.raises(ConflictError):
        seeded.publish("targets", update, actor=EDITOR, base_version=3)


# The writers' lock covers the commit only; mirrors are written by publishes alone, keeping what people changed ----


def test_a_publish_on_another_layer_goes_ahead_while_a_long_diff_is_being_computed(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 1.0)
    slow_layer = FileLayerStore(data_dir)
    big = slow_layer.load("rail")
    big["features"][0]["properties"]["note"] = "a large change whose diff takes a long time"
    computing, release = threading.Event(), threading.Event()
    real = diff.diff_collections

    def slow_diff(old: Any, new: Any) -> Any:
        if new is big:
            computing.set()
            release.wait(20)
        return real(old, new)

    monkeypatch.setattr(diff, "diff_collections", slow_diff)
    outcome: list[Any] = []
    writer = threading.Thread(
        target=lambda: outcome.append(
            slow_layer.publish("rail", big, actor=EDITOR, base_version=latest_number(slow_layer, "rail"))
        )
    )
    writer.start()
    try:
        assert computing.wait(10)
        other = FileLayerStore(data_dir)  # another session or process
        payload = other.load("projects", 3)
        payload["features"][0]["properties"]["status"] = "completed"
        info = other.publish("projects", payload, actor=EDITOR, base_version=3)  # busy after 1 s if blocked
        assert info.number == 4 and writer.is_alive()
    finally:
        release.set()
        writer.join(20)
    assert outcome and outcome[0].counts["changed"] == 1  # and the slow one still publishes, with its counts


def test_opening_the_store_and_reading_never_rewrites_a_hand_edited_mirror(data_dir: Path) -> None:
    mirror = data_dir / "projects.geojson"
    mirror.write_bytes(mirror.read_bytes() + b"\n")  # someone opened it in a text editor and saved it
    before = snapshot(data_dir)
    store = store_module.open_store(data_dir)
    store.history("projects")
    store.load("projects")
    assert snapshot(data_dir) == before


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["history", "projects"], id="history"),
        pytest.param(["history", "projects", "--json"], id="history-json"),
        pytest.param(["export", "projects", "-o", "-"], id="export"),
    ],
)
def test_read_only_cli_commands_leave_a_hand_edited_mirror_alone(
    data_dir: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    mirror = data_dir / "projects.geojson"
    mirror.write_bytes(mirror.read_bytes().replace("黄河".encode(), "黄河北".encode(), 1))
    before = snapshot(data_dir)
    assert cli.main(["--data-dir", str(data_dir), *argv]) == 0
    capsys.readouterr()
    assert snapshot(data_dir) == before


def test_a_publish_keeps_a_hand_edited_mirror_as_a_backup_before_writing_the_new_one(data_dir: Path) -> None:
    mirror = data_dir / "projects.geojson"
    edited = mirror.read_bytes().replace("黄河".encode(), "黄河北".encode(), 1)
    assert edited != mirror.read_bytes()
    mirror.write_bytes(edited)
    store = FileLayerStore(data_dir)
    payload = store.load("projects", 3)
    payload["features"][0]["properties"]["status"] = "completed"
    store.publish("projects", payload, actor=EDITOR, base_version=3)
    assert mirror.read_bytes() == store.load_bytes("projects", 4)
    (backup,) = data_dir.glob("projects.geojson.bak-*")
    assert backup.read_bytes() == edited
    # A mirror the store wrote itself is replaced without a backup (its bytes are a stored version).
    payload["features"][0]["properties"]["status"] = "in_progress"
    store.publish("projects", payload, actor=EDITOR, base_version=4)
    assert list(data_dir.glob("*.bak-*")) == [backup]
    assert mirror.read_bytes() == store.load_bytes("projects", 5)
