"""In-process measurements, each run by `run.py` in a fresh interpreter (clean caches, bounded by a timeout).

    python benchmarks/inprocess.py build --app ours --data DIR --remove planned
    python benchmarks/inprocess.py upload --data DIR --file upload.geojson --repeats 3

`build` runs the real page script with Streamlit's AppTest (no browser): once to load, once after removing a
status from the status filter, exactly as a user's click would. It times the whole script run, the map
building functions (when they exist under these names: the figures stay measurable while the app changes),
the `st_folium` call (folium render + the JavaScript strings streamlit-folium makes), and the size of the
arguments the map component would send to the browser.

`upload` times `publishing.preview` (read, validate, normalise, diff against the current version) against a bare
`pyogrio.read_dataframe` of the same file. Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASELINE_SCRIPT = ROOT / "benchmarks" / "baseline_app.py"


def _timed(owner: Any, name: str, bucket: list[float]) -> bool:
    """Wrap owner.name so each call adds its duration to bucket; False if there is no such function."""
    original = getattr(owner, name, None)
    if not callable(original):
        return False

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            bucket.append(time.perf_counter() - start)

    setattr(owner, name, wrapper)
    return True


def build(app: str, data: str, remove: str, timeout: float) -> dict[str, Any]:
    os.chdir(ROOT)
    for path in (str(ROOT), str(ROOT / "src")):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ["URBAN_PLAN_DATA_DIR" if app == "ours" else "BENCH_DATA_DIR"] = data

    import streamlit_folium
    from streamlit.testing.v1 import AppTest

    calls: list[dict[str, Any]] = []
    real_component = streamlit_folium._component_func

    def capture(**kwargs: Any) -> Any:
        calls.append({k: v for k, v in kwargs.items() if k != "on_change"})
        return real_component(**kwargs)

    streamlit_folium._component_func = capture
    render: list[float] = []
    _timed(streamlit_folium, "st_folium", render)
    building: list[float] = []
    wrapped: list[str] = []
    if app == "ours":
        from urban_plan import mapping

        for name in ("base_map", "overlay_groups", "changes_group"):
            if _timed(mapping, name, building):
                wrapped.append(f"urban_plan.mapping.{name}")
        script = ROOT / "app.py"
    else:
        import geopandas

        if _timed(geopandas.GeoDataFrame, "explore", building):
            wrapped.append("GeoDataFrame.explore")
        script = BASELINE_SCRIPT

    def run(action: Callable[[], Any]) -> dict[str, Any]:
        calls.clear()
        render.clear()
        building.clear()
        start = time.perf_counter()
        at_ = action()
        total = time.perf_counter() - start
        if at_.exception:
            raise RuntimeError("; ".join(str(e.value)[:300] for e in at_.exception))
        args = calls[-1] if calls else None
        size = len(json.dumps(args, default=str).encode()) if args else None
        return {
            "script_ms": round(total * 1000, 1),
            "build_ms": round(sum(building) * 1000, 1) if wrapped else None,
            "render_ms": round(sum(render) * 1000, 1) if render else None,
            "map_ms": round((sum(building) + sum(render)) * 1000, 1) if render else None,
            "map_args_bytes": size,
            "map_args_parts": {k: len(v) for k, v in (args or {}).items() if isinstance(v, str) and len(v) > 1000},
        }

    at = AppTest.from_file(str(script), default_timeout=timeout)
    first = run(at.run)
    # The status filter: the multiselect that currently has `remove` among its chosen values.
    widgets = [m for m in at.multiselect if remove in [str(v) for v in m.value]]
    if not widgets:
        raise RuntimeError(f"no multiselect with {remove!r} chosen: {[m.label for m in at.multiselect]}")
    widget = widgets[0]
    filtered = run(lambda: widget.unselect(remove).run())
    return {"first": first, "filtered": filtered, "wrapped": wrapped}


def upload(data: str, file: str, repeats: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "src"))
    import pyogrio

    from urban_plan import ingest, publishing
    from urban_plan.store import FileLayerStore

    store = FileLayerStore(data)
    payload = Path(file).read_bytes()
    name = Path(file).name

    def preview() -> Any:
        return publishing.preview(store, name, payload, ingest.Options("projects"))

    def bare() -> Any:
        return pyogrio.read_dataframe(file)

    def median_ms(fn: Callable[[], Any]) -> tuple[float, list[float], Any]:
        result = fn()  # warm-up: imports, caches (the district boundary, transformers)
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = fn()
            samples.append((time.perf_counter() - start) * 1000)
        return statistics.median(samples), [round(s, 1) for s in samples], result

    bare_ms, bare_samples, frame = median_ms(bare)
    preview_ms, preview_samples, item = median_ms(preview)
    # Where preview's time goes (one more run of each stage, for the report).
    start = time.perf_counter()
    result = ingest.read_upload(name, payload, ingest.Options("projects"))
    read_upload_ms = (time.perf_counter() - start) * 1000
    from urban_plan import diff

    old = store.load("projects")
    start = time.perf_counter()
    diff.diff_collections(old, result.collection)
    diff_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    store.load("projects")
    load_ms = (time.perf_counter() - start) * 1000
    return {
        "features": len(frame),
        "file_bytes": len(payload),
        "bare_read_ms": round(bare_ms, 1),
        "bare_read_samples": bare_samples,
        "preview_ms": round(preview_ms, 1),
        "preview_samples": preview_samples,
        "ratio": round(preview_ms / bare_ms, 2),
        "ok": bool(item.result.ok),
        "errors": len(item.result.errors),
        "warnings": len(item.result.warnings),
        "diff": item.diff.counts() if item.diff else None,
        "stages_ms": {
            "read_upload": round(read_upload_ms, 1),
            "load_current_version": round(load_ms, 1),
            "diff_collections": round(diff_ms, 1),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--app", choices=("ours", "baseline"), required=True)
    b.add_argument("--data", required=True)
    b.add_argument("--remove", default="planned")
    b.add_argument("--timeout", type=float, default=600)
    u = sub.add_parser("upload")
    u.add_argument("--data", required=True)
    u.add_argument("--file", required=True)
    u.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.command == "build":
        out = build(args.app, args.data, args.remove, args.timeout)
    else:
        out = upload(args.data, args.file, args.repeats)
    sys.stdout.write("\n" + json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
