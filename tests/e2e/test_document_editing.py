"""The targets editor in a real browser: a table edit survives reruns and another editor's save, and is saved on top."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.conftest import Session, browser_session
from urban_plan import auth
from urban_plan.store import Actor, FileLayerStore

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def targets_app(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[tuple[harness.App, Path]]:
    del browser
    root = tmp_path_factory.mktemp("targets")
    data = harness.copy_data(root / "data")
    secrets = root / "secrets.toml"
    auth.add_editor(secrets, "li", PASSWORD)
    with harness.running_app(data, root, env={auth.SECRETS_ENV: str(secrets)}) as app:
        yield app, data


@pytest.fixture
def editing(browser: Any, targets_app: tuple[harness.App, Path], request: pytest.FixtureRequest) -> Iterator[Session]:
    with browser_session(browser, targets_app[0], request) as opened:
        yield opened


def test_a_table_edit_survives_another_editors_save_and_is_saved_on_top_of_it(
    editing: Session, targets_app: tuple[harness.App, Path]
) -> None:
    page = editing.open("/account")
    page.get_by_label("账号").fill("li")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("已登录:li").wait_for()
    page.get_by_role("link", name="进展看板").click()
    harness.wait_for_app(page)
    page.get_by_text("更新目标与报告值(编辑)").click()
    grid = page.locator('[data-testid="stExpander"] [data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    # The grid is a canvas: click a cell in the middle of the data, then walk with the keys (arrows clamp at the
    # edges) to the resettlement row (the third) and its "reported" column (the seventh): no pixel arithmetic.
    page.mouse.click(box["x"] + 30, box["y"] + box["height"] * 0.6)
    for key, times in (("ArrowUp", 10), ("ArrowLeft", 12), ("ArrowDown", 2), ("ArrowRight", 6)):
        for _ in range(times):
            page.keyboard.press(key)
    page.keyboard.press("Enter")
    # The cell's editor mounts a moment later (in the grid's portal): type only once it is there.
    cell_editor = page.locator("#portal input, #portal textarea").first
    cell_editor.wait_for()
    cell_editor.fill("2200")
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)  # the edit's rerun starts after the grid's debounce
    harness.wait_for_app(page)

    store = FileLayerStore(targets_app[1])
    doc = store.load("targets")
    next(r for r in doc["rows"] if r["id"] == "road_works").update(note="九条道路名称已公布")
    store.publish(
        "targets",
        doc,
        actor=Actor("wang", "editor"),
        base_version=2,
        message="道路名称",
        saved_at=dt.datetime(2025, 3, 1, 2, 30, tzinfo=dt.UTC),
    )
    page.get_by_label("更新说明").fill("2024年末报告")
    page.keyboard.press("Tab")  # a rerun with the newer version in the store
    harness.wait_for_app(page)
    page.get_by_role("button", name="保存为新版本").click()
    warning = page.locator('[data-testid="stAlertContentWarning"]')
    warning.wait_for()
    assert "wang" in warning.inner_text() and "2025-03-01 10:30(北京时间)" in warning.inner_text()
    assert store.latest("targets").number == 3

    page.get_by_role("button", name="在第 3 版基础上保存我的修改").click()
    page.get_by_text("已保存目标表第 4 版").wait_for()
    saved = {r["id"]: r for r in store.load("targets")["rows"]}
    assert saved["resettlement_flats"]["reported"] == 2200  # my edit, typed before wang saved
    assert saved["road_works"]["note"] == "九条道路名称已公布"  # wang's
    assert store.latest("targets").message == "2024年末报告"
    assert editing.watch.outside_requests == [] and editing.watch.console_errors == []
