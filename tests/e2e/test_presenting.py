"""Presenting in a real browser: dashboard and presentation mode in both languages, arrow keys and a clicker step
saved views, and a shared link reopens the same state (filters, language, dates, colours, map extent)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.conftest import Session, browser_session
from urban_plan.store import Actor, FileLayerStore

VIEWS = [
    {
        "id": "rail",
        "title_zh": "高铁连接进展",
        "title_en": "High-speed rail link",
        "query": {"layers": "rail", "extent": "36.97000,117.14000,12"},
    },
    {
        "id": "roads",
        "title_zh": "道路工程(2024年初)",
        "title_en": "Road works (early 2024)",
        "query": {"layers": "roads", "asof": "2024-01-01"},
    },
    {"id": "rating", "title_zh": "序时进度", "title_en": "Plan versus actual", "query": {"colour": "rating"}},
]


@pytest.fixture(scope="module")
def presenting_app(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[harness.App]:
    del browser
    root = tmp_path_factory.mktemp("presenting")
    data = harness.copy_data(root / "data")
    FileLayerStore(data).publish(
        "views", {"views": VIEWS, "meetings": []}, actor=Actor("seed", "editor"), base_version=0
    )
    with harness.running_app(data, root) as app:
        yield app


@pytest.fixture
def show(browser: Any, presenting_app: harness.App, request: pytest.FixtureRequest) -> Iterator[Session]:
    with browser_session(browser, presenting_app, request) as opened:
        yield opened


def heading(page: Any) -> str:
    return page.locator(".up-present-title").inner_text()


def wait_heading(page: Any, text: str) -> None:
    page.locator(".up-present-title", has_text=text).wait_for()


def map_zoom(page: Any) -> float:
    return harness.map_frame(page).locator("body").evaluate("() => window.map.getZoom()")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_dashboard_renders_targets_ratings_and_charts(show: Session, lang: str) -> None:
    page = show.open(f"/dashboard?lang={lang}")
    target = "目标 135.8 亿元" if lang == "zh" else "Target ¥13.58 bn"
    page.get_by_text(target).wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').nth(2).wait_for()
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == 3
    page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for()
    show.screenshot(f"dashboard-{lang}")
    assert show.watch.outside_requests == [] and show.watch.console_errors == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_presentation_mode_hides_the_chrome_and_keys_step_through_saved_views(show: Session, lang: str) -> None:
    page = show.open(f"/present?view=rail&lang={lang}")
    wait_heading(page, "高铁连接进展" if lang == "zh" else "High-speed rail link")
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    harness.map_frame(page).locator("path.up-l-rail").first.wait_for(state="attached")
    assert harness.map_frame(page).locator("path.up-l-projects").count() == 0
    show.screenshot(f"present-{lang}")

    page.keyboard.press("ArrowRight")
    wait_heading(page, "道路工程" if lang == "zh" else "Road works")
    assert "view=roads" in page.url and "asof=2024-01-01" in page.url
    page.keyboard.press("PageDown")  # what a presenter clicker sends
    wait_heading(page, "序时进度" if lang == "zh" else "Plan versus actual")
    harness.map_frame(page).locator("path.up-s-red").first.wait_for(state="attached")
    # With the focus inside the map, the keys still step the views (the map forwards them).
    harness.map_frame(page).locator(".leaflet-container").click(position={"x": 30, "y": 400})
    page.keyboard.press("PageUp")
    wait_heading(page, "道路工程" if lang == "zh" else "Road works")
    page.keyboard.press("ArrowLeft")
    wait_heading(page, "高铁连接进展" if lang == "zh" else "High-speed rail link")
    assert show.watch.outside_requests == [] and show.watch.console_errors == []


def test_a_shared_link_reopens_the_same_state(show: Session) -> None:
    link = (
        "/?lang=en&status=in_progress&asof=2026-03-01&compare=2024-01-01&colour=rating&extent=36.96000,117.15000,12.5"
    )
    page = show.open(link)
    harness.map_frame(page).locator("path.up-change").first.wait_for(state="attached")
    caption = page.get_by_text("As of: 2026-03-01").first
    caption.wait_for()
    assert "Compared with 2024-01-01" in caption.inner_text()
    shown = page.locator('[data-kpi="shown"]')
    assert shown.locator(".up-kpi-name").inner_text() == "Features shown"
    # 7 works in progress and the 4 layout areas (no progress: the status filter leaves them alone)
    assert shown.locator(".up-kpi-value").inner_text() == "11"
    assert map_zoom(page) == 12.5
    legend = harness.map_frame(page).locator(".up-legend")
    assert "Plan versus actual" in legend.inner_text()

    # Pan and zoom: no rerun, but the link follows the view; a colleague opening it sees the same extent. (Once the
    # script has finished running, so no later run remounts the map under the pan, and the map has finished moving
    # to the link's view: a zoom animation in flight would end on its own target.)
    harness.wait_for_app(page)
    harness.map_frame(page).locator("body").evaluate(
        """() => new Promise((done) => {
          const settled = () => !window.map._animatingZoom && window.map.getZoom() === 12.5;
          const check = () => (settled() ? done() : setTimeout(check, 50));
          check();
        })"""
    )
    harness.map_frame(page).locator("body").evaluate("() => window.map.setView([37.0, 117.2], 13, {animate: false})")
    page.wait_for_function("() => decodeURIComponent(location.search).includes('extent=37.00000,117.20000,13')")
    again = show.open("/?" + page.evaluate("() => location.search").lstrip("?"))
    harness.map_frame(again).locator(".leaflet-overlay-pane path").first.wait_for(state="attached")
    assert map_zoom(again) == 13
    assert "status=in_progress" in again.url and "colour=rating" in again.url
    assert show.watch.outside_requests == [] and show.watch.console_errors == []
