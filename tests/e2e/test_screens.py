"""Every screen the app is used on (projectors 1920x1080 and 1280x720, an old projector or laptop at 1024x768, a
phone at 390x844), in Chinese and English: the map, the presentation, the dashboard and the table keep what matters
inside the screen, no KPI label is cut, a phone never scrolls sideways; plus the presentation's way out, phone
gestures and the browser's print. One app server for the module; screenshots in tests/e2e/screenshots/."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.conftest import Session
from ui import layout
from urban_plan.store import Actor, FileLayerStore

SIZES = {"1920x1080": (1920, 1080), "1280x720": (1280, 720), "1024x768": (1024, 768), "390x844": (390, 844)}
PHONE = "390x844"
VIEWS = [
    {
        "id": "rail",
        "title_zh": "高铁连接进展",
        "title_en": "High-speed rail link",
        "query": {"layers": "rail"},
    },
    {"id": "roads", "title_zh": "道路工程", "title_en": "Road works", "query": {"layers": "roads"}},
]
MAP = 'iframe[title="streamlit_folium.st_folium"]'
TITLES = {
    "zh": {"rail": "高铁连接进展", "roads": "道路工程"},
    "en": {"rail": "High-speed rail link", "roads": "Road works"},
}


@pytest.fixture(scope="module")
def screens_app(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[tuple[harness.App, Path]]:
    del browser
    root = tmp_path_factory.mktemp("screens")
    data = harness.copy_data(root / "data")
    set_views(data, VIEWS)
    with harness.running_app(data, root) as app:
        yield app, data


def set_views(data: Path, views: list[dict[str, Any]]) -> None:
    """Publish the saved views (a new version; the app reads the current one on every run)."""
    store = FileLayerStore(data)
    current = store.current("views")
    store.publish(
        "views",
        {"views": views, "meetings": []},
        actor=Actor("seed", "editor"),
        base_version=current.number if current else 0,
    )


@pytest.fixture
def screen(browser: Any, screens_app: tuple[harness.App, Path], request: pytest.FixtureRequest) -> Iterator[Session]:
    """A browser at the size and language of the test's parameters (a phone is a touch device)."""
    size = request.node.callspec.params.get("size", "1280x720")
    width, height = SIZES[size]
    app = screens_app[0]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        is_mobile=size == PHONE,
        has_touch=size == PHONE,
    )
    page = context.new_page()
    page.set_default_timeout(60000)  # a loaded CI machine: the first map can take a while
    try:
        yield Session(page, harness.watch_page(context, page), app)
    finally:
        if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
            print(f"--- streamlit log ---\n{app.log()[-5000:]}")
        context.close()


def shot(page: Any, name: str) -> None:
    """What the screen shows (not the whole page): the point is what is inside it."""
    harness.SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(harness.SCREENSHOT_DIR / f"screens-{name}.png"))


def open_map_page(screen: Session, path: str) -> Any:
    page = screen.open(path)
    page.locator(MAP).last.wait_for()
    harness.map_frame(page).locator(".up-legend").wait_for()
    settle(page)
    return page


def settle(page: Any) -> None:
    """The map has its final size: the layout script has measured where the map starts (--up-map-top is its top)
    and Leaflet's resize has run (same size twice, 300 ms apart). Under load the stylesheet and script can arrive
    after the map: a box that is merely stable may still be the iframe's default height."""
    page.wait_for_function(
        """(selector) => new Promise((done) => {
          const frame = () => document.querySelector(selector);
          const box = () => JSON.stringify(frame()?.getBoundingClientRect());
          const measured = () => {
            if (!document.querySelector('.st-key-up-mapzone')) { return true; }  // only the map page is measured
            const top = frame() && Math.round(frame().getBoundingClientRect().top + window.scrollY) + 'px';
            return document.documentElement.style.getPropertyValue('--up-map-top') === top;
          };
          const first = box();
          setTimeout(() => done(first === box() && first !== undefined && measured()), 300);
        })""",
        arg=MAP,
        polling=100,
    )
    harness.wait_for_app(page)


def inside(page: Any, box: dict[str, float] | None, what: str) -> None:
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    assert box is not None, f"{what} is not shown"
    right, bottom = box["x"] + box["width"], box["y"] + box["height"]
    assert box["x"] >= -1 and box["y"] >= -1 and right <= width + 1 and bottom <= height + 1, (
        f"{what} at x {box['x']:.0f}-{right:.0f}, y {box['y']:.0f}-{bottom:.0f}: outside the {width}x{height} screen"
    )


def kpis_whole(page: Any) -> list[str]:
    """Every KPI label and value shows in full: nothing cut off (scrollWidth <= clientWidth), no label or value
    wider than its card, and no card's "?" off its card."""
    page.locator(".up-kpi-value").nth(5).wait_for()  # the whole strip has been drawn
    cut = page.evaluate(
        """() => [...document.querySelectorAll('.up-kpi')].flatMap((card) => {
              const edge = card.getBoundingClientRect();
              return [...card.querySelectorAll('.up-kpi-name, .up-kpi-value, .up-kpi-q')]
                .filter((el) => el.scrollWidth > el.clientWidth + 1
                  || el.getBoundingClientRect().right > edge.right + 1)
                .map((el) => `${el.innerText} (${el.scrollWidth} > ${el.clientWidth})`);
            })"""
    )
    assert cut == []
    return page.locator(".up-kpi-value").all_inner_texts()


def no_sideways_scroll(page: Any) -> None:
    widths = page.evaluate(
        """() => [document.documentElement, document.querySelector('[data-testid="stMain"]')]
            .filter(Boolean).map((el) => [el.scrollWidth, el.clientWidth])"""
    )
    assert all(scroll <= client + 1 for scroll, client in widths), widths


def kpi_values_inside(page: Any) -> None:
    values = page.locator(".up-kpi-value")
    assert values.count() == 6
    for i in range(6):
        inside(page, values.nth(i).bounding_box(), f"KPI value {i + 1}")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_the_screen(screen: Session, size: str, lang: str) -> None:
    phone = size == PHONE
    # Map page: the map with its legend inside the screen, all six KPIs readable.
    page = open_map_page(screen, f"/?lang={lang}")
    shot(page, f"map-{lang}-{size}")
    inside(page, page.locator(MAP).last.bounding_box(), "the map")
    inside(page, harness.map_frame(page).locator(".up-legend").bounding_box(), "the legend")
    inside(page, harness.map_frame(page).locator(".leaflet-control-layers").bounding_box(), "the layer control")
    assert len(kpis_whole(page)) == 6
    kpi_values_inside(page)
    no_sideways_scroll(page)
    legend, layers = (
        harness.map_frame(page).locator(sel).bounding_box() for sel in (".up-legend", ".leaflet-control-layers")
    )
    assert legend["y"] >= layers["y"] + layers["height"], "the layer control covers the legend"
    map_box = page.locator(MAP).last.bounding_box()
    if phone:  # leaders open links on their phones: the map comes first; the sidebar waits behind its button
        title = page.locator("h1").first.bounding_box()
        assert map_box["y"] < title["y"], "the map is not the first thing on a phone"
        assert map_box["y"] < 120
        assert not page.locator('[data-testid="stSidebar"]').is_visible() or (
            page.locator('[data-testid="stSidebar"]').bounding_box()["x"] + 10 < 0
        )
    elif size == "1024x768":  # the map takes the width; the details go under it
        main = page.locator('[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"]').bounding_box()
        assert map_box["width"] >= main["width"] - 2
        assert page.get_by_text("Feature details" if lang == "en" else "要素详情").bounding_box()["y"] > map_box["y"]

    # Presentation: heading, map, legend and the step bar fill the screen exactly, no scrolling.
    page = screen.open(f"/present?view=rail&lang={lang}")
    page.locator(".up-present-title", has_text=TITLES[lang]["rail"]).wait_for()
    page.locator(MAP).last.wait_for()
    harness.map_frame(page).locator(".up-legend").wait_for()
    settle(page)
    shot(page, f"present-{lang}-{size}")
    for what, locator in (
        ("the title", page.locator(".up-present-title")),
        ("the as-of line", page.locator(".up-present-line")),
        ("the map", page.locator(MAP).last),
        ("the legend", harness.map_frame(page).locator(".up-legend")),
        ("the next button", page.locator(".st-key-step_next button")),
        ("the previous button", page.locator(".st-key-step_prev button")),
        ("the exit button", page.locator(".st-key-present_exit button")),
    ):
        inside(page, locator.bounding_box(), what)
    fill = page.evaluate(
        """(selector) => {
          const main = document.querySelector('[data-testid="stMain"]');
          const bar = document.querySelector('.st-key-up-steps').getBoundingClientRect();
          return {scroll: main.scrollHeight - main.clientHeight, bar: bar.bottom, map: document.querySelector(selector)
                  .getBoundingClientRect().height};
        }""",
        MAP,
    )
    height = SIZES[size][1]
    assert fill["scroll"] <= 1, f"the presentation scrolls by {fill['scroll']} px"
    assert fill["bar"] >= height - 60, f"the step bar ends at {fill['bar']:.0f}: the map leaves room unused"
    assert fill["map"] >= height * 0.6
    no_sideways_scroll(page)
    if size in ("1920x1080", "1280x720"):  # readable from the back of a room
        title_px = page.locator(".up-present-title").evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)")
        legend_px = (
            harness.map_frame(page).locator(".up-legend").evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)")
        )
        assert title_px >= 32 and legend_px >= 16, (title_px, legend_px)
        if size == "1920x1080":
            assert title_px >= 40 and legend_px >= 19, (title_px, legend_px)

    # Dashboard and table: the KPI strip is readable and inside the first screen; nothing scrolls sideways.
    for path, ready in (("dashboard", '[data-testid="stVegaLiteChart"]'), ("table", '[data-testid="stDataFrame"]')):
        page = screen.open(f"/{path}?lang={lang}")
        page.locator(ready).first.wait_for()
        harness.wait_for_app(page)
        shot(page, f"{path}-{lang}-{size}")
        assert len(kpis_whole(page)) == 6
        kpi_values_inside(page)
        no_sideways_scroll(page)
    assert screen.watch.outside_requests == [] and screen.watch.console_errors == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_presentation_without_saved_views_still_shows_its_exit_and_esc_leaves(
    screen: Session, screens_app: tuple[harness.App, Path], lang: str
) -> None:
    data = screens_app[1]
    set_views(data, [])
    try:
        page = screen.open(f"/present?lang={lang}")
        harness.map_frame(page).locator(".up-legend").wait_for()
        settle(page)
        exit_button = page.locator(".st-key-present_exit button")
        inside(page, exit_button.bounding_box(), "the exit button")
        assert ("退出演示" if lang == "zh" else "Leave presentation") in exit_button.inner_text()
        assert page.get_by_text("尚无保存的视图" if lang == "zh" else "No saved views yet").is_visible()
        shot(page, f"present-no-views-{lang}")

        # Esc with the focus inside the map (the map forwards it to the page) leaves for the map page.
        harness.map_frame(page).locator(".leaflet-container").click(position={"x": 40, "y": 300})
        page.keyboard.press("Escape")
        page.wait_for_function("() => !location.pathname.includes('present')")
        page.locator(".st-key-up-mapzone").wait_for()
        assert page.locator(".up-present-title").count() == 0

        # And with the focus on the page itself.
        page = screen.open(f"/present?lang={lang}")
        page.locator(".st-key-present_exit button").wait_for()
        harness.wait_for_app(page)
        page.locator(".up-present-title").click()
        page.keyboard.press("Escape")
        page.wait_for_function("() => !location.pathname.includes('present')")
        page.locator(".st-key-up-mapzone").wait_for()
    finally:
        set_views(data, VIEWS)
    assert screen.watch.outside_requests == [] and screen.watch.console_errors == []


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", [PHONE])
def test_on_a_phone_a_tap_shows_details_filters_are_one_tap_away_and_a_swipe_steps_views(
    screen: Session, size: str, lang: str
) -> None:
    page = open_map_page(screen, f"/?lang={lang}")
    # A tapped feature's details appear right under the map, on the first screen.
    harness.map_frame(page).locator("path.up-l-rail.up-s-in_progress").first.dispatch_event("click")
    details = page.locator(".up-details-name")
    details.wait_for()
    settle(page)
    inside(page, details.bounding_box(), "the tapped feature's name")
    shot(page, f"map-details-{lang}-{size}")

    # The filters: one tap on the sidebar button.
    page.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button').first.tap()
    filters = page.get_by_text("进度筛选" if lang == "zh" else "Progress filters").first
    filters.wait_for()
    inside(page, filters.bounding_box(), "the filters")

    # Presentation: a swipe left steps to the next view, a swipe right back.
    page = screen.open(f"/present?view=rail&lang={lang}")
    page.locator(".up-present-title", has_text=TITLES[lang]["rail"]).wait_for()
    harness.wait_for_app(page)
    swipe(page, -200)
    page.locator(".up-present-title", has_text=TITLES[lang]["roads"]).wait_for()
    harness.wait_for_app(page)
    swipe(page, 200)
    page.locator(".up-present-title", has_text=TITLES[lang]["rail"]).wait_for()
    inside(page, page.locator(".st-key-step_next button").bounding_box(), "the next button")
    assert page.locator(".st-key-step_next button").bounding_box()["height"] >= 44  # a thumb's size
    assert screen.watch.outside_requests == [] and screen.watch.console_errors == []


def swipe(page: Any, dx: int) -> None:
    """A one-finger horizontal swipe across the presentation's heading (touch events, as a phone sends them)."""
    page.locator(".up-present-title").evaluate(
        """(el, dx) => {
          const r = el.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
          const touch = (cx) => new Touch({identifier: 1, target: el, clientX: cx, clientY: y});
          const send = (type, now, cx) =>
            el.dispatchEvent(new TouchEvent(type, {touches: now, changedTouches: [touch(cx)], bubbles: true}));
          send('touchstart', [touch(x)], x);
          send('touchmove', [touch(x + dx)], x + dx);
          send('touchend', [], x + dx);
        }""",
        dx,
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_printing_the_map_page_gives_one_clean_a4_landscape_page(screen: Session, lang: str, tmp_path: Path) -> None:
    page = open_map_page(screen, f"/?lang={lang}")
    page.emulate_media(media="print")
    settle(page)
    for chrome in ('[data-testid="stSidebar"]', 'header[data-testid="stHeader"]', ".up-kpis"):
        assert not page.locator(chrome).first.is_visible(), f"{chrome} is printed"
    stamp = page.locator(".st-key-up-head")  # title and as-of line
    assert stamp.locator("h1").is_visible()
    assert ("数据日期" if lang == "zh" else "As of") in stamp.inner_text()
    frame, legend = page.locator(MAP).last.bounding_box(), harness.map_frame(page).locator(".up-legend")
    assert frame["width"] >= 0.9 * page.viewport_size["width"]
    assert frame["height"] >= 600  # most of the sheet (168 mm), not a strip
    legend_box = legend.bounding_box()
    assert legend_box["y"] + legend_box["height"] <= frame["y"] + frame["height"] + 1, "the legend is cut"
    size = harness.map_frame(page).locator("body").evaluate("() => [window.map.getSize().x, window.map.getSize().y]")
    assert abs(size[1] - frame["height"]) <= 2, f"the map is drawn {size[1]} px high in a {frame['height']} px frame"
    shot(page, f"print-{lang}")

    pdf = tmp_path / "print.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           1" in info, info
    width, height = (float(v) for v in re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert abs(width - 842) < 2 and abs(height - 595) < 2, info  # A4 landscape: 297 x 210 mm
    assert screen.watch.outside_requests == [] and screen.watch.console_errors == []


def test_the_layout_stylesheet_survives_streamlits_html_sanitiser() -> None:
    """DOMPurify drops a whole <style> whose text has "<" before a letter, slash or "!" (it happened: a comment)."""
    assert not re.search(r"<[\w/!]", layout.STYLESHEET.read_text(encoding="utf-8"))
