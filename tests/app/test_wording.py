"""The Chinese UI reads as Chinese: no English words or developer ids on any page, charts included."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import streamlit as st

from tests.app.conftest import EDITOR_PASSWORD, log_in
from urban_plan import auth
from urban_plan.store import Actor, FileLayerStore

# Names, formats and standards a Chinese planner writes in Latin letters too: allowed where they are the point.
ALLOWED = {
    *("GeoJSON", "CSV", "PDF", "PNG", "HTML", "JSON", "ZIP", "Shapefile", "shp", "zip", "geojson", "json"),
    *("gpkg", "gdb", "kml", "kmz", "shx", "dbf", "prj", "GeoPackage", "KML"),  # the file suffixes the uploader takes
    *("EPSG", "WGS84", "CGCS2000", "GCJ-02", "BD-09", "OSM", "OpenStreetMap", "GIS", "GPS", "Web"),
    *("km", "m", "MB", "X", "Y", "A4", "A3", "UTF-8", "GBK", "GB18030", "BOM"),
    "Esc",  # a key's name as printed on the keyboard
    *("G220", "Language", "English"),  # a road's name; the language switch speaks to both readers
}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
URL_OR_PATH = re.compile(
    r"[!-~]*(?:://|[A-Za-z0-9_]/[A-Za-z0-9_]|\.(?:txt|toml|json|geojson|html|png|pdf|csv|zip))[!-~]*"  # links, files
    r"|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:cn|com|net|org)\b"  # a source named by its site
)
TAG = re.compile(r"<style.*?</style>|<script.*?</script>|<[^>]+>", re.S)
CJK = re.compile(r"[\u3400-\u9fff]")
ID_COLUMN = "编号"  # ids are the point there, and labelled as such


def latin_words(text: str) -> list[str]:
    bare = URL_OR_PATH.sub(" ", text)
    return [w for w in WORD.findall(bare) if w not in ALLOWED and not re.fullmatch(r"[A-Z]?\d+[A-Za-z]?", w)]


def visible(at: Any) -> Iterator[tuple[str, str]]:
    """(where, text) for what a reader sees: labels, values as shown, options, help, HTML without its markup,
    table headers and cells, chart titles and chart text, the navigation. Not code blocks (commands to copy)."""

    def walk(node: Any) -> Iterator[tuple[str, str]]:
        kind = type(node).__name__
        if kind == "Code":
            return
        if kind == "Dataframe":
            frame = node.value
            config = json.loads(node.proto.columns or "{}")  # column_config: the header a reader sees
            labels = {c: (config.get(str(c)) or {}).get("label") or str(c) for c in frame.columns}
            yield from ((kind, labels[c]) for c in frame.columns if not (config.get(str(c)) or {}).get("hidden"))
            # An editable table's cells are what editors type (both languages' fields among them): headers only.
            for column in frame.columns if not getattr(node.proto, "editing_mode", 0) else ():
                if column != ID_COLUMN:
                    yield from ((f"{kind}:{column}", v) for v in frame[column] if isinstance(v, str))
        elif kind == "UnknownElement" and getattr(node.proto, "spec", ""):
            yield from chart_text(node.proto)
        else:
            has_options = bool(getattr(node, "options", None))
            for attr in ("label", "help", "placeholder", "body", *(() if has_options else ("value",))):
                value = getattr(node, attr, None)
                if isinstance(value, str) and value:
                    text = html.unescape(TAG.sub(" ", value)) if "<" in value else value
                    yield f"{kind}.{attr}", text
            for option in getattr(node, "options", None) or []:
                yield f"{kind}.option", str(option)
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                yield from walk(child)

    yield from walk(at.main)
    yield from walk(at.sidebar)
    for page in at._registered_pages.values():  # the navigation's labels (no public accessor)
        yield "nav", page["page_name"]


def chart_text(proto: Any) -> Iterator[tuple[str, str]]:
    spec = json.loads(proto.spec)

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, child in value.items():
                if key == "title" and isinstance(child, str):
                    yield child
                elif key == "title" and isinstance(child, dict) and isinstance(child.get("text"), str):
                    yield child["text"]
                else:
                    yield from walk(child)
        elif isinstance(value, list):
            for child in value:
                yield from walk(child)

    yield from (("chart.title", text) for text in walk(spec))
    for dataset in proto.datasets:
        table = pa.ipc.open_stream(io.BytesIO(dataset.data.data)).read_all()
        for name in ("text", "progress_text", "marker", "status_label", "layer_label", "label", "expected_name"):
            if name in table.column_names:
                yield from ((f"chart.{name}", str(v)) for v in table.column(name).to_pylist() if v is not None)


def english_in(at: Any, *names: str) -> list[tuple[str, str, list[str]]]:
    """Latin words on screen, apart from the allowed ones and the given names (an editor's account name)."""
    assert not at.exception, [e.message for e in at.exception]
    found = ((where, text, [w for w in latin_words(text) if w not in names]) for where, text in visible(at))
    return [(where, text[:160], words) for where, text, words in found if words]


PAGES = [
    "app_pages/map.py",
    "app_pages/table.py",
    "app_pages/dashboard.py",
    "app_pages/present.py",
    "app_pages/history.py",
    "app_pages/coordinates.py",
    "app_pages/account.py",
]


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.SECRETS_ENV, raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.mark.parametrize("page", PAGES)
def test_a_chinese_page_shows_no_english_words(app, page: str) -> None:
    at = app().run()
    at.switch_page(page).run()
    assert english_in(at) == []


@pytest.mark.parametrize("page", ["app_pages/map.py", "app_pages/dashboard.py", "app_pages/history.py"])
def test_an_english_page_shows_no_chinese_outside_the_data(app, page: str) -> None:
    at = app("en").run()
    at.switch_page(page).run()
    assert not at.exception
    allowed = {"语言 Language", "中文"}  # the language switch speaks to both readers
    chinese = [
        (where, text)
        for where, text in visible(at)
        if CJK.search(text.replace("亿元", "")) and text not in allowed and where != "Dataframe:Source"
    ]
    assert chinese == []  # 亿元 may stand beside ¥ bn as the planners' own unit; a source may be Chinese only


def test_the_chinese_editor_pages_show_no_english_words(app) -> None:
    at = app()
    at.secrets["editors"] = {"li": {"password_hash": auth.hash_password(EDITOR_PASSWORD)}}
    log_in(at.run())
    found = english_in(at, "li")  # the account page, logged in
    for page in ("app_pages/upload.py", "app_pages/dashboard.py", "app_pages/present.py", "app_pages/history.py"):
        at.switch_page(page).run()
        found += english_in(at, "li")
    assert found == []


def test_the_upload_check_reads_out_in_chinese(app, data_dir: Path) -> None:
    at = app()
    at.secrets["editors"] = {"li": {"password_hash": auth.hash_password(EDITOR_PASSWORD)}}
    log_in(at.run())
    at.switch_page("app_pages/upload.py").run()
    raw = (data_dir / "projects.geojson").read_bytes()
    at.file_uploader[0].upload("projects.geojson", raw, "application/json")
    at.run()
    readout = next(text for _, text in visible(at) if text.strip().startswith("读到 5 个要素"))
    assert "文字编码:UTF-8" in readout and "坐标系:WGS84 经纬度, EPSG:4326(" in readout, readout
    assert latin_words(readout) == [], readout  # not "encoding: UTF-8, crs: EPSG:4326 (recognised)"
    # The file's own column names (the "id from column" choices) are the planner's data, in whatever letters
    columns = {name for feature in json.loads(raw)["features"] for name in feature["properties"]}
    assert [
        (where, text) for where, text, _ in english_in(at, "li") if not (where.endswith("option") and text in columns)
    ] == []


def test_the_presentation_buttons_speak_chinese(app, data_dir: Path) -> None:
    views = [{"id": "rail", "title_zh": "高铁连接进展", "title_en": "Rail", "query": {"layers": "rail"}}]
    doc = {"views": views, "meetings": []}
    FileLayerStore(data_dir).publish("views", doc, actor=Actor("li", "editor"), base_version=0)
    at = app(view="rail").run()
    at.switch_page("app_pages/present.py").run()
    labels = [b.label for b in at.button]
    assert "向上翻页" in labels and "向下翻页" in labels  # not "PgUp" / "PgDn"
    assert english_in(at) == []


def test_the_history_names_the_seeded_versions_in_words(app) -> None:
    at = app().run()
    at.switch_page("app_pages/history.py").run()
    table = at.dataframe[0].value
    assert set(table["作者"]) == {"初始数据(系统导入)"}
    assert list(table["版本"]) == ["第 3 版", "第 2 版", "第 1 版"]
    shown = " ".join(text for _, text in visible(at))
    assert "seed" not in shown and "v3" not in shown


def test_after_logging_in_the_navigation_offers_the_account_not_the_login(app) -> None:
    at = app()
    at.secrets["editors"] = {"li": {"password_hash": auth.hash_password(EDITOR_PASSWORD)}}
    at.run()
    assert "编辑登录" in [p["page_name"] for p in at._registered_pages.values()]
    log_in(at).run()
    names = [p["page_name"] for p in at._registered_pages.values()]
    assert "编辑登录" not in names and "账户 / 退出登录" in names


def test_empty_dates_say_what_empty_means(app) -> None:
    at = app().run()
    captions = [c.value for c in at.sidebar.caption]
    assert any("留空表示最新数据" in c and "年-月-日" in c for c in captions), captions
    assert [d.proto.format for d in at.sidebar.date_input][:2] == ["YYYY-MM-DD", "YYYY-MM-DD"]


def test_the_dashboard_says_no_progress_is_reported_instead_of_empty_bars(app) -> None:
    at = app().run()
    at.switch_page("app_pages/dashboard.py").run()
    shown = [text for where, text in visible(at) if where.startswith("chart.")]
    assert "暂无上报进度" in shown  # the shipped data reports no progress for any work
    assert "未上报" not in shown and "未报告" not in shown  # not a column of empty rows saying so one by one
