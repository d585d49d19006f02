"""Editor accounts: argon2 hashes in secrets.toml, throttled password checks, OIDC e-mail mapping."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from urban_plan import registry, store, throttle

SECRETS_ENV = "URBAN_PLAN_SECRETS"
DEFAULT_SECRETS = Path(__file__).resolve().parents[2] / ".streamlit" / "secrets.toml"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
MIN_PASSWORD_LENGTH = 10
TRUSTED_PROXIES_ENV = "URBAN_PLAN_TRUSTED_PROXIES"

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
    """Editors from the `[editors.<name>]` tables of secrets; malformed entries are left out, never half-used.

    A layer limit keeps every name that could be a layer id or a document, also of a layer not created yet: an
    editor listed for `schools` may write that layer as soon as someone adds it (layers are data, not code). Names
    that can never be a collection are dropped."""
    editors = secrets.get("editors") or {}
    accounts: dict[str, Account] = {}
    if not isinstance(editors, Mapping):
        return accounts
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
        collections = (
            frozenset(x.strip() for x in layers if _collection_name(x.strip())) if layers is not None else None
        )
        accounts[name] = Account(
            name=name,
            password_hash=password_hash if isinstance(password_hash, str) else None,
            collections=collections,
            email=email.strip().lower() if isinstance(email, str) else None,
            display_name=str(entry.get("display_name")) if entry.get("display_name") else None,
        )
    return accounts


def _collection_name(name: str) -> bool:
    return bool(registry.ID_PATTERN.fullmatch(name)) or name in store.DOCUMENTS


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


class AccountError(ValueError):
    """Bad input for an account; `code` names a locale message (accounts.<code>), `params` fill it in."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code, self.params = code, params


def add_editor(
    path: Path,
    name: str,
    password: str | None,
    *,
    layers: list[str] | None = None,
    email: str | None = None,
    known: Iterable[str] | None = None,
) -> None:
    """Add or replace `[editors.<name>]` in secrets.toml, keeping everything else in the file (comments too).

    `layers=None` means every layer; an empty list is refused (it would read as "no limit"). Layer names must be
    in `known` (default: the layers, archived ones too, and documents of the configured store). The file is locked
    while it is read and rewritten (parallel runs would otherwise lose each other's accounts), and the previous
    version is kept as `<file>.bak`.
    """
    import tomlkit
    from filelock import FileLock

    if not NAME_PATTERN.match(name):
        raise AccountError(
            "bad_name", f"editor name {name!r}: use letters, digits, '.', '_' or '-' (up to 40)", name=name
        )
    if password is None and not email:
        raise AccountError("no_credential", "an editor needs a password or an SSO e-mail")
    if layers is not None:
        layers = list(dict.fromkeys(x.strip() for x in layers if x.strip()))
        known = tuple(known) if known is not None else store.known_collections(store.open_store())
        if not layers:
            raise AccountError(
                "empty_layers", f"empty layer list: name some of {', '.join(known)}, or leave --layers out for all"
            )
        unknown = [x for x in layers if x not in known]
        if unknown:
            raise AccountError(
                "unknown_layers",
                f"unknown layers {unknown}: expected some of {', '.join(known)}",
                layers=", ".join(unknown),
                known=", ".join(known),
            )
    entry_hash = hash_password(password) if password is not None else None  # slow: before taking the lock
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=60):
        document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
        editors = document.get("editors")
        if editors is None:
            editors = tomlkit.table(is_super_table=True)
            document["editors"] = editors
        entry = tomlkit.table()
        if entry_hash is not None:
            entry["password_hash"] = entry_hash
        if layers is not None:
            entry["layers"] = layers
        if email:
            entry["email"] = email
        editors[name] = entry
        if path.exists():
            backup = path.with_name(path.name + ".bak")
            shutil.copyfile(path, backup)
            os.chmod(backup, 0o600)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(tomlkit.dumps(document), encoding="utf-8")
        os.chmod(tmp, 0o600)  # hashes are not passwords, but there is no reason to let others read them
        os.replace(tmp, path)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            "short_password",
            f"password too short: at least {MIN_PASSWORD_LENGTH} characters",
            minimum=MIN_PASSWORD_LENGTH,
        )
    return _hasher.hash(password)


@dataclass(frozen=True)
class LoginSettings:
    """`[login]` in secrets: proxies whose X-Forwarded-For is believed, and how many argon2 checks may run at once
    (each costs ~0.2 s of a core and 64 MiB)."""

    trusted_proxies: tuple[str, ...] = ()
    max_concurrent_checks: int = 2


def login_settings(secrets: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> LoginSettings:
    section = secrets.get("login") if isinstance(secrets.get("login"), Mapping) else {}
    proxies: Iterable[Any] = section.get("trusted_proxies") or ()
    if environ.get(TRUSTED_PROXIES_ENV):
        proxies = environ[TRUSTED_PROXIES_ENV].split(",")
    if isinstance(proxies, str):
        proxies = proxies.split(",")
    limit = section.get("max_concurrent_checks", 2)
    return LoginSettings(
        trusted_proxies=tuple(str(p).strip() for p in proxies if str(p).strip()),
        max_concurrent_checks=limit if isinstance(limit, int) and limit > 0 else 2,
    )


@dataclass(frozen=True)
class LoginOutcome:
    status: Literal["ok", "wrong", "wait", "busy"]
    account: Account | None = None
    wait_s: float = 0.0


class PasswordGate:
    """A cap on password checks running at once in this process: more would only queue up CPU and memory."""

    def __init__(self, limit: int = 2) -> None:
        self._slots = threading.BoundedSemaphore(limit)

    def try_acquire(self, timeout_s: float = 0.0) -> bool:
        return self._slots.acquire(timeout=timeout_s) if timeout_s > 0 else self._slots.acquire(blocking=False)

    def release(self) -> None:
        self._slots.release()


def attempt_login(
    accounts: Mapping[str, Account],
    name: str,
    password: str,
    *,
    address: str | None,
    throttle_: throttle.LoginThrottle,
    gate: PasswordGate,
    wait_for_slot_s: float = 0.0,
) -> LoginOutcome:
    """One login attempt, in the only safe order: reserve it with the throttle (atomically, across processes),
    take a check slot, verify, then settle the reservation."""
    reserved = throttle_.reserve(name, address)
    if not isinstance(reserved, throttle.Ticket):
        return LoginOutcome("wait", wait_s=reserved)
    if not gate.try_acquire(wait_for_slot_s):
        throttle_.cancelled(reserved)
        return LoginOutcome("busy")
    try:
        account = verify_password(accounts, name, password)
    finally:
        gate.release()
    if account is None:
        return LoginOutcome("wrong")
    throttle_.succeeded(reserved)
    return LoginOutcome("ok", account=account)
