"""Server CPU per filter change: the map page against a page of its shape with none of its code.

    .venv/bin/python benchmarks/floor.py [--changes 60]

Starts `serve.py` over a copy of the shipped data, and `benchmarks/floor/app.py` (the same sidebar widgets, about
as many elements as the map page sent before issue 11, a component with ~80 KB of arguments, no computation), each
as a real server on 127.0.0.1 with the app's .streamlit/config.toml. One simulated session (benchmarks/load.py)
changes the status filter back and forth; the server's CPU time (utime + stime from /proc) over the changes is
divided by their number. The floor is what Streamlit itself costs per run for a page of this shape: a process can
finish at most 1000 / floor runs per second on its one core. Prints both figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT / "src"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from benchmarks import load  # noqa: E402
from tests.e2e import harness  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def per_change(url: str, pid: int, changes: int) -> float:
    """CPU ms per filter change, after a first visit and 5 changes to warm up the caches."""
    session = load.Session(url, 120.0)
    try:
        await session.first_visit()
        for _ in range(5):
            await session.toggle()
        started = cpu_seconds(pid)
        for _ in range(changes):
            await session.toggle()
        return 1000 * (cpu_seconds(pid) - started) / changes
    finally:
        await session.close()


def measure(app: harness.App, changes: int) -> float:
    return asyncio.run(per_change(app.url, app.process.pid, changes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=60)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="urban-plan-floor-"))
    try:
        figures = {}
        with harness.running_app(harness.copy_data(work / "data"), work) as app:
            figures["map page"] = measure(app, args.changes)
        # From the project folder, as the app: the same .streamlit/config.toml (compression, no post-run GC ...).
        with harness.running_app(work / "data", work, script=str(ROOT / "benchmarks" / "floor" / "app.py")) as floor:
            figures["floor (Streamlit alone)"] = measure(floor, args.changes)
        load_avg = "/".join(f"{x:.1f}" for x in os.getloadavg())
        for name, ms in figures.items():
            print(f"{name:24} {ms:6.1f} ms CPU per filter change  (at most {1000 / ms:5.1f} runs/s per process)")
        print(f"load average {load_avg} · {time.strftime('%Y-%m-%d %H:%M')}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
