"""Login state for the pages: password login (argon2, throttled, lasting via an HttpOnly cookie) or single sign-on.

Hiding pages is a convenience; every write path checks the actor again (publishing.py and the store).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import sqlite3
from pathlib import Path

import streamlit as st

from ui import config, login_routes
from urban_plan import auth, sessions, throttle
from urban_plan.i18n import t
from urban_plan.store import Actor

_TOKEN_KEY = "_editor_token"  # noqa: S105 (a session-state key) - this tab's session token
_LOGGED_OUT_KEY = "_editor_logged_out"  # this tab logged out: ignore the cookie its connection started with
_REDIRECT_KEY = "_editor_redirect"  # a cookie route to visit once the page has drawn
_LOG = logging.getLogger(__name__)


def accounts() -> dict[str, auth.Account]:
    return auth.load_accounts(config.secrets())


def sso_configured() -> bool:
    return isinstance(config.secrets().get("auth"), dict)


def session_store() -> sessions.Sessions:
    secrets = config.secrets()
    section = secrets.get("login") if isinstance(secrets.get("login"), dict) else {}
    secret = section.get("secret") if isinstance(section.get("secret"), str) else None
    return _sessions(throttle.database_path(), secret, sessions.settings_from(secrets))


@functools.lru_cache(maxsize=8)
def _sessions(path: Path, secret: str | None, settings: sessions.Settings) -> sessions.Sessions:
    return sessions.Sessions(path, secret=secret, settings=settings)  # keeps the signing key read once


@functools.lru_cache(maxsize=4)
def _gate(limit: int) -> auth.PasswordGate:
    return auth.PasswordGate(limit)  # one per server process: the cap is on this machine's cores and memory


def client_address(remote_ip: str | None, forwarded_for: str | None) -> str:
    trusted = auth.login_settings(config.secrets()).trusted_proxies
    return throttle.client_address(remote_ip, forwarded_for, trusted)


def current_actor() -> Actor | None:
    """The logged-in editor, re-checked on every run: a removed editor, a changed password, logout elsewhere,
    idle time or expiry each log the page out."""
    account = _password_account()
    if account is not None:
        return account.actor()
    if sso_configured() and getattr(st.user, "is_logged_in", False):
        found = auth.account_for_email(accounts(), st.user.get("email"))
        return found.actor() if found else None
    return None


def _password_account() -> auth.Account | None:
    try:
        return _checked_password_account()
    except (sqlite3.Error, OSError):  # the login database is unreadable: nobody is logged in, the page still works
        _LOG.exception("login database unavailable")
        return None


def _checked_password_account() -> auth.Account | None:
    known = accounts()
    if not known:
        return None
    token = st.session_state.get(_TOKEN_KEY)
    if token:
        account = session_store().validate(token, known)
        if account is not None:
            return account
        st.session_state.pop(_TOKEN_KEY, None)
    cookie = st.context.cookies.get(login_routes.COOKIE)
    if cookie and not st.session_state.get(_LOGGED_OUT_KEY):
        return session_store().validate(cookie, known)
    return None


def login_form(lang: str) -> None:
    known = accounts()
    if not known:
        st.warning(t("login.no_editors", lang))
        st.code("python -m urban_plan add-editor <name>", language="bash")
        return
    if sso_configured():
        if st.button(t("login.sso", lang), type="primary"):
            st.login()
        st.divider()
    with st.form("login", clear_on_submit=True):
        name = st.text_input(t("login.name", lang), max_chars=40)
        password = st.text_input(t("login.password", lang), type="password", max_chars=200)
        submitted = st.form_submit_button(t("login.submit", lang))
    if not submitted:
        return
    try:
        _submit(lang, known, name, password)
    except (sqlite3.Error, OSError):  # a read-only or full data folder: say so, never a traceback
        _LOG.exception("login database unavailable")
        st.error(t("auth.unavailable", lang))


def _submit(lang: str, known: dict[str, auth.Account], name: str, password: str) -> None:
    address = client_address(st.context.ip_address, st.context.headers.get("X-Forwarded-For"))
    outcome = auth.attempt_login(
        known,
        name,
        password,
        address=address,
        throttle_=throttle.LoginThrottle(throttle.database_path()),
        gate=_gate(auth.login_settings(config.secrets()).max_concurrent_checks),
        wait_for_slot_s=1.0,
    )
    if outcome.status == "wait":
        st.error(t("auth.wait", lang, seconds=max(1, math.ceil(outcome.wait_s))))
        return
    if outcome.status == "busy":
        st.error(t("auth.busy", lang))
        return
    if outcome.account is None:
        st.error(t("login.failed", lang))
        return
    token = session_store().start(outcome.account)
    st.session_state[_TOKEN_KEY] = token
    st.session_state.pop(_LOGGED_OUT_KEY, None)
    if login_routes.mounted():  # let the browser fetch the cookie, so reloads and new tabs stay logged in
        st.session_state[_REDIRECT_KEY] = login_routes.session_url(session_store().handoff(token, address))
    st.rerun()


def lasting_note(lang: str) -> str:
    """How long this login lasts, for the account page."""
    if not login_routes.mounted():
        return t("auth.tab_only", lang)
    settings = session_store().settings
    return t("auth.lasting", lang, hours=f"{settings.lifetime_s / 3600:g}", minutes=f"{settings.idle_s / 60:g}")


def follow_redirect(lang: str) -> bool:
    """Visit the cookie route the last login or logout asked for; True while that is under way."""
    url = st.session_state.pop(_REDIRECT_KEY, None)
    if not url:
        return False
    st.info(t("auth.redirecting", lang))
    # The URL is ours (a path and a URL-safe code); json.dumps plus escaping '<' keeps it a JS string literal.
    literal = json.dumps(url).replace("<", "\\u003c")
    st.html(f"<script>window.location.replace({literal});</script>", unsafe_allow_javascript=True)
    return True


def logout() -> None:
    """End the session on the server (every copy of the cookie dies with it), then clear this browser's cookie."""
    token = st.session_state.pop(_TOKEN_KEY, None)
    cookie = st.context.cookies.get(login_routes.COOKIE)
    try:
        for each in (token, cookie):
            session_store().revoke(each)
    except (sqlite3.Error, OSError):  # this tab is logged out below whatever happens; the cookie is cleared too
        _LOG.exception("login database unavailable: session not revoked")
    if cookie and login_routes.mounted():
        st.session_state[_REDIRECT_KEY] = login_routes.logout_url()
    st.session_state[_LOGGED_OUT_KEY] = True
    if sso_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()
