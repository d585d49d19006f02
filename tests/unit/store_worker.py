"""A writer for the store's concurrency tests, run as a subprocess (or imported for the in-process variants).

python store_worker.py race ROOT LAYER WORKER COUNT JITTER_MS
    prints "ready", waits for a line on stdin, then publishes COUNT marker features (m-WORKER-0 …), each on
    top of the latest version, retrying on ConflictError; prints a JSON summary as its last line.
python store_worker.py loop ROOT LAYER WORKER
    prints "ready", then publishes marker features forever (printing each version number) until killed.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from urban_plan.store import Actor, ConflictError, FileLayerStore, LayerStore

WORKER_ACTOR = Actor("并发测试", "editor")
MARKER_PREFIX = "m-"


def marker_feature(marker: str, index: int) -> dict[str, Any]:
    """A small point feature whose id is the marker."""
    return {
        "type": "Feature",
        "properties": {"id": marker, "name_zh": f"标记{index}", "status": "planned"},
        "geometry": {"type": "Point", "coordinates": [117.17 + index * 1e-4, 36.98]},
    }


def markers_in(payload: dict[str, Any]) -> list[str]:
    return [f["properties"]["id"] for f in payload["features"] if f["properties"]["id"].startswith(MARKER_PREFIX)]


def publish_marker(store: LayerStore, layer: str, marker: str, index: int, jitter_s: float = 0.0) -> tuple[int, int]:
    """Publish one marker on top of whatever is latest, retrying on conflicts: (version number, conflicts)."""
    conflicts = 0
    while True:
        latest = store.latest(layer)
        base = latest.number if latest else 0
        payload = store.load(layer, base) if base else {"type": "FeatureCollection", "features": []}
        payload["features"].append(marker_feature(marker, index))
        if jitter_s:
            time.sleep(random.uniform(0, jitter_s))  # think time: widens the read-then-publish race window
        try:
            info = store.publish(layer, payload, actor=WORKER_ACTOR, base_version=base, message=marker)
        except ConflictError:
            conflicts += 1
            continue
        return info.number, conflicts


def publish_markers(store: LayerStore, layer: str, worker: str, count: int, jitter_s: float = 0.0) -> dict[str, Any]:
    numbers: list[int] = []
    conflicts = 0
    for index in range(count):
        number, retried = publish_marker(store, layer, f"{MARKER_PREFIX}{worker}-{index}", index, jitter_s)
        numbers.append(number)
        conflicts += retried
    return {"worker": worker, "numbers": numbers, "conflicts": conflicts}


def main(argv: list[str]) -> int:
    mode, root, layer, worker = argv[:4]
    store = FileLayerStore(root)
    if mode == "race":
        count, jitter_ms = int(argv[4]), float(argv[5])
        random.seed(worker)
        print("ready", flush=True)
        sys.stdin.readline()  # the start line: every worker begins at once
        print(json.dumps(publish_markers(store, layer, worker, count, jitter_ms / 1000)), flush=True)
        return 0
    if mode == "loop":
        print("ready", flush=True)
        index = 0
        while True:
            number, _ = publish_marker(store, layer, f"{MARKER_PREFIX}{worker}-{index}", index)
            print(number, flush=True)
            index += 1
    print(f"unknown mode {mode!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
