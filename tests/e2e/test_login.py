"""A login that lasts: survives reloads and new tabs through an HttpOnly cookie; forged, expired, logged-out and
outdated-password cookies are refused; failed logins are throttled across server processes."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.conftest import Session, browser_session
from urban_plan import auth, sessions, throttle

PASSWORD = "correct horse battery"
COOKIE = "urban_plan_login"


@pytest.fixture(scope="module")
def login_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("login")
    harness.copy_data(root / "data")
    auth.add_editor(root / "secrets.toml", "li", PASSWORD, layers=["projects"])
    return root


@pytest.fixture(scope="module")
def login_app(login_root: Path, browser: Any) -> Iterator[harness.App]:
    del browser
    with harness.running_app(
        login_root / "data", login_root, env={auth.SECRETS_ENV: str(login_root / "secrets.toml")}
    ) as app:
        yield app


@pytest.fixture
def visitor(browser: Any, login_app: harness.App, request: pytest.FixtureRequest) -> Iterator[Session]:
    with browser_session(browser, login_app, request) as opened:
        yield opened


def log_in(session: Session, password: str = PASSWORD, path: str = "/account") -> Any:
    page = session.open(path)
    page.get_by_label("账号").fill("li")
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    return page


def logged_in(page: Any) -> bool:
    """On the account page: either the logged-in line or the login form shows up, then the script is done."""
    harness.wait_for_app(page)
    page.get_by_text("已登录:li").or_(page.get_by_role("button", name="登录", exact=True)).first.wait_for()
    harness.wait_for_app(page)
    return page.get_by_text("已登录:li").count() > 0 and page.get_by_role("link", name="上传更新").count() == 1


def login_cookie(session: Session) -> dict[str, Any] | None:
    return next((c for c in session.page.context.cookies() if c["name"] == COOKIE), None)


def test_a_login_survives_a_reload_and_a_new_tab_and_page_scripts_cannot_read_it(visitor: Session) -> None:
    page = log_in(visitor)
    page.get_by_text("已登录:li").wait_for()
    cookie = login_cookie(visitor)
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert COOKIE not in page.evaluate("document.cookie")
    assert "code=" not in page.url  # the one-time code does not stay in the address bar
    page.reload()
    assert logged_in(page)
    tab = page.context.new_page()
    tab.goto(visitor.app.url + "/account")
    assert logged_in(tab)
    tab.close()
    visitor.screenshot("login-lasting")
    assert visitor.watch.console_errors == [] and visitor.watch.outside_requests == []


def test_a_forged_or_expired_cookie_is_refused(visitor: Session, login_root: Path) -> None:
    db = throttle.database_path(login_root / "data")
    li = auth.load_accounts({"editors": {"li": {"password_hash": _hash_of(login_root, "li")}}})["li"]
    expired = sessions.Sessions(db, clock=lambda: time.time() - 9 * 3600).start(li)  # signed by the server's key
    other_key = sessions.Sessions(db, secret="not the server's key").start(li)
    valid = sessions.Sessions(db).start(li)
    payload, signature = valid.split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    for value in (expired, other_key, tampered, "garbage"):
        visitor.page.context.clear_cookies()
        visitor.page.context.add_cookies([{"name": COOKIE, "value": value, "url": visitor.app.url}])
        page = visitor.open("/account")
        assert not logged_in(page), value
        assert page.get_by_role("button", name="登录", exact=True).count() == 1
    visitor.page.context.clear_cookies()
    visitor.page.context.add_cookies([{"name": COOKIE, "value": valid, "url": visitor.app.url}])
    assert logged_in(visitor.open("/account"))  # the same way in, with a genuine token, works


def test_logout_and_a_password_change_end_the_session(browser: Any, visitor: Session, login_root: Path) -> None:
    page = log_in(visitor)
    page.get_by_text("已登录:li").wait_for()
    stolen = login_cookie(visitor)
    page.get_by_role("button", name="退出登录").click()
    page.get_by_role("button", name="登录", exact=True).wait_for()
    assert login_cookie(visitor) is None
    page.reload()
    assert not logged_in(page)
    with browser_session(browser, visitor.app) as elsewhere:  # a copy of the cookie is dead too
        elsewhere.page.context.add_cookies([{"name": COOKIE, "value": stolen["value"], "url": visitor.app.url}])
        assert not logged_in(elsewhere.open("/account"))

    page = log_in(visitor)
    page.get_by_text("已登录:li").wait_for()
    try:
        auth.add_editor(login_root / "secrets.toml", "li", "a brand new password!", layers=["projects"])
        page.reload()
        assert not logged_in(page)
    finally:
        auth.add_editor(login_root / "secrets.toml", "li", PASSWORD, layers=["projects"])


def test_six_failed_logins_across_two_server_processes_are_throttled(
    browser: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Before: each process counted its own failures (five each), so alternating servers was never throttled."""
    data = harness.copy_data(tmp_path / "data")
    secrets = tmp_path / "secrets.toml"
    auth.add_editor(secrets, "li", PASSWORD)
    env = {auth.SECRETS_ENV: str(secrets)}
    with (
        harness.running_app(data, tmp_path, env=env) as first,
        harness.running_app(data, tmp_path, env=env) as second,
        browser_session(browser, first, request) as one,
        browser_session(browser, second, request) as two,
    ):
        for attempt in range(6):
            session = (one, two)[attempt % 2]
            while True:  # wait out any back-off, so that each of the six is a checked, failed attempt
                page = log_in(session, password=f"wrong guess {attempt}!")
                error = page.get_by_role("alert").last
                error.wait_for()
                waiting = re.search(r"请 (\d+) 秒后再试", error.inner_text())
                if not waiting:
                    assert "账号或密码不正确" in error.inner_text()
                    break
                time.sleep(int(waiting.group(1)))
        page = log_in(one)  # the right password, on the first server, right after the sixth failure
        outcome = page.get_by_text(re.compile(r"秒后再试|已登录:li")).first
        outcome.wait_for()
        assert re.search(r"请 \d+ 秒后再试", outcome.inner_text())
        assert not logged_in(page)


def _hash_of(root: Path, name: str) -> str:
    import tomllib

    return tomllib.loads((root / "secrets.toml").read_text(encoding="utf-8"))["editors"][name]["password_hash"]
