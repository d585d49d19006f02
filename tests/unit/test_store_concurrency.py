"""Many writers at once, and writers that die mid-publish: the store never loses an update or a committed version."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from tests.unit.store_worker import WORKER_ACTOR, markers_in, publish_markers
from urban_plan import store as store_module
from urban_plan.store import FileLayerStore, LayerStore, StoreError, VersionInfo

WORKER = Path(__file__).with_name("store_worker.py")
LAYER = "projects"
WRITERS = 4
PUBLISHES_EACH = 10


@pytest.fixture(autouse=True)
def short_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lock left held by mistake fails these tests in seconds, not after the production 30 s."""
    monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 10.0)


def assert_history_intact(store: LayerStore, collection: str) -> list[VersionInfo]:
    """Numbers 1..N without gaps, each based on the one before, every version loading with a matching hash."""
    history = store.history(collection)
    assert [v.number for v in history] == list(range(1, len(history) + 1))
    assert [v.base for v in history] == [v.number - 1 for v in history]
    for version in history:
        assert hashlib.sha256(store.load_bytes(collection, version.number)).hexdigest() == version.sha256
        store.load(collection, version.number)  # and the store's own check agrees
    return history


def assert_mirror_is_a_stored_version(store: FileLayerStore, layer: str) -> bytes:
    mirror = (store.root / f"{layer}.geojson").read_bytes()
    json.loads(mirror)
    digests = {v.sha256 for v in store.history(layer)}
    assert hashlib.sha256(mirror).hexdigest() in digests
    return mirror


def assert_no_update_lost(store: LayerStore, seed: int, expected_markers: set[str]) -> None:
    """Every publish after the seed adds exactly its own marker to everything the version before it had."""
    history = store.history(LAYER)
    previous = set(markers_in(store.load(LAYER, seed)))
    assert previous == set()
    for version in history[seed:]:
        markers = markers_in(store.load(LAYER, version.number))
        assert len(markers) == len(set(markers)), f"v{version.number} repeats a marker"
        assert set(markers) - previous == {version.message}, f"v{version.number} did not add exactly its marker"
        assert previous <= set(markers), f"v{version.number} lost {previous - set(markers)}"
        assert version.counts == {"added": 1, "removed": 0, "changed": 0, "total": version.counts["total"]}
        previous = set(markers)
    assert previous == expected_markers


def expected_markers(prefix: str) -> set[str]:
    return {f"m-{prefix}{w}-{i}" for w in range(WRITERS) for i in range(PUBLISHES_EACH)}


# Many writers -------------------------------------------------------------------------------------------------------


def test_processes_publishing_at_once_each_retry_on_conflict_and_no_update_is_lost(data_dir: Path) -> None:
    seed = len(FileLayerStore(data_dir).history(LAYER))
    command = [sys.executable, str(WORKER), "race", str(data_dir), LAYER]
    procs = [
        subprocess.Popen(
            [*command, f"p{w}", str(PUBLISHES_EACH), "3"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WRITERS)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:  # a starting line for everyone once all are ready
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    store = FileLayerStore(data_dir)
    history = assert_history_intact(store, LAYER)
    assert len(history) == seed + WRITERS * PUBLISHES_EACH
    numbers = sorted(n for r in results for n in r["numbers"])
    assert numbers == list(range(seed + 1, seed + WRITERS * PUBLISHES_EACH + 1))  # each publish got its own number
    assert sum(r["conflicts"] for r in results) > 0, "the writers never raced: the test did not test anything"
    assert_no_update_lost(store, seed, expected_markers("p"))
    assert (data_dir / f"{LAYER}.geojson").read_bytes() == store.load_bytes(LAYER, len(history))


def test_threads_publishing_at_once_are_serialised_by_the_lock_and_no_update_is_lost(data_dir: Path) -> None:
    seed = len(FileLayerStore(data_dir).history(LAYER))
    shared = FileLayerStore(data_dir)
    stores = [shared, shared, FileLayerStore(data_dir), FileLayerStore(data_dir)]  # one shared instance, two own
    with ThreadPoolExecutor(WRITERS) as pool:
        futures = [
            pool.submit(publish_markers, stores[w], LAYER, f"t{w}", PUBLISHES_EACH, 0.002) for w in range(WRITERS)
        ]
        results = [f.result(timeout=60) for f in futures]

    store = FileLayerStore(data_dir)
    history = assert_history_intact(store, LAYER)
    assert len(history) == seed + WRITERS * PUBLISHES_EACH
    assert sorted(n for r in results for n in r["numbers"]) == list(range(seed + 1, len(history) + 1))
    assert_no_update_lost(store, seed, expected_markers("t"))
    assert (data_dir / f"{LAYER}.geojson").read_bytes() == store.load_bytes(LAYER, len(history))


def test_a_publish_waits_for_the_lock_and_gives_up_as_busy_writing_nothing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 0.3)
    store = FileLayerStore(data_dir)
    payload = store.load(LAYER)
    before = store.history(LAYER)
    with FileLock(str(data_dir / "store" / ".lock")):
        started = time.monotonic()
        with pytest.raises(StoreError) as raised:
            store.publish(LAYER, payload, actor=WORKER_ACTOR, base_version=3)
        assert time.monotonic() - started >= 0.25
    assert raised.value.code == "busy" and raised.value.params == {"collection": LAYER}
    assert store.history(LAYER) == before
    assert not (data_dir / "store" / LAYER / "v000004.json").exists()


def test_a_waiting_publish_goes_ahead_once_the_lock_is_released(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    payload = store.load(LAYER)
    outcome: list[Any] = []
    lock = FileLock(str(data_dir / "store" / ".lock"))
    with lock:
        writer = threading.Thread(
            target=lambda: outcome.append(store.publish(LAYER, payload, actor=WORKER_ACTOR, base_version=3))
        )
        writer.start()
        time.sleep(0.3)
        assert writer.is_alive() and len(store.history(LAYER)) == 3  # held off while we hold the lock
    writer.join(timeout=10)
    assert not writer.is_alive() and outcome[0].number == 4


# Crashes, simulated deterministically: every write step of one publish fails in turn -------------------------------


class SimulatedCrash(OSError):
    """Raised in place of one I/O step inside urban_plan.store."""


class FaultPlan:
    """Counts the store's I/O steps and makes the fail_at-th one (1-based) raise; None counts without failing."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at
        self.steps: list[str] = []

    @property
    def next_fails(self) -> bool:
        return len(self.steps) + 1 == self.fail_at

    def step(self, name: str) -> None:
        self.steps.append(name)
        if len(self.steps) == self.fail_at:
            raise SimulatedCrash(f"simulated crash at step {self.fail_at}: {name}")


class FaultyFile:
    def __init__(self, fh: Any, plan: FaultPlan) -> None:
        self._fh, self._plan = fh, plan

    def write(self, data: bytes) -> int:
        if self._plan.next_fails:
            self._fh.write(data[: len(data) // 2])  # a torn write: half the bytes reach the temp file
        self._plan.step("write")
        return self._fh.write(data)

    def flush(self) -> None:
        self._plan.step("flush")
        self._fh.flush()

    def fileno(self) -> int:
        return self._fh.fileno()

    def __enter__(self) -> FaultyFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


class FaultyOs:
    """Stands in for `os` inside urban_plan.store only (the lock library and the tests keep the real one)."""

    def __init__(self, plan: FaultPlan) -> None:
        self._plan = plan

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def fdopen(self, fd: int, *args: Any, **kwargs: Any) -> FaultyFile:
        try:
            self._plan.step("fdopen")
        except SimulatedCrash:
            os.close(fd)
            raise
        return FaultyFile(os.fdopen(fd, *args, **kwargs), self._plan)

    def fsync(self, fd: int) -> None:
        self._plan.step("fsync")
        os.fsync(fd)

    def replace(self, src: Any, dst: Any) -> None:
        self._plan.step(f"replace {Path(dst).name}")
        os.replace(src, dst)

    def open(self, path: Any, flags: int, *args: Any) -> int:
        self._plan.step(f"open {Path(path).name}")
        return os.open(path, flags, *args)


class FaultyTempfile:
    def __init__(self, plan: FaultPlan) -> None:
        self._plan = plan

    def __getattr__(self, name: str) -> Any:
        return getattr(tempfile, name)

    def mkstemp(self, *args: Any, **kwargs: Any) -> tuple[int, str]:
        self._plan.step("mkstemp")
        return tempfile.mkstemp(*args, **kwargs)


@contextmanager
def faults(monkeypatch: pytest.MonkeyPatch, plan: FaultPlan) -> Iterator[FaultPlan]:
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "os", FaultyOs(plan))
        patch.setattr(store_module, "tempfile", FaultyTempfile(plan))
        yield plan


def next_payload(store: LayerStore, collection: str, tag: str) -> Any:
    latest = store.latest(collection)
    if collection == "targets":
        payload = store.load(collection, latest.number) if latest else {"rows": []}
        payload["rows"].append({"id": f"row-{tag}", "target": 1})
        return payload
    payload = store.load(collection, latest.number) if latest else {"type": "FeatureCollection", "features": []}
    payload["features"].append(
        {
            "type": "Feature",
            "properties": {"id": f"f-{tag}", "name_zh": "新", "status": "planned"},
            "geometry": {"type": "Point", "coordinates": [117.17, 36.98]},
        }
    )
    return payload


def publish_next(store: LayerStore, collection: str, tag: str) -> VersionInfo:
    latest = store.latest(collection)
    payload = next_payload(store, collection, tag)
    return store.publish(collection, payload, actor=WORKER_ACTOR, base_version=latest.number if latest else 0)


def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".lock"
    }


@pytest.mark.parametrize(
    ("collection", "seeded"),
    [
        pytest.param(LAYER, True, id="layer-with-history"),
        pytest.param("targets", True, id="document-with-history"),
        pytest.param(LAYER, False, id="first-publish-of-a-layer"),
    ],
)
def test_a_crash_at_any_write_step_leaves_the_last_good_version_loadable(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collection: str, seeded: bool
) -> None:
    template = data_dir if seeded else tmp_path / "empty"
    template.mkdir(exist_ok=True)
    before_files = files(template)
    before = FileLayerStore(template).history(collection)
    orphan = f"store/{collection}/v{len(before) + 1:06d}.json"
    mirror_name = f"{collection}.geojson" if collection in store_module.registry.builtin() else None

    clean = tmp_path / "clean"
    shutil.copytree(template, clean)
    with faults(monkeypatch, FaultPlan()) as counted:
        publish_next(FileLayerStore(clean), collection, "clean")
    steps = counted.steps
    commit = steps.index("replace manifest.json") + 1  # the step that commits: a crash before it changes nothing
    assert len(steps) >= 16 and steps.count("fsync") >= 4  # version file, manifest (+ mirror), each fsynced

    for k in range(1, len(steps) + 1):
        root = tmp_path / f"crash-{k:02d}"
        shutil.copytree(template, root)
        where = f"crash at step {k}: {steps[k - 1]}"
        with faults(monkeypatch, FaultPlan(fail_at=k)) as plan:
            try:
                publish_next(FileLayerStore(root), collection, f"crash-{k}")
                reported = False
            except SimulatedCrash:
                reported = True
        # Before the commit a failure must reach the caller; after it, a failed mirror copy is not a failed publish.
        assert reported or k > commit, f"{where}: the failure was not reported"
        assert len(plan.steps) >= k, f"step {k} ({steps[k - 1]}) was not reached the same way"

        store = FileLayerStore(root)  # a fresh process's view
        assert not [p for p in root.rglob("*.tmp")], f"{where}: temp files left behind"
        history = assert_history_intact(store, collection)
        if k <= commit:
            assert history == before, where
            after = files(root)
            after.pop(orphan, None)  # an uncommitted version file may stay; the next publish overwrites it
            assert after == before_files, where
        else:  # committed: the new version is there in full even though publish raised
            assert history[:-1] == before and history[-1].number == len(before) + 1, where
        if history:
            store.load(collection)
        if mirror_name and (root / mirror_name).exists():
            assert_mirror_is_a_stored_version(store, collection)
        elif (
            mirror_name and history
        ):  # only a first version committed just before the crash has no mirror yet (see below)
            assert not seeded and k > commit, f"{where}: the mirror is gone"

        recovered = publish_next(store, collection, f"after-{k}")  # and writing goes on from there
        assert recovered.number == len(history) + 1, where
        assert_history_intact(store, collection)
        if mirror_name:
            assert (root / mirror_name).read_bytes() == store.load_bytes(collection), where
        shutil.rmtree(root)


@pytest.mark.parametrize("seeded", [pytest.param(True, id="stale-mirror"), pytest.param(False, id="missing-mirror")])
def test_after_a_crash_past_the_commit_point_the_next_publish_mirrors_the_current_version(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeded: bool
) -> None:
    root = data_dir if seeded else tmp_path / "empty"
    counted = FaultPlan()
    with faults(monkeypatch, counted):
        publish_next(FileLayerStore(tmp_path / "count"), LAYER, "count")  # learn where the mirror is renamed
    mirror_step = counted.steps.index(f"replace {LAYER}.geojson") + 1
    with faults(monkeypatch, FaultPlan(fail_at=mirror_step)), contextlib.suppress(SimulatedCrash):
        publish_next(FileLayerStore(root), LAYER, "crash")  # the mirror copy fails after the commit

    store = store_module.open_store(root)  # what the app and the CLI do on start: it reads, never writes
    assert store.current(LAYER) == store.latest(LAYER)  # the crashed publish did commit
    publish_next(store, "targets", "after")  # any later publish, of any collection, brings the mirrors up to date
    assert (root / f"{LAYER}.geojson").read_bytes() == store.load_bytes(LAYER)
    assert not list(root.glob("*.bak-*"))  # the stale mirror was the store's own copy: nothing to keep


# Crashes for real: a writer SIGKILLed at random moments ------------------------------------------------------------


@pytest.mark.slow
def test_a_writer_killed_at_random_moments_never_leaves_the_store_unloadable(data_dir: Path) -> None:
    rng = random.Random(20230111)
    published_by_victims = 0
    for round_ in range(15):
        before = len(FileLayerStore(data_dir).history(LAYER))
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), "loop", str(data_dir), LAYER, f"k{round_}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.25))
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL

        store = FileLayerStore(data_dir)  # what the next process sees
        history = assert_history_intact(store, LAYER)
        assert_mirror_is_a_stored_version(store, LAYER)
        published_by_victims += len(history) - before

        info = publish_next(store, LAYER, f"after-kill-{round_}")
        assert info.number == len(history) + 1 and info.base == len(history)
        assert (data_dir / f"{LAYER}.geojson").read_bytes() == store.load_bytes(LAYER, info.number)
    assert published_by_victims > 0, "no kill landed after a publish: the delays are too short to test anything"
