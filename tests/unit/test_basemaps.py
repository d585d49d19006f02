"""Basemaps: the right tile templates and attribution, keys from configuration only, overlays in the tiles' datum."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from urban_plan import basemaps, datum, frame, mapping, registry
from urban_plan.store import FileLayerStore

ROOT = Path(__file__).resolve().parents[2]
KEY = "0123456789abcdef0123456789abcdef"
SETTINGS = basemaps.Settings(
    tianditu_key=KEY,
    intranet_url="http://tiles.bureau.local/{z}/{x}/{y}.png",
    intranet_attribution="济阳区自然资源局 <内网>",
    intranet_datum="gcj02",
)


@pytest.fixture(scope="module")
def layers():
    store = FileLayerStore(ROOT / "geodata")
    return (
        frame.collection_frame(store.load("context"), "context"),
        frame.layers_frame({layer: store.load(layer) for layer in registry.builtin().overlays()}),
    )


def render(basemap: str, layers, settings: basemaps.Settings = SETTINGS) -> str:
    choice = basemaps.choose(basemap, settings)
    options = mapping.MapOptions(basemap=basemap, tiles=choice.tiles, datum=choice.datum)
    return mapping.full_map(*layers, options).get_root().render()


def government_point(html: str) -> tuple[float, float]:
    for block in mapping.embedded_collections(html):
        for feature in block["features"]:
            if "ctx-government" in feature["properties"]["_tip"]:
                return tuple(feature["geometry"]["coordinates"])
    raise AssertionError("government point not drawn")


@pytest.mark.parametrize(
    ("basemap", "templates", "attribution"),
    [
        ("none", [], None),
        ("osm", ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"], "OpenStreetMap"),
        ("tianditu_vec", ["tianditu.gov.cn/vec_w/wmts", "tianditu.gov.cn/cva_w/wmts"], "天地图"),
        ("tianditu_img", ["tianditu.gov.cn/img_w/wmts", "tianditu.gov.cn/cia_w/wmts"], "天地图"),
        ("amap_vec", ["webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"], "高德"),
        (
            "amap_img",
            [
                "webst0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=6",
                "webst0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8",
            ],
            "高德",
        ),
        ("intranet", ["http://tiles.bureau.local/{z}/{x}/{y}.png"], "济阳区自然资源局 &lt;内网&gt;"),
    ],
)
def test_each_basemap_uses_its_tile_template_and_attribution(layers, basemap, templates, attribution) -> None:
    html = render(basemap, layers)
    urls = [json.loads(f'"{u}"') for u in re.findall(r"L\.tileLayer\(\s*\"([^\"]+)\"", html)]
    attributions = [json.loads(f'"{a}"') for a in re.findall(r'"attribution": "((?:[^"\\]|\\.)*)"', html)]
    assert len(urls) == len(templates)
    for url, template in zip(urls, templates, strict=True):
        assert template in url
    if attribution:
        assert any(attribution in a for a in attributions), attributions
    if basemap.startswith("tianditu"):
        assert all(url.endswith(f"tk={KEY}") for url in urls)


@pytest.mark.parametrize(
    ("basemap", "shifted"),
    [
        ("none", False),
        ("osm", False),
        ("tianditu_vec", False),
        ("amap_vec", True),
        ("amap_img", True),
        ("intranet", True),
    ],
)
def test_overlays_are_shifted_to_gcj02_only_for_gcj02_tiles(layers, basemap: str, shifted: bool) -> None:
    lon, lat = government_point(render(basemap, layers))
    expected = datum.convert_point(117.1699, 36.9762, "wgs84", "gcj02") if shifted else (117.1699, 36.9762)
    assert (lon, lat) == (pytest.approx(expected[0], abs=2e-6), pytest.approx(expected[1], abs=2e-6))


def test_without_a_key_tianditu_says_how_to_get_one_and_draws_no_tiles() -> None:
    choice = basemaps.choose("tianditu_vec", basemaps.Settings())
    assert choice.tiles == () and choice.missing == "basemap.tianditu_needs_key"
    assert basemaps.choose("intranet", basemaps.Settings()).missing == "basemap.intranet_needs_url"


@pytest.mark.parametrize(
    ("secrets", "env", "key", "url"),
    [
        ({"basemaps": {"tianditu_key": KEY}}, {}, KEY, None),
        ({}, {"TIANDITU_KEY": KEY}, KEY, None),
        ({"basemaps": {"tianditu_key": "bad key';alert(1)//"}}, {}, None, None),
        ({"basemaps": {"intranet_url": "http://t.local/{z}/{x}/{y}.png"}}, {}, None, "http://t.local/{z}/{x}/{y}.png"),
        ({"basemaps": {"intranet_url": "javascript:alert(1)//{z}{x}{y}"}}, {}, None, None),
        ({"basemaps": {"intranet_url": 'http://t.local/"+alert(1)+"/{z}/{x}/{y}'}}, {}, None, None),
        ({"basemaps": {"intranet_url": "http://t.local/tiles.png"}}, {}, None, None),
    ],
)
def test_keys_and_tile_urls_come_from_configuration_and_are_checked(secrets, env, key, url) -> None:
    settings = basemaps.settings_from(secrets, env)
    assert (settings.tianditu_key, settings.intranet_url) == (key, url)
