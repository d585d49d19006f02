"""Vendored front-end assets: local URLs for the app, inlined copies for single-file exports. Never a CDN."""

from __future__ import annotations

import base64
import mimetypes
import re
from pathlib import Path
from typing import Any

VENDOR_DIR = Path(__file__).resolve().parents[2] / "static" / "vendor"
APP_BASE = "/app/static/vendor"  # Streamlit static serving (server.enableStaticServing) maps ./static here

LEAFLET_JS = "leaflet-1.9.4/leaflet.js"
LEAFLET_CSS = "leaflet-1.9.4/leaflet.css"
PLUGINS: dict[str, dict[str, Any]] = {
    "fullscreen": {
        "js": {
            "zh": "leaflet.fullscreen-3.0.0/Control.FullScreen.js",
            "en": "leaflet.fullscreen-3.0.0/Control.FullScreen.js",
        },
        "css": "leaflet.fullscreen-3.0.0/Control.FullScreen.css",
    },
    "measure": {  # leaflet-measure ships one build per UI language
        "js": {
            "zh": "leaflet-measure-3.1.0/leaflet-measure.cn.js",
            "en": "leaflet-measure-3.1.0/leaflet-measure.en.js",
        },
        "css": "leaflet-measure-3.1.0/leaflet-measure.css",
    },
}


def use_local_assets(m: Any, *, lang: str, base: str = APP_BASE) -> None:
    """Point a folium Map at the vendored Leaflet only (no jQuery/Bootstrap/Font Awesome: nothing here uses them)."""
    del lang  # Leaflet itself has no UI language
    m.default_js = [("leaflet", f"{base}/{LEAFLET_JS}")]
    m.default_css = [("leaflet_css", f"{base}/{LEAFLET_CSS}")]


def use_local_plugin_assets(plugin: Any, name: str, *, lang: str, base: str = APP_BASE) -> None:
    spec = PLUGINS[name]
    plugin.default_js = [(f"{name}_js", f"{base}/{spec['js'].get(lang, spec['js']['en'])}")]
    plugin.default_css = [(f"{name}_css", f"{base}/{spec['css']}")]


def all_links(html: str) -> list[str]:
    """Every script src and stylesheet href in a page (for tests and the export check)."""
    return re.findall(r"<(?:script[^>]*\bsrc|link[^>]*\bhref)=[\"']([^\"']+)[\"']", html)


def inline_assets(html: str, base: str = APP_BASE) -> str:
    """Replace links to vendored files with their content, images in CSS as data URIs: one self-contained page."""

    def script(match: re.Match[str]) -> str:
        code = _read(match.group(1), base).decode("utf-8").replace("</script", "<\\/script")
        return f"<script>{code}</script>"

    def stylesheet(match: re.Match[str]) -> str:
        relative = match.group(1)[len(base) + 1 :]
        css = _read(match.group(1), base).decode("utf-8")
        return f"<style>{_inline_css_urls(css, Path(relative).parent)}</style>"

    prefix = re.escape(base)
    html = re.sub(rf'<script[^>]*\bsrc="({prefix}/[^"]+)"[^>]*>\s*</script>', script, html)
    return re.sub(rf'<link[^>]*\bhref="({prefix}/[^"]+)"[^>]*/?>', stylesheet, html)


def _read(url: str, base: str) -> bytes:
    relative = url[len(base) + 1 :]
    path = (VENDOR_DIR / relative).resolve()
    if VENDOR_DIR.resolve() not in path.parents:
        raise ValueError(f"asset outside static/vendor: {url}")
    return path.read_bytes()


def _inline_css_urls(css: str, folder: Path) -> str:
    def data_uri(match: re.Match[str]) -> str:
        target = match.group(1).strip("'\"")
        if target.startswith(("data:", "#")):
            return match.group(0)
        path = (VENDOR_DIR / folder / target).resolve()
        if VENDOR_DIR.resolve() not in path.parents or not path.exists():
            return "url()"  # never leave a link that would try the network
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"url(data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()})"

    return re.sub(r"url\(([^)]+)\)", data_uri, css)
