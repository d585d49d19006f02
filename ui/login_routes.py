"""The two HTTP routes a lasting login needs, mounted by serve.py through st.App (Streamlit 1.67's ASGI API)."""

# A Streamlit script talks to the browser over a WebSocket and cannot set a cookie, let alone an HttpOnly one; page
# JavaScript could set one only readable by page scripts. So after the page has checked a password it sends the
# browser to `/_login/session?code=<one-time code>`, which answers with the signed HttpOnly SameSite=Strict cookie
# and a redirect back; `/_login/logout` clears it. The session itself lives in the server's table (revocable), so
# the cookie alone proves nothing once logout, idle time, expiry or a new password has ended it.
#
# Run without serve.py (`streamlit run app.py`, AppTest) these routes do not exist: `mounted()` is False and a
# login lasts for its browser tab only. tests/unit/test_auth.py fails if `streamlit run` stops finding the st.App.

from __future__ import annotations

from typing import Any
from urllib.parse import quote

COOKIE = "urban_plan_login"
SESSION_PATH = "/_login/session"
LOGOUT_PATH = "/_login/logout"
_state = {"mounted": False}


def routes() -> list[Any]:
    """The routes for `st.App(..., routes=...)`; calling this marks them mounted in this process."""
    from starlette.routing import Route

    _state["mounted"] = True
    return [
        Route(_base() + SESSION_PATH, _session, methods=["GET"]),
        Route(_base() + LOGOUT_PATH, _logout, methods=["GET"]),
    ]


def mounted() -> bool:
    return _state["mounted"]


def session_url(code: str, next_path: str = "/account") -> str:
    return f"{_base()}{SESSION_PATH}?code={quote(code, safe='')}&next={quote(next_path, safe='/')}"


def logout_url(next_path: str = "/account") -> str:
    return f"{_base()}{LOGOUT_PATH}?next={quote(next_path, safe='/')}"


def safe_next(value: str | None) -> str:
    """Only a path on this site: no scheme, no host, no `//evil.example` (an open redirect otherwise)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or any(c in value for c in "\r\n"):
        value = "/account"
    return value if value.startswith(_base() + "/") else _base() + value


async def _session(request: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    from ui import auth

    address = _address(request)
    store = auth.session_store()
    token = await run_in_threadpool(store.redeem, request.query_params.get("code", ""), address)
    response = _redirect(request)
    if token:
        response.set_cookie(
            COOKIE,
            token,
            max_age=max(1, int(store.remaining_s(token))),
            path=_base() or "/",
            httponly=True,
            samesite="strict",
            secure=_https(request),
        )
    return response


async def _logout(request: Any) -> Any:
    response = _redirect(request)
    response.delete_cookie(COOKIE, path=_base() or "/", httponly=True, samesite="strict", secure=_https(request))
    return response


def _redirect(request: Any) -> Any:
    from starlette.responses import RedirectResponse

    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _address(request: Any) -> str:
    from ui import auth

    peer = request.client.host if request.client else None
    return auth.client_address(peer, request.headers.get("x-forwarded-for"))


def _https(request: Any) -> bool:
    """Secure cookies over HTTPS, also when a trusted proxy terminates it (X-Forwarded-Proto)."""
    if request.url.scheme == "https":
        return True
    from ui import config
    from urban_plan import auth, throttle

    trusted = auth.login_settings(config.secrets()).trusted_proxies
    peer = throttle.client_address(request.client.host if request.client else None, None, ())
    return peer in {throttle.client_address(p, None, ()) for p in trusted} and (
        request.headers.get("x-forwarded-proto", "").lower() == "https"
    )


def _base() -> str:
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""
