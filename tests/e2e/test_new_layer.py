"""A new layer from a file in a real browser: an editor creates 学校 from points with Chinese columns; it shows on
the map (legend, details), in the table, not in the dashboard; archived, it is gone everywhere but the history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.conftest import Session, browser_session
from tests.schools import SCHOOLS, schools_geojson
from urban_plan import auth
from urban_plan.i18n import t

PASSWORD = "correct horse battery"
WORDS = {
    "zh": {
        "upload": "上传更新",
        "map": "规划地图",
        "table": "要素列表",
        "dashboard": "进展看板",
        "history": "版本历史",
        "target": "上传到哪个图层",
        "new": "+ 新建图层",
        "name_zh": "图层中文名",
        "name_en": "图层英文名",
        "new_fields": "新字段(3 个)",
        "publish": "创建图层“学校”并发布第 1 版",
        "created": "已创建图层:学校(编号 schools)",
        "layer": "学校",
        "first_version": "第 1 版",
    },
    "en": {
        "logged_in": "Logged in as li",
        "upload": "Upload",
        "map": "Planning map",
        "table": "Features",
        "dashboard": "Dashboard",
        "history": "History",
        "target": "Upload into layer",
        "new": "+ New layer",
        "name_zh": "Layer name in Chinese",
        "name_en": "Layer name in English",
        "new_fields": "New fields (3)",
        "publish": "Create the layer “Schools” and publish version 1",
        "created": "Created the layer Schools (id schools)",
        "layer": "Schools",
        "first_version": "Version 1",
    },
}


def schools_file(folder: Path) -> Path:
    path = folder / "学校.geojson"
    path.write_bytes(schools_geojson())
    return path


@pytest.fixture(scope="module", params=["zh", "en"])
def school_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Any]:
    del browser
    root = tmp_path_factory.mktemp(f"new-layer-{request.param}")
    data = harness.copy_data(root / "data")
    secrets = root / "secrets.toml"
    auth.add_editor(secrets, "li", PASSWORD)  # every layer: may add layers
    with harness.running_app(data, root, env={auth.SECRETS_ENV: str(secrets)}) as app:
        yield request.param, app


@pytest.fixture
def opened(browser: Any, school_app: Any, request: pytest.FixtureRequest) -> Iterator[tuple[str, Session]]:
    lang, app = school_app
    with browser_session(browser, app, request) as session:
        yield lang, session


def log_in(session: Session, lang: str) -> Any:
    """Log in on the account page, then (for English) switch the language in the sidebar as a reader would: the
    login's cookie round trip comes back to the page in the default language."""
    page = session.open("/account")
    page.get_by_label("账号", exact=True).fill("li")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.get_by_text("已登录:li").wait_for()
    if lang == "en":
        page.get_by_text("English", exact=True).click()
        page.get_by_text(WORDS["en"]["logged_in"]).wait_for()
    harness.wait_for_app(page)
    return page


def go(page: Any, link: str) -> None:
    """Navigate inside the app (a full reload would start a new session, which is logged out by design)."""
    page.get_by_role("link", name=link).click()
    harness.wait_for_app(page)


def type_into(page: Any, label: str, text: str) -> None:
    field = page.get_by_label(label)
    field.fill(text)
    field.press("Enter")  # Streamlit takes a text input's value on Enter or blur
    harness.wait_for_app(page)


def open_tab(session: Session, path: str) -> Any:
    """Another tab of the same browser (its own Streamlit session: a viewer's)."""
    tab = session.page.context.new_page()
    tab.set_viewport_size({"width": 2400, "height": 1000})  # the grid draws only the columns that fit: all of them
    tab.goto(session.app.url + path)
    harness.wait_for_app(tab, 90000)
    return tab


def dashboard_text(page: Any) -> str:
    """The dashboard's figures, cards, charts' text alternatives and lists; not the caption naming the data
    versions loaded (which lists every layer, as on every page)."""
    text = main_text(page)
    captions = page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]')
    for index in range(captions.count()):
        text = text.replace(captions.nth(index).inner_text(), "")
    return text


def main_text(page: Any) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_an_editor_creates_a_school_layer_that_shows_everywhere_until_archived(
    opened: tuple[str, Session], tmp_path: Path
) -> None:
    lang, session = opened
    words = WORDS[lang]
    page = log_in(session, lang)

    go(page, words["upload"])
    page.locator('[data-testid="stSelectbox"]').filter(has_text=words["target"]).click()
    page.get_by_role("option", name=words["new"]).click()
    harness.wait_for_app(page)
    type_into(page, words["name_zh"], "学校")
    type_into(page, words["name_en"], "Schools")
    page.locator('input[type="file"]').set_input_files(str(schools_file(tmp_path)))
    page.get_by_text(words["new_fields"]).wait_for()
    harness.wait_for_app(page)
    harness.map_frame(page).locator("path.up-change-added").first.wait_for(state="attached")
    page.set_viewport_size({"width": 1600, "height": 2800})  # the whole flow in one picture: fields, preview, map
    harness.wait_for_app(page)
    session.screenshot(f"upload-new-layer-{lang}")
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.get_by_role("button", name=words["publish"]).click()
    page.get_by_text(words["created"]).wait_for()

    # The map draws the six schools and names the layer in its legend; a school's details show its columns.
    go(page, words["map"])
    frame = harness.map_frame(page)
    frame.locator("path.up-l-schools").first.wait_for(state="attached")
    assert frame.locator("path.up-l-schools").count() == len(SCHOOLS)
    frame.locator(".up-legend").filter(has_text=words["layer"]).wait_for(state="attached")
    frame.locator("path.up-l-schools").first.dispatch_event("click")
    details = page.locator('[data-testid="stHtml"]').filter(has_text="济阳区第一实验小学")
    details.first.wait_for()
    shown = details.first.inner_text()
    assert "建设单位" in shown and "济阳区教育和体育局" in shown and "小学" in shown and "2.4" in shown
    session.screenshot(f"new-layer-map-{lang}")

    # The table lists the schools with their columns (a second tab, as a viewer would open a shared link); the
    # dashboard, which follows layers that track progress, does not mention them.
    table = open_tab(session, "/table?layers=schools" + ("&lang=en" if lang == "en" else ""))
    headers = table.locator('[role="columnheader"]')
    headers.filter(has_text="建设单位").first.wait_for(state="attached", timeout=90000)
    assert headers.filter(has_text="学段").count() == 1 and headers.filter(has_text="占地面积(公顷)").count() == 1
    table.locator('[data-testid^="glide-cell"]').filter(has_text="济北中学").first.wait_for(state="attached")
    table.screenshot(path=str(harness.SCREENSHOT_DIR / f"new-layer-table-{lang}.png"), full_page=True)
    go(page, words["dashboard"])
    page.get_by_role("heading", name=t("dashboard.charts", lang)).wait_for()
    harness.wait_for_app(page)
    figures = dashboard_text(page)
    assert "进度" in figures or "progress" in figures.lower()
    assert words["layer"] not in figures and "济北中学" not in figures

    archive(page, lang)

    go(page, words["map"])
    frame = harness.map_frame(page)
    frame.locator(".up-legend").first.wait_for(state="attached")
    assert frame.locator("path.up-l-schools").count() == 0
    assert frame.locator(".up-legend").filter(has_text=words["layer"]).count() == 0
    table.reload()
    harness.wait_for_app(table)
    table.locator('[data-testid^="glide-cell"]').first.wait_for(state="attached")
    assert table.locator('[data-testid^="glide-cell"]').filter(has_text="济北中学").count() == 0
    assert table.locator('[role="columnheader"]').filter(has_text="建设单位").count() == 0

    # The history keeps the archived layer, marked as such, and its first version.
    go(page, words["history"])
    page.locator('[data-testid="stSelectbox"]').filter(has_text=t("history.layer", lang)).click()
    listed = page.get_by_role("option").filter(has_text=words["layer"])
    assert listed.count() == 1
    listed.first.click()
    page.wait_for_url("**layer=schools**")
    harness.wait_for_app(page)
    # The version picker now shows the layer's only version ("第 1 版 · 数据截至 …"), published today.
    shown = f"{words['first_version']} · "
    page.wait_for_function(
        "(text) => document.querySelector('[data-testid=\"stMain\"]').innerText.includes(text)", arg=shown
    )
    assert session.watch.outside_requests == [] and session.watch.console_errors == []


def archive(page: Any, lang: str) -> None:
    """Archive the layer on the Layers page, as an editor would: choose it, confirm, archive."""
    name = WORDS[lang]["layer"]
    go(page, t("nav.layers", lang))
    page.locator('[data-testid="stSelectbox"]').filter(has_text=t("layerspage.choose", lang)).click()
    page.get_by_role("option", name=name, exact=True).click()
    harness.wait_for_app(page)
    page.get_by_text(t("layerspage.archive.confirm", lang, layer=name)).click()
    harness.wait_for_app(page)
    page.get_by_role("button", name=t("layerspage.archive.button", lang)).click()
    page.get_by_text(t("layerspage.archive.archived_note", lang, layer=name)).wait_for()
