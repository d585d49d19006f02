"""Logins that last: signed tokens for an HttpOnly cookie, backed by a revocable session table beside the store."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from urban_plan.throttle import transaction

if TYPE_CHECKING:
    from urban_plan.auth import Account

HOURS_ENV = "URBAN_PLAN_LOGIN_HOURS"
IDLE_ENV = "URBAN_PLAN_LOGIN_IDLE_MINUTES"
HANDOFF_S = 60.0  # a one-time code lives this long: from the page to the cookie route and no longer
_MAX_TOKEN = 1024


@dataclass(frozen=True)
class Settings:
    lifetime_s: float = 8 * 3600.0
    idle_s: float = 3600.0
    touch_s: float = 60.0  # write last_seen at most this often: every rerun would be a write otherwise


def settings_from(secrets_: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> Settings:
    """`[login] hours` and `idle_minutes` in secrets, overridden by URBAN_PLAN_LOGIN_HOURS / ..._IDLE_MINUTES."""
    section = secrets_.get("login") if isinstance(secrets_.get("login"), Mapping) else {}
    hours = _positive(environ.get(HOURS_ENV) or section.get("hours"), 8.0)
    idle = _positive(environ.get(IDLE_ENV) or section.get("idle_minutes"), 60.0)
    return Settings(lifetime_s=hours * 3600.0, idle_s=min(idle * 60.0, hours * 3600.0))


class Sessions:
    """Tokens name a server-side session (stored as a hash) and carry a fingerprint of the editor's password hash:
    logout, idle time, expiry, a new password or a removed account each end the session."""

    def __init__(
        self,
        path: Path,
        *,
        secret: str | bytes | None = None,
        settings: Settings = Settings(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path, self.settings, self.clock = path, settings, clock
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._key_cache: bytes | None = None

    def start(self, account: Account) -> str:
        """A new session for an editor who has just proved her password; returns the token."""
        if not account.password_hash:
            raise ValueError(f"{account.name} has no password: single sign-on keeps its own session")
        sid = secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + self.settings.lifetime_s
        fingerprint = self._fingerprint(account.password_hash)
        with transaction(self.path) as conn:
            conn.execute(
                "INSERT INTO sessions (id_hash, name, fingerprint, created, expires, last_seen) VALUES (?,?,?,?,?,?)",
                (_hash(sid), account.name, fingerprint, now, expires, now),
            )
            conn.execute("DELETE FROM sessions WHERE expires < ? OR last_seen < ?", (now, now - self.settings.idle_s))
        payload = _b64(json.dumps({"s": sid, "n": account.name, "e": int(expires), "f": fingerprint}).encode())
        return f"{payload}.{self._sign(payload)}"

    def validate(self, token: str | None, accounts: Mapping[str, Account]) -> Account | None:
        """The editor a token stands for, or None: forged, expired, idle, revoked, password changed, removed."""
        claims = self._claims(token)
        if claims is None:
            return None
        now = self.clock()
        account = accounts.get(claims["n"])
        if (
            account is None
            or not account.password_hash
            or not hmac.compare_digest(self._fingerprint(account.password_hash), claims["f"])
            or claims["e"] <= now
        ):
            return None
        id_hash = _hash(claims["s"])
        with transaction(self.path, write=False) as conn:  # every page run checks: no write lock for that
            row = conn.execute(
                "SELECT name, fingerprint, expires, last_seen FROM sessions WHERE id_hash = ?", (id_hash,)
            ).fetchone()
        if row is None or row[0] != account.name or row[1] != claims["f"]:
            return None
        if row[2] <= now or now - row[3] > self.settings.idle_s:
            with transaction(self.path) as conn:
                conn.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))
            return None
        if now - row[3] >= self.settings.touch_s:
            with transaction(self.path) as conn:  # only if still there: a logout meanwhile must stay a logout
                conn.execute("UPDATE sessions SET last_seen = MAX(last_seen, ?) WHERE id_hash = ?", (now, id_hash))
        return account

    def revoke(self, token: str | None) -> None:
        """Logout: the session ends on the server, whatever copies of the cookie still exist."""
        claims = self._claims(token)
        if claims is not None:
            with transaction(self.path) as conn:
                conn.execute("DELETE FROM sessions WHERE id_hash = ?", (_hash(claims["s"]),))

    def revoke_all(self, name: str) -> int:
        with transaction(self.path) as conn:
            return conn.execute("DELETE FROM sessions WHERE name = ?", (name,)).rowcount

    def handoff(self, token: str, address: str) -> str:
        """A one-time code the browser trades at the cookie route for the token (the token itself never sits in
        a URL); valid for one minute, from the same address only."""
        code = secrets.token_urlsafe(32)
        now = self.clock()
        with transaction(self.path) as conn:
            conn.execute("DELETE FROM handoffs WHERE expires < ?", (now,))
            conn.execute(
                "INSERT INTO handoffs (code_hash, token, address, expires) VALUES (?,?,?,?)",
                (_hash(code), token, address, now + HANDOFF_S),
            )
        return code

    def redeem(self, code: str, address: str) -> str | None:
        if not code or len(code) > 100:
            return None
        with transaction(self.path) as conn:
            row = conn.execute(
                "SELECT token, address, expires FROM handoffs WHERE code_hash = ?", (_hash(code),)
            ).fetchone()
            conn.execute("DELETE FROM handoffs WHERE code_hash = ?", (_hash(code),))  # used or not: once only
        if row is None or row[2] < self.clock() or not hmac.compare_digest(row[1], address):
            return None
        return str(row[0])

    def remaining_s(self, token: str | None) -> float:
        claims = self._claims(token)
        return max(0.0, claims["e"] - self.clock()) if claims else 0.0

    def _claims(self, token: str | None) -> dict[str, Any] | None:
        if not token or len(token) > _MAX_TOKEN or token.count(".") != 1:
            return None
        payload, signature = token.split(".")
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        if not (
            isinstance(claims, dict)
            and isinstance(claims.get("s"), str)
            and isinstance(claims.get("n"), str)
            and isinstance(claims.get("e"), int)
            and isinstance(claims.get("f"), str)
        ):
            return None
        return claims

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key(), b"urban-plan session v1|" + payload.encode(), hashlib.sha256).digest())

    def _fingerprint(self, password_hash: str) -> str:
        """Changes whenever the password does; reveals nothing about the hash."""
        return _b64(hmac.new(self._key(), b"fingerprint|" + password_hash.encode(), hashlib.sha256).digest()[:12])

    def _key(self) -> bytes:
        """`[login] secret` when configured; else one random key kept in the database, the same for every
        server process on this data (created once, atomically)."""
        if self._secret:
            return self._secret
        if self._key_cache is None:
            with transaction(self.path) as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('signing_key', ?)", (secrets.token_hex(32),)
                )
                value = conn.execute("SELECT value FROM meta WHERE key = 'signing_key'").fetchone()[0]
            self._key_cache = bytes.fromhex(value)
        return self._key_cache


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _positive(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default
