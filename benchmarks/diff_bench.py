"""Cost of the "metres moved" diff for big changed shapes, and whether it holds up other writers (prints figures)."""

from __future__ import annotations

import argparse
import copy
import math
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from urban_plan import diff, store  # noqa: E402  (after the path set-up: runs without installing the package)
from urban_plan.datum import from_gauss_kruger_4548, gauss_kruger_4548  # noqa: E402

EDITOR = store.Actor("bench", "editor")
CENTRE = gauss_kruger_4548(117.17, 36.98)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vertices", default="5000,20000,40000", help="polygon sizes, comma-separated")
    parser.add_argument("--points", type=int, default=200_000, help="MultiPoint size (the report: 1,800,000)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.vertices.split(",") if n]

    print("diff of one changed shape (diff.diff_collections, seconds; moved_m in metres):")
    for n in sizes:
        old = polygon(ring(n))
        shifted = polygon(ring(n, dx=60, dy=80))  # rigid shift: exact 100 m
        redrawn = polygon(ring(n - 1, radius=530, dx=100))  # other vertices: the bounded estimate (truth 130 m)
        for label, new in (("shifted 100 m", shifted), ("redrawn, 130 m", redrawn)):
            seconds, change = timed_diff(old, new)
            rough = " (approx.)" if change.moved_approximate else ""
            print(f"  polygon {n:>9,} vertices, {label:<15} {seconds:6.2f} s  moved {change.moved_m:8.1f}{rough}")
    old = {"type": "MultiPoint", "coordinates": cloud(args.points)}
    new = {"type": "MultiPoint", "coordinates": cloud(args.points, dx=100)}
    seconds, change = timed_diff(old, new)
    print(f"  multipoint {args.points:>6,} points, shifted 100 m   {seconds:6.2f} s  moved {change.moved_m:8.1f}")

    print("a small publish on another layer while a big change is being published (seconds):")
    big = max(sizes)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(ROOT / "geodata", data, ignore=shutil.ignore_patterns(".lock"))
        alone = small_publish(store.FileLayerStore(data))
        store.FileLock = TimedLock  # type: ignore[misc]
        waited, big_total = publish_while_big(data, big)
    print(f"  small publish on its own:                                   {alone:6.2f} s")
    print(f"  big publish ({big:,}-vertex shape changed, diff included): {big_total:6.2f} s")
    print(f"  the small publish again, started 0.1 s into the big one:    {waited:6.2f} s")
    held, wait = TimedLock.held.get("big", math.nan), TimedLock.waited.get("MainThread", math.nan)
    print(f"  writers' lock held by the big publish: {held:.2f} s; the small one waited for it: {wait:.2f} s")
    print("  (same process: the two share one GIL, as Streamlit sessions do; before the fix the small one waited")
    print("   for the big one's diff under the writers' lock)")
    return 0


def timed_diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[float, diff.FeatureChange]:
    started = time.perf_counter()
    (change,) = diff.diff_collections(fc(old), fc(new)).changed
    return time.perf_counter() - started, change


class TimedLock(store.FileLock):  # type: ignore[misc,valid-type]
    """The writers' lock, timing how long each thread waited for it and held it."""

    held: ClassVar[dict[str, float]] = {}
    waited: ClassVar[dict[str, float]] = {}

    def __enter__(self) -> TimedLock:
        started = time.perf_counter()
        super().__enter__()
        self._got = time.perf_counter()
        TimedLock.waited[threading.current_thread().name] = self._got - started
        return self

    def __exit__(self, *exc: object) -> None:
        TimedLock.held[threading.current_thread().name] = time.perf_counter() - self._got
        super().__exit__(*exc)


def publish_while_big(data: Path, vertices: int) -> tuple[float, float]:
    """Seconds a small publish on `roads` took while `layout` got a changed `vertices`-vertex polygon."""
    writer = store.FileLayerStore(data)
    layout = writer.load("layout")
    layout["features"][0]["geometry"] = polygon(ring(vertices))
    base = writer.publish("layout", layout, actor=EDITOR, base_version=writer.latest("layout").number)
    changed = copy.deepcopy(layout)
    changed["features"][0]["geometry"] = polygon(ring(vertices - 1, radius=530, dx=100))
    timings: dict[str, float] = {}

    def big_publish() -> None:
        started = time.perf_counter()
        writer.publish("layout", changed, actor=EDITOR, base_version=base.number)
        timings["big"] = time.perf_counter() - started

    thread = threading.Thread(target=big_publish, name="big")
    thread.start()
    time.sleep(0.1)
    waited = small_publish(store.FileLayerStore(data))  # another session
    thread.join()
    return waited, timings["big"]


def small_publish(other: store.FileLayerStore) -> float:
    roads = other.load("roads")
    roads["features"][0]["properties"]["note"] = f"small edit {time.time()}"
    started = time.perf_counter()
    other.publish("roads", roads, actor=EDITOR, base_version=other.latest("roads").number)
    return time.perf_counter() - started


def ring(n: int, *, radius: float = 500.0, dx: float = 0.0, dy: float = 0.0) -> list[list[float]]:
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    lon, lat = from_gauss_kruger_4548(
        CENTRE[0] + radius * np.cos(angles) + dx, CENTRE[1] + radius * np.sin(angles) + dy
    )
    coords = np.round(np.column_stack([lon, lat]), 7).tolist()
    return [*coords, coords[0]]


def cloud(n: int, *, dx: float = 0.0) -> list[list[float]]:
    rng = np.random.default_rng(1)
    x = CENTRE[0] + rng.uniform(-800, 800, n) + dx
    y = CENTRE[1] + rng.uniform(-800, 800, n)
    lon, lat = from_gauss_kruger_4548(x, y)
    return np.column_stack([lon, lat]).tolist()


def polygon(coords: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [coords]}


def fc(geometry: dict[str, Any]) -> dict[str, Any]:
    feature = {"type": "Feature", "properties": {"id": "f", "name_zh": "甲"}, "geometry": geometry}
    return {"type": "FeatureCollection", "features": [feature]}


if __name__ == "__main__":
    raise SystemExit(main())
