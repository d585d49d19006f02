"""Many planners at once (issue 11): simulated Streamlit sessions against one app server, plus a real Chromium page.

    .venv/bin/python benchmarks/load.py [--quick] [--data shipped,50k] [--bursts 5,10,20,40] [--out load.json]

The app runs as a real server (tests/e2e/harness.running_app: `streamlit run serve.py` on 127.0.0.1) over a
private copy of the shipped geodata, then over a copy with a 50,000-parcel projects layer (benchmarks/synthetic).
Simulated sessions are websocket clients (the `websockets` package Streamlit itself depends on) that speak
Streamlit's protocol as Chromium's frontend does: the first visit is a `rerun_script` BackMsg with the page's
query string and no widget state; a filter change is a `rerun_script` carrying every widget's value (read from the
ForwardMsg deltas of the previous run, as the browser keeps them) with the status multiselect changed, plus the
page hash and the hashes of the cached messages. A run is done when its `script_finished` ForwardMsg arrives.
During each burst one real Chromium page (benchmarks/run.py's Probe) opens the map too and must draw every feature.

Scenarios, per dataset: the warm server's memory; a filter change's server time on an idle server; bursts of
simultaneous first visits; sustained filter reruns; memory after every session closed and the session TTL passed;
a soak (reruns with sessions coming and going, RSS sampled); a restart (kill, restart on the same port, a session
and the Chromium page reconnect, the next filter change must apply). The last line printed is
`RESULT burst40_p95_s=… reruns_per_s=… burst20_50k_p95_s=… filter_server_ms_50k=… mem_after_close_ratio=…`.
The figures never decide the exit code: it is 1 only when the app breaks (a server that does not start, a run
that raises or never finishes, a Chromium page that never draws the map). Traffic goes to 127.0.0.1 only; every
loop and wait is bounded. See benchmarks/README.md, "Load benchmark".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT / "src"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from benchmarks import run as bench  # noqa: E402
from benchmarks import synthetic  # noqa: E402
from tests.e2e import harness  # noqa: E402

NAN = float("nan")
LANG = "zh"  # the pages' default language, as a planner's browser (zh-CN) opens them
# What Streamlit's frontend sends as its second subprotocol without an XSRF cookie (a placeholder, not a secret).
PLACEHOLDER_TOKEN = "PLACEHOLDER_AUTH_TOKEN"  # noqa: S105
RESULT_KEYS = ("burst40_p95_s", "reruns_per_s", "burst20_50k_p95_s", "filter_server_ms_50k", "mem_after_close_ratio")
# A full run's soak per dataset stops here at the latest, so that the whole run stays within ~40 minutes on two
# cores: ~5 min of other scenarios for the shipped data, ~8 min for 50,000 parcels, 2 x 12 min of soak.
FULL_SOAK_MAX_S = 720.0
# The goals, printed beside the figures; they never change the exit code.
GOALS = {
    "burst40_p95_s": "<= 1.5 s",
    "reruns_per_s": ">= 40 /s",
    "burst20_50k_p95_s": "<= 3 s",
    "filter_server_ms_50k": "<= 30 ms",
    "mem_after_close_ratio": "<= 1.10",
}


# --- pure helpers (tests/unit/test_load_bench.py) -------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks (numpy's default); NaN if empty."""
    data = sorted(v for v in values if v is not None and not math.isnan(v))
    if not data:
        return NAN
    if len(data) == 1:
        return float(data[0])
    rank = (len(data) - 1) * min(max(q, 0.0), 100.0) / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    return float(data[low] + (data[high] - data[low]) * (rank - low))


def summary(values: Sequence[float]) -> dict[str, float]:
    """n, p50, p95 and max of some durations."""
    good = [v for v in values if v is not None and not math.isnan(v)]
    return {
        "n": len(good),
        "p50": percentile(good, 50),
        "p95": percentile(good, 95),
        "max": max(good) if good else NAN,
    }


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of y over x; NaN with fewer than two distinct x."""
    if len(points) < 2:
        return NAN
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return NAN
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def rss_trend(samples: Sequence[tuple[float, float]], per: float = 1000.0, min_span: float = 100.0) -> float:
    """Growth of RSS (MB) per `per` units of x (reruns) over the second half of a soak: the first half is the
    warm-up (caches filling, the allocator's arenas growing), a leak shows as a slope that stays above zero.
    NaN when the second half spans fewer than `min_span` reruns: too short to tell a trend from noise."""
    if len(samples) < 4:
        return NAN
    second = list(samples)[len(samples) // 2 :]
    if max(x for x, _ in second) - min(x for x, _ in second) < min_span:
        return NAN
    value = slope(second)
    return value * per if not math.isnan(value) else NAN


def downsample(samples: Sequence[tuple[float, float]], points: int) -> list[tuple[float, float]]:
    """At most `points` samples, evenly spread, first and last kept: a soak's RSS curve for the report."""
    if len(samples) <= points or points < 2:
        return list(samples)
    step = (len(samples) - 1) / (points - 1)
    return [samples[round(i * step)] for i in range(points)]


def query_statuses(query_string: str) -> frozenset[str] | None:
    """The statuses the address bar shows (`status=a,b`), None when it names none (every status is shown)."""
    values = parse_qs(query_string.lstrip("?"), keep_blank_values=True).get("status")
    if not values:
        return None
    return frozenset(s for s in values[-1].split(",") if s)


def read_rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc (Linux); NaN when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return NAN


def fmt_s(value: float, digits: int = 2) -> str:
    return "nan" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def load_text() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


# --- a simulated session ----------------------------------------------------------------------------------------


class AppBroken(RuntimeError):
    """The app failed in a way a user would see (an exception, a run that never finishes, no map)."""


def _widget_state(kind: str, element: Any) -> Any | None:
    """The value Streamlit's frontend reports for a freshly mounted widget: the value the server set, else the
    default. None for widgets that report nothing until used (buttons, components, empty selectboxes)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    state = WidgetState(id=element.id)
    set_value = getattr(element, "set_value", False)
    if kind == "multiselect":
        values = list(element.raw_values) if set_value else [element.options[i] for i in element.default]
        state.string_array_value.data.extend(values)
    elif kind in ("radio", "selectbox"):
        if set_value:
            state.string_value = element.raw_value
        elif element.HasField("default") and 0 <= element.default < len(element.options):
            state.string_value = element.options[element.default]
        else:
            return None
    elif kind == "checkbox":
        state.bool_value = element.value if set_value else element.default
    elif kind == "slider":
        state.double_array_value.data.extend(element.value if set_value else element.default)
    elif kind == "date_input":
        state.string_array_value.data.extend(element.value if set_value else element.default)
    elif kind == "text_input":
        if set_value:
            state.string_value = element.value
        elif element.HasField("default"):
            state.string_value = element.default
        else:
            return None
    else:
        return None
    return state


@dataclass
class RunResult:
    seconds: float
    status: str  # script_finished value name
    bytes: int


class Session:
    """One planner's page, as far as the server can tell: a websocket on /_stcore/stream sending what Chromium's
    frontend sends and keeping what it keeps (widget values, cached message hashes, the address bar)."""

    def __init__(self, base_url: str, timeout_s: float, query: str = "") -> None:
        self.base_url = base_url
        self.ws_url = base_url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self.timeout_s = timeout_s
        self.query = query  # the address bar's query string, kept up to date from page_info_changed
        self.page_url = f"{base_url}/" + (f"?{query}" if query else "")  # context_info.url: the URL it opened
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.session_id = ""
        self.page_script_hash = ""
        self.cached: set[str] = set()
        self.values: dict[str, Any] = {}  # widget id -> WidgetState, as the frontend's widget state manager
        self.mounted: dict[str, tuple[str, Any]] = {}  # widget id -> (kind, element) of the current run
        self.seen: set[str] = set()
        self.errors: list[str] = []
        self.done: asyncio.Future[str] | None = None
        self.received = 0
        self.runs = 0
        self.closed = False

    # connection ------------------------------------------------------------------------------------------------

    async def connect(self, reconnect: bool = False) -> None:
        from websockets.asyncio.client import connect

        protocols = ["streamlit", PLACEHOLDER_TOKEN] + ([self.session_id] if reconnect and self.session_id else [])
        self.ws = await connect(
            self.ws_url,
            subprotocols=protocols,  # type: ignore[arg-type]
            origin=self.base_url,  # type: ignore[arg-type]
            max_size=None,  # the 50k layer's shared block is several MB
            ping_interval=None,  # browsers do not send pings
            open_timeout=self.timeout_s,
            close_timeout=5,
        )
        self.closed = False
        self.reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        self.closed = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 10)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            async for data in self.ws:
                if isinstance(data, str):
                    continue
                self.received += len(data)
                self._handle(ForwardMsg.FromString(data))
        except Exception as exc:  # the connection dropped (a server restart) or a frame did not parse
            if not self.closed:
                self.errors.append(f"connection: {type(exc).__name__}: {exc}"[:300])
        finally:
            if self.done is not None and not self.done.done():
                self.done.set_result("DISCONNECTED")

    def _handle(self, msg: Any) -> None:
        kind = msg.WhichOneof("type")
        if msg.metadata.cacheable and msg.hash:
            self.cached.add(msg.hash)
        if kind == "new_session":
            self.page_script_hash = msg.new_session.page_script_hash or self.page_script_hash
            if msg.new_session.initialize.session_id:
                self.session_id = msg.new_session.initialize.session_id
            self.seen = set()
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element)
        elif kind == "script_finished":
            name = msg.DESCRIPTOR.fields_by_name["script_finished"].enum_type.values_by_number[msg.script_finished].name
            if name == "FINISHED_EARLY_FOR_RERUN":
                return  # another run follows; the browser keeps waiting too
            if name == "FINISHED_SUCCESSFULLY":  # the frontend drops the state of widgets this run did not draw
                self.values = {k: v for k, v in self.values.items() if k in self.seen}
            if self.done is not None and not self.done.done():
                self.done.set_result(name)

    def _element(self, element: Any) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.errors.append(f"exception on the page: {element.exception.type}: {element.exception.message}"[:300])
            return
        inner = getattr(element, kind, None)
        widget_id = getattr(inner, "id", "") if inner is not None else ""
        if not widget_id or kind == "component_instance":
            return
        self.seen.add(widget_id)
        self.mounted[widget_id] = (kind, inner)
        # A widget the page already has keeps the value the user gave it, unless the server sets one.
        if widget_id not in self.values or getattr(inner, "set_value", False):
            state = _widget_state(kind, inner)
            if state is not None:
                self.values[widget_id] = state

    # runs --------------------------------------------------------------------------------------------------------

    async def rerun(self, widgets: bool = True) -> RunResult:
        """Send a rerun_script as the frontend does and wait (bounded) for its script_finished."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        back = BackMsg()
        request = back.rerun_script
        request.query_string = self.query
        request.widget_states.SetInParent()
        if widgets:
            request.widget_states.widgets.extend(v for k, v in self.values.items() if k in self.seen)
        request.page_script_hash = self.page_script_hash
        request.cached_message_hashes.extend(sorted(self.cached))
        context = request.context_info
        context.timezone, context.timezone_offset, context.locale = "Asia/Shanghai", -480, "zh-CN"
        context.url, context.is_embedded, context.color_scheme = self.page_url, False, "light"
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        before = self.received
        started = time.perf_counter()
        await self.ws.send(back.SerializeToString())
        try:
            status = await asyncio.wait_for(asyncio.shield(self.done), self.timeout_s)
        except TimeoutError as exc:
            raise AppBroken(f"no script_finished within {self.timeout_s:.0f} s") from exc
        elapsed = time.perf_counter() - started
        if self.errors and any(e.startswith("exception") for e in self.errors):
            raise AppBroken(self.errors[-1])
        if status not in ("FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"):
            raise AppBroken(f"the run ended with {status}")
        self.runs += 1
        return RunResult(elapsed, status, self.received - before)

    async def first_visit(self) -> float:
        """Open the page: connect, then the frontend's first rerun_script. Seconds to script_finished."""
        started = time.perf_counter()
        await self.connect()
        await self.rerun(widgets=False)
        return time.perf_counter() - started

    # the status filter ---------------------------------------------------------------------------------------------

    def status_widget(self) -> tuple[str, Any]:
        from urban_plan.i18n import t

        wanted = t("filters.status", LANG)
        for widget_id, (kind, element) in self.mounted.items():
            if kind == "multiselect" and element.label == wanted and widget_id in self.seen:
                return widget_id, element
        raise AppBroken(f"no status multiselect ({wanted!r}) on the page")

    def shown_statuses(self) -> frozenset[str]:
        """The statuses the status widget shows (codes)."""
        widget_id, _element = self.status_widget()
        chips = set(self.values[widget_id].string_array_value.data) if widget_id in self.values else set()
        return frozenset(code for code in synthetic.STATUSES if bench._our_chip(code) in chips)

    async def set_statuses(self, statuses: Iterable[str]) -> RunResult:
        """Pick these statuses in the status filter (one widget change, as a click on a chip)."""
        widget_id, element = self.status_widget()
        wanted = {bench._our_chip(code) for code in statuses}
        state = self.values.get(widget_id)
        if state is None:
            raise AppBroken("the status multiselect has no value to change")
        del state.string_array_value.data[:]
        state.string_array_value.data.extend(o for o in element.options if o in wanted)
        return await self.rerun()

    async def toggle(self, status: str = bench.REMOVED_STATUS) -> RunResult:
        """Remove `status` if shown, else add it back: the filter change the benchmark repeats."""
        shown = set(self.shown_statuses())
        shown.symmetric_difference_update({status})
        return await self.set_statuses(shown)


# --- the asyncio side runs in its own thread; Playwright's sync API keeps the main one --------------------------


class Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="load-sessions", daemon=True)
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, Any], timeout_s: float) -> Any:
        future = self.submit(coro)
        try:
            return future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


async def close_all(sessions: Iterable[Session]) -> None:
    await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)


# --- scenarios ----------------------------------------------------------------------------------------------------


@dataclass
class Options:
    quick: bool
    datasets: tuple[str, ...]
    bursts: tuple[int, ...]
    sustain_sessions: int
    sustain_s: float
    soak_reruns: int
    soak_sessions: int
    soak_max_s: float
    server_samples: int
    ttl_s: int
    grace_s: float  # waited beyond the TTL before reading RSS
    large: int  # parcels of the "50k" dataset
    chromium: bool
    work: Path
    out: Path | None
    timeout_s: float
    restart: bool = True


@dataclass
class Bench:
    """One dataset's running server and what was measured on it."""

    name: str
    data_dir: Path
    options: Options
    loop: Loop
    browser: Any
    label: str = ""  # the table's data column: the dataset, with its size when the "50k" slot holds fewer parcels
    expected: int = 0  # features the map draws with every status shown
    figures: dict[str, Any] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)
    app: Any = None
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    # the server --------------------------------------------------------------------------------------------

    def start(self, port: int | None = None) -> None:
        env = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(self.options.ttl_s)}
        # A restart reuses the port the open page knows.
        self.app = self.stack.enter_context(harness.running_app(self.data_dir, self.options.work, env=env, port=port))

    def stop(self) -> None:
        self.stack.close()
        self.stack = contextlib.ExitStack()

    def rss(self) -> float:
        return read_rss_mb(self.app.process.pid)

    def settle(self, seconds: float) -> float:
        """Wait `seconds` (bounded), then the RSS: for memory figures after sessions closed."""
        time.sleep(max(0.0, seconds))
        return self.rss()

    def page_timeout_ms(self) -> int:
        """The Chromium page's waits: the sessions' timeout plus 8 ms per parcel (as benchmarks/run.py allows)."""
        return int(self.options.timeout_s * 1000 + 8 * self.figures.get("parcels", 0))

    def sessions(self, n: int) -> list[Session]:
        return [Session(self.app.url, self.options.timeout_s) for _ in range(n)]

    # scenarios -----------------------------------------------------------------------------------------------

    def server_time(self) -> None:
        """A filter change on an otherwise idle server: from sending the rerun to script_finished. The planner
        then leaves and the session TTL passes: that server's RSS is the warm server's."""

        async def go() -> list[float]:
            (session,) = self.sessions(1)
            try:
                await session.first_visit()
                return [(await session.toggle()).seconds for _ in range(self.options.server_samples)]
            finally:
                await session.close()

        times = self.loop.run(go(), self.options.timeout_s * (self.options.server_samples + 2))
        later = times[1:] or times
        self.figures["filter_server_ms"] = statistics.median(later) * 1000
        self.figures["filter_server_first_ms"] = times[0] * 1000
        self.figures["filter_server_samples_ms"] = [round(t * 1000, 1) for t in times]
        row(
            self,
            "filter change, server time (idle server, median)",
            1,
            None,
            f"{self.figures['filter_server_ms']:.0f} ms (1st {times[0] * 1000:.0f} ms, {len(times)} samples)",
        )
        rss = self.settle(self.options.ttl_s + self.options.grace_s)
        self.figures["rss_warm_mb"] = rss
        row(self, f"warm server (that planner left, TTL {self.options.ttl_s} s passed)", 0, None, f"RSS {rss:,.0f} MB")

    def burst(self, n: int) -> None:
        """n sessions open the map at the same moment, and one Chromium page with them."""

        peak = [self.rss()]

        async def sample() -> None:
            while True:  # cancelled once every first visit has finished
                peak.append(self.rss())
                await asyncio.sleep(0.2)

        async def go() -> list[float]:
            sessions = self.sessions(n)
            sampling = asyncio.create_task(sample())
            try:
                results = await asyncio.gather(*(s.first_visit() for s in sessions), return_exceptions=True)
            finally:
                sampling.cancel()
                await close_all(sessions)
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                raise AppBroken(f"{len(failures)}/{n} first visits failed: {failures[0]}")
            return [float(r) for r in results]  # type: ignore[arg-type]

        rss_before = self.rss()
        load_before = load_text()
        future = self.loop.submit(go())
        page = self.chromium_visit()
        times = future.result(self.options.timeout_s * 2 + self.page_timeout_ms() / 1000)
        rss_after = self.rss()
        rss_peak = max(r for r in peak if not math.isnan(r))
        stats = summary(times)
        self.figures.setdefault("bursts", {})[str(n)] = {
            **stats,
            "chromium": page,
            "rss_before_mb": rss_before,
            "rss_peak_mb": rss_peak,
            "rss_after_mb": rss_after,
        }
        extra = f"RSS {rss_before:,.0f} -> peak {rss_peak:,.0f} -> {rss_after:,.0f} MB"
        if page:
            extra += f"; Chromium: {page['drawn']}/{self.expected} drawn"
            if page.get("seconds") is not None:
                extra += f" in {page['seconds']:.1f} s"
        row(self, f"burst of {n} first visits", n, stats, extra, load_before)

    def chromium_visit(self) -> dict[str, Any] | None:
        """The real page: opens the map during the burst, must draw every feature (benchmarks/run.py's Probe)."""
        if self.browser is None:
            return None
        probe = bench.Probe(self.browser, self.app.url, self.page_timeout_ms())
        try:
            result = bench.visit(probe, self.expected, 300)
            return {"drawn": self.expected, "seconds": result["drawn_ms"] / 1000, "errors": probe.errors[:3]}
        except Exception as exc:
            drawn = self._drawn(probe.page)
            self.broken.append(f"Chromium page during a burst: {drawn}/{self.expected} features drawn: {exc}"[:500])
            return {"drawn": drawn, "seconds": None, "errors": [str(exc)[:300]]}
        finally:
            probe.close()

    @staticmethod
    def _drawn(page: Any) -> int:
        with contextlib.suppress(Exception):
            return int(page.evaluate(bench.COUNT_JS))
        return -1

    def sustained(self) -> None:
        """k sessions change the filter back and forth as fast as the server answers, for a fixed time."""
        k, seconds = self.options.sustain_sessions, self.options.sustain_s

        async def go() -> tuple[list[float], float]:
            sessions = self.sessions(k)
            times: list[float] = []
            try:
                await asyncio.gather(*(s.first_visit() for s in sessions))
                started = time.perf_counter()
                deadline = started + seconds

                async def keep_changing(session: Session) -> None:
                    while time.perf_counter() < deadline:
                        times.append((await session.toggle()).seconds)

                await asyncio.gather(*(keep_changing(s) for s in sessions))
                return times, time.perf_counter() - started
            finally:
                await close_all(sessions)

        load_before = load_text()
        times, elapsed = self.loop.run(go(), seconds + self.options.timeout_s * 3)
        rate = len(times) / elapsed if elapsed > 0 else NAN
        self.figures["reruns_per_s"] = rate
        self.figures["sustained"] = {**summary(times), "reruns": len(times), "seconds": elapsed, "sessions": k}
        row(self, f"sustained filter changes ({elapsed:.0f} s)", k, summary(times), f"{rate:.1f} reruns/s", load_before)

    def after_close(self) -> None:
        rss = self.settle(self.options.ttl_s + self.options.grace_s)
        warm = self.figures.get("rss_warm_mb", NAN)
        self.figures["rss_after_close_mb"] = rss
        self.figures["mem_after_close_ratio"] = rss / warm if warm else NAN
        row(self, "every session closed, TTL passed", 0, None, f"RSS {rss:,.0f} MB = {rss / warm:.2f}x warm")

    def soak(self) -> None:
        """Reruns with sessions coming and going: each session visits, changes the filter 3-12 times, leaves;
        at most `soak_sessions` at once. RSS sampled every half second, against the reruns done."""
        total, width, limit = self.options.soak_reruns, self.options.soak_sessions, self.options.soak_max_s
        samples: list[tuple[float, float]] = []
        done = [0]
        rng = random.Random(11)  # the same mix on every run

        async def visitor(deadline: float) -> None:
            session = Session(self.app.url, self.options.timeout_s)
            try:
                await session.first_visit()
                done[0] += 1
                for _ in range(rng.randint(3, 12)):
                    if done[0] >= total or time.perf_counter() > deadline:
                        break
                    await session.toggle()
                    done[0] += 1
            finally:
                await session.close()

        async def sampler(stop: asyncio.Event) -> None:
            while not stop.is_set():
                samples.append((done[0], self.rss()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)

        async def go() -> float:
            started = time.perf_counter()
            deadline = started + limit
            stop = asyncio.Event()
            sampling = asyncio.create_task(sampler(stop))
            running: set[asyncio.Task[None]] = set()
            try:
                while done[0] < total and time.perf_counter() < deadline:
                    while len(running) < width:
                        running.add(asyncio.create_task(visitor(deadline)))
                    finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for task in finished:
                        task.result()  # a broken app stops the soak
                if running:
                    await asyncio.wait(running, timeout=self.options.timeout_s)
                return time.perf_counter() - started
            finally:
                for task in running:
                    task.cancel()
                stop.set()
                await sampling

        load_before = load_text()
        rss_start = self.rss()
        elapsed = self.loop.run(go(), limit + self.options.timeout_s * 3)
        rss_end = self.rss()
        rss_idle = self.settle(self.options.ttl_s + self.options.grace_s)
        trend = rss_trend(samples)
        peak = max((r for _, r in samples), default=NAN)
        self.figures["soak"] = {
            "reruns": done[0],
            "seconds": elapsed,
            "rss_start_mb": rss_start,
            "rss_peak_mb": peak,
            "rss_end_mb": rss_end,
            "rss_after_ttl_mb": rss_idle,
            "trend_mb_per_1000_reruns": trend,
            "curve": [(int(x), round(y, 1)) for x, y in downsample(samples, 12)],
        }
        row(
            self,
            f"soak: {done[0]:,} reruns in {elapsed:.0f} s, sessions come and go",
            width,
            None,
            f"RSS {rss_start:,.0f} -> peak {peak:,.0f} -> {rss_end:,.0f} (TTL passed: {rss_idle:,.0f}) MB; "
            f"trend {fmt_s(trend, 1)} MB/1000 reruns",
            load_before,
        )
        curve = " ".join(f"{x}:{y:.0f}" for x, y in self.figures["soak"]["curve"])
        print(f"    soak RSS curve (reruns:MB) {curve}", flush=True)

    def restart(self) -> None:
        """A page and a session are open; the server is killed and restarted on the same port; both reconnect;
        then each changes the filter once. The change must apply: the widget, the address bar (and for the real
        page the map) agree."""
        port = int(self.app.url.rsplit(":", 1)[1])
        session = Session(self.app.url, self.options.timeout_s)
        self.loop.run(session.first_visit(), self.options.timeout_s + 10)
        self.loop.run(session.toggle(), self.options.timeout_s + 10)  # remove 规划: the address bar names statuses
        probe = None
        if self.browser is not None:
            probe = bench.Probe(self.browser, self.app.url, self.page_timeout_ms())
            bench.visit(probe, self.expected, 300)
        outcome: dict[str, Any] = {}
        if probe is not None:
            without = frozenset(synthetic.STATUSES) - {bench.REMOVED_STATUS}
            bench.OURS.remove(probe.page, bench.REMOVED_STATUS)  # as the session: 规划 removed before the restart
            outcome["before"] = {"expected": bench.OURS.expected(self.data_dir, without)}
            outcome["before"]["drawn"] = self._settled(probe.page)
        started = time.perf_counter()
        self.app.process.kill()  # as a crash or an operator's restart: no goodbye to the sessions
        self.stop()
        self.start(port)
        outcome["restart_s"] = time.perf_counter() - started

        async def reconnect() -> dict[str, Any]:
            await session.close()
            await session.connect(reconnect=True)
            # As Chromium's frontend: no rerun on reconnecting; the next message is the user's change, with the
            # widgets' values and the address bar's query string.
            return await change_and_check(session, frozenset({"in_progress"}))

        try:
            outcome["session"] = self.loop.run(reconnect(), self.options.timeout_s * 3)
        finally:
            self.loop.run(session.close(), 20)
        if probe is not None:
            try:
                outcome["chromium"] = self._page_after_restart(probe, outcome["before"])
            finally:
                probe.close()
        self.figures["restart"] = outcome
        verdicts = [verdict("session", outcome["session"])]
        if "chromium" in outcome:
            verdicts.append(verdict("Chromium", outcome["chromium"]))
        row(
            self,
            f"restart ({outcome['restart_s']:.1f} s), reconnect, one filter change",
            1 + (probe is not None),
            None,
            "; ".join(verdicts),
        )

    def wake(self) -> None:
        """A laptop waking from sleep: the page's websocket went away, the session TTL passed, it reconnects
        (naming its old session, which the server has dropped) and the planner changes a filter."""
        session = Session(self.app.url, self.options.timeout_s)

        async def go() -> dict[str, Any]:
            try:
                await session.first_visit()
                await session.toggle()  # remove 规划: the address bar names the statuses
                await session.close()
                await asyncio.sleep(self.options.ttl_s + self.options.grace_s)
                await session.connect(reconnect=True)
                return await change_and_check(session, frozenset({"in_progress"}))
            finally:
                await session.close()

        outcome = self.loop.run(go(), self.options.timeout_s * 4 + self.options.ttl_s + self.options.grace_s)
        self.figures["wake_after_ttl"] = outcome
        row(self, "reconnect after the TTL (sleep), one filter change", 1, None, verdict("session", outcome))

    def _settled(self, page: Any) -> int:
        """Once Streamlit is idle: the features drawn, when the count has stayed the same for 1.5 s (bounded)."""
        page.wait_for_timeout(500)  # a click's rerun has started
        harness.wait_for_app(page, self.page_timeout_ms())
        deadline = time.monotonic() + self.page_timeout_ms() / 1000
        last, since = self._drawn(page), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < 1.5:
            page.wait_for_timeout(250)
            count = self._drawn(page)
            if count != last:
                last, since = count, time.monotonic()
        return last

    def _page_after_restart(self, probe: Any, before: dict[str, int]) -> dict[str, Any]:
        """The real page reconnects by itself; remove 已完工 in it and see whether the map follows: the features
        of 在建 only (benchmarks/run.py's count) or, when the map already drew other than that count before the
        restart (the count is off for this app), at least fewer features than before."""
        page = probe.page
        harness.wait_for_app(page, self.page_timeout_ms())
        keep = frozenset(set(synthetic.STATUSES) - {bench.REMOVED_STATUS, "completed"})
        expected = bench.OURS.expected(self.data_dir, keep)
        bench.OURS.remove(page, "completed")
        counted_right = before["drawn"] == before["expected"]
        map_ok = False
        if counted_right:
            with contextlib.suppress(Exception):  # a lost change never draws it: wait 30 s + 8 ms a parcel
                probe.wait_drawn(expected, 300, int(30_000 + 8 * self.figures.get("parcels", 0)))
                map_ok = True
        drawn = self._settled(page)
        if not counted_right:
            map_ok = 0 <= drawn < before["drawn"]
        address = query_statuses(page.url.split("?", 1)[1] if "?" in page.url else "")
        widget = bench.OURS.status_widget(page).inner_text()
        shown = sorted(code for code in synthetic.STATUSES if bench._our_chip(code) in widget)
        return {
            "wanted": sorted(keep),
            "widget": shown,
            "expected": expected if counted_right else f"< {before['drawn']}",
            "drawn": drawn,
            "drawn_before_restart": before["drawn"],
            "expected_before_restart": before["expected"],
            "address_bar": sorted(address) if address is not None else "all",
            "applied": map_ok and address == keep and frozenset(shown) == keep,
        }


async def change_and_check(session: Session, wanted: frozenset[str]) -> dict[str, Any]:
    """Pick `wanted` in the status filter; the change applied when the widget and the address bar show it."""
    await session.set_statuses(wanted)
    address = query_statuses(session.query)
    shown = session.shown_statuses()
    return {
        "wanted": sorted(wanted),
        "widget": sorted(shown),
        "address_bar": sorted(address) if address is not None else "all",
        "applied": shown == wanted and address == wanted,
    }


def verdict(who: str, outcome: dict[str, Any]) -> str:
    if outcome["applied"]:
        return f"{who}: applied"
    address = outcome["address_bar"]
    address = address if isinstance(address, str) else ",".join(address)
    parts = [f"widget {','.join(outcome['widget']) or '-'}", f"address bar {address}"]
    if "drawn" in outcome:
        parts.append(f"map {outcome['drawn']} features, {outcome['expected']} expected")
    return f"{who}: LOST (wanted {','.join(outcome['wanted'])}; " + "; ".join(parts) + ")"


# --- report -------------------------------------------------------------------------------------------------------

ROWS: list[str] = []


def row(
    bench_: Bench,
    what: str,
    sessions: int,
    stats: dict[str, float] | None,
    extra: str,
    load_before: str | None = None,
) -> None:
    timing = f"{fmt_s(stats['p50'])} / {fmt_s(stats['p95'])} / {fmt_s(stats['max'])}" if stats else "-"
    load = f"{load_before} -> {load_text()}" if load_before else load_text()
    line = f"| {bench_.label or bench_.name} | {what} | {sessions} | {timing} | {extra} | {load} |"
    ROWS.append(line)
    print(line, flush=True)


TABLE_HEAD = (
    "| data | scenario | sessions | p50 / p95 / max s | figures | load avg (1/5/15 min) |\n"
    "| --- | --- | ---: | ---: | --- | --- |"
)


def headline(benches: dict[str, Bench], quick: bool) -> dict[str, float]:
    shipped = benches.get("shipped")
    large = benches.get("50k")

    def burst_p95(b: Bench | None, n: int) -> float:
        if b is None:
            return NAN
        bursts = b.figures.get("bursts", {})
        if str(n) in bursts:
            return bursts[str(n)]["p95"]
        if quick and bursts:  # a quick run reports its largest burst under the same key
            return bursts[max(bursts, key=int)]["p95"]
        return NAN

    ratios = [b.figures.get("mem_after_close_ratio", NAN) for b in benches.values()]
    ratios = [r for r in ratios if not math.isnan(r)]
    return {
        "burst40_p95_s": burst_p95(shipped, 40),
        "reruns_per_s": shipped.figures.get("reruns_per_s", NAN) if shipped else NAN,
        "burst20_50k_p95_s": burst_p95(large, 20),
        "filter_server_ms_50k": large.figures.get("filter_server_ms", NAN) if large else NAN,
        "mem_after_close_ratio": max(ratios) if ratios else NAN,
    }


def machine() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "?",
        )
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    return {"cpu": f"{cpu}, {os.cpu_count()} cores", "commit": git.stdout.strip(), "load_at_start": load_text()}


# --- orchestration ------------------------------------------------------------------------------------------------


def prepare(name: str, options: Options) -> tuple[Path, int]:
    """A private data dir for a dataset: the shipped geodata, or it with `large` synthetic parcels published."""
    target = options.work / name
    if name == "shipped":
        return harness.copy_data(target), 0
    synthetic.make_data_dir(target, options.large)
    return target, options.large


def run_dataset(name: str, options: Options, loop: Loop, browser: Any) -> Bench:
    started = time.monotonic()
    data_dir, parcels = prepare(name, options)
    label = name if not parcels or name != "50k" or parcels == 50_000 else f"50k slot: {parcels:,} parcels"
    print(f"[{name}] data ready ({label}) in {time.monotonic() - started:.0f} s; starting the server ...", flush=True)
    b = Bench(name, data_dir, options, loop, browser, label=label)
    b.figures["parcels"] = parcels
    steps: list[tuple[str, Callable[[], None]]] = [
        ("server time", b.server_time),
        *((f"burst {n}", lambda n=n: b.burst(n)) for n in options.bursts),
        ("sustained", b.sustained),
        ("after close", b.after_close),
    ]
    if options.soak_reruns:
        steps.append(("soak", b.soak))
    if options.restart:
        steps += [("wake after TTL", b.wake), ("restart", b.restart)]
    try:
        b.start()
        b.expected = bench.OURS.expected(data_dir, frozenset(synthetic.STATUSES))
        for step, action in steps:
            step_started = time.monotonic()
            try:
                action()
                b.figures.setdefault("step_seconds", {})[step] = round(time.monotonic() - step_started, 1)
            except Exception as exc:
                b.broken.append(f"{step}: {type(exc).__name__}: {exc}"[:1000])
                print(f"    {name} {step} FAILED: {traceback.format_exc(limit=3)[-1500:]}", flush=True)
                if b.app is None or b.app.process.poll() is not None:
                    break
    except Exception as exc:
        b.broken.append(f"server: {exc}"[:2000])
    finally:
        if b.broken and b.app is not None:
            print(f"    --- server log ({b.app.log_path}) ---\n{b.app.log()[-3000:]}", flush=True)
        b.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    b.figures["seconds"] = time.monotonic() - started
    return b


def parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke only: tiny counts, under a minute")
    parser.add_argument("--data", default=None, help="datasets: shipped,50k (default both)")
    parser.add_argument("--bursts", default=None, help="simultaneous first visits, e.g. 5,10,20,40")
    parser.add_argument("--sustain-s", type=float, default=None, help="seconds of sustained filter changes")
    parser.add_argument("--soak-reruns", type=int, default=None, help="reruns in the soak (0: no soak)")
    parser.add_argument("--soak-max-s", type=float, default=None, help="upper bound on the soak's duration")
    parser.add_argument("--parcels", type=int, default=None, help="parcels of the 50k dataset (default 50,000)")
    parser.add_argument("--ttl-s", type=int, default=None, help="server.disconnectedSessionTTL for the servers")
    parser.add_argument("--no-chromium", action="store_true", help="no real page during the bursts")
    parser.add_argument("--no-restart", action="store_true", help="skip the restart scenario")
    parser.add_argument("--out", type=Path, default=None, help="write every figure as JSON here")
    args = parser.parse_args(argv)
    quick = args.quick

    def pick(value: Any, quick_value: Any, full_value: Any) -> Any:
        return value if value is not None else (quick_value if quick else full_value)

    bursts = pick(args.bursts, "3", "5,10,20,40")
    work = Path(tempfile.mkdtemp(prefix="urban-plan-load-"))
    return Options(
        quick=quick,
        datasets=tuple(d.strip() for d in pick(args.data, "shipped,50k", "shipped,50k").split(",") if d.strip()),
        bursts=tuple(int(n) for n in str(bursts).split(",") if n.strip()),
        sustain_sessions=2 if quick else 4,
        sustain_s=pick(args.sustain_s, 2.0, 20.0),
        soak_reruns=pick(args.soak_reruns, 10, 10_000),
        soak_sessions=2 if quick else 8,
        soak_max_s=pick(args.soak_max_s, 3.0, FULL_SOAK_MAX_S),
        server_samples=3 if quick else 9,
        ttl_s=pick(args.ttl_s, 1, 15),
        grace_s=1.0 if quick else 5.0,
        large=pick(args.parcels, 600, 50_000),
        chromium=not args.no_chromium,
        work=work,
        out=args.out,
        timeout_s=120.0 if quick else 180.0,  # generous: CI machines are busy, a slow run is not a broken one
        restart=not args.no_restart,
    )


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    # Stopped from outside (CI's timeout, kill): unwind, so that the app servers and Chromium are stopped too.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    options = parse(argv)
    if options.quick:  # smoke: the large dataset gets one burst and the server time, no soak, no restart
        print("quick run: smoke only, tiny counts; the figures are not the issue's figures", flush=True)
    info = machine()
    print(f"{info['cpu']} · commit {info['commit']} · load average {info['load_at_start']}", flush=True)
    print(TABLE_HEAD, flush=True)
    loop = Loop()
    benches: dict[str, Bench] = {}
    browser_cm: Any = contextlib.nullcontext(None)
    chromium = options.chromium and Path(harness.CHROMIUM).exists()
    if chromium:
        from playwright.sync_api import sync_playwright

        browser_cm = sync_playwright()
    try:
        with browser_cm as playwright:
            browser = (
                playwright.chromium.launch(executable_path=harness.CHROMIUM, args=harness.CHROMIUM_ARGS)
                if playwright is not None
                else None
            )
            try:
                for name in options.datasets:
                    dataset_options = options
                    if options.quick and name != "shipped":
                        dataset_options = Options(
                            **{**options.__dict__, "soak_reruns": 0, "restart": False, "sustain_s": 1.5}
                        )
                    benches[name] = run_dataset(name, dataset_options, loop, browser)
            finally:
                if browser is not None:
                    browser.close()
    finally:
        loop.stop()
        shutil.rmtree(options.work, ignore_errors=True)
    head = headline(benches, options.quick)
    broken = [f"{name}: {problem}" for name, b in benches.items() for problem in b.broken]
    command = " ".join(["benchmarks/load.py", *(sys.argv[1:] if argv is None else argv)])
    print()
    print('---- for benchmarks/README.md, "Load benchmark" > "Results" (from here to the RESULT block) ----')
    print(
        f"`.venv/bin/python {command}` on {dt.date.today().isoformat()}, commit {info['commit']}, {info['cpu']}; "
        f"load average {info['load_at_start']} at the start, {load_text()} at the end; "
        f"{time.monotonic() - started:.0f} s; exit code {1 if broken else 0}."
    )
    print()
    print(TABLE_HEAD)
    for line in ROWS:
        print(line)
    curves = {b.label or name: b.figures["soak"]["curve"] for name, b in benches.items() if "soak" in b.figures}
    if curves:
        print()
        print("Soak RSS curves (reruns done : MB):")
        print()
        for label, curve in curves.items():
            print(f"- {label}: " + " ".join(f"{x:,}:{y:.0f}" for x, y in curve))
    print()
    print("```")
    print("RESULT " + " ".join(f"{key}={fmt_s(head[key], 3)}" for key in RESULT_KEYS))
    print("```")
    print("---- end ----")
    print()
    for key in RESULT_KEYS:
        print(f"  {key:<24}{fmt_s(head[key], 3):>10}   goal {GOALS[key]}")
    if not chromium:
        print("NOTE: no Chromium page (missing /usr/bin/chromium or --no-chromium): the map was not checked")
    for problem in broken:
        print(f"BROKEN: {problem}")
    if options.out:
        options.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "meta": {
                **info,
                "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                "quick": options.quick,
            },
            "datasets": {name: b.figures for name, b in benches.items()},
            "result": head,
            "broken": broken,
            "table": ROWS,
        }
        options.out.write_text(json.dumps(payload, indent=1, default=str, ensure_ascii=False), encoding="utf-8")
    print("RESULT " + " ".join(f"{key}={fmt_s(head[key], 3)}" for key in RESULT_KEYS))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
