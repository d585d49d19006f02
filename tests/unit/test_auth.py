"""Editor accounts: argon2 hashes, layer limits, SSO e-mails, lasting sessions, and the secrets file the CLI writes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests import asgi
from urban_plan import auth, sessions

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def accounts() -> dict[str, auth.Account]:
    hashed = auth.hash_password(PASSWORD)
    return auth.load_accounts(
        {
            "editors": {
                "li": {"password_hash": hashed, "layers": ["projects", "roads", "schools", "Not a layer!", "../x"]},
                "wang": {"password_hash": hashed},
                "sso": {"email": "Zhao@Bureau.gov.cn"},
                "broken": {"layers": "projects"},  # no credential, bad layers: left out entirely
                "bad name!": {"password_hash": hashed},
            }
        }
    )


def test_only_well_formed_editors_are_loaded_and_impossible_layer_names_are_dropped(accounts) -> None:
    assert set(accounts) == {"li", "wang", "sso"}
    # "schools" does not exist yet: kept, so li may edit it the moment someone adds that layer
    assert accounts["li"].collections == frozenset({"projects", "roads", "schools"})
    assert accounts["wang"].collections is None


def test_an_editor_listed_for_a_layer_added_later_may_write_it_and_only_it(accounts, data_dir: Path) -> None:
    from urban_plan import layer_admin
    from urban_plan.store import FileLayerStore, PermissionDenied

    s = FileLayerStore(data_dir)
    li = accounts["li"].actor()
    with pytest.raises(PermissionDenied):  # an editor of some layers never adds one
        layer_admin.add_layer(s, li, "schools", name_zh="学校", name_en="Schools", role="overlay")
    layer_admin.add_layer(s, accounts["wang"].actor(), "schools", name_zh="学校", name_en="Schools", role="overlay")
    feature = {
        "type": "Feature",
        "properties": {"id": "S1", "name_zh": "济阳一中"},
        "geometry": {"type": "Point", "coordinates": [117.17, 36.98]},
    }
    s.publish("schools", {"type": "FeatureCollection", "features": [feature]}, actor=li, base_version=0)
    layer_admin.edit_layer(s, li, "schools", name_en="Secondary schools")
    assert s.latest("schools").author == "li" and s.registry()["schools"].name_en == "Secondary schools"


def test_add_editor_checks_layer_names_against_the_stores_registry(data_dir: Path, tmp_path: Path) -> None:
    from urban_plan import layer_admin
    from urban_plan.store import Actor, FileLayerStore

    path = tmp_path / "secrets.toml"
    with pytest.raises(auth.AccountError) as refused:
        auth.add_editor(path, "li", PASSWORD, layers=["schools"])  # the store is URBAN_PLAN_DATA_DIR's
    assert refused.value.code == "unknown_layers" and "schools" in refused.value.params["layers"]
    layer_admin.add_layer(
        FileLayerStore(data_dir), Actor("wang", "editor"), "schools", name_zh="学校", name_en="Schools", role="overlay"
    )
    auth.add_editor(path, "li", PASSWORD, layers=["schools", "targets"])
    loaded = auth.load_accounts(tomllib.loads(path.read_text(encoding="utf-8")))
    assert loaded["li"].collections == frozenset({"schools", "targets"})


def test_the_right_password_logs_in_and_a_wrong_one_or_unknown_name_does_not(accounts) -> None:
    assert auth.verify_password(accounts, "li", PASSWORD).name == "li"
    assert auth.verify_password(accounts, "li", PASSWORD + "x") is None
    assert auth.verify_password(accounts, "nobody", PASSWORD) is None
    assert auth.verify_password(accounts, "sso", PASSWORD) is None  # SSO-only accounts have no password


def test_an_editor_limited_to_layers_may_write_only_those(accounts) -> None:
    actor = accounts["li"].actor()
    assert actor.may_write("projects") and not actor.may_write("rail") and not actor.may_write("targets")
    assert accounts["wang"].actor().may_write("rail")


def test_single_sign_on_maps_the_vouched_e_mail_to_an_editor(accounts) -> None:
    assert auth.account_for_email(accounts, "zhao@bureau.gov.cn").name == "sso"
    assert auth.account_for_email(accounts, "someone@else.cn") is None
    assert auth.account_for_email(accounts, None) is None


def test_add_editor_writes_a_hash_never_the_password_and_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text('# bureau settings\n[auth]\nredirect_uri = "http://x/oauth2callback"\n', encoding="utf-8")
    auth.add_editor(path, "li", PASSWORD, layers=["projects"])
    auth.add_editor(path, "zhao", None, email="zhao@bureau.gov.cn")
    text = path.read_text(encoding="utf-8")
    assert PASSWORD not in text and "# bureau settings" in text and "redirect_uri" in text
    loaded = auth.load_accounts(tomllib.loads(text))
    assert auth.verify_password(loaded, "li", PASSWORD) is not None
    assert loaded["zhao"].email == "zhao@bureau.gov.cn"
    assert path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("name", "password", "layers", "message"),
    [
        ("bad name", PASSWORD, None, "editor name"),
        ("li", "short", None, "too short"),
        ("li", PASSWORD, ["nowhere"], "unknown layers"),
        ("li", PASSWORD, [], "empty layer list"),
        ("li", PASSWORD, ["", " "], "empty layer list"),
        ("li", None, None, "password or an SSO"),
    ],
)
def test_add_editor_refuses_bad_input_with_a_clear_reason(
    tmp_path: Path, name: str, password: str | None, layers: list[str] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        auth.add_editor(tmp_path / "secrets.toml", name, password, layers=layers)
    assert not (tmp_path / "secrets.toml").exists()


def test_an_empty_layer_list_is_refused_not_read_as_every_layer(tmp_path: Path) -> None:
    """Before: `add-editor li --layers ","` wrote no limit at all, so li could edit every layer."""
    path = tmp_path / "secrets.toml"
    with pytest.raises(auth.AccountError) as refused:
        auth.add_editor(path, "li", PASSWORD, layers=[])
    assert refused.value.code == "empty_layers"
    assert not path.exists()


def test_replacing_the_secrets_file_keeps_the_previous_one_as_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    auth.add_editor(path, "li", PASSWORD)
    first = path.read_text(encoding="utf-8")
    auth.add_editor(path, "wang", PASSWORD, layers=["roads"])
    backup = tmp_path / "secrets.toml.bak"
    assert backup.read_text(encoding="utf-8") == first and backup.stat().st_mode & 0o077 == 0
    assert set(auth.load_accounts(tomllib.loads(path.read_text(encoding="utf-8")))) == {"li", "wang"}


def test_parallel_add_editor_runs_keep_every_account(tmp_path: Path) -> None:
    """Before: ten parallel runs left five accounts (each rewrote the file it had read before the others)."""
    path = tmp_path / "secrets.toml"
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "urban_plan", "add-editor", f"ed{i}", "--password-stdin", "--secrets", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    for run in runs:
        _, err = run.communicate(PASSWORD + "\n", timeout=300)
        assert run.returncode == 0, err
    assert set(auth.load_accounts(tomllib.loads(path.read_text(encoding="utf-8")))) == {f"ed{i}" for i in range(8)}


# --- lasting sessions -----------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 2_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> sessions.Sessions:
    return sessions.Sessions(
        tmp_path / "store" / "auth.sqlite3", settings=sessions.Settings(8 * 3600, 3600), clock=clock
    )


def test_a_session_token_stands_for_its_editor_until_it_expires(store, accounts, clock) -> None:
    token = store.start(accounts["li"])
    assert store.validate(token, accounts).name == "li"
    for _ in range(15):  # active all day: idle never reached, but the 8 hours are absolute
        clock.now += 30 * 60
        assert store.validate(token, accounts) is not None
    clock.now += 30 * 60 + 1
    assert store.validate(token, accounts) is None


def test_an_idle_session_ends(store, accounts, clock) -> None:
    token = store.start(accounts["li"])
    clock.now += 3600 + 1
    assert store.validate(token, accounts) is None
    clock.now -= 1  # and it stays ended: the row is gone
    assert store.validate(token, accounts) is None


def test_a_forged_or_altered_token_is_refused(store, accounts, tmp_path) -> None:
    token = store.start(accounts["li"])
    payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for changed in ({**claims, "n": "wang"}, {**claims, "e": claims["e"] + 86400}):
        forged = base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode()
        assert store.validate(f"{forged}.{signature}", accounts) is None
    other_key = sessions.Sessions(tmp_path / "other.sqlite3", secret="another server's secret")
    assert store.validate(other_key.start(accounts["li"]), accounts) is None
    for junk in ("", "x", "a.b", "a.b.c", token + "x", "." * 3000, None):
        assert store.validate(junk, accounts) is None


def test_logout_ends_the_session_for_every_copy_of_the_token(store, accounts) -> None:
    token = store.start(accounts["li"])
    other = store.start(accounts["li"])
    store.revoke(token)
    assert store.validate(token, accounts) is None
    assert store.validate(other, accounts) is not None  # another browser stays logged in
    assert store.revoke_all("li") == 1 and store.validate(other, accounts) is None


def test_a_new_password_or_a_removed_editor_ends_the_session(store, accounts) -> None:
    token = store.start(accounts["li"])
    renewed = auth.load_accounts({"editors": {"li": {"password_hash": auth.hash_password("a brand new password")}}})
    assert store.validate(token, renewed) is None
    assert store.validate(token, {k: v for k, v in accounts.items() if k != "li"}) is None
    assert store.validate(token, accounts) is not None  # (the same hash again would be the same password)


def test_sessions_are_shared_by_every_server_on_the_same_data(store, accounts, tmp_path, clock) -> None:
    token = store.start(accounts["li"])
    second_server = sessions.Sessions(store.path, clock=clock)
    assert second_server.validate(token, accounts).name == "li"
    second_server.revoke(token)
    assert store.validate(token, accounts) is None


def test_a_handoff_code_works_once_from_the_same_address_within_a_minute(store, accounts, clock) -> None:
    token = store.start(accounts["li"])
    code = store.handoff(token, "10.0.0.1")
    assert store.redeem(code, "10.0.0.2") is None  # another address; and the code is spent
    assert store.redeem(code, "10.0.0.1") is None
    code = store.handoff(token, "10.0.0.1")
    assert store.redeem(code, "10.0.0.1") == token
    assert store.redeem(code, "10.0.0.1") is None
    late = store.handoff(token, "10.0.0.1")
    clock.now += sessions.HANDOFF_S + 1
    assert store.redeem(late, "10.0.0.1") is None


def test_login_lifetime_and_idle_time_come_from_secrets_or_the_environment() -> None:
    assert sessions.settings_from({}, {}) == sessions.Settings(8 * 3600, 3600)
    custom = sessions.settings_from({"login": {"hours": 2, "idle_minutes": 15}}, {})
    assert (custom.lifetime_s, custom.idle_s) == (7200, 900)
    env = sessions.settings_from({"login": {"hours": 2}}, {sessions.HOURS_ENV: "12", sessions.IDLE_ENV: "0"})
    assert (env.lifetime_s, env.idle_s) == (12 * 3600, 3600)  # nonsense (0) falls back to the default


# --- the cookie routes (ui/login_routes.py, mounted by serve.py) ---------------------------------------------


def test_streamlit_run_serve_py_finds_an_st_app_with_the_login_routes() -> None:
    """Fails loudly if Streamlit stops discovering `app = st.App(...)` (how `streamlit run serve.py` mounts them)."""
    import inspect

    import streamlit as st
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(Path(__file__).resolve().parents[2] / "serve.py")
    assert found.is_asgi_app and found.import_string == "serve:app"
    assert "routes" in inspect.signature(st.App).parameters


def _call(app, path: str, query: str = "", headers: dict[str, str] | None = None) -> tuple[int, list[tuple[str, str]]]:
    status, headers_sent, _ = asgi.get(app, path, query, headers)
    return status, headers_sent


def test_the_session_route_trades_a_one_time_code_for_an_httponly_strict_cookie(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, accounts
) -> None:
    from starlette.applications import Starlette

    from ui import auth as ui_auth
    from ui import login_routes
    from urban_plan import throttle

    monkeypatch.setattr(login_routes, "_state", {"mounted": False})  # this process's AppTests stay unmounted
    monkeypatch.setenv("URBAN_PLAN_DATA_DIR", str(tmp_path))
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text("", encoding="utf-8")
    monkeypatch.setenv(auth.SECRETS_ENV, str(secrets_file))
    app = Starlette(routes=login_routes.routes())
    assert login_routes.mounted()
    store = ui_auth.session_store()
    assert store.path == throttle.database_path(tmp_path)
    token = store.start(accounts["li"])
    code = store.handoff(token, "127.0.0.1")

    status, headers = _call(app, "/_login/session", f"code={code}&next=https://evil.example/")
    cookie = dict(headers)["set-cookie"]
    assert status == 303 and dict(headers)["location"] == "/account"  # never off-site
    assert cookie.startswith(f"urban_plan_login={token};") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/" in cookie and "Max-Age=28" in cookie  # about 8 hours (288xx s)
    status, headers = _call(app, "/_login/session", f"code={code}&next=/map")
    assert status == 303 and dict(headers)["location"] == "/map" and "set-cookie" not in dict(headers)  # spent
    status, headers = _call(app, "/_login/logout", "next=//evil.example")
    assert dict(headers)["location"] == "/account" and "Max-Age=0" in dict(headers)["set-cookie"]
