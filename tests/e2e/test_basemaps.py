"""Basemaps in a real browser, with every tile request answered by a local blank tile: switching keeps all
overlays, and only AMap (GCJ-02) shifts them; a basemap without its key says so and keeps the offline base."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.conftest import Session
from urban_plan import basemaps, datum

TILE_HOSTS = ("tile.openstreetmap.org", "tianditu.gov.cn", "is.autonavi.com", "tiles.bureau.invalid")
GOVERNMENT = (117.1699, 36.9762)


def blank_png() -> bytes:
    """A 1x1 transparent PNG, made here so no binary file is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def tiles_app(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[harness.App]:
    del browser
    root = tmp_path_factory.mktemp("basemaps")
    env = {
        basemaps.TIANDITU_KEY_ENV: "0123456789abcdef0123456789abcdef",
        basemaps.INTRANET_URL_ENV: "http://tiles.bureau.invalid/{z}/{x}/{y}.png",
    }
    with harness.running_app(harness.copy_data(root / "data"), root, env=env) as app:
        yield app


@pytest.fixture
def tiled(browser: Any, tiles_app: harness.App) -> Iterator[tuple[Session, list[str]]]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30000)
    watch = harness.watch_page(context, page)
    tiles: list[str] = []
    png = blank_png()

    def tile(route: Any) -> None:
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=png)

    for host in TILE_HOSTS:  # registered after the catch-all abort, so these win for tile hosts
        context.route(f"**://*{host}/**", tile)
        context.route(f"**://{host}/**", tile)
    yield Session(page, watch, tiles_app), tiles
    context.close()


def government_latlng(page: Any) -> tuple[float, float]:
    return tuple(
        harness.map_frame(page)
        .locator("body")
        .evaluate(
            """() => { let found = null;
          window.map.eachLayer(l => { if (l.feature && l.feature.properties._tip.includes('ctx-government')) {
            const p = l.getLatLng(); found = [p.lng, p.lat]; } });
          return found; }"""
        )
    )


def choose_basemap(page: Any, label: str) -> None:
    select = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text("底图", exact=True))
    select.wait_for()
    for _ in range(5):  # the sidebar may still be settling after the first run: open the list until it shows
        select.locator("input").click()
        try:
            page.locator('[role="listbox"]').wait_for(timeout=3000)
            break
        except Exception:
            page.keyboard.press("Escape")
    page.get_by_role("option", name=label, exact=True).click()
    harness.wait_for_app(page)


@pytest.mark.parametrize(
    ("label", "host", "shifted"),
    [
        ("OpenStreetMap(需联网)", "tile.openstreetmap.org", False),
        ("天地图 矢量(需联网与密钥)", "tianditu.gov.cn", False),
        ("高德 矢量(GCJ-02,需联网)", "is.autonavi.com", True),
        ("高德 影像(GCJ-02,需联网)", "is.autonavi.com", True),
        ("内网瓦片服务", "tiles.bureau.invalid", False),
    ],
)
def test_switching_basemaps_keeps_every_overlay_and_shifts_only_for_gcj02(tiled, label, host, shifted) -> None:
    session, tiles = tiled
    page = session.open("/")
    frame = harness.map_frame(page)
    frame.locator(".leaflet-overlay-pane path").first.wait_for(state="attached")
    before = frame.locator(".leaflet-overlay-pane path").count()
    assert government_latlng(page) == pytest.approx(GOVERNMENT, abs=1e-6)
    choose_basemap(page, label)
    harness.map_frame(page).locator(".leaflet-tile-pane img").first.wait_for(state="attached")
    harness.map_frame(page).locator(".leaflet-overlay-pane path").first.wait_for(state="attached")
    assert harness.map_frame(page).locator(".leaflet-overlay-pane path").count() == before
    expected = datum.convert_point(*GOVERNMENT, "wgs84", "gcj02") if shifted else GOVERNMENT
    assert government_latlng(page) == pytest.approx(expected, abs=1e-6)
    assert tiles and all(host in url for url in tiles)
    assert session.watch.outside_requests == []  # every request off the machine was a (routed) tile
    if shifted:
        assert page.get_by_text("图层已换算为 GCJ-02 显示").count() == 1
    session.screenshot(f"basemap-{host.split('.')[0]}")


def test_when_tiles_fail_the_map_says_so_once_and_keeps_the_overlays(browser: Any, tiles_app: harness.App) -> None:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    watch = harness.watch_page(context, page)  # every tile request is aborted: no internet
    page.goto(tiles_app.url + "/?basemap=osm")
    harness.wait_for_app(page)
    frame = harness.map_frame(page)
    frame.locator(".up-notice").wait_for()
    assert frame.locator(".up-notice").count() == 1
    assert frame.locator(".leaflet-overlay-pane path").count() == 29
    assert watch.outside_requests and all("openstreetmap" in url for url in watch.outside_requests)
    context.close()
