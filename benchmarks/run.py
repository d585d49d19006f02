"""Measure the planning map against the naive baseline a Streamlit user would write, side by side.

    .venv/bin/python benchmarks/run.py [--quick] [--out results.json]

Both apps run as real Streamlit servers over the same private copy of the data and are driven in Debian's
Chromium with the browser tests' flags. The last line printed is `RESULT key=value ...`; the exit code is 0
whatever the figures are (this measures, it does not judge). See benchmarks/README.md for what each figure
means and how it is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import mimetypes
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT / "src"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from benchmarks import synthetic  # noqa: E402
from tests.e2e import harness  # noqa: E402

RESULTS_DIR = ROOT / "benchmarks" / "results"  # ignored by git
# matplotlib + mapclassify for the baseline's gdf.explore(), installed here if the venv lacks them (set
# BENCH_BASELINE_DEPS to keep them somewhere that outlives a fresh clone, e.g. on CI)
DEPS_DIR = Path(os.environ.get("BENCH_BASELINE_DEPS") or RESULTS_DIR / ".baseline-deps")
BASELINE_SCRIPT = "benchmarks/baseline_app.py"
BASELINE_DEPS = ("matplotlib", "mapclassify")  # gdf.explore() imports both, even when it uses neither
VIEWPORT = {"width": 1600, "height": 1000}
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
VENDOR = ROOT / "static" / "vendor" / "leaflet-1.9.4"

FULL_SIZES = (1_000, 10_000, 50_000)
QUICK_SIZES = (200, 2_500)  # 2,500 > urban_plan.mapping.LARGE_LAYER: the quick run exercises the large-layer path
FULL_UPLOAD, QUICK_UPLOAD = 20_000, 1_000
REMOVED_STATUS = "planned"  # the chip the filter figure removes (规划 in our app)
CLICK_TIMEOUT_MS = 15_000  # the app is idle before every click: a control that is not there fails fast

# The targets, printed next to each figure. The benchmark never fails because of them.
TARGETS = {
    "filter_ms_shipped": ("<=", 300.0, "ms"),
    "filter_ms_50k": ("<=", 1500.0, "ms"),
    "speedup_50k": (">=", 3.0, "x"),
    "payload_ratio_50k": ("<=", 0.40, ""),
    "pan_reruns": ("==", 0.0, ""),
    "validate_ratio_20k": ("<=", 2.0, "x"),
    "cold_start_ms": (None, None, "ms"),
}
RESULT_KEYS = (
    "filter_ms_shipped",
    "filter_ms_50k",
    "baseline_filter_ms_50k",
    "payload_ratio_50k",
    "pan_reruns",
    "validate_ratio_20k",
    "cold_start_ms",
)
NAN = float("nan")

# --- page-side instrumentation ---------------------------------------------------------------------------------

# Runs in every document before its own scripts: a log of the app's websocket frames with the page's clock,
# the time of the last pointerdown (the start of a click), and a resource-timing buffer big enough for the app.
INIT_JS = """
(() => {
  if (window.__bench) { return; }
  const b = window.__bench = {ws: [], t0: null, since: null, painted: null, last: null};
  try { performance.setResourceTimingBufferSize(100000); } catch (e) {}
  if (window.top !== window) { return; }
  document.addEventListener('pointerdown', () => { b.t0 = performance.now(); }, true);
  const size = (d) => typeof d === 'string' ? d.length : (d.byteLength !== undefined ? d.byteLength : (d.size || 0));
  const Original = window.WebSocket;
  const send = Original.prototype.send;
  Original.prototype.send = function (data) {
    if (this.__benchLogged) { b.ws.push(['s', performance.now(), size(data)]); }
    return send.call(this, data);
  };
  class Logged extends Original {
    constructor(...args) {
      super(...args);
      if (String(args[0]).indexOf('/_stcore/stream') >= 0) {
        this.__benchLogged = true;
        this.addEventListener('message', (ev) => b.ws.push(['r', performance.now(), size(ev.data)]));
        this.addEventListener('open', () => { b.extensions = this.extensions; });
      }
    }
  }
  window.WebSocket = Logged;
})();
"""

# Features drawn on the (last) map: every Leaflet layer that carries a GeoJSON feature (SVG or canvas alike),
# counted with map.eachLayer. Recounted only after Leaflet reported a layer added or removed, so that polling
# at every animation frame costs next to nothing once 50,000 features are on the map.
COUNT_JS = """() => {
  const frames = document.querySelectorAll('iframe[title="streamlit_folium.st_folium"]');
  if (!frames.length) { return -1; }
  let w = null;
  try { w = frames[frames.length - 1].contentWindow; } catch (e) { return -3; }
  const map = w && w.map;
  if (!map || typeof map.eachLayer !== 'function') { return -2; }
  if (!map.__benchHooked) {
    map.__benchHooked = true;
    map.__benchDirty = true;
    map.on('layeradd layerremove', () => { map.__benchDirty = true; });
  }
  if (map.__benchDirty) {
    map.__benchDirty = false;
    let n = 0;
    map.eachLayer((l) => { if (l.feature) { n++; } });
    map.__benchCount = n;
  }
  return map.__benchCount;
}"""

# Once the count has equalled `expected` for `stable` ms in a row: the page time of the animation frame after
# the one that first saw it, so that the drawing of that frame (Leaflet paints canvases in animation frames)
# counts too.
WAIT_JS = (
    """([expected, stable]) => {
  const count = """
    + COUNT_JS
    + """;
  const b = window.__bench, now = performance.now(), n = count();
  b.last = n;
  if (n !== expected) { b.since = null; b.painted = null; return false; }
  if (b.since === null) { b.since = now; return false; }
  if (b.painted === null) { b.painted = now; }
  return now - b.since >= stable ? b.painted : false;
}"""
)

# Streamlit has finished the run (as tests/e2e/harness.wait_for_app), as the page time it was first seen.
IDLE_JS = """() => (!document.querySelector('[data-testid="stStatusWidget"]')
  && document.querySelector('[data-testid="stMain"]')) ? performance.now() : false"""

# Streamlit is idle and the app has neither sent nor received a websocket frame for `quiet` ms: the naive
# baseline's map triggers more reruns after it mounts, with short idle gaps in between.
QUIET_JS = """(quiet) => {
  const b = window.__bench;
  const idle = !document.querySelector('[data-testid="stStatusWidget"]')
    && document.querySelector('[data-testid="stMain"]');
  const last = b && b.ws.length ? b.ws[b.ws.length - 1][1] : 0;
  return Boolean(idle) && performance.now() - last >= quiet;
}"""

# Resources of one document with absolute times (epoch ms), so that frames with their own clocks compare.
RESOURCES_JS = """(withNavigation) => {
  const origin = performance.timeOrigin, out = [];
  const entries = (withNavigation ? performance.getEntriesByType('navigation') : [])
    .concat(performance.getEntriesByType('resource'));
  for (const e of entries) {
    out.push([e.name, origin + e.startTime, origin + e.responseEnd, e.decodedBodySize, e.transferSize]);
  }
  return out;
}"""


# --- small helpers -----------------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    good = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(good) if good else NAN


def fmt(value: Any, unit: str = "", digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    if unit == "MB":
        return f"{value / 1e6:,.2f} MB"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{(' ' + unit) if unit else ''}"
    return f"{value:,}{(' ' + unit) if unit else ''}"


def size_label(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


_STARTED = time.monotonic()


def log(message: str) -> None:
    print(message, flush=True)


def progress(message: str) -> None:
    """A progress line, with the time since the start (the report's lines come without)."""
    elapsed = int(time.monotonic() - _STARTED)
    print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {message}", flush=True)


@dataclass
class Run:
    """Options of this run, derived from the command line."""

    quick: bool
    sizes: tuple[int, ...]
    upload_size: int
    repeats: int
    stable_ms: int
    quiet_ms: int  # websocket silence that means no rerun is still coming
    pans: int
    idle_ms: int
    out: Path
    logs: Path
    work: Path
    keep: bool
    notes: list[str] = field(default_factory=list)
    apps: tuple[str, ...] = ("ours", "baseline")
    shipped: bool = True
    upload: bool = True
    baseline_problem: str | None = None  # why the baseline cannot run, if it cannot
    broken: dict[str, str] = field(default_factory=dict)  # app -> why its map never drew: not tried again

    def timeout_ms(self, features: int) -> int:
        """Generous waits: slow machines and the baseline at 50k features must not look like failures."""
        return int((45_000 if self.quick else 90_000) + 8 * features)


@dataclass(frozen=True)
class Plan:
    """What to measure on one dataset."""

    apps: tuple[str, ...]  # "ours", "baseline"
    inprocess: bool  # the in-process map build (AppTest)
    repeats: int  # filter removals (re-adds in between)
    pans: bool
    cold: bool


def plans(run: Run) -> list[tuple[str, int, Plan]]:
    """(dataset, parcels, plan): the shipped data for our filter figure, then the synthetic sizes. A quick run
    measures everything only at its largest size, to stay within a few minutes on two cores."""
    out = []
    if run.shipped and "ours" in run.apps:
        out.append(("shipped", 0, Plan(("ours",), not run.quick, run.repeats, not run.quick, not run.quick)))
    for index, n in enumerate(run.sizes):
        if index == len(run.sizes) - 1 or not run.quick:
            out.append((size_label(n), n, Plan(run.apps, True, run.repeats, True, True)))
        else:  # quick: the smaller sizes show how our app scales, one filter change each
            out.append((size_label(n), n, Plan(tuple(a for a in run.apps if a == "ours"), False, 1, False, False)))
    return out


# --- the apps --------------------------------------------------------------------------------------------------


@dataclass
class AppKind:
    """How to start and drive one of the two apps."""

    name: str  # "ours" | "baseline"
    chip: Callable[[str], str]  # status code -> the text of its chip / option in the status multiselect
    status_widget: Callable[[Any], Any]  # page -> locator of the status multiselect
    expected: Callable[[Path, frozenset[str]], int]  # data dir, statuses shown -> features drawn

    def remove(self, page: Any, status: str) -> None:
        button = f'button[aria-label="Remove {self.chip(status)}"]'
        try:
            self.status_widget(page).locator(button).first.click(timeout=CLICK_TIMEOUT_MS)
        except Exception as exc:
            raise RuntimeError(f"{self.name}: no chip to remove in the status filter ({button}): {exc}") from exc

    def add(self, page: Any, status: str) -> None:
        try:
            self.status_widget(page).locator("input").first.click(timeout=CLICK_TIMEOUT_MS)
            text = re.compile(rf"^\s*{re.escape(self.chip(status))}\s*$")
            page.locator('[role="option"]').filter(has_text=text).first.click(timeout=CLICK_TIMEOUT_MS)
        except Exception as exc:
            raise RuntimeError(
                f"{self.name}: could not pick {self.chip(status)!r} in the status filter: {exc}"
            ) from exc


def _our_chip(status: str) -> str:
    from urban_plan.i18n import label

    return label("status", status, "zh")


def _our_status_widget(page: Any) -> Any:
    from urban_plan.i18n import t

    return page.locator('[data-testid="stMultiSelect"]').filter(has_text=t("filters.status", "zh")).first


def _our_expected(data_dir: Path, statuses: frozenset[str]) -> int:
    """What our map draws: every feature of a base layer or of a layer that does not track progress, plus the
    features of progress layers whose status is shown (the other filters are at their defaults, which show
    everything). A line work of a progress layer with a progress strictly between 0 and 100 is drawn as two pieces,
    done and remaining (urban_plan.mapping)."""
    from urban_plan.store import FileLayerStore

    store = FileLayerStore(data_dir)
    layers = store.registry()
    total = 0
    for layer in layers.active():
        version = store.current(layer.id)
        if version is None:
            continue
        for feature in store.load(layer.id, version.number).get("features", []):
            props = feature.get("properties") or {}
            if layer.role == "base" or not layer.tracks_progress:
                total += 1
                continue
            if props.get("status") not in statuses:
                continue
            geometry_type = (feature.get("geometry") or {}).get("type")
            progress = props.get("progress")
            is_line = geometry_type in ("LineString", "MultiLineString")
            pieces = is_line and progress is not None and 0 < float(progress) < 100
            total += 2 if pieces else 1
    return total


def _baseline_expected(data_dir: Path, statuses: frozenset[str]) -> int:
    """gdf.explore() draws one Leaflet layer per row of projects.geojson."""
    doc = json.loads((data_dir / "projects.geojson").read_text(encoding="utf-8"))
    return sum(1 for f in doc["features"] if (f.get("properties") or {}).get("status") in statuses)


OURS = AppKind("ours", _our_chip, _our_status_widget, _our_expected)
BASELINE = AppKind(
    "baseline",
    lambda status: status,
    lambda page: page.locator('[data-testid="stMultiSelect"]').first,
    _baseline_expected,
)


@contextlib.contextmanager
def running_baseline(data_dir: Path, log_dir: Path, deps: Path | None) -> Iterator[harness.App]:
    """`streamlit run benchmarks/baseline_app.py` on a free port, like harness.running_app does for ours, but
    from a directory without our .streamlit/config.toml: the baseline runs with Streamlit's defaults."""
    port = harness.free_port()
    cwd = log_dir / "baseline-cwd"
    cwd.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"baseline-{port}.log"
    env = {
        **os.environ,
        "BENCH_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        "MPLCONFIGDIR": str(log_dir / "mpl"),
    }
    if deps is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(deps), env.get("PYTHONPATH", "")) if p)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / BASELINE_SCRIPT),
                f"--server.port={port}",
                "--server.address=127.0.0.1",
                "--server.headless=true",
                "--browser.gatherUsageStats=false",
                "--server.fileWatcherType=none",
            ],
            cwd=cwd,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    app = harness.App(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{app.url}/_stcore/health", timeout=2) as response,  # noqa: S310 (our own URL)
            ):
                if response.read().strip() == b"ok":
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the baseline did not start:\n{app.log()}")
            time.sleep(0.2)
        yield app
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def ensure_baseline_deps(run: Run) -> tuple[Path | None, str | None]:
    """gdf.explore() imports matplotlib and mapclassify. If the venv lacks them, install them (and only what they
    add to the venv) into benchmarks/results/.baseline-deps, used by the baseline's processes alone."""
    probe = "import matplotlib, mapclassify"
    env = {**os.environ, "MPLCONFIGDIR": str(run.logs / "mpl")}
    if subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, check=False).returncode == 0:
        return None, None
    with_deps = {**env, "PYTHONPATH": str(DEPS_DIR)}
    if subprocess.run([sys.executable, "-c", probe], env=with_deps, capture_output=True, check=False).returncode == 0:
        return DEPS_DIR, None
    progress(f"installing matplotlib + mapclassify for the baseline's gdf.explore() into {DEPS_DIR} (once) ...")
    report = run.work / "pip-report.json"
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report), *BASELINE_DEPS],
            check=True,
            capture_output=True,
            timeout=300,
        )
        wanted = [
            f"{i['metadata']['name']}=={i['metadata']['version']}" for i in json.loads(report.read_text())["install"]
        ]
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(DEPS_DIR), *wanted],
            check=True,
            capture_output=True,
            timeout=900,
        )
    except (subprocess.SubprocessError, OSError, KeyError, ValueError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return None, f"could not install matplotlib/mapclassify for gdf.explore(): {exc} {detail[-300:]!r}"
    if subprocess.run([sys.executable, "-c", probe], env=with_deps, capture_output=True, check=False).returncode:
        return None, "matplotlib/mapclassify installed but not importable: the baseline cannot run gdf.explore()"
    return DEPS_DIR, None


# --- the browser side -------------------------------------------------------------------------------------------


@dataclass
class Frame:
    """One websocket frame as Playwright saw it, decoded (Streamlit's BackMsg / ForwardMsg protobufs)."""

    direction: str  # "s" sent by the page, "r" received from the server
    size: int
    kind: str  # BackMsg / ForwardMsg type, e.g. rerun_script, app_heartbeat, delta, script_finished, ref_hash
    detail: str = ""  # for deltas: the element type (component_instance:<name> for the map)
    hash: str = ""
    ref_hash: str = ""
    payload: bytes = field(default=b"", repr=False)  # kept for the wire-size estimate of received frames


def deflated_size(data: bytes) -> int:
    """Bytes of `data` as one permessage-deflate message (raw deflate, sync flush, trailer removed; no context
    takeover, so slightly more than a server that keeps its context would send)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return max(0, len(compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)) - 4)


def decode(direction: str, payload: bytes | str) -> Frame:
    data = payload.encode() if isinstance(payload, str) else payload
    try:
        if direction == "s":
            from streamlit.proto.BackMsg_pb2 import BackMsg

            back = BackMsg.FromString(data)
            return Frame(direction, len(data), back.WhichOneof("type") or "?")
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = ForwardMsg.FromString(data)
        kind = msg.WhichOneof("type") or "?"
        detail = ""
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            detail = element.WhichOneof("type") or ""
            if detail == "component_instance":
                detail += ":" + element.component_instance.component_name
        return Frame(direction, len(data), kind, detail, msg.hash, msg.ref_hash, data)
    except Exception as exc:  # an undecodable frame still counts, by size
        return Frame(direction, len(data), f"undecoded:{type(exc).__name__}", payload=data)


class Probe:
    """A fresh browser context and page on an app: websocket frames, outside requests answered locally."""

    NON_LOCAL = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")

    def __init__(self, browser: Any, url: str, timeout_ms: int) -> None:
        self.url = url
        self.context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
        self.context.add_init_script(INIT_JS)
        self.outside: dict[str, Any] = {"requests": 0, "bytes": 0, "leaflet_served": 0, "urls": []}
        self.context.route(self.NON_LOCAL, self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(timeout_ms)
        self.timeout_ms = timeout_ms
        self._raw: list[tuple[str, bytes | str]] = []  # as Playwright delivers them; decoded on demand
        self._frames: list[Frame] = []
        self.errors: list[str] = []
        self.hash_kinds: dict[str, str] = {}
        self.page.on("websocket", self._on_websocket)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)[:300]))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.context.close()

    # Recording ---------------------------------------------------------------------------------------------

    def _on_websocket(self, ws: Any) -> None:
        if "/_stcore/stream" not in ws.url:
            return
        ws.on("framesent", lambda payload: self._add("s", payload))
        ws.on("framereceived", lambda payload: self._add("r", payload))

    def _add(self, direction: str, payload: bytes | str) -> None:
        self._raw.append((direction, payload))  # cheap: decoding waits until no timing is running

    @property
    def frames(self) -> list[Frame]:
        """Every frame so far, decoded (protobuf parsing happens here, outside the timed windows)."""
        while len(self._frames) < len(self._raw):
            frame = decode(*self._raw[len(self._frames)])
            if frame.hash and frame.detail:
                self.hash_kinds[frame.hash] = frame.detail
            if frame.ref_hash:
                frame.detail = self.hash_kinds.get(frame.ref_hash, "")
            self._frames.append(frame)
        return self._frames

    def compression(self) -> str:
        """The websocket extensions the server agreed to (e.g. permessage-deflate), as the page saw them."""
        return str(self.page.evaluate("() => (window.__bench && window.__bench.extensions) || ''"))

    def wire_size(self, frame: Frame, compressed: bool) -> int:
        """A received frame's bytes on the wire: estimated by deflating it when the server compresses."""
        return deflated_size(frame.payload) if compressed and frame.payload else frame.size

    def _route(self, route: Any) -> None:
        """The baseline's folium asks public CDNs for Leaflet, jQuery, Bootstrap, Font Awesome and OSM tiles:
        unreachable here. Serve Leaflet from the vendored copy and anything else as an empty 200 of the right
        type, so the map draws; count them apart from the app server's bytes."""
        url = route.request.url
        path = url.split("?", 1)[0]
        name = path.rsplit("/", 1)[-1]
        local = None
        if re.search(r"/leaflet(-src)?\.js$", path):
            local = VENDOR / "leaflet.js"
        elif path.endswith("/leaflet.css"):
            local = VENDOR / "leaflet.css"
        elif "/leaflet" in path and "/images/" in path and (VENDOR / "images" / name).is_file():
            local = VENDOR / "images" / name
        content_type = mimetypes.guess_type(name)[0] or "text/plain"
        if content_type == "text/javascript":
            content_type = "application/javascript"
        body = local.read_bytes() if local is not None else b""
        self.outside["requests"] += 1
        self.outside["bytes"] += len(body)
        self.outside["leaflet_served"] += local is not None
        if len(self.outside["urls"]) < 40:
            self.outside["urls"].append(url[:160])
        route.fulfill(status=200, body=body, content_type=content_type, headers={"access-control-allow-origin": "*"})

    # Reading the page ----------------------------------------------------------------------------------------

    def ws_log(self) -> list[list[Any]]:
        """The page's own log of websocket frames: [direction, page time ms, size]."""
        return self.page.evaluate("() => window.__bench ? window.__bench.ws : []")

    def aligned(self) -> list[tuple[Frame, float]]:
        """Playwright's decoded frames with the page's timestamps (same socket, same order: matched by index per
        direction and checked by size). Waits a little for Playwright's events to catch up."""
        for _ in range(20):
            page_log = self.ws_log()
            sent = [e for e in page_log if e[0] == "s"]
            received = [e for e in page_log if e[0] == "r"]
            ours_sent = [f for f in self.frames if f.direction == "s"]
            ours_received = [f for f in self.frames if f.direction == "r"]
            if len(ours_sent) >= len(sent) and len(ours_received) >= len(received):
                break
            self.page.wait_for_timeout(100)
        pairs: list[tuple[Frame, float]] = []
        for mine, theirs in ((ours_sent, sent), (ours_received, received)):
            for frame, entry in zip(mine, theirs, strict=False):
                pairs.append((frame, float(entry[1]) if frame.size == entry[2] else NAN))
        pairs.sort(key=lambda pair: (math.isnan(pair[1]), pair[1]))
        return pairs

    def http_bytes(self, until_epoch_ms: float | None = None) -> dict[str, int]:
        """Bodies the app server sent over HTTP (page and map iframe), by Resource Timing; optionally only those
        finished by an absolute time."""
        total = {"decoded": 0, "transfer": 0, "count": 0}
        for index, frame in enumerate(self.page.frames):
            try:
                entries = frame.evaluate(RESOURCES_JS, index == 0)
            except Exception:  # a detached or foreign frame: nothing of ours to count
                entries = []
            for name, _start, end, decoded, transfer in entries:
                if not str(name).startswith(self.url):
                    continue
                if until_epoch_ms is not None and end > until_epoch_ms:
                    continue
                total["decoded"] += int(decoded or 0)
                total["transfer"] += int(transfer or 0)
                total["count"] += 1
        return total

    def time_origin(self) -> float:
        return float(self.page.evaluate("() => performance.timeOrigin"))

    def wait_drawn(self, expected: int, stable_ms: int, timeout_ms: int | None = None) -> float:
        """Page time at which the map first showed `expected` features (and then kept showing them)."""
        self.page.evaluate("() => { window.__bench.since = null; window.__bench.painted = null; }")
        try:
            handle = self.page.wait_for_function(
                WAIT_JS, arg=[expected, stable_ms], polling="raf", timeout=timeout_ms or self.timeout_ms
            )
        except Exception as exc:
            last = self.page.evaluate("() => window.__bench && window.__bench.last")
            what = {-1: "no map iframe", -2: "no Leaflet map in the iframe", -3: "iframe not readable"}.get(last, last)
            raise TimeoutError(f"the map never showed {expected} features (last seen: {what}): {exc}") from exc
        return float(handle.json_value())

    def wait_quiet(self, quiet_ms: int) -> None:
        """Wait until the app is idle and its websocket has been silent for quiet_ms (no rerun still coming)."""
        self.page.wait_for_function(QUIET_JS, arg=quiet_ms, polling=100, timeout=self.timeout_ms)

    def wait_idle(self, timeout_ms: int | None = None) -> float:
        handle = self.page.wait_for_function(IDLE_JS, polling="raf", timeout=timeout_ms or self.timeout_ms)
        return float(handle.json_value())


def visit(probe: Probe, expected: int, stable_ms: int) -> dict[str, Any]:
    """Open the app in this (fresh) page: time to the map showing every feature and to Streamlit being idle,
    and the bytes the app server sent until the map was drawn."""
    probe.page.goto(probe.url, wait_until="commit")
    drawn = probe.wait_drawn(expected, stable_ms)
    idle = probe.wait_idle()
    origin = probe.time_origin()
    frames = probe.aligned()
    until_drawn = [f for f, t in frames if f.direction == "r" and (math.isnan(t) or t <= drawn + 1)]
    ws_bytes = sum(f.size for f in until_drawn)
    http = probe.http_bytes(origin + drawn + 1)
    extensions = probe.compression()
    wire = sum(probe.wire_size(f, "deflate" in extensions) for f in until_drawn)
    return {
        "ws_extensions": extensions,
        "ws_wire_bytes_estimate": wire,
        "wire_bytes_estimate": wire + http["transfer"],
        "drawn_ms": round(drawn, 1),
        "idle_ms": round(idle, 1),
        "ready_ms": round(max(drawn, idle), 1),
        "ws_bytes": ws_bytes,
        "http_bytes": http["decoded"],
        "http_transfer_bytes": http["transfer"],
        "http_requests": http["count"],
        "bytes": ws_bytes + http["decoded"],
        "map_element_bytes": max((f.size for f, _ in frames if f.detail.endswith("st_folium")), default=0),
    }


def filter_change(probe: Probe, app: AppKind, status: str, remove: bool, expected: int, run: Run) -> dict[str, Any]:
    """Click a status chip's remove button (or pick the status again) and time it until the map shows exactly
    the features of the new filter. Page clock throughout: from the pointerdown to the first moment of the
    stable, expected count."""
    page = probe.page
    page.evaluate("() => { window.__bench.t0 = null; window.__bench.since = null; window.__bench.painted = null; }")
    frames_before = len(probe.frames)
    if remove:
        app.remove(page, status)
    else:
        app.add(page, status)
    since = probe.wait_drawn(expected, run.stable_ms)
    t0 = page.evaluate("() => window.__bench.t0")
    probe.wait_quiet(run.quiet_ms)  # every rerun the change caused has finished
    if not remove:
        page.keyboard.press("Escape")  # close the options list the pick left open
    page.wait_for_timeout(200)
    if t0 is None:
        raise RuntimeError("no pointerdown was seen for the click")
    result: dict[str, Any] = {"ms": round(since - t0, 1), "action": "remove" if remove else "add", "expected": expected}
    # Where the time went, from the decoded websocket frames and the page's timestamps.
    window = [(f, t) for f, t in probe.aligned() if not math.isnan(t) and t >= t0 - 1]
    new_frames = probe.frames[frames_before:]
    result["sent_frames"] = sum(1 for f in new_frames if f.direction == "s")
    result["rerun_requests"] = sum(1 for f in new_frames if f.kind == "rerun_script")
    result["received_bytes"] = sum(f.size for f in new_frames if f.direction == "r")
    sent_at = next((t for f, t in window if f.kind == "rerun_script"), None)
    map_at, map_cached, map_bytes = None, None, 0
    for f, t in window:
        if sent_at is not None and t >= sent_at and f.direction == "r" and f.detail.endswith("st_folium"):
            map_at, map_cached, map_bytes = t, bool(f.ref_hash), f.size
            break
    finished_at = next(
        (t for f, t in window if sent_at is not None and t >= sent_at and f.kind == "script_finished"), None
    )
    if sent_at is not None:
        result["click_to_request_ms"] = round(sent_at - t0, 1)
        if map_at is not None:
            result["request_to_map_element_ms"] = round(map_at - sent_at, 1)
            result["map_element_to_drawn_ms"] = round(since - map_at, 1)
            result["map_element_cached"] = map_cached  # the browser had it: the server sent a reference only
            result["map_element_bytes"] = map_bytes
        if finished_at is not None:
            result["request_to_script_finished_ms"] = round(finished_at - sent_at, 1)
    return result


def pans_and_zooms(probe: Probe, run: Run) -> dict[str, Any]:
    """After the map is idle: `run.pans` drags and wheel zooms on the map; count the script reruns they cause.

    Each rerun request is one frame the page sends (a BackMsg `rerun_script`, decoded to be sure). Frames the
    page sends on its own (heartbeats) are measured over an idle period first and subtracted from the raw count."""
    page = probe.page
    iframe = page.locator(MAP_IFRAME).last
    iframe.scroll_into_view_if_needed()
    probe.wait_quiet(run.quiet_ms)
    box = iframe.bounding_box()
    if not box:
        raise RuntimeError("the map iframe has no box on the page")
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    mark = len(probe.frames)
    started = time.monotonic()
    page.wait_for_timeout(run.idle_ms)
    idle_s = time.monotonic() - started
    idle = probe.frames[mark:]
    mark = len(probe.frames)
    started = time.monotonic()
    actions = []
    for index in range(run.pans):
        step = index % 5
        if step in (2, 4):  # wheel: zoom in, later out again
            page.mouse.move(cx, cy)
            page.mouse.wheel(0, -360 if step == 2 else 360)
            actions.append("zoom in" if step == 2 else "zoom out")
        else:
            dx, dy = {0: (140, 60), 1: (-120, -90), 3: (-30, 110)}[step]
            page.mouse.move(cx, cy)
            page.mouse.down()
            page.mouse.move(cx + dx, cy + dy, steps=10)
            page.mouse.up()
            actions.append("drag")
        page.wait_for_timeout(600)  # longer than streamlit-folium's 250 ms debounce: each action counts alone
    page.wait_for_timeout(800)
    probe.wait_quiet(run.quiet_ms)  # the reruns the actions caused have finished
    window_s = time.monotonic() - started
    window = probe.frames[mark:]
    idle_sent = sum(1 for f in idle if f.direction == "s")
    sent = sum(1 for f in window if f.direction == "s")
    heartbeats = idle_sent / idle_s * window_s if idle_s > 0 else 0.0
    return {
        "actions": actions,
        "rerun_requests": sum(1 for f in window if f.kind == "rerun_script"),
        "sent_frames": sent,
        "sent_frames_minus_idle_rate": round(max(0.0, sent - heartbeats), 1),
        "idle_sent_frames": idle_sent,
        "idle_seconds": round(idle_s, 1),
        "window_seconds": round(window_s, 1),
        "sent_kinds": sorted({f.kind for f in window if f.direction == "s"}),
        "scripts_finished": sum(1 for f in window if f.kind == "script_finished"),
        "received_bytes": sum(f.size for f in window if f.direction == "r"),
    }


def measure_app(browser: Any, app: AppKind, url: str, data_dir: Path, features: int, run: Run, plan: Plan) -> dict:
    """Everything the browser measures on one running app over one dataset."""
    everything = frozenset(synthetic.STATUSES)
    without = everything - {REMOVED_STATUS}
    expected_all = app.expected(data_dir, everything)
    expected_without = app.expected(data_dir, without)
    timeout = run.timeout_ms(features)
    out: dict[str, Any] = {"expected_all": expected_all, "expected_filtered": expected_without, "errors": []}

    probe = Probe(browser, url, timeout)
    try:
        progress(f"    first visit (expects {expected_all} features) ...")
        try:
            out["first_visit"] = visit(probe, expected_all, run.stable_ms)
            probe.wait_quiet(run.quiet_ms)
        except Exception as exc:  # without a drawn map nothing else can be measured on this app
            out["errors"].append(f"first visit: {exc}")
            return out
        samples: list[dict[str, Any]] = []
        try:
            for index in range(plan.repeats):
                if index:
                    progress(f"    filter: add {app.chip(REMOVED_STATUS)} back ...")
                    samples.append(filter_change(probe, app, REMOVED_STATUS, False, expected_all, run))
                progress(f"    filter: remove {app.chip(REMOVED_STATUS)} ({index + 1}/{plan.repeats}) ...")
                samples.append(filter_change(probe, app, REMOVED_STATUS, True, expected_without, run))
        except Exception as exc:
            out["errors"].append(f"filter: {exc}")
        removes = [s for s in samples if s["action"] == "remove"]
        adds = [s for s in samples if s["action"] == "add"]
        if removes:
            out["filter"] = {
                "median_ms": round(median([s["ms"] for s in removes]), 1),
                "first_ms": removes[0]["ms"],
                "add_back_median_ms": round(median([s["ms"] for s in adds]), 1) if adds else None,
                "click_sends_a_frame": all(s["sent_frames"] >= 1 for s in samples),
                "samples": samples,
            }
        if plan.pans:
            progress(f"    {run.pans} pans and zooms ...")
            try:
                out["pans"] = pans_and_zooms(probe, run)
            except Exception as exc:
                out["errors"].append(f"pans: {exc}")
        out["outside_requests"] = probe.outside
        out["page_errors"] = probe.errors[:10]
    finally:
        probe.close()

    if plan.cold:
        colds = []
        for index in range(run.repeats):
            progress(f"    cold start {index + 1}/{run.repeats} ...")
            cold = Probe(browser, url, timeout)
            try:
                colds.append(visit(cold, expected_all, run.stable_ms))
            except Exception as exc:
                out["errors"].append(f"cold start: {exc}")
                break
            finally:
                cold.close()
        if colds:
            out["cold_start"] = {
                "median_ms": round(median([c["ready_ms"] for c in colds]), 1),
                "samples_ms": [c["ready_ms"] for c in colds],
                "drawn_ms": [c["drawn_ms"] for c in colds],
            }
    return out


# --- in-process -------------------------------------------------------------------------------------------------


def inprocess(arguments: list[str], deps: Path | None, timeout_s: float) -> dict[str, Any]:
    env = {**os.environ, "MPLCONFIGDIR": str(RESULTS_DIR / "logs" / "mpl")}
    if deps is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(deps), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "inprocess.py"), *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"inprocess.py {' '.join(arguments[:2])} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- orchestration ----------------------------------------------------------------------------------------------


def measure_dataset(
    browser: Any | None, name: str, data_dir: Path, features: int, run: Run, deps: Path | None, plan: Plan
) -> dict[str, Any]:
    entry: dict[str, Any] = {"dataset": name, "parcels": features, "apps": {}}
    for app in (OURS, BASELINE):
        if app.name not in plan.apps:
            continue
        result: dict[str, Any] = {"errors": []}
        entry["apps"][app.name] = result
        if app is BASELINE and run.baseline_problem:
            result["errors"].append(f"skipped: {run.baseline_problem}")
            continue
        if app.name in run.broken:
            result["errors"].append(f"skipped: it failed on a smaller dataset ({run.broken[app.name][:200]})")
            continue
        if plan.inprocess:
            progress(f"  [{name}] {app.name}: in-process map build ...")
            try:
                result["inprocess"] = inprocess(
                    ["build", "--app", app.name, "--data", str(data_dir), "--remove", REMOVED_STATUS],
                    deps if app is BASELINE else None,
                    timeout_s=120 + features * 0.03,
                )
            except Exception as exc:
                result["errors"].append(f"in-process: {exc}")
                log(f"    in-process build failed: {str(exc)[-600:]}")
        if browser is None:
            continue
        progress(f"  [{name}] {app.name}: starting the server ...")
        try:
            starter = (
                harness.running_app(data_dir, run.logs) if app is OURS else running_baseline(data_dir, run.logs, deps)
            )
            with starter as server:
                try:
                    result["browser"] = measure_app(browser, app, server.url, data_dir, features, run, plan)
                    result["errors"] += result["browser"].get("errors", [])
                    if "first_visit" not in result["browser"]:
                        run.broken[app.name] = "; ".join(result["browser"].get("errors", []))
                    if result["browser"].get("errors"):
                        for error in result["browser"]["errors"]:
                            log(f"    FAILED: {str(error)[:2000]}")
                        log(f"    --- server log ({server.log_path}) ---\n{server.log()[-4000:]}")
                except Exception as exc:
                    result["errors"].append(f"browser: {exc}")
                    run.broken[app.name] = str(exc)[:200]
                    log(f"    FAILED: {str(exc)[:2000]}")
                    log(f"    --- server log ({server.log_path}) ---\n{server.log()[-4000:]}")
        except Exception as exc:
            result["errors"].append(f"server: {exc}")
            run.broken[app.name] = f"the server did not start: {str(exc)[:200]}"
            log(f"    the server did not start: {str(exc)[-3000:]}")
    return entry


def upload_benchmark(run: Run) -> dict[str, Any]:
    n = run.upload_size
    data_dir = run.work / f"upload-{size_label(n)}"
    progress(f"  [upload] preparing a store with {n} parcels and an upload with changes ...")
    synthetic.make_data_dir(data_dir, n)
    upload_file = synthetic.write_geojson(run.work / f"upload-{size_label(n)}.geojson", synthetic.upload_variant(n))
    progress("  [upload] timing preview (read + validate + normalise + diff) against a bare pyogrio read ...")
    return inprocess(
        ["upload", "--data", str(data_dir), "--file", str(upload_file), "--repeats", str(run.repeats)],
        None,
        timeout_s=300 + n * 0.05,
    )


def run_all(run: Run, results: dict[str, Any]) -> None:
    run.work.mkdir(parents=True, exist_ok=True)
    run.logs.mkdir(parents=True, exist_ok=True)
    setup_started = time.monotonic()
    deps, problem = ensure_baseline_deps(run)
    results["meta"]["baseline_deps_setup_s"] = round(time.monotonic() - setup_started, 1)
    if problem:
        run.baseline_problem = problem
        run.notes.append(problem)
        log(f"NOTE: {problem}")
    results["meta"]["baseline_deps"] = str(deps) if deps else "venv"

    browser_cm: Any = contextlib.nullcontext(None)
    if Path(harness.CHROMIUM).exists():
        from playwright.sync_api import sync_playwright

        browser_cm = sync_playwright()
    else:
        run.notes.append(f"{harness.CHROMIUM} is missing: no browser figures (apt-get install chromium)")
    with browser_cm as playwright:
        browser = None
        if playwright is not None:
            browser = playwright.chromium.launch(executable_path=harness.CHROMIUM, args=harness.CHROMIUM_ARGS)
            results["meta"]["chromium"] = browser.version
        try:
            for name, n, plan in plans(run):
                if n:
                    progress(f"[{name}] {n} synthetic parcels ...")
                    fc = synthetic.parcels(n)
                    shape = synthetic.check(fc)
                    data_dir = synthetic.copy_geodata(run.work / f"n{n}")
                    synthetic.publish_layer(data_dir, fc, f"benchmark: {n} synthetic parcels")
                    del fc
                else:
                    progress(f"[{name}] the shipped geodata (a private copy) ...")
                    shape, data_dir = None, synthetic.copy_geodata(run.work / name)
                entry = measure_dataset(browser, name, data_dir, n, run, deps, plan)
                entry["shape"] = shape
                results["datasets"].append(entry)
                if not run.keep:
                    shutil.rmtree(data_dir, ignore_errors=True)
        finally:
            if browser is not None:
                browser.close()
    if not run.upload:
        return
    try:
        results["upload"] = upload_benchmark(run)
    except Exception as exc:
        results["upload"] = {"error": str(exc)}
        log(f"  upload benchmark failed: {str(exc)[-2000:]}")


# --- report -----------------------------------------------------------------------------------------------------


def dig(data: Any, *keys: Any) -> Any:
    for key in keys:
        if data is None:
            return None
        data = data.get(key) if isinstance(data, dict) else None
    return data


def num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and value is not None else NAN


def headline(results: dict[str, Any], run: Run) -> dict[str, float]:
    datasets = {d["dataset"]: d for d in results.get("datasets", [])}
    largest = datasets.get(size_label(run.sizes[-1])) if run.sizes else None
    ours = dig(largest, "apps", "ours", "browser")
    base = dig(largest, "apps", "baseline", "browser")
    ours_bytes, base_bytes = num(dig(ours, "first_visit", "bytes")), num(dig(base, "first_visit", "bytes"))
    pans = dig(ours, "pans")
    upload = results.get("upload") or {}
    return {
        "filter_ms_shipped": num(dig(datasets.get("shipped"), "apps", "ours", "browser", "filter", "median_ms")),
        "filter_ms_50k": num(dig(ours, "filter", "median_ms")),
        "baseline_filter_ms_50k": num(dig(base, "filter", "median_ms")),
        "payload_ratio_50k": ours_bytes / base_bytes if base_bytes and not math.isnan(base_bytes) else NAN,
        "pan_reruns": num(pans.get("rerun_requests")) if pans else NAN,
        "validate_ratio_20k": num(upload.get("ratio")),
        "cold_start_ms": num(dig(ours, "cold_start", "median_ms")),
    }


def target_text(key: str) -> str:
    op, value, unit = TARGETS[key]
    if op is None:
        return "(no target)"
    shown = f"{value:g}" + (f" {unit}" if unit == "ms" else unit)
    return {"<=": "≤ ", ">=": "≥ ", "==": "= "}[op] + shown


def meets(key: str, value: float) -> str:
    op, target, _ = TARGETS[key]
    if op is None:
        return ""
    if math.isnan(value):
        return "not measured"
    ok = {"<=": value <= target, ">=": value >= target, "==": value == target}[op]
    return "meets target" if ok else "misses target"


def ms(value: Any) -> str:
    return fmt(num(value), "ms")


def mb(value: Any) -> str:
    value = num(value)
    return "nan" if math.isnan(value) else f"{value / 1e6:,.2f} MB"


def print_report(results: dict[str, Any], run: Run, head: dict[str, float]) -> None:
    largest = size_label(run.sizes[-1]) if run.sizes else "?"
    by_name = {d["dataset"]: d for d in results.get("datasets", [])}
    width = 124
    meta_ = results["meta"]
    mode = f"QUICK run: the '50k' figures are measured at {largest} parcels" if run.quick else "full run"
    log("")
    log("=" * width)
    log(f"Planning map vs naive baseline — {mode}")
    chromium = meta_.get("chromium", "-")
    log(f"{meta_.get('date')} · {meta_.get('cpu')} · commit {meta_.get('commit')} · Chromium {chromium}")
    log("=" * width)
    log("In the browser (Chromium, 1600x1000; medians of the samples):")
    header = (
        f"{'data':<8}{'app':<9}{'features':>9}{'first visit':>13}{'cold start':>12}{'bytes':>11}{'≈wire':>11}"
        f"{'filter→map':>12}{'1st':>9}{'add back':>10}{'reruns/pans':>13}"
    )
    log(header)
    log("-" * len(header))
    for entry in results.get("datasets", []):
        for name, app in entry["apps"].items():
            b = app.get("browser") or {}
            pans = b.get("pans")
            log(
                f"{entry['dataset']:<8}{name:<9}{fmt(b.get('expected_all')):>9}"
                f"{ms(dig(b, 'first_visit', 'ready_ms')):>13}{ms(dig(b, 'cold_start', 'median_ms')):>12}"
                f"{mb(dig(b, 'first_visit', 'bytes')):>11}{mb(dig(b, 'first_visit', 'wire_bytes_estimate')):>11}"
                f"{ms(dig(b, 'filter', 'median_ms')):>12}{fmt(num(dig(b, 'filter', 'first_ms'))):>9}"
                f"{fmt(num(dig(b, 'filter', 'add_back_median_ms'))):>10}"
                f"{(str(pans['rerun_requests']) + '/' + str(len(pans['actions']))) if pans else '-':>13}"
            )
            for error in app.get("errors", []):
                log(f"{'':<17}! {str(error).splitlines()[0][:150]}")
    log("")
    log("In-process (AppTest, no browser), the rerun after removing the status:")
    header = f"{'data':<8}{'app':<9}{'script run':>12}{'map build':>11}{'st_folium':>11}{'map args':>11}"
    log(header)
    log("-" * len(header))
    for entry in results.get("datasets", []):
        for name, app in entry["apps"].items():
            ip = dig(app, "inprocess", "filtered")
            if ip:
                log(
                    f"{entry['dataset']:<8}{name:<9}{ms(ip.get('script_ms')):>12}{ms(ip.get('build_ms')):>11}"
                    f"{ms(ip.get('render_ms')):>11}{mb(ip.get('map_args_bytes')):>11}"
                )
    upload = results.get("upload") or {}
    log("")
    if "ratio" in upload:
        log(
            f"Upload of {fmt(upload['features'])} features ({mb(upload['file_bytes'])}): preview "
            f"{ms(upload['preview_ms'])} (read+validate {ms(dig(upload, 'stages_ms', 'read_upload'))}, diff "
            f"{ms(dig(upload, 'stages_ms', 'diff_collections'))}) vs bare pyogrio read {ms(upload['bare_read_ms'])}"
        )
        log(f"  diff found {upload.get('diff')}; upload ok={upload.get('ok')}")
    elif upload.get("error"):
        log(f"Upload: ! {upload['error'].splitlines()[0][:150]}")
    log("")
    for line in (
        "first visit  a new page on a just-started server until the map shows every feature and Streamlit is idle",
        "cold start   the same in a fresh browser on the warm server (median of the samples)",
        "bytes        websocket payloads + HTTP bodies from the app server until the map is drawn (≈wire: compressed)",
        "filter→map   click on the status chip's remove button until the map shows the new set, painted (median",
        "             of the removals; 1st: the first one, never from the browser's message cache; add back:",
        "             re-picking it)",
        "reruns/pans  script reruns caused by drags and wheel zooms on the map",
    ):
        log(line)
    log("")
    speedup = head["baseline_filter_ms_50k"] / head["filter_ms_50k"] if head["filter_ms_50k"] else NAN
    at = f" (measured at {largest})" if run.quick else ""
    ours_big = dig(by_name.get(largest), "apps", "ours", "browser")
    base_big = dig(by_name.get(largest), "apps", "baseline", "browser")
    wire_ours, wire_base = (
        num(dig(ours_big, "first_visit", "wire_bytes_estimate")),
        num(dig(base_big, "first_visit", "wire_bytes_estimate")),
    )
    rows = [
        ("filter_ms_shipped", "filter → map, shipped data, ours", head["filter_ms_shipped"], "ms", ""),
        ("filter_ms_50k", f"filter → map, 50k parcels{at}, ours", head["filter_ms_50k"], "ms", ""),
        (
            "speedup_50k",
            "  baseline / ours (baseline: " + ms(head["baseline_filter_ms_50k"]) + ")",
            speedup,
            "x",
            "",
        ),
        (
            "payload_ratio_50k",
            f"bytes to draw the map, ours / baseline{at}",
            head["payload_ratio_50k"],
            "",
            f"≈wire: {wire_ours / wire_base:.2f}" if wire_base and not math.isnan(wire_base) else "",
        ),
        ("pan_reruns", f"reruns for {run.pans} pans/zooms, ours{at}", head["pan_reruns"], "", ""),
        (
            "validate_ratio_20k",
            f"upload validate+diff / bare read, {size_label(run.upload_size)} features",
            head["validate_ratio_20k"],
            "x",
            "",
        ),
        ("cold_start_ms", f"cold start to map drawn + idle, ours{at}", head["cold_start_ms"], "ms", ""),
    ]
    log(f"{'figure':<62}{'value':>12}  {'target':<12}")
    log("-" * 100)
    for key, text, value, unit, extra in rows:
        digits = 2 if unit in ("x", "") and key != "pan_reruns" else 0
        shown = fmt(value, unit if unit == "ms" else "", digits) + (unit if unit == "x" else "")
        log(f"{text:<62}{shown:>12}  {target_text(key):<12}{meets(key, value):<15}{extra}")
    base_pans = dig(base_big, "pans")
    if base_pans:
        log(f"{'  the baseline, for the same pans/zooms':<62}{base_pans['rerun_requests']:>12}")
    for note in run.notes:
        log(f"NOTE: {note}")


def meta(run: Run) -> dict[str, Any]:
    def version(package: str) -> str:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as v

        try:
            return v(package)
        except PackageNotFoundError:
            return "-"

    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = bool(
        subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False).stdout
    )
    return {
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": "quick" if run.quick else "full",
        "sizes": list(run.sizes),
        "upload_size": run.upload_size,
        "repeats": run.repeats,
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "commit": commit + ("+changes" if dirty else ""),
        "versions": {p: version(p) for p in ("streamlit", "streamlit-folium", "folium", "geopandas", "playwright")},
    }


def parse(argv: list[str] | None) -> Run:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (200 and 2,500 parcels), < 3 minutes")
    parser.add_argument("--out", type=Path, default=None, help="write every figure as JSON here")
    parser.add_argument("--sizes", type=str, default=None, help="parcel counts, e.g. 1000,10000,50000")
    parser.add_argument("--repeats", type=int, default=3, help="samples per timing (median reported)")
    parser.add_argument("--apps", type=str, default="ours,baseline", help="which apps to measure")
    parser.add_argument("--no-shipped", action="store_true", help="skip the shipped-data dataset")
    parser.add_argument("--no-upload", action="store_true", help="skip the upload benchmark")
    parser.add_argument("--keep", action="store_true", help="keep the generated data directories")
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else (QUICK_SIZES if args.quick else FULL_SIZES)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    work = Path(tempfile.mkdtemp(prefix="urban-plan-bench-"))
    return Run(
        quick=args.quick,
        sizes=tuple(sorted(sizes)),
        upload_size=QUICK_UPLOAD if args.quick else FULL_UPLOAD,
        repeats=max(1, args.repeats),
        stable_ms=300 if args.quick else 400,
        quiet_ms=1000 if args.quick else 1500,
        pans=10,
        idle_ms=2000 if args.quick else 5000,
        out=args.out or RESULTS_DIR / f"results-{'quick' if args.quick else 'full'}-{stamp}.json",
        logs=RESULTS_DIR / "logs" / stamp,
        work=work,
        keep=args.keep,
        apps=tuple(a.strip() for a in args.apps.split(",") if a.strip()),
        shipped=not args.no_shipped,
        upload=not args.no_upload,
    )


def main(argv: list[str] | None = None) -> int:
    run = parse(argv)
    started = time.monotonic()
    results: dict[str, Any] = {"meta": meta(run), "datasets": [], "upload": None, "notes": run.notes}
    mode = results["meta"]["mode"]
    log(f"benchmark ({mode}): sizes {list(run.sizes)}, upload {run.upload_size}, work dir {run.work}")
    try:
        run_all(run, results)
    except KeyboardInterrupt:
        run.notes.append("interrupted")
        raise
    except Exception as exc:
        run.notes.append(f"the benchmark stopped early: {type(exc).__name__}: {str(exc)[:300]}")
        traceback.print_exc()
    finally:
        head = {key: NAN for key in RESULT_KEYS}
        try:
            head = headline(results, run)
            results["meta"]["duration_s"] = round(time.monotonic() - started, 1)
            results["meta"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
            busiest = max(results["meta"]["load_average_at_start"][0], results["meta"]["load_average_at_end"][0])
            if busiest > (os.cpu_count() or 1):
                run.notes.append(
                    f"the machine was busy with other work (load average {busiest:.1f} on {os.cpu_count()} cores): "
                    "the timings are noisy; re-run on a quiet machine"
                )
            results["result"] = {k: (None if math.isnan(v) else v) for k, v in head.items()}
            run.out.parent.mkdir(parents=True, exist_ok=True)
            run.out.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
            print_report(results, run, head)
            log(f"run time {results['meta']['duration_s']:.0f} s; every figure in {run.out}")
        except Exception as exc:  # the RESULT line is printed whatever happened above
            traceback.print_exc()
            print(f"NOTE: the report failed: {exc}", flush=True)
        if not run.keep:
            shutil.rmtree(run.work, ignore_errors=True)
        print(result_line(head), flush=True)
    return 0


def result_line(head: dict[str, float]) -> str:
    parts = []
    for key in RESULT_KEYS:
        value = head.get(key, NAN)
        if value is None or math.isnan(value):
            parts.append(f"{key}=nan")
        elif key == "pan_reruns":
            parts.append(f"{key}={int(value)}")
        elif key in ("payload_ratio_50k", "validate_ratio_20k"):
            parts.append(f"{key}={value:.3f}")
        else:
            parts.append(f"{key}={value:.1f}")
    return "RESULT " + " ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
