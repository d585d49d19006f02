"""Browser fixtures: one app server per session over a private data copy, a fresh Chromium page per test."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(harness.CHROMIUM).exists():
        message = f"{harness.CHROMIUM} is missing: apt-get install chromium (the README's test command does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return harness.CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium_path, args=harness.CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[harness.App]:
    del browser  # start the browser first: a missing Chromium fails before a server is started
    root = tmp_path_factory.mktemp("e2e")
    data = harness.copy_data(root / "data")
    with harness.running_app(data, root) as app:
        yield app


class Session:
    """A browser page on the app plus what it did behind the user's back."""

    def __init__(self, page: Any, watch: harness.Watch, app: harness.App) -> None:
        self.page, self.watch, self.app = page, watch, app

    def open(self, path: str = "/") -> Any:
        self.page.goto(self.app.url + path)
        harness.wait_for_app(self.page)
        return self.page

    def screenshot(self, name: str) -> Path:
        harness.SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = harness.SCREENSHOT_DIR / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@contextlib.contextmanager
def browser_session(browser: Any, app: harness.App, request: pytest.FixtureRequest | None = None) -> Iterator[Session]:
    """A fresh Chromium context on an app, in Chinese and Beijing time, every outside request aborted."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(30000)
    watch = harness.watch_page(context, page)
    try:
        yield Session(page, watch, app)
    finally:
        if request is not None and getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
            print(f"--- streamlit log ---\n{app.log()[-5000:]}")
        context.close()


@pytest.fixture
def session(browser: Any, app_server: harness.App, request: pytest.FixtureRequest) -> Iterator[Session]:
    with browser_session(browser, app_server, request) as opened:
        yield opened


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
