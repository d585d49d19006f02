"""Memory comes back when planners leave (issue 11): 50 sessions open the map, change a filter and close; once
the session TTL has passed, the server's RSS is back near where it started.

The sessions are benchmarks/load.py's: websocket clients that send what Chromium's frontend sends (no browser
needed). The server is the real one (`harness.running_app`, serve.py) over the shipped data, with a 2 s session
TTL so that "after the TTL" comes quickly. Robust to noise: a warm-up of 20 sessions first (caches filled, the
allocator's pools grown to a meeting's size), each figure the median of several samples, and a margin of
max(15 MB, 8 %) — about what 0.3 MB kept per closed session would add over 50 sessions. Without ui/memory.py the
last sessions stay in Streamlit's store past their TTL and the freed memory stays with the process.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

from benchmarks import load
from tests.e2e import harness

TTL_S = 2
SESSIONS = 50
WAVE = 10  # sessions at once: a meeting arriving, not a stampede
WARM_UP = 20
MARGIN_MB = 15.0
MARGIN_RATIO = 0.08
SETTLE_S = TTL_S + 3.0  # the TTL, the reaper's interval (TTL/4, at least 0.5 s) and its collection
TIMEOUT_S = 60.0


async def visit(url: str) -> None:
    """One planner: opens the map, changes the status filter, leaves."""
    session = load.Session(url, TIMEOUT_S)
    try:
        await session.first_visit()
        await session.toggle()
    finally:
        await session.close()


async def come_and_go(url: str, count: int) -> None:
    for start in range(0, count, WAVE):
        await asyncio.gather(*(visit(url) for _ in range(min(WAVE, count - start))))


def settled_rss(pid: int, samples: int = 7) -> float:
    """The TTL has passed: the median of a few RSS samples (MB)."""
    time.sleep(SETTLE_S)
    values = []
    for _ in range(samples):
        values.append(load.read_rss_mb(pid))
        time.sleep(0.2)
    return statistics.median(values)


def test_rss_returns_near_its_start_after_50_sessions_closed(tmp_path: Path) -> None:
    data = harness.copy_data(tmp_path / "data")
    env = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(TTL_S)}
    started = time.monotonic()
    # The sessions run on their own event loop thread: Playwright's sync API keeps a loop running in this one once a
    # browser test has run in the same process (asyncio.run would refuse).
    sessions = load.Loop()
    try:
        with harness.running_app(data, tmp_path, env=env) as app:
            pid = app.process.pid
            sessions.run(come_and_go(app.url, WARM_UP), TIMEOUT_S)
            start = settled_rss(pid)
            sessions.run(come_and_go(app.url, SESSIONS), TIMEOUT_S)
            end = settled_rss(pid)
            log = app.log()
    finally:
        sessions.stop()
    allowed = max(MARGIN_MB, start * MARGIN_RATIO)
    report = (
        f"RSS {start:.1f} MB after the warm-up, {end:.1f} MB after {SESSIONS} more sessions closed "
        f"(+{end - start:.1f} MB, allowed +{allowed:.1f}); {time.monotonic() - started:.0f} s"
    )
    print(report)
    assert "Traceback" not in log, log[-3000:]
    assert end - start <= allowed, report
