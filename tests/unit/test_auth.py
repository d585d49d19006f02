"""Editor accounts: argon2 hashes, layer limits, SSO e-mails, throttling, and the secrets file the CLI writes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from urban_plan import auth

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def accounts() -> dict[str, auth.Account]:
    hashed = auth.hash_password(PASSWORD)
    return auth.load_accounts(
        {
            "editors": {
                "li": {"password_hash": hashed, "layers": ["projects", "roads", "nonsense"]},
                "wang": {"password_hash": hashed},
                "sso": {"email": "Zhao@Bureau.gov.cn"},
                "broken": {"layers": "projects"},  # no credential, bad layers: left out entirely
                "bad name!": {"password_hash": hashed},
            }
        }
    )


def test_only_well_formed_editors_are_loaded_and_unknown_layers_are_dropped(accounts) -> None:
    assert set(accounts) == {"li", "wang", "sso"}
    assert accounts["li"].collections == frozenset({"projects", "roads"})
    assert accounts["wang"].collections is None


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


def test_repeated_failures_lock_a_name_for_a_while() -> None:
    now = [1000.0]
    throttle = auth.LoginThrottle(max_failures=3, window_s=60, lockout_s=300, clock=lambda: now[0])
    for _ in range(2):
        throttle.failed("Li")
    assert throttle.wait_seconds("li") == 0
    throttle.failed("li ")
    assert throttle.wait_seconds("LI") == 300
    now[0] += 301
    assert throttle.wait_seconds("li") == 0


def test_failures_outside_the_window_do_not_add_up() -> None:
    now = [0.0]
    throttle = auth.LoginThrottle(max_failures=3, window_s=60, lockout_s=300, clock=lambda: now[0])
    for _ in range(5):
        throttle.failed("li")
        now[0] += 61
    assert throttle.wait_seconds("li") == 0


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
        ("li", None, None, "password or an SSO"),
    ],
)
def test_add_editor_refuses_bad_input_with_a_clear_reason(
    tmp_path: Path, name: str, password: str | None, layers: list[str] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        auth.add_editor(tmp_path / "secrets.toml", name, password, layers=layers)
    assert not (tmp_path / "secrets.toml").exists()
