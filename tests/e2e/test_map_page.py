"""The planning map in a real browser: offline, every layer drawn, filters, clicks, language, shared links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.conftest import Session, browser_session
from urban_plan import registry
from urban_plan.registry import FieldDef
from urban_plan.store import Actor, open_store

LAYER_COUNTS = {"context": 6, "layout": 4, "projects": 5, "rail": 5, "roads": 9}
FIRST_MAP_MS = 90_000
# Status filters narrow only layers that track progress: 7 works in progress, and the 4 layout areas stay.
IN_PROGRESS = 7 + LAYER_COUNTS["layout"]


def drawn(page, layer: str | None = None) -> int:
    selector = f"path.up-l-{layer}" if layer else ".leaflet-overlay-pane path"
    return harness.map_frame(page).locator(selector).count()


def wait_for_drawn(page, expected: int, layer: str | None = None) -> None:
    frame = harness.map_frame(page)
    selector = f"path.up-l-{layer}" if layer else ".leaflet-overlay-pane path"
    # A server's first map builds every cache: on a busy machine that alone can take half a minute.
    frame.locator(selector).first.wait_for(state="attached", timeout=FIRST_MAP_MS)
    page.wait_for_function(
        "([sel, n]) => { const f = document.querySelector('iframe[title=\"streamlit_folium.st_folium\"]');"
        " return f && f.contentDocument.querySelectorAll(sel).length === n; }",
        arg=[selector, expected],
        timeout=FIRST_MAP_MS,
    )


def kpi(page, label: str) -> str:
    """The value of the KPI card labelled `label` (the strip is one HTML element: ui/widgets.py kpi_cards)."""
    name = page.locator(".up-kpi-name").filter(has_text=re.compile(rf"^{re.escape(label)}$"))
    return page.locator(".up-kpi").filter(has=name).first.locator(".up-kpi-value").inner_text()


def test_the_map_draws_every_layer_with_no_request_leaving_the_machine(session) -> None:
    page = session.open("/")
    wait_for_drawn(page, sum(LAYER_COUNTS.values()))
    assert {layer: drawn(page, layer) for layer in LAYER_COUNTS} == LAYER_COUNTS
    frame = harness.map_frame(page)
    assert frame.locator(".up-legend").inner_text().startswith("图例")
    assert frame.locator(".leaflet-control-scale").count() == 1
    assert frame.locator(".leaflet-control-zoom-fullscreen, .fullscreen-icon").count() >= 1
    assert frame.locator(".leaflet-control-measure").count() == 1
    session.screenshot("map-zh")
    assert session.watch.outside_requests == []
    assert session.watch.console_errors == []


def test_each_layer_can_be_switched_off_and_on_in_the_layer_control(session) -> None:
    page = session.open("/")
    total = sum(LAYER_COUNTS.values())
    wait_for_drawn(page, total)
    frame = harness.map_frame(page)
    for index, (layer, count) in enumerate(LAYER_COUNTS.items()):
        checkbox = frame.locator(".leaflet-control-layers-overlays input").nth(index)
        checkbox.uncheck()
        wait_for_drawn(page, total - count)
        assert drawn(page, layer) == 0
        checkbox.check()
        wait_for_drawn(page, total)


def test_a_status_filter_changes_what_is_drawn_the_kpis_and_the_url(session) -> None:
    page = session.open("/")
    wait_for_drawn(page, 29)
    assert kpi(page, "显示要素") == "23"
    status = page.locator('[data-testid="stMultiSelect"]').filter(has_text="建设状态")
    for chip in ("规划", "已完工"):
        status.locator(f'button[aria-label="Remove {chip}"]').first.click()
        harness.wait_for_app(page)
    wait_for_drawn(page, LAYER_COUNTS["context"] + IN_PROGRESS)
    assert kpi(page, "显示要素") == str(IN_PROGRESS)
    assert harness.map_frame(page).locator("path.up-s-planned").count() == 0
    assert drawn(page, "layout") == LAYER_COUNTS["layout"]
    assert "status=in_progress" in page.url
    session.screenshot("map-filtered-zh")
    shared = session.open("/?" + page.url.split("?", 1)[1])  # a colleague opens the copied link
    wait_for_drawn(shared, LAYER_COUNTS["context"] + IN_PROGRESS)
    assert kpi(shared, "显示要素") == str(IN_PROGRESS)
    assert session.watch.outside_requests == [] and session.watch.console_errors == []


def test_clicking_a_feature_shows_its_details_beside_the_map(session) -> None:
    page = session.open("/")
    wait_for_drawn(page, 29)
    harness.map_frame(page).locator("path.up-l-rail.up-s-in_progress").first.dispatch_event("click")
    details = page.locator('[data-testid="stHtml"]').filter(has_text="rail/")
    details.first.wait_for()
    text = details.first.inner_text()
    assert "高铁连接" in text and re.search(r"rail/rail-[a-z0-9-]+", text)
    assert "来源" in text and "可信度" in text


def test_english_shows_english_labels_and_keeps_the_filters(session) -> None:
    page = session.open("/?status=in_progress")
    wait_for_drawn(page, LAYER_COUNTS["context"] + IN_PROGRESS)
    page.get_by_text("English", exact=True).click()
    harness.wait_for_app(page)
    page.get_by_text("Features shown", exact=True).wait_for()
    assert kpi(page, "Features shown") == str(IN_PROGRESS)
    frame = harness.map_frame(page)
    frame.locator(".up-legend").filter(has_text="Legend").wait_for()
    assert "lang=en" in page.url and "status=in_progress" in page.url
    session.screenshot("map-en")
    assert session.watch.outside_requests == [] and session.watch.console_errors == []


def test_the_feature_table_page_follows_the_same_filters(session) -> None:
    page = session.open("/table?layers=roads")
    page.get_by_text("要素列表").first.wait_for()
    assert kpi(page, "显示要素") == "9"
    session.screenshot("table-zh")
    page = session.open("/table?lang=en")
    page.get_by_text("Download CSV").wait_for()
    session.screenshot("table-en")
    assert session.watch.outside_requests == [] and session.watch.console_errors == []


# --- a layer that is data: added to the registry, not to the code -------------------------------------------------

SCHOOLS = 6
HOSTILE = "<img src=x onerror=alert(7)>"  # a value from someone's spreadsheet: shown as text, never run
STAGES = ("小学", "初中")


def school_data(target: Path) -> Path:
    """The shipped data plus a 学校 layer (points, not tracking progress) with Chinese columns and an enum field."""
    data = harness.copy_data(target)
    store = open_store(str(data))
    editor = Actor("e2e", "editor")
    fields = (
        FieldDef("学段", "学段", "Stage", "enum", options=(("小学", "小学", "Primary"), ("初中", "初中", "Junior"))),
        FieldDef("建设单位", "建设单位", "Builder", tooltip=True),
        FieldDef("占地面积(公顷)", "占地面积(公顷)", "Site area (ha)", "number"),
    )
    layers = registry.add_layer(
        store.registry(), "schools", name_zh="学校", name_en="Schools", role="overlay", fields=fields
    )
    head = store.current(registry.COLLECTION)
    store.publish(registry.COLLECTION, layers.to_payload(), actor=editor, base_version=head.number if head else 0)
    features = [
        {
            "type": "Feature",
            "properties": {
                "id": f"s{i}",
                "name_zh": f"第{i + 1}小学" if i % 2 == 0 else f"第{i + 1}中学",
                "学段": STAGES[i % 2],
                "建设单位": HOSTILE if i == 1 else "区教体局",
                "占地面积(公顷)": 1.5 + i,
            },
            "geometry": {"type": "Point", "coordinates": [117.10 + i * 0.03, 36.98 + (i % 3) * 0.02]},
        }
        for i in range(SCHOOLS)
    ]
    store.publish("schools", {"type": "FeatureCollection", "features": features}, actor=editor, base_version=0)
    return data


@pytest.fixture(scope="module")
def schools_app(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.App]:
    del browser  # a missing Chromium fails before a server starts
    root = tmp_path_factory.mktemp("schools")
    with harness.running_app(school_data(root / "data"), root) as app:
        yield app


@pytest.fixture
def schools(browser: Any, schools_app: harness.App, request: pytest.FixtureRequest) -> Iterator[Session]:
    with browser_session(browser, schools_app, request) as opened:
        yield opened


def test_a_layer_added_as_data_has_its_legend_control_row_filter_and_details(schools: Session) -> None:
    total = sum(LAYER_COUNTS.values())
    page = schools.open("/")
    wait_for_drawn(page, total + SCHOOLS)
    assert drawn(page, "schools") == SCHOOLS
    frame = harness.map_frame(page)
    assert "学校" in frame.locator(".up-legend").inner_text()
    assert "学校(6)" in frame.locator(".leaflet-control-layers-overlays").inner_text()

    # Its own enum field is a filter; the status filter leaves a layer without progress alone.
    stage = page.locator('[data-testid="stMultiSelect"]').filter(has_text="学校 · 学段")
    stage.locator('button[aria-label="Remove 小学"]').first.click()
    harness.wait_for_app(page)
    wait_for_drawn(page, total + SCHOOLS // 2)
    assert "attrs=" in page.url
    status = page.locator('[data-testid="stMultiSelect"]').filter(has_text="建设状态")
    status.locator('button[aria-label="Remove 规划"]').first.click()
    harness.wait_for_app(page)
    assert drawn(page, "schools") == SCHOOLS // 2

    # Its tooltip and details show its columns; the hostile value stays text.
    school = harness.map_frame(page).locator("path.up-l-schools").first
    school.dispatch_event("mouseover")
    harness.map_frame(page).locator(".up-tip").filter(has_text="建设单位").first.wait_for()
    school.dispatch_event("click")
    details = page.locator('[data-testid="stHtml"]').filter(has_text="schools/")
    details.first.wait_for()
    text = details.first.inner_text()
    assert "学校" in text and "学段" in text and "初中" in text and "占地面积(公顷)" in text
    assert HOSTILE in text and "2.5" in text  # the value as the planner typed it, and the number
    schools.screenshot("map-new-layer-zh")
    assert schools.watch.dialogs == [] and schools.watch.console_errors == []
    assert schools.watch.outside_requests == []


def test_a_layer_added_as_data_reads_in_english_and_a_stale_link_to_it_is_ignored(schools: Session) -> None:
    page = schools.open("/?lang=en&attrs=" + '{"schools":{"学段":["大学"]},"gone":{"x":["y"]}}')
    wait_for_drawn(page, sum(LAYER_COUNTS.values()) + SCHOOLS)  # nothing of the stale filter applied
    # Left out of the view, so out of the link too (the toast naming it is gone within seconds: not waited for).
    page.wait_for_function("() => !decodeURIComponent(location.search).includes('attrs=')")
    frame = harness.map_frame(page)
    assert "Schools" in frame.locator(".up-legend").inner_text()
    stage = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Schools · Stage")
    stage.first.wait_for()
    assert stage.count() == 1 and "Junior" in stage.first.inner_text()  # every value chosen: no filter
    assert schools.watch.dialogs == [] and schools.watch.console_errors == []


def test_exports_open_in_a_dialog_and_a_png_of_the_map_downloads(session) -> None:
    """One button on the page; the dialog makes the picture in the render queue and offers it for download."""
    page = session.open("/")
    wait_for_drawn(page, sum(LAYER_COUNTS.values()))
    page.get_by_role("button", name=re.compile("^导出")).click()
    dialog = page.get_by_role("dialog")
    for name in ("单文件 HTML 地图", "生成 PNG 图片", "生成会议材料 PDF"):
        dialog.get_by_role("button", name=name).wait_for()
    dialog.get_by_role("button", name="生成 PNG 图片").click()
    ready = dialog.get_by_role("button", name="下载 PNG 图片")
    ready.wait_for(timeout=FIRST_MAP_MS)  # a headless Chromium renders the map
    with page.expect_download() as download:
        ready.click()
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert dialog.get_by_role("button", name="生成会议材料 PDF").is_visible()  # the rest of the dialog is still there
    page.keyboard.press("Escape")  # dismissed: it stays closed when the page runs again (a filter change)
    dialog.wait_for(state="detached")
    page.locator('[data-testid="stSidebar"]').get_by_text("包含未上报进度的要素").click()
    page.wait_for_function("() => new URLSearchParams(location.search).has('unreported')")
    harness.wait_for_app(page)
    assert page.get_by_role("dialog").count() == 0
    assert session.watch.outside_requests == []
