"""Login state for the pages: password login (argon2, throttled) or single sign-on via st.login (OIDC).

Hiding pages is a convenience; every write path checks the actor again (publishing.py and the store).
"""

from __future__ import annotations

import streamlit as st

from ui import config
from urban_plan import auth
from urban_plan.i18n import t
from urban_plan.store import Actor

_SESSION_KEY = "_editor"


def accounts() -> dict[str, auth.Account]:
    return auth.load_accounts(config.secrets())


def sso_configured() -> bool:
    return isinstance(config.secrets().get("auth"), dict)


@st.cache_resource
def _throttle() -> auth.LoginThrottle:
    return auth.LoginThrottle()


def current_actor() -> Actor | None:
    """The logged-in editor, re-checked against the accounts on every run (a removed account is logged out)."""
    known = accounts()
    name = st.session_state.get(_SESSION_KEY)
    if name and name in known:
        return known[name].actor()
    if name:
        st.session_state.pop(_SESSION_KEY, None)
    if sso_configured() and getattr(st.user, "is_logged_in", False):
        account = auth.account_for_email(known, st.user.get("email"))
        return account.actor() if account else None
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
    wait = _throttle().wait_seconds(name)
    if wait:
        st.error(t("login.locked", lang, minutes=max(1, round(wait / 60))))
        return
    account = auth.verify_password(known, name, password)
    if account is None:
        _throttle().failed(name)
        st.error(t("login.failed", lang))
        return
    _throttle().succeeded(name)
    st.session_state[_SESSION_KEY] = account.name
    st.rerun()


def logout() -> None:
    st.session_state.pop(_SESSION_KEY, None)
    if sso_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()
