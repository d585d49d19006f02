"""Editor accounts: argon2 hashes in secrets.toml, password checks, login throttling, OIDC e-mail mapping."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from urban_plan import store

SECRETS_ENV = "URBAN_PLAN_SECRETS"
DEFAULT_SECRETS = Path(__file__).resolve().parents[2] / ".streamlit" / "secrets.toml"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the name is unknown, so a wrong name costs as long as a wrong password (no enumeration)."""
    return _hasher.hash("no such editor: timing equaliser")


@dataclass(frozen=True)
class Account:
    name: str
    password_hash: str | None
    collections: frozenset[str] | None  # None: may edit everything
    email: str | None = None
    display_name: str | None = None

    def actor(self) -> store.Actor:
        return store.Actor(self.name, "editor", self.collections)


def secrets_path() -> Path:
    return Path(os.environ.get(SECRETS_ENV) or DEFAULT_SECRETS)


def load_accounts(secrets: Mapping[str, Any]) -> dict[str, Account]:
    """Editors from the `[editors.<name>]` tables of secrets; malformed entries are left out, never half-used."""
    editors = secrets.get("editors") or {}
    accounts: dict[str, Account] = {}
    if not isinstance(editors, Mapping):
        return accounts
    known = set(store.known_collections())
    for name, entry in editors.items():
        if not (isinstance(name, str) and NAME_PATTERN.match(name) and isinstance(entry, Mapping)):
            continue
        password_hash = entry.get("password_hash")
        email = entry.get("email")
        if not isinstance(password_hash, str) and not isinstance(email, str):
            continue  # neither a password nor an SSO identity: cannot log in
        layers = entry.get("layers")
        if layers is not None and not (isinstance(layers, list) and all(isinstance(x, str) for x in layers)):
            continue
        collections = frozenset(x for x in layers if x in known) if layers is not None else None
        accounts[name] = Account(
            name=name,
            password_hash=password_hash if isinstance(password_hash, str) else None,
            collections=collections,
            email=email.strip().lower() if isinstance(email, str) else None,
            display_name=str(entry.get("display_name")) if entry.get("display_name") else None,
        )
    return accounts


def verify_password(accounts: Mapping[str, Account], name: str, password: str) -> Account | None:
    """The account if the password matches; None otherwise, in about the same time either way."""
    account = accounts.get(name.strip())
    stored = account.password_hash if account and account.password_hash else _dummy_hash()
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return account if account and account.password_hash else None


def account_for_email(accounts: Mapping[str, Account], email: str | None) -> Account | None:
    """The editor an SSO (OIDC) login maps to, by the e-mail the identity provider vouches for."""
    if not email:
        return None
    wanted = email.strip().lower()
    return next((a for a in accounts.values() if a.email and a.email == wanted), None)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def add_editor(
    path: Path, name: str, password: str | None, *, layers: list[str] | None = None, email: str | None = None
) -> None:
    """Add or replace `[editors.<name>]` in secrets.toml, keeping everything else in the file (comments too)."""
    import tomlkit

    if not NAME_PATTERN.match(name):
        raise ValueError(f"editor name {name!r}: use letters, digits, '.', '_' or '-' (up to 40)")
    if password is None and not email:
        raise ValueError("an editor needs a password or an SSO e-mail")
    unknown = sorted(set(layers or ()) - set(store.known_collections()))
    if unknown:
        raise ValueError(f"unknown layers {unknown}: expected some of {', '.join(store.known_collections())}")
    document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    editors = document.get("editors")
    if editors is None:
        editors = tomlkit.table(is_super_table=True)
        document["editors"] = editors
    entry = tomlkit.table()
    if password is not None:
        entry["password_hash"] = hash_password(password)
    if layers:
        entry["layers"] = layers
    if email:
        entry["email"] = email
    editors[name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomlkit.dumps(document), encoding="utf-8")
    os.chmod(tmp, 0o600)  # hashes are not passwords, but there is no reason to let others read them
    os.replace(tmp, path)


@dataclass
class LoginThrottle:
    """After `max_failures` failed logins for a name within `window_s`, refuse that name for `lockout_s`.

    Shared by every session of one server process (the page keeps one instance); thread-safe.
    """

    max_failures: int = 5
    window_s: float = 900.0
    lockout_s: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_seconds(self, name: str) -> int:
        """Seconds until this name may try again (0: now)."""
        with self._lock:
            left = self._locked_until.get(_key(name), 0.0) - self.clock()
            return max(0, int(left + 0.999))

    def failed(self, name: str) -> None:
        key, now = _key(name), self.clock()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < self.window_s] + [now]
            self._failures[key] = recent
            if len(recent) >= self.max_failures:
                self._locked_until[key] = now + self.lockout_s
                self._failures[key] = []

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(_key(name), None)


def _key(name: str) -> str:
    return name.strip().lower()[:64]
