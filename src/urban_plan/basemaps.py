"""Basemaps planners know (OpenStreetMap, 天地图 Tianditu, 高德 AMap, a bureau's own tile server) and their datums.

AMap tiles are drawn in GCJ-02: when one is chosen, the map shifts every overlay to GCJ-02 for display so they line
up; stored data stays WGS84. Tianditu's `_w` tiles are Web Mercator on CGCS2000 (= WGS84 to decimetres): no shift.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

BASEMAP_IDS: tuple[str, ...] = ("none", "osm", "tianditu_vec", "tianditu_img", "amap_vec", "amap_img", "intranet")
TIANDITU_KEY_ENV = "TIANDITU_KEY"
INTRANET_URL_ENV = "URBAN_PLAN_TILE_URL"
TIANDITU_SIGNUP = "https://console.tianditu.gov.cn"
_TEMPLATE = re.compile(r"^https?://[^\s\"'<>\\]+$")


@dataclass(frozen=True)
class Tiles:
    """One tile layer: Leaflet URL template, subdomains, attribution (HTML from us, never from data)."""

    url: str
    attribution: str
    subdomains: str = "abc"
    max_zoom: int = 18
    overlay: bool = False  # an annotation layer drawn over the base tiles


@dataclass(frozen=True)
class Settings:
    """Where the bureau's keys and tile server come from (secrets.toml `[basemaps]`, or the environment)."""

    tianditu_key: str | None = None
    intranet_url: str | None = None
    intranet_attribution: str = ""
    intranet_datum: str = "wgs84"


@dataclass(frozen=True)
class Choice:
    id: str
    tiles: tuple[Tiles, ...]
    datum: str  # the datum the tiles are drawn in: overlays are shown in it
    missing: str | None = None  # why this basemap cannot be used here (a locale key), or None


def settings_from(secrets: Mapping[str, Any], env: Mapping[str, str] = os.environ) -> Settings:
    """Read and check the configuration; a malformed value is ignored (the choice then says what is missing)."""
    section = secrets.get("basemaps") if isinstance(secrets.get("basemaps"), Mapping) else {}
    key = env.get(TIANDITU_KEY_ENV) or section.get("tianditu_key")
    key = key if isinstance(key, str) and re.fullmatch(r"[0-9A-Za-z]{16,64}", key.strip()) else None
    url = env.get(INTRANET_URL_ENV) or section.get("intranet_url")
    url = url.strip() if isinstance(url, str) and valid_template(url.strip()) else None
    attribution = section.get("intranet_attribution") if isinstance(section.get("intranet_attribution"), str) else ""
    datum = section.get("intranet_datum") if section.get("intranet_datum") in ("wgs84", "gcj02") else "wgs84"
    return Settings(key.strip() if key else None, url, attribution[:200], datum)


def valid_template(url: str) -> bool:
    """An http(s) XYZ template with {z}, {x}, {y} and nothing that could break out of a JS string."""
    return bool(_TEMPLATE.match(url)) and all(part in url for part in ("{z}", "{x}", "{y}")) and len(url) < 500


def choose(basemap: str, settings: Settings) -> Choice:
    """The tiles and display datum for a basemap id; `missing` says why it cannot be shown (then no tiles)."""
    if basemap == "osm":
        return Choice("osm", (Tiles("https://tile.openstreetmap.org/{z}/{x}/{y}.png", _OSM, "abc", 19),), "wgs84")
    if basemap in ("tianditu_vec", "tianditu_img"):
        if not settings.tianditu_key:
            return Choice(basemap, (), "wgs84", "basemap.tianditu_needs_key")
        base, notes = ("vec", "cva") if basemap == "tianditu_vec" else ("img", "cia")
        return Choice(
            basemap, (_tianditu(base, settings.tianditu_key), _tianditu(notes, settings.tianditu_key, True)), "wgs84"
        )
    if basemap == "amap_vec":
        return Choice(basemap, (Tiles(_AMAP.format(host="webrd", style=8), _AMAP_ATTR, "1234", 18),), "gcj02")
    if basemap == "amap_img":
        return Choice(
            basemap,
            (
                Tiles(_AMAP.format(host="webst", style=6), _AMAP_ATTR, "1234", 18),
                Tiles(_AMAP.format(host="webst", style=8), _AMAP_ATTR, "1234", 18, overlay=True),
            ),
            "gcj02",
        )
    if basemap == "intranet":
        if not settings.intranet_url:
            return Choice(basemap, (), "wgs84", "basemap.intranet_needs_url")
        attribution = settings.intranet_attribution or "intranet tiles"
        return Choice(
            basemap, (Tiles(settings.intranet_url, _escape(attribution), "abc", 20),), settings.intranet_datum
        )
    return Choice("none", (), "wgs84")


def _tianditu(layer: str, key: str, overlay: bool = False) -> Tiles:
    url = (
        f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
        f"&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
    )
    return Tiles(url, _TIANDITU_ATTR, "01234567", 18, overlay)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


_OSM = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
_TIANDITU_ATTR = "&copy; 天地图 Tianditu (国家地理信息公共服务平台)"
_AMAP = (
    "https://{host}0{{s}}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style={style}&x={{x}}&y={{y}}&z={{z}}"
)
_AMAP_ATTR = "&copy; 高德地图 AutoNavi"
