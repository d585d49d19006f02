"""The planning map in a real browser: offline, every layer drawn, filters, clicks, language, shared links."""

from __future__ import annotations

import re

from tests.e2e import harness

LAYER_COUNTS = {"context": 6, "layout": 4, "projects": 5, "rail": 5, "roads": 9}


def drawn(page, layer: str | None = None) -> int:
    selector = f"path.up-l-{layer}" if layer else ".leaflet-overlay-pane path"
    return harness.map_frame(page).locator(selector).count()


def wait_for_drawn(page, expected: int, layer: str | None = None) -> None:
    frame = harness.map_frame(page)
    selector = f"path.up-l-{layer}" if layer else ".leaflet-overlay-pane path"
    frame.locator(selector).first.wait_for(state="attached")
    page.wait_for_function(
        "([sel, n]) => { const f = document.querySelector('iframe[title=\"streamlit_folium.st_folium\"]');"
        " return f && f.contentDocument.querySelectorAll(sel).length === n; }",
        arg=[selector, expected],
    )


def kpi(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


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
    wait_for_drawn(page, LAYER_COUNTS["context"] + 9)
    assert kpi(page, "显示要素") == "9"
    assert harness.map_frame(page).locator("path.up-s-planned").count() == 0
    assert "status=in_progress" in page.url
    session.screenshot("map-filtered-zh")
    shared = session.open("/?" + page.url.split("?", 1)[1])  # a colleague opens the copied link
    wait_for_drawn(shared, LAYER_COUNTS["context"] + 9)
    assert kpi(shared, "显示要素") == "9"
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
    wait_for_drawn(page, LAYER_COUNTS["context"] + 9)
    page.get_by_text("English", exact=True).click()
    harness.wait_for_app(page)
    page.get_by_text("Features shown", exact=True).wait_for()
    assert kpi(page, "Features shown") == "9"
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
