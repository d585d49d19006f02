"""Login throttling shared by every server process and the CLI: exponential back-off per name and per address."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from urban_plan import store

DB_NAME = "auth.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last REAL NOT NULL, blocked_until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY, name TEXT NOT NULL, fingerprint TEXT NOT NULL,
    created REAL NOT NULL, expires REAL NOT NULL, last_seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_name ON sessions (name);
CREATE TABLE IF NOT EXISTS handoffs (
    code_hash TEXT PRIMARY KEY, token TEXT NOT NULL, address TEXT NOT NULL, expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


_ready: set[Path] = set()


def database_path(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """`<data dir>/store/auth.sqlite3`: beside the layers, so every server process on that data shares it."""
    return store.FileLayerStore(data_dir).root / "store" / DB_NAME


@contextlib.contextmanager
def transaction(path: Path, *, write: bool = True) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken before reading (BEGIN IMMEDIATE): check-then-update is atomic across processes.

    `write=False` reads in a plain (deferred) transaction that takes no write lock: for checks on every page run.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        if fresh:
            with contextlib.suppress(OSError):
                os.chmod(path, 0o600)  # session hashes and the signing key: nobody else's business
        if fresh or path not in _ready:
            conn.executescript(_SCHEMA)  # idempotent; before BEGIN, since executescript commits what is pending
            _ready.add(path)
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()


@dataclass(frozen=True)
class Policy:
    """`free` failures cost nothing; after that each failure doubles the wait (2 s, 4 s, 8 s ...) up to `cap_s`.

    Failures are forgotten `window_s` after the last one.
    """

    free: int
    cap_s: float
    window_s: float = 3600.0

    def wait_after(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(self.cap_s, 2 ** min(failures - self.free + 1, 30)))


# Per name the cap stays short: anyone can type an editor's name, so a stranger must not be able to keep her
# out for long. Per address it is long: that is where a guesser (or a sprayer of random names) sits.
NAME_POLICY = Policy(free=3, cap_s=60.0)
ADDRESS_POLICY = Policy(free=10, cap_s=900.0)


@dataclass(frozen=True)
class Ticket:
    """A reserved attempt: counted as a failure until `succeeded` or `cancelled` says otherwise."""

    keys: tuple[tuple[str, Policy], ...]


class LoginThrottle:
    """Attempts are reserved before the password is checked, in one transaction per reservation, so parallel
    attempts (threads or server processes) cannot all slip through the same check."""

    def __init__(
        self,
        path: Path,
        *,
        name_policy: Policy = NAME_POLICY,
        address_policy: Policy = ADDRESS_POLICY,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.path = path
        self.name_policy, self.address_policy = name_policy, address_policy
        self.clock = clock or (lambda: _now())

    def reserve(self, name: str, address: str | None) -> Ticket | float:
        """A ticket to check one password now, or the seconds to wait (nothing is counted then)."""
        keys = self._keys(name, address)
        now = self.clock()
        with transaction(self.path) as conn:
            rows = [(key, policy, _row(conn, key, policy, now)) for key, policy in keys]
            wait = max(blocked - now for _, _, (_, _, blocked) in rows)
            if wait > 0:
                return wait
            for key, policy, (failures, _, _) in rows:
                failures += 1
                _put(conn, key, failures, now, now + policy.wait_after(failures))
            if int(now) % 50 == 0:  # now and then, forget rows nobody has touched for a day (random names pile up)
                conn.execute("DELETE FROM attempts WHERE last < ?", (now - 86400,))
        return Ticket(keys)

    def succeeded(self, ticket: Ticket) -> None:
        """The password was right: the name starts afresh; the address only gets its reserved attempt back."""
        with transaction(self.path) as conn:
            name_key = ticket.keys[0][0]
            conn.execute("DELETE FROM attempts WHERE key = ?", (name_key,))
            _undo(conn, ticket.keys[1:], self.clock())

    def cancelled(self, ticket: Ticket) -> None:
        """The password was never checked (server busy): give the attempt back."""
        with transaction(self.path) as conn:
            _undo(conn, ticket.keys, self.clock())

    def wait_seconds(self, name: str, address: str | None) -> float:
        now = self.clock()
        with transaction(self.path) as conn:
            return max(0.0, *(_row(conn, key, policy, now)[2] - now for key, policy in self._keys(name, address)))

    def _keys(self, name: str, address: str | None) -> tuple[tuple[str, Policy], ...]:
        return (("name:" + name_key(name), self.name_policy), ("addr:" + (address or "local"), self.address_policy))


def _now() -> float:
    return time.time()  # one place for tests to stop the clock in, across everything built on the throttle


def name_key(name: str) -> str:
    return name.strip().lower()[:64]


def client_address(remote_ip: str | None, forwarded_for: str | None, trusted_proxies: Iterable[str]) -> str:
    """The address to throttle: the peer, or — only when the peer is a trusted proxy — the last untrusted
    address in X-Forwarded-For (the left part of that header is whatever the client wrote, so never trusted).

    A missing peer is this machine (Streamlit reports no address for loopback). IPv6 clients are grouped by
    their /64 network: one subscriber usually holds a whole /64.
    """
    trusted = {_normalise(p) for p in trusted_proxies} - {None}
    peer = _normalise(remote_ip) if remote_ip else "127.0.0.1"
    if peer is None:
        return "unknown"
    if peer in trusted and forwarded_for:
        for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
            hop_ip = _normalise(hop)
            if hop_ip is None:
                break  # a malformed hop: stop at the last address a trusted proxy vouched for
            peer = hop_ip
            if hop_ip not in trusted:
                break
    return _group(peer)


def _normalise(text: str | None) -> str | None:
    if not text:
        return None
    text = text.strip()
    if text.lower() == "localhost":
        text = "127.0.0.1"
    try:
        ip = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return "127.0.0.1" if ip.is_loopback else str(ip)


def _group(ip: str) -> str:
    parsed = ipaddress.ip_address(ip)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return ip


def _row(conn: sqlite3.Connection, key: str, policy: Policy, now: float) -> tuple[int, float, float]:
    found = conn.execute("SELECT failures, last, blocked_until FROM attempts WHERE key = ?", (key,)).fetchone()
    if found is None or now - found[1] > policy.window_s:
        return 0, now, 0.0
    return int(found[0]), float(found[1]), float(found[2])


def _put(conn: sqlite3.Connection, key: str, failures: int, last: float, blocked_until: float) -> None:
    conn.execute(
        "INSERT INTO attempts (key, failures, last, blocked_until) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, last = excluded.last, "
        "blocked_until = excluded.blocked_until",
        (key, failures, last, blocked_until),
    )


def _undo(conn: sqlite3.Connection, keys: Iterable[tuple[str, Policy]], now: float) -> None:
    for key, policy in keys:
        failures, last, blocked = _row(conn, key, policy, now)
        if failures <= 0:
            continue
        failures -= 1
        _put(conn, key, failures, last, min(blocked, last + policy.wait_after(failures)))
