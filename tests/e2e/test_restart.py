"""A page stays open while its server session goes away: the server is killed and restarted on the same port, or
the connection drops for longer than the session TTL (a laptop asleep). The page reconnects by itself to a new
session; the planner's next filter change must apply: the map draws what the filter says, and the filter, the map
and the address bar agree. (AppTest cases for every widget bound to the view: tests/app/test_reconnect.py.)"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e import harness
from tests.e2e.conftest import Session, browser_session

# As tests/e2e/test_map_page.py: 6 context features always drawn, 23 others; with only 在建 chosen, 7 works in
# progress and the 4 layout areas (status does not narrow a layer without progress). No work is 已完工 yet, and the
# 9 road works are all 规划.
CONTEXT, ALL, IN_PROGRESS = 6, 23, 7 + 4
MAP_MS = 90_000  # a restarted server's first map builds every cache: on a busy machine that can take a while
RECONNECT_MS = 120_000  # the server's start (up to 60 s in the harness) plus the page's reconnect back-off
TTL_S = 1
STATUS_NAMES = {"规划": "planned", "在建": "in_progress", "已完工": "completed"}


def status_filter(page: Any) -> Any:
    return page.locator('[data-testid="stMultiSelect"]').filter(has_text="建设状态")


def remove_status(page: Any, chip: str) -> None:
    status_filter(page).locator(f'button[aria-label="Remove {chip}"]').first.click()
    harness.wait_for_app(page)


def chips(page: Any) -> set[str]:
    """The statuses the filter widget shows, as codes."""
    labels = (
        status_filter(page)
        .locator('button[aria-label^="Remove "]')
        .evaluate_all("els => els.map(e => e.getAttribute('aria-label').slice('Remove '.length))")
    )
    return {STATUS_NAMES[label] for label in labels}


def address_bar(page: Any) -> set[str]:
    """The statuses the address bar names (every status when it names none)."""
    values = parse_qs(urlsplit(page.url).query).get("status")
    return set(values[-1].split(",")) if values else set(STATUS_NAMES.values())


def wait_for_address_bar(page: Any, statuses: str) -> None:
    page.wait_for_function(
        "s => new URLSearchParams(location.search).get('status') === s", arg=statuses, timeout=MAP_MS
    )


def wait_for_drawn(page: Any, expected: int) -> None:
    page.wait_for_function(
        "n => { const f = document.querySelector('iframe[title=\"streamlit_folium.st_folium\"]');"
        " return f && f.contentDocument && f.contentDocument.querySelectorAll('.leaflet-overlay-pane path').length"
        " === n; }",
        arg=expected,
        timeout=MAP_MS,
    )


def drawn(page: Any, selector: str) -> int:
    return harness.map_frame(page).locator(selector).count()


def watch_sessions(page: Any) -> list[str]:
    """The server session of every script run the page receives (each run starts with a new_session message)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    sessions: list[str] = []

    def on_frame(payload: Any) -> None:
        if isinstance(payload, bytes):
            with contextlib.suppress(Exception):
                msg = ForwardMsg.FromString(payload)
                if msg.WhichOneof("type") == "new_session" and msg.new_session.initialize.session_id:
                    sessions.append(msg.new_session.initialize.session_id)

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return sessions


def open_map_with_a_filter(session: Session) -> list[str]:
    """The map, then 已完工 removed in this session (its callback applies it): the address bar names 2 statuses."""
    sessions = watch_sessions(session.page)
    page = session.open("/")
    wait_for_drawn(page, CONTEXT + ALL)
    remove_status(page, "已完工")
    wait_for_address_bar(page, "planned,in_progress")
    harness.wait_for_app(page)
    assert chips(page) == address_bar(page) == {"planned", "in_progress"}
    return sessions


def the_change_applies(page: Any, sessions: list[str], before: str) -> None:
    """Remove 规划 in the reconnected page: only 在建 is left, on the map, in the widget, in the address bar."""
    remove_status(page, "规划")
    # The address bar follows once the run has applied the change (a lost change never gets there); then the run
    # ends and the map settles (the map alone could be waited on before the run has even started).
    try:
        wait_for_address_bar(page, "in_progress")
    except PlaywrightTimeoutError:
        lost = f"widget {sorted(chips(page))}, address bar {sorted(address_bar(page))}"
        pytest.fail(f"the change was lost: {lost}, {drawn(page, '.leaflet-overlay-pane path')} features drawn")
    harness.wait_for_app(page, MAP_MS)
    wait_for_drawn(page, CONTEXT + IN_PROGRESS)
    assert sessions[-1] != before, "the page was expected to reconnect to a new server session"
    assert chips(page) == {"in_progress"}
    assert address_bar(page) == {"in_progress"}
    assert drawn(page, "path.up-l-roads") == 0  # every road work is 规划


def test_after_a_server_restart_the_first_filter_change_applies(
    browser: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data, port = harness.copy_data(tmp_path / "data"), harness.free_port()
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(harness.running_app(data, tmp_path, port=port))
        session = stack.enter_context(browser_session(browser, first, request))
        page = session.page
        sessions = open_map_with_a_filter(session)
        before = sessions[-1]
        # As a crash or an operator's restart: no goodbye to the page; the new server takes the same port and the
        # page opens a new websocket by itself.
        with page.expect_websocket(timeout=RECONNECT_MS):
            first.process.kill()
            first.process.wait(10)
            stack.enter_context(harness.running_app(data, tmp_path, port=port))
        harness.wait_for_app(page, RECONNECT_MS)  # connected: the status no longer says CONNECTING
        the_change_applies(page, sessions, before)
        assert session.watch.outside_requests == []


def test_after_the_session_ttl_passed_the_first_filter_change_applies(
    browser: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The page's connection drops (a laptop going to sleep) and every reconnect attempt fails until the
    server has dropped the session (server.disconnectedSessionTTL); then the page connects to a new session."""
    data = harness.copy_data(tmp_path / "data")
    env = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(TTL_S)}
    asleep, sockets = False, []

    def route(ws: Any) -> None:
        """Every websocket to the app passes through here: asleep, the attempt fails at once."""
        if asleep:
            ws.close()
        else:
            sockets.append((ws, ws.connect_to_server()))

    with harness.running_app(data, tmp_path, env=env) as app, browser_session(browser, app, request) as session:
        page = session.page
        page.context.route_web_socket("**/_stcore/stream", route)
        sessions = open_map_with_a_filter(session)
        before = sessions[-1]
        asleep = True
        for ws, server in sockets:
            server.close()
            ws.close()
        page.wait_for_selector('[data-testid="stStatusWidget"]:has-text("CONNECTING")')
        # Time passing is the scenario: the server forgets a disconnected session TTL_S after the disconnect.
        page.wait_for_timeout((TTL_S + 4) * 1000)
        asleep = False
        harness.wait_for_app(page, RECONNECT_MS)  # connected again: the status no longer says CONNECTING
        the_change_applies(page, sessions, before)
        assert session.watch.outside_requests == []
