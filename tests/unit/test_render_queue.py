"""PNG and PDF exports go through one bounded queue: one Chromium at a time, a few waiting, the rest told to retry."""

from __future__ import annotations

import stat
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.elements.widgets import button as st_button
from streamlit.testing.v1 import AppTest

from urban_plan.render_queue import QueueFull, RenderQueue

ROOT = Path(__file__).resolve().parents[2]

# A stand-in for Chromium: logs when it starts and ends, waits half a second (or, when FAKE_CHROMIUM_GATE is set, until
# that file exists), then writes the file it was asked for with the right signature. It runs through the real
# subprocess path of urban_plan.export.
FAKE_CHROMIUM = """#!{python}
import os, sys, time
log = os.environ["FAKE_CHROMIUM_LOG"]
gate = os.environ.get("FAKE_CHROMIUM_GATE", "")
with open(log, "a") as f:
    f.write(f"start {{os.getpid()}} {{time.monotonic()}}\\n")
deadline = time.monotonic() + (60 if gate else 0.5)
while time.monotonic() < deadline and not (gate and os.path.exists(gate)):
    time.sleep(0.02)
for arg in sys.argv[1:]:
    if arg.startswith("--screenshot="):
        open(arg.split("=", 1)[1], "wb").write(b"\\x89PNG\\r\\n\\x1a\\n" + b"0" * 64)
    elif arg.startswith("--print-to-pdf="):
        open(arg.split("=", 1)[1], "wb").write(b"%PDF-1.4 fake")
with open(log, "a") as f:
    f.write(f"end {{os.getpid()}} {{time.monotonic()}}\\n")
"""


class FakeChromium:
    """The fake binary and what it saw: how many runs, and the most that ran at the same time."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "chromium"
        self.log = folder / "chromium.log"
        self.gate = folder / "gate"
        self.path.write_text(FAKE_CHROMIUM.format(python=sys.executable))
        self.path.chmod(self.path.stat().st_mode | stat.S_IXUSR)
        self.log.write_text("")

    def events(self) -> list[tuple[str, float]]:
        rows = [line.split() for line in self.log.read_text().splitlines() if line.strip()]
        return sorted(((kind, float(at)) for kind, _pid, at in rows), key=lambda e: (e[1], e[0] == "start"))

    def runs(self) -> int:
        return sum(1 for kind, _ in self.events() if kind == "start")

    def most_at_once(self) -> int:
        running = most = 0
        for kind, _ in self.events():
            running += 1 if kind == "start" else -1
            most = max(most, running)
        return most


@pytest.fixture
def chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeChromium:
    fake = FakeChromium(tmp_path)
    monkeypatch.setenv("URBAN_PLAN_CHROMIUM", str(fake.path))
    monkeypatch.setenv("FAKE_CHROMIUM_LOG", str(fake.log))
    monkeypatch.delenv("FAKE_CHROMIUM_GATE", raising=False)
    return fake


def map_page(lang: str = "zh", **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if lang != "zh":
        at.query_params["lang"] = lang
    for key, value in params.items():
        at.query_params[key] = value
    return at


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads started together; return each result or the exception it raised."""
    results: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # the test inspects what each call raised
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return results


# --- the queue itself, with a fake renderer -----------------------------------------------------------------------


class FakeRenderer:
    """Jobs that record how many run at once; each blocks until released (or a short time) and returns its name."""

    def __init__(self, hold: bool = False) -> None:
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.calls: list[str] = []
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def job(self, name: str, fail: bool = False) -> Callable[[], bytes]:
        def run() -> bytes:
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
                self.calls.append(name)
            try:
                self.release.wait(30)
                time.sleep(0.02)
                if fail:
                    raise ValueError(f"{name} failed")
                return name.encode()
            finally:
                with self.lock:
                    self.running -= 1

        return run


def finish(ticket: Any) -> bytes:
    try:
        assert ticket.wait(30), "the render never finished"
        return ticket.result()
    finally:
        ticket.release()


def until(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def test_never_more_than_one_render_runs_however_many_threads_submit() -> None:
    queue, renderer = RenderQueue(max_waiting=8), FakeRenderer()
    names = [f"map-{i}" for i in range(8)]
    results = all_at_once([lambda n=n: finish(queue.submit(n, renderer.job(n))) for n in names])
    assert results == [n.encode() for n in names]
    assert renderer.most == 1
    assert sorted(renderer.calls) == sorted(names)


def test_requests_beyond_the_waiting_places_are_refused_until_a_place_frees() -> None:
    queue, renderer = RenderQueue(max_waiting=3), FakeRenderer(hold=True)
    tickets = [queue.submit("a", renderer.job("a"))]
    until(lambda: queue.status() == (1, 0))
    tickets += [queue.submit(k, renderer.job(k)) for k in ("b", "c", "d")]
    assert queue.status() == (1, 3)
    assert [t.position() for t in tickets] == [0, 1, 2, 3]
    with pytest.raises(QueueFull) as refused:
        queue.submit("e", renderer.job("e"))
    assert refused.value.waiting == 3
    renderer.release.set()
    assert [finish(t) for t in tickets] == [b"a", b"b", b"c", b"d"]
    assert finish(queue.submit("e", renderer.job("e"))) == b"e"
    assert renderer.most == 1 and "e" in renderer.calls


def test_identical_requests_share_one_render_and_later_ones_come_from_the_cache() -> None:
    queue, renderer = RenderQueue(max_waiting=1), FakeRenderer()
    # Ten at once with the same key: one render, and none refused although only one place is free.
    results = all_at_once([lambda: finish(queue.submit(("png", "v1", "zh"), renderer.job("same")))] * 10)
    assert results == [b"same"] * 10
    assert renderer.calls == ["same"]
    assert queue.cached(("png", "v1", "zh")) == b"same"
    assert finish(queue.submit(("png", "v1", "zh"), renderer.job("again"))) == b"same"
    assert renderer.calls == ["same"]
    assert finish(queue.submit(("png", "v1", "en"), renderer.job("english"))) == b"english"


def test_a_failed_render_reaches_every_holder_and_is_not_cached() -> None:
    queue, renderer = RenderQueue(), FakeRenderer()
    results = all_at_once([lambda: finish(queue.submit("k", renderer.job("bad", fail=True)))] * 3)
    assert all(isinstance(r, ValueError) for r in results), results
    assert renderer.calls == ["bad"]
    assert queue.cached("k") is None
    assert finish(queue.submit("k", renderer.job("good"))) == b"good"


def test_a_request_everyone_gave_up_on_leaves_the_line_without_running() -> None:
    queue, renderer = RenderQueue(max_waiting=2), FakeRenderer(hold=True)
    first = queue.submit("a", renderer.job("a"))
    until(lambda: queue.status() == (1, 0))
    second = queue.submit("b", renderer.job("b"))
    shared = [queue.submit("c", renderer.job("c")), queue.submit("c", renderer.job("c"))]
    shared[0].release()
    assert shared[1].position() == 2  # still wanted by one holder
    shared[1].release()
    assert shared[1].position() is None
    assert queue.status()[1] == 1
    queue.submit("d", renderer.job("d")).release()  # the freed place is usable again
    renderer.release.set()
    assert finish(first) == b"a" and finish(second) == b"b"
    assert "c" not in renderer.calls


def test_the_cache_is_bounded_by_entries_and_bytes() -> None:
    queue = RenderQueue(cache_entries=2, cache_bytes=10)
    for key, data in (("a", b"1234"), ("b", b"5678"), ("c", b"9")):
        finish(queue.submit(key, lambda d=data: d))
    assert queue.cached("a") is None and queue.cached("b") == b"5678" and queue.cached("c") == b"9"
    finish(queue.submit("big", lambda: b"x" * 11))
    assert queue.cached("big") is None and queue.cached("b") == b"5678"


def test_a_job_that_returns_no_bytes_is_an_error_not_a_result() -> None:
    queue = RenderQueue()
    with pytest.raises(TypeError):
        finish(queue.submit("k", lambda: "text"))  # type: ignore[arg-type, return-value]


# --- the map page -------------------------------------------------------------------------------------------------


def open_exports(at: AppTest) -> AppTest:
    """The exports are in a dialog the page's export button opens (it stays open while the page reruns)."""
    return at.button(key="export_open").click().run()


def test_no_download_on_the_map_page_starts_chromium_when_requested_directly(
    data_dir: Path, chromium: FakeChromium, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deferred download's callable runs whenever a client asks for it (Streamlit lets clients send such requests
    directly, as often and as concurrently as they like), outside any queue: none may start Chromium."""
    del data_dir
    callables: list[Callable[[], Any]] = []
    original = st_button.marshall_file

    def spy(coordinates: str, data: Any, *args: Any, **kwargs: Any) -> None:
        if callable(data):
            callables.append(data)
        original(coordinates, data, *args, **kwargs)

    monkeypatch.setattr(st_button, "marshall_file", spy)
    at = open_exports(map_page().run())
    assert not at.exception, [e.message for e in at.exception]
    assert callables, "the map page registered no deferred download at all"
    # Four visitors (or one client four times) asking for every deferred download at once.
    all_at_once([call for call in callables for _ in range(4)])
    assert chromium.runs() == 0, (
        f"deferred downloads started Chromium {chromium.runs()} times, up to {chromium.most_at_once()} at once"
    )


def test_sessions_asking_at_once_run_one_chromium_a_few_wait_the_rest_are_told_to_retry(
    data_dir: Path, chromium: FakeChromium, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six map-page sessions press "make PNG" together: five different requests and one identical to another.
    One Chromium runs, three requests wait, the fifth different one is told (in its language) to try again; the
    identical one shares a render. After the gate opens every accepted session gets its picture."""
    del data_dir
    from ui import exports

    exports.render_queue.clear()
    # Different progress ranges make different requests; "zh-0-90" twice makes two identical ones.
    requests = [("zh", "0-90"), ("zh", "0-80"), ("zh", "0-70"), ("zh", "0-60"), ("en", "0-50"), ("zh", "0-90")]
    sessions = [open_exports(map_page(lang, progress=progress).run()) for lang, progress in requests]
    for at in sessions:
        assert not at.exception, [e.message for e in at.exception]
        assert at.button(key="export_png").label in ("生成 PNG 图片", "Make PNG picture")

    monkeypatch.setenv("FAKE_CHROMIUM_GATE", str(chromium.gate))
    queue = exports.render_queue()
    results: list[Any] = [None] * len(sessions)
    threads: list[threading.Thread] = []

    def press(i: int, until: Callable[[], bool]) -> None:
        def run() -> None:
            results[i] = sessions[i].button(key="export_png").click().run()

        threads.append(threading.Thread(target=run))
        threads[-1].start()
        deadline = time.monotonic() + 120
        while not until() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert until(), (i, queue.status(), results[i])

    # One at a time, so each press is known to have reached the queue before the next.
    press(0, lambda: queue.status() == (1, 0) and chromium.runs() == 1)
    press(1, lambda: queue.status() == (1, 1))
    press(2, lambda: queue.status() == (1, 2))
    press(3, lambda: queue.status() == (1, 3))
    press(4, lambda: results[4] is not None)  # refused at once
    press(5, lambda: True)  # identical to the running one: joins it (or, if later, finds it cached)
    assert chromium.most_at_once() == 1
    chromium.gate.write_text("open")
    for thread in threads:
        thread.join(180)

    assert chromium.most_at_once() == 1
    assert chromium.runs() == 4, "the identical request must share the first render"
    warning = " ".join(w.value for w in results[4].warning)
    assert "Exports are busy" in warning and "try again" in warning, warning
    assert not results[4].get("download_button")[1:], "the refused session got a picture"
    for i, at in enumerate(results):
        assert not at.exception, [e.message for e in at.exception]
        labels = [b.proto.label for b in at.get("download_button")]
        assert ("下载 PNG 图片" in labels or "Download PNG picture" in labels) == (i != 4), (i, labels)


def test_a_finished_picture_is_shared_until_the_data_changes(data_dir: Path, chromium: FakeChromium) -> None:
    from ui import exports
    from urban_plan.store import Actor, FileLayerStore

    exports.render_queue.clear()

    def labels(at: AppTest) -> list[str]:
        return [b.proto.label for b in at.get("download_button")]

    first = open_exports(map_page().run())
    first = first.button(key="export_png").click().run()
    assert "下载 PNG 图片" in labels(first) and chromium.runs() == 1
    # Another visitor with the same view gets the same picture at once: no second Chromium.
    second = open_exports(map_page().run())
    assert "下载 PNG 图片" in labels(second) and "export_png" not in {b.key for b in second.button}
    assert chromium.runs() == 1
    # A publish makes a new request: the page offers to make the picture again instead of the stale one.
    store = FileLayerStore(data_dir)
    current = store.current("projects")
    payload = store.load("projects", current.number)
    payload["features"][0]["properties"]["progress"] = 55
    store.publish("projects", payload, actor=Actor("li", "editor"), base_version=current.number)
    third = open_exports(map_page().run())
    assert "下载 PNG 图片" not in labels(third)
    third.button(key="export_png").click().run()
    assert chromium.runs() == 2
