"""Login throttling: atomic across threads and processes, per name and per address, back-off instead of lockout."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from urban_plan import auth, throttle

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def accounts() -> dict[str, auth.Account]:
    return auth.load_accounts({"editors": {"li": {"password_hash": auth.hash_password(PASSWORD)}}})


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_ten_parallel_attempts_nine_wrong_one_right_check_at_most_three_passwords(tmp_path: Path, accounts) -> None:
    """The review found all ten checked and none throttled: check, verify and count were not one step."""
    guard = throttle.LoginThrottle(tmp_path / "auth.sqlite3")
    gate = auth.PasswordGate(10)  # no cap here: this is about the throttle alone
    checked: list[str] = []
    real_verify = auth.verify_password

    def counting_verify(known, name, password):
        checked.append(password)
        return real_verify(known, name, password)

    passwords = [f"wrong guess {i}!" for i in range(9)] + [PASSWORD]
    outcomes: list[auth.LoginOutcome] = []
    start = threading.Barrier(len(passwords))

    def attempt(password: str) -> None:
        start.wait()
        outcomes.append(auth.attempt_login(accounts, "li", password, address="10.0.0.9", throttle_=guard, gate=gate))

    auth.verify_password, saved = counting_verify, auth.verify_password
    try:
        threads = [threading.Thread(target=attempt, args=(p,)) for p in passwords]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        auth.verify_password = saved
    statuses = sorted(o.status for o in outcomes)
    assert len(checked) <= throttle.NAME_POLICY.free == 3
    assert statuses.count("wait") >= 7 and all(o.wait_s > 0 for o in outcomes if o.status == "wait")
    assert not any(o.status == "ok" and o.account is None for o in outcomes)


def _reserve_many(path: str, name: str, address: str, n: int, queue: multiprocessing.Queue) -> None:
    guard = throttle.LoginThrottle(Path(path))
    queue.put(sum(isinstance(guard.reserve(name, address), throttle.Ticket) for _ in range(n)))


def test_server_processes_share_one_count(tmp_path: Path) -> None:
    """Four processes (four app servers on one data folder) reserving at once get three tickets between them."""
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = ctx.Queue()
    path = str(tmp_path / "store" / "auth.sqlite3")
    processes = [ctx.Process(target=_reserve_many, args=(path, "li", f"10.0.0.{i}", 5, queue)) for i in range(4)]
    for p in processes:
        p.start()
    granted = sum(queue.get(timeout=120) for _ in processes)
    for p in processes:
        p.join(60)
    assert granted == throttle.NAME_POLICY.free


def test_the_wait_doubles_after_three_failures_and_is_capped(tmp_path: Path) -> None:
    clock = Clock()
    guard = throttle.LoginThrottle(tmp_path / "a.sqlite3", clock=clock)
    waits = []
    for _ in range(12):
        assert isinstance(guard.reserve("li", "10.0.0.1"), throttle.Ticket)  # a failure: never given back
        waits.append(round(guard.wait_seconds("li", "10.0.0.1")))
        clock.now += waits[-1]
    assert waits[:8] == [0, 0, 2, 4, 8, 16, 32, 60]
    assert max(waits) == throttle.NAME_POLICY.cap_s  # the name's cap, not the address's


def test_refused_attempts_cost_nothing_and_count_nothing(tmp_path: Path) -> None:
    clock = Clock()
    guard = throttle.LoginThrottle(tmp_path / "a.sqlite3", clock=clock)
    for _ in range(3):
        guard.reserve("li", "10.0.0.1")
    for _ in range(50):
        assert guard.reserve("li", "10.0.0.1") == pytest.approx(2.0)
    clock.now += 2.01
    assert isinstance(guard.reserve("li", "10.0.0.1"), throttle.Ticket)


def test_a_stranger_cannot_keep_an_editor_out_for_more_than_a_minute(tmp_path: Path) -> None:
    """Before: five bad attempts by anyone locked the name for 15 minutes."""
    clock = Clock()
    guard = throttle.LoginThrottle(tmp_path / "a.sqlite3", clock=clock)
    tried = 0
    while tried < 20:  # a stranger hammering li's name as fast as the throttle lets him
        clock.now += guard.wait_seconds("li", "203.0.113.7")
        tried += isinstance(guard.reserve("li", "203.0.113.7"), throttle.Ticket)
    assert guard.wait_seconds("li", "10.1.2.3") <= throttle.NAME_POLICY.cap_s
    assert guard.wait_seconds("someone", "203.0.113.7") > throttle.NAME_POLICY.cap_s  # he is slowed far more


def test_random_names_from_one_address_are_throttled(tmp_path: Path) -> None:
    """Before: throttling was per name only, so a new name each time was never slowed down."""
    guard = throttle.LoginThrottle(tmp_path / "a.sqlite3", clock=Clock())
    granted = [isinstance(guard.reserve(f"nobody{i}", "198.51.100.4"), throttle.Ticket) for i in range(30)]
    assert granted.count(True) == throttle.ADDRESS_POLICY.free
    assert isinstance(guard.reserve("nobody99", "198.51.100.5"), throttle.Ticket)  # another address is not


def test_a_right_password_clears_the_name_and_a_busy_server_gives_the_attempt_back(tmp_path: Path, accounts) -> None:
    clock = Clock()
    guard = throttle.LoginThrottle(tmp_path / "a.sqlite3", clock=clock)
    gate = auth.PasswordGate(1)
    for _ in range(2):
        assert auth.attempt_login(accounts, "li", "wrong one!!", address="a", throttle_=guard, gate=gate).status == (
            "wrong"
        )
    ok = auth.attempt_login(accounts, "li", PASSWORD, address="a", throttle_=guard, gate=gate)
    assert ok.status == "ok" and ok.account.name == "li"
    assert guard.wait_seconds("li", "b") == 0
    assert gate.try_acquire()  # someone else's check is running
    try:
        for _ in range(5):
            busy = auth.attempt_login(accounts, "li", PASSWORD, address="a", throttle_=guard, gate=gate)
            assert busy.status == "busy"
    finally:
        gate.release()
    assert auth.attempt_login(accounts, "li", PASSWORD, address="a", throttle_=guard, gate=gate).status == "ok"


def test_failures_are_forgotten_an_hour_after_the_last(tmp_path: Path) -> None:
    clock = Clock()
    guard = throttle.LoginThrottle(tmp_path / "a.sqlite3", clock=clock)
    for _ in range(3):
        guard.reserve("li", "10.0.0.1")
    clock.now += 3601
    assert [isinstance(guard.reserve("li", "10.0.0.1"), throttle.Ticket) for _ in range(3)] == [True] * 3


def test_concurrent_password_checks_are_capped(tmp_path: Path, accounts) -> None:
    gate = auth.PasswordGate(2)
    running, peak = [0], [0]
    lock = threading.Lock()
    real_verify = auth.verify_password

    def slow_verify(known, name, password):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.3)
        with lock:
            running[0] -= 1
        return None

    auth.verify_password = slow_verify
    outcomes = []
    try:
        threads = [
            threading.Thread(
                target=lambda i=i: outcomes.append(
                    auth.attempt_login(
                        accounts,
                        f"n{i}",
                        "x" * 10,
                        address=f"10.9.0.{i}",
                        throttle_=throttle.LoginThrottle(tmp_path / "a.sqlite3"),
                        gate=gate,
                    )
                )
            )
            for i in range(8)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        auth.verify_password = real_verify
    assert peak[0] <= 2 and any(o.status == "busy" for o in outcomes)


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.7", None, (), "203.0.113.7"),
        ("203.0.113.7", "1.2.3.4", (), "203.0.113.7"),  # an untrusted peer's header is ignored
        (None, "198.51.100.2", ("127.0.0.1",), "198.51.100.2"),  # Streamlit reports loopback as None
        ("10.0.0.1", "6.6.6.6, 198.51.100.2", ("10.0.0.1",), "198.51.100.2"),  # the spoofable left part is skipped
        ("10.0.0.1", "198.51.100.2, 10.0.0.2", ("10.0.0.1", "10.0.0.2"), "198.51.100.2"),
        ("10.0.0.1", "garbage, 198.51.100.2", ("10.0.0.1",), "198.51.100.2"),
        ("10.0.0.1", "198.51.100.2, garbage", ("10.0.0.1",), "10.0.0.1"),
        ("2001:db8:1:2:3:4:5:6", None, (), "2001:db8:1:2::/64"),
        ("::1", None, (), "127.0.0.1"),
    ],
)
def test_the_client_address_believes_forwarded_for_only_from_trusted_proxies(
    peer: str | None, forwarded: str | None, trusted: tuple[str, ...], expected: str
) -> None:
    assert throttle.client_address(peer, forwarded, trusted) == expected
