"""Editing in a real browser: log in, upload, preview, publish, see the map change, roll back; XSS stays text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.conftest import Session, browser_session
from urban_plan import auth

PASSWORD = "correct horse battery"
XSS = "<img src=x onerror=alert(1)>${alert(2)}"


@pytest.fixture(scope="module")
def editor_app(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[harness.App]:
    del browser
    root = tmp_path_factory.mktemp("editing")
    data = harness.copy_data(root / "data")
    secrets = root / "secrets.toml"
    auth.add_editor(secrets, "li", PASSWORD, layers=["projects"])
    with harness.running_app(data, root, env={auth.SECRETS_ENV: str(secrets)}) as app:
        yield app


@pytest.fixture
def editing(browser: Any, editor_app: harness.App, request: pytest.FixtureRequest) -> Iterator[Session]:
    with browser_session(browser, editor_app, request) as opened:
        yield opened


def upload_file(tmp_path: Path) -> Path:
    fc = json.loads((harness.ROOT / "geodata" / "projects.geojson").read_text(encoding="utf-8"))
    for feature in fc["features"]:
        props = feature["properties"]
        if props["id"] == "prj-huanghe-north":
            props.update(status="completed", progress=100, end_date="2026-09-30")
        if props["id"] == "prj-dasi-river":
            props["name_zh"] = XSS
    path = tmp_path / "projects-update.geojson"
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return path


def log_in(session: Session) -> Any:
    page = session.open("/account")
    page.get_by_label("账号").fill("li")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("已登录:li").wait_for()
    return page


def go(page: Any, link: str) -> None:
    """Navigate inside the app (a full reload would start a new session, which is logged out by design)."""
    page.get_by_role("link", name=link).click()
    harness.wait_for_app(page)


def test_a_viewer_finds_no_way_to_publish(editing: Session) -> None:
    for path in ("/upload", "/upload?role=editor", "/?editor=1&page=upload", "/history?layer=projects&rollback=1"):
        page = editing.open(path)
        assert page.get_by_role("link", name="上传更新").count() == 0
        assert page.get_by_role("button", name="发布为新版本").count() == 0
        assert page.get_by_role("button", name="回滚到").count() == 0
    assert editing.watch.outside_requests == []


def test_an_editor_uploads_previews_publishes_sees_the_map_change_and_rolls_back(
    editing: Session, tmp_path: Path
) -> None:
    page = log_in(editing)
    go(page, "上传更新")
    page.locator('input[type="file"]').set_input_files(str(upload_file(tmp_path)))
    page.get_by_text("与当前版本的差异").wait_for()
    harness.wait_for_app(page)
    changes = page.locator('[data-testid="stMetric"]').filter(has_text="修改")
    assert changes.locator('[data-testid="stMetricValue"]').inner_text() == "2"
    harness.map_frame(page).locator("path.up-change-changed").first.wait_for(state="attached")
    editing.screenshot("upload-preview-zh")
    page.get_by_role("button", name="发布为新版本").click()
    page.get_by_text("已发布:五大项目 第 4 版。").wait_for()

    go(page, "规划地图")
    frame = harness.map_frame(page)
    frame.locator("path.up-l-projects.up-s-completed").first.wait_for(state="attached")
    assert frame.locator("path.up-l-projects.up-s-completed").count() == 1
    assert page.locator('[data-kpi="completed"] .up-kpi-value').inner_text() == "1"  # the KPI strip

    go(page, "版本历史")
    page.get_by_text("第 4 版").first.wait_for(state="attached")
    editing.screenshot("history-zh")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="查看版本").click()
    page.get_by_role("option", name="第 3 版").click()
    harness.wait_for_app(page)
    page.get_by_text("我确认要将第 3 版重新发布为新版本").click()
    page.get_by_role("button", name="回滚到第 3 版").click()
    page.get_by_text("第 5 版").first.wait_for(state="attached")
    go(page, "规划地图")
    harness.map_frame(page).locator("path.up-l-projects").first.wait_for(state="attached")
    assert harness.map_frame(page).locator("path.up-l-projects.up-s-completed").count() == 0
    assert editing.watch.outside_requests == [] and editing.watch.console_errors == []
    assert editing.watch.dialogs == []


def test_uploaded_script_in_a_name_shows_as_text_and_runs_nothing(editing: Session, tmp_path: Path) -> None:
    page = log_in(editing)
    go(page, "上传更新")
    page.locator('input[type="file"]').set_input_files(str(upload_file(tmp_path)))
    page.get_by_text("与当前版本的差异").wait_for()
    harness.wait_for_app(page)
    # The diff table's cells hold the payload as plain text.
    page.locator('[data-testid^="glide-cell"]').filter(has_text="onerror").first.wait_for(state="attached")
    cells = page.locator('[data-testid^="glide-cell"]')
    assert XSS in [cells.nth(i).text_content() for i in range(cells.count())]
    frame = harness.map_frame(page)
    frame.locator("path.up-change-changed").first.wait_for(state="attached")
    for index in range(frame.locator("path.up-change-changed").count()):
        frame.locator("path.up-change-changed").nth(index).hover(force=True)
    page.wait_for_timeout(500)
    assert frame.locator("img[src='x']").count() == 0
    assert editing.watch.dialogs == []
