"""ui/memory.py: expired disconnected sessions are shut down and their memory given back; and the Streamlit
internals it relies on are still there (if a test here fails after an upgrade, re-read ui/memory.py)."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from streamlit.runtime import app_session, runtime, websocket_session_manager
from streamlit.runtime.caching.ttl_cache import TTLCache
from streamlit.runtime.memory_session_storage import MemorySessionStorage
from streamlit.runtime.session_manager import SessionInfo
from streamlit.web.server.starlette import starlette_app

from ui import memory


def test_the_streamlit_internals_used_are_still_there() -> None:
    # The server keeps disconnected sessions in a MemorySessionStorage, whose TTL cache expires entries lazily,
    # through `expire` (looked up on the instance, so the wrapper is what runs), and returns what it removed.
    assert "session_storage=MemorySessionStorage(" in inspect.getsource(starlette_app)
    storage = MemorySessionStorage(ttl_seconds=5)
    assert isinstance(storage._cache, TTLCache)
    assert "self.expire(now)" in inspect.getsource(TTLCache.__setitem__)
    assert "on_remove" not in inspect.getsource(MemorySessionStorage)  # nobody else ends expired sessions
    # The session manager holds that storage and lists the connected sessions; stored sessions are ended with
    # shutdown(), as close_session does; shutdown() drops the session's uploaded files.
    manager_source = inspect.getsource(websocket_session_manager.WebsocketSessionManager)
    assert "self._session_storage = session_storage" in manager_source
    assert "session_info.session.shutdown()" in manager_source
    assert "def list_active_sessions(self)" in manager_source
    assert "remove_session_files(self.id)" in inspect.getsource(app_session.AppSession.shutdown)
    # The runtime: its session manager and event loop, where session storage is touched.
    runtime_source = inspect.getsource(runtime.Runtime)
    assert "self._session_mgr = " in runtime_source
    assert "def _get_async_objs(self)" in runtime_source
    assert "eventloop" in runtime.AsyncObjects._fields
    assert "Session storage is only touched here,\n        on the event loop." in runtime_source


@dataclass
class FakeSession:
    id: str
    shut_down: int = 0

    def shutdown(self) -> None:
        self.shut_down += 1


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeRuntime:
    """What ui/memory.py reads of Streamlit's Runtime: a session manager with a real MemorySessionStorage (on a
    clock the test moves) and an event loop running in a thread."""

    loop: asyncio.AbstractEventLoop
    clock: Clock = field(default_factory=Clock)
    active: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        storage = MemorySessionStorage(ttl_seconds=10)
        storage._cache._timer = self.clock
        self._session_mgr = SimpleNamespace(_session_storage=storage, list_active_sessions=lambda: self.active)

    def _get_async_objs(self) -> Any:
        return SimpleNamespace(eventloop=self.loop)

    def store(self, session: FakeSession) -> None:
        self._session_mgr._session_storage.save(SessionInfo(client=None, session=session))  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[FakeRuntime]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield FakeRuntime(loop)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.fixture
def reaper(server: FakeRuntime, monkeypatch: pytest.MonkeyPatch) -> memory.Reaper:
    collected: list[int] = []
    monkeypatch.setattr(memory.gc, "collect", lambda: collected.append(1) or 0)
    trims: list[int] = []
    reaper = memory.Reaper(server, interval_s=1.0, trim=lambda: trims.append(1))
    reaper.collected, reaper.trims = collected, trims  # type: ignore[attr-defined]
    assert reaper.wrap_storage()
    return reaper


def test_sessions_whose_ttl_passed_are_shut_down_then_memory_is_given_back(
    server: FakeRuntime, reaper: memory.Reaper
) -> None:
    sessions = [FakeSession(f"s{i}") for i in range(3)]
    for session in sessions:
        server.store(session)
    assert reaper.reap_once() == 0  # nothing expired yet: nothing collected
    assert reaper.collected == [] and reaper.trims == []  # type: ignore[attr-defined]

    server.clock.now += 11
    assert reaper.reap_once() == 3
    assert [s.shut_down for s in sessions] == [1, 1, 1]
    assert server._session_mgr._session_storage._cache._data == {}
    assert reaper.collected == [1] and reaper.trims == [1]  # type: ignore[attr-defined]
    assert reaper.reap_once() == 0  # each session once


def test_sessions_streamlit_expires_itself_are_shut_down_too(server: FakeRuntime, reaper: memory.Reaper) -> None:
    old = FakeSession("old")
    server.store(old)
    server.clock.now += 11
    server.store(FakeSession("new"))  # a disconnect: Streamlit's save expires what is due first
    assert old.shut_down == 1
    assert reaper.reap_once() == 1  # and the memory is given back at the next round


def test_a_session_that_reconnects_in_time_is_left_alone(server: FakeRuntime, reaper: memory.Reaper) -> None:
    session = FakeSession("back")
    server.store(session)
    server.clock.now += 5
    assert server._session_mgr._session_storage.get("back") is not None  # resumable within the TTL
    server._session_mgr._session_storage.delete("back")  # as the session manager does when it resumes it
    server.clock.now += 20
    assert reaper.reap_once() == 0
    assert session.shut_down == 0


def test_while_planners_work_a_full_collection_waits(server: FakeRuntime, reaper: memory.Reaper) -> None:
    server.active = [object()]
    reaper.last_full_gc = memory.time.monotonic()  # one just ran
    server.store(FakeSession("gone"))
    server.clock.now += 11
    assert reaper.reap_once() == 0  # ended, but no collection while sessions are open
    assert reaper.ended == 1 and reaper.collected == []  # type: ignore[attr-defined]
    server.active = []
    assert reaper.reap_once() == 1  # the server is idle: collect now
    assert reaper.collected == [1]  # type: ignore[attr-defined]


def test_install_is_a_no_op_outside_a_server() -> None:
    assert not runtime.Runtime.exists()
    assert memory.install() is None


def test_glibc_controls_are_found_on_linux() -> None:
    libc = memory._glibc()
    assert libc is not None  # CI and the servers run Debian
    assert libc.malloc_trim(0) in (0, 1)
