"""A projects layer of 1,500 parcels, in a real browser: drawn on canvas from data the map fetches once per data
version from serve.py's route (or, served without it, from a block the page carries), filter changes add and
remove only the difference, the layer control still hides and shows it, a click on a parcel still shows its
details, a failed fetch says so on the map and is retried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks import synthetic
from tests.e2e import harness
from tests.e2e.conftest import Session, browser_session
from urban_plan import mapping

PARCELS = 1500  # above mapping.LARGE_LAYER: the shared, canvas-drawn fast path
STATUS_CHIPS = {"planned": "规划", "in_progress": "在建", "completed": "已完工"}

# The keys ("projects/<id>") of the parcels on the map, sorted; None until the map is there.
DRAWN_PARCELS_JS = """() => {
  const frames = document.querySelectorAll('iframe[title="streamlit_folium.st_folium"]');
  const w = frames.length ? frames[frames.length - 1].contentWindow : null;
  if (!w || !w.map) { return null; }
  const keys = [];
  w.map.eachLayer((l) => {
    const k = l.feature && l.feature.properties && l.feature.properties._k;
    if (k && k.startsWith('projects/')) { keys.push(k); }
  });
  return keys.sort();
}"""


@pytest.fixture(scope="module")
def parcels() -> dict[str, Any]:
    return synthetic.parcels(PARCELS)


@pytest.fixture(scope="module")
def large_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic.make_data_dir(tmp_path_factory.mktemp("large-data") / "data", PARCELS)


@pytest.fixture(scope="module")
def large_app(browser: Any, large_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.App]:
    del browser  # a missing Chromium fails before a server starts
    with harness.running_app(large_data, tmp_path_factory.mktemp("large")) as app:
        yield app


@pytest.fixture
def large(browser: Any, large_app: harness.App, request: pytest.FixtureRequest) -> Iterator[Session]:
    with browser_session(browser, large_app, request) as opened:
        yield opened


def expected_keys(parcels: dict[str, Any], statuses: set[str]) -> list[str]:
    return sorted(
        f"projects/{f['properties']['id']}" for f in parcels["features"] if f["properties"]["status"] in statuses
    )


def wait_for_parcels(page: Any, keys: list[str]) -> None:
    """The map shows exactly these parcels (and stays so: no late duplicate or leftover)."""
    page.wait_for_function(f"(want) => JSON.stringify(({DRAWN_PARCELS_JS})()) === JSON.stringify(want)", arg=keys)
    page.wait_for_timeout(300)
    assert page.evaluate(DRAWN_PARCELS_JS) == keys


def status_filter(page: Any) -> Any:
    return page.locator('[data-testid="stMultiSelect"]').filter(has_text="建设状态").first


def remove_status(page: Any, status: str) -> None:
    status_filter(page).locator(f'button[aria-label="Remove {STATUS_CHIPS[status]}"]').first.click()
    harness.wait_for_app(page)


def add_status(page: Any, status: str) -> None:
    status_filter(page).locator("input").first.click()
    page.locator('[role="option"]').filter(has_text=STATUS_CHIPS[status]).first.click()
    page.keyboard.press("Escape")
    harness.wait_for_app(page)


def test_status_filters_draw_exactly_the_parcels_they_keep(large: Session, parcels: dict[str, Any]) -> None:
    page = large.open("/")
    shown = {"planned", "in_progress", "completed"}
    wait_for_parcels(page, expected_keys(parcels, shown))
    frame = harness.map_frame(page)
    assert frame.locator("path.up-l-projects").count() == 0  # parcels are on canvas, not one SVG path each
    assert frame.locator(".leaflet-overlay-pane canvas").count() >= 1
    assert page.locator('[data-kpi="shown"] .up-kpi-value').inner_text() == str(PARCELS + 4 + 5 + 9)
    for change, status in [("-", "planned"), ("-", "completed"), ("+", "planned"), ("+", "completed")]:
        if change == "-":
            remove_status(page, status)
            shown.discard(status)
        else:
            add_status(page, status)
            shown.add(status)
        wait_for_parcels(page, expected_keys(parcels, shown))
    assert large.watch.outside_requests == [] and large.watch.console_errors == []


def test_the_layer_control_hides_and_shows_the_parcels_across_filter_changes(
    large: Session, parcels: dict[str, Any]
) -> None:
    page = large.open("/")
    everything = expected_keys(parcels, {"planned", "in_progress", "completed"})
    wait_for_parcels(page, everything)
    projects = harness.map_frame(page).locator(".leaflet-control-layers-overlays label").filter(has_text="五大项目")
    projects.locator("input").uncheck()
    wait_for_parcels(page, [])
    projects.locator("input").check()
    wait_for_parcels(page, everything)
    remove_status(page, "planned")
    wait_for_parcels(page, expected_keys(parcels, {"in_progress", "completed"}))
    projects = harness.map_frame(page).locator(".leaflet-control-layers-overlays label").filter(has_text="五大项目")
    projects.locator("input").uncheck()
    wait_for_parcels(page, [])
    projects.locator("input").check()
    wait_for_parcels(page, expected_keys(parcels, {"in_progress", "completed"}))
    assert large.watch.console_errors == []


def test_clicking_a_parcel_on_the_canvas_shows_its_details(large: Session, parcels: dict[str, Any]) -> None:
    page = large.open("/")
    wait_for_parcels(page, expected_keys(parcels, {"planned", "in_progress", "completed"}))
    wanted = parcels["features"][0]["properties"]
    # Zoom in on that parcel (at the district's zoom a parcel is a few pixels and its neighbours' outlines take
    # the click), then click its centre: page pixels = the map's pixels plus the iframe's place on the page.
    key = f"projects/{wanted['id']}"
    locate = """(key) => {
      const frames = document.querySelectorAll('iframe[title="streamlit_folium.st_folium"]');
      const frame = frames[frames.length - 1], w = frame.contentWindow;
      let target = null;
      w.map.eachLayer((l) => { if (l.feature && l.feature.properties._k === key) { target = l; } });
      return [frame, w, target];
    }"""
    page.evaluate(
        f"(key) => {{ const [f, w, t] = ({locate})(key); w.map.setView(t.getCenter(), 17, {{animate: false}}); }}", key
    )
    page.wait_for_timeout(500)
    point = page.evaluate(
        f"""(key) => {{
          const [frame, w, target] = ({locate})(key);
          const p = w.map.latLngToContainerPoint(target.getCenter()), box = frame.getBoundingClientRect();
          const m = w.map.getContainer().getBoundingClientRect();
          return [box.left + m.left + p.x, box.top + m.top + p.y];
        }}""",
        key,
    )
    page.mouse.click(*point)
    details = page.locator('[data-testid="stHtml"]').filter(has_text=key)
    details.first.wait_for()
    text = details.first.inner_text()
    assert wanted["name_zh"] in text and "来源" in text
    large.screenshot("map-large-layer-zh")


def test_synthetic_parcels_cover_every_status(parcels: dict[str, Any]) -> None:
    # The filter tests above mean something only if every status has parcels to add and remove.
    assert set(synthetic.status_counts(parcels)) == set(STATUS_CHIPS)


ROUTE = "/_map/shared/"
BLOCKS = 'script[type="application/json"][id^="up-shared-"]'


def shared_requests(page: Any) -> list[str]:
    """Every request of the page (its map iframe included) to the shared-data route, as it happens."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if ROUTE in r.url else None)
    return seen


def test_the_map_fetches_the_parcels_once_per_data_version_from_the_route(
    large: Session, parcels: dict[str, Any]
) -> None:
    page = large.page
    fetched = shared_requests(page)
    answers: list[Any] = []
    page.on("response", lambda r: answers.append(r) if ROUTE in r.url else None)
    large.open("/")
    wait_for_parcels(page, expected_keys(parcels, {"planned", "in_progress", "completed"}))
    assert len(fetched) == 1 and page.locator(BLOCKS).count() == 0  # the page carries no data block
    (answer,) = answers
    assert answer.status == 200 and answer.header_value("content-encoding") == "gzip"
    assert "immutable" in answer.header_value("cache-control")
    assert len(answer.json()["data"]["f"]) == PARCELS
    for change, status in [("-", "planned"), ("-", "in_progress"), ("+", "planned")]:
        (remove_status if change == "-" else add_status)(page, status)
    wait_for_parcels(page, expected_keys(parcels, {"planned", "completed"}))
    assert len(fetched) == 1  # filter changes fetch nothing
    assert large.watch.outside_requests == [] and large.watch.console_errors == []


def test_a_failed_fetch_says_so_on_the_map_and_is_retried(large: Session, parcels: dict[str, Any]) -> None:
    page = large.page
    attempts: list[str] = []

    def refuse(route: Any) -> None:
        attempts.append(route.request.url)
        route.abort()

    page.route(f"**{ROUTE}**", refuse)
    large.open("/")
    notice = harness.map_frame(page).locator(".up-shared-notice")
    notice.filter(has_text="正在重试").wait_for()  # said while it retries
    notice.filter(has_text="请刷新页面").wait_for(timeout=20000)  # and for good once the retries are spent
    assert len(attempts) == 1 + mapping.SelectedLayer.RETRIES  # bounded
    assert page.evaluate(DRAWN_PARCELS_JS) == []
    page.unroute(f"**{ROUTE}**")
    remove_status(page, "completed")  # the next selection tries again, and the map recovers
    wait_for_parcels(page, expected_keys(parcels, {"planned", "in_progress"}))
    assert notice.count() == 0
    assert large.watch.outside_requests == []


def test_served_without_the_route_the_page_carries_the_parcels_once_as_inert_data(
    browser: Any, large_data: Path, tmp_path_factory: pytest.TempPathFactory, parcels: dict[str, Any]
) -> None:
    """`streamlit run app.py` (no serve.py routes): the fallback, a data block in the page."""
    with (
        harness.running_app(large_data, tmp_path_factory.mktemp("inline"), script="app.py") as app,
        browser_session(browser, app) as plain,
    ):
        fetched = shared_requests(plain.page)
        page = plain.open("/")
        wait_for_parcels(page, expected_keys(parcels, {"planned", "in_progress", "completed"}))
        assert page.locator(BLOCKS).count() == 1
        carried = json.loads(page.locator(BLOCKS).first.text_content())
        assert len(carried["data"]["f"]) == PARCELS
        remove_status(page, "planned")
        wait_for_parcels(page, expected_keys(parcels, {"in_progress", "completed"}))
        assert page.locator(BLOCKS).count() == 1 and fetched == []
        assert plain.watch.outside_requests == [] and plain.watch.console_errors == []


def test_new_data_is_fetched_once_under_a_new_name(large: Session, large_data: Path, parcels: dict[str, Any]) -> None:
    """A published version is new content: the map remounts and fetches it once, under another name. (Last in
    this module: it puts the original parcels back as a third version when done.)"""
    page = large.page
    fetched = shared_requests(page)
    large.open("/")
    wait_for_parcels(page, expected_keys(parcels, {"planned", "in_progress", "completed"}))
    fewer = {**parcels, "features": parcels["features"][:1000]}
    try:
        synthetic.publish_layer(large_data, fewer, "e2e: fewer parcels")
        remove_status(page, "planned")  # any rerun reads the new version
        wait_for_parcels(page, expected_keys(fewer, {"in_progress", "completed"}))
        add_status(page, "planned")
        wait_for_parcels(page, expected_keys(fewer, {"planned", "in_progress", "completed"}))
        assert len(fetched) == 2 and fetched[0] != fetched[1]
    finally:
        synthetic.publish_layer(large_data, parcels, "e2e: the parcels again")
    assert large.watch.console_errors == []
