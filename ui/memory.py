"""Memory goes back when planners leave: disconnected sessions are ended once their TTL passes, then the process
gives the freed memory back to the system.

Measured with benchmarks/load.py (issue 11), Streamlit 1.67 on glibc, three causes kept the RSS above the warm
server's after every session had closed:

1. Streamlit keeps a disconnected session (for a reconnect) in a TTL cache that drops expired entries only when it
   is next written, i.e. at the next disconnect: after the last planner leaves, the last sessions stay in memory
   for good. And a session dropped that way is never shut down: its uploaded files (up to 2 x
   server.maxUploadSize per session, ui/upload_guard.py), media files and dataframe sources stay too.
2. glibc gives every thread that allocates at the same time as another its own malloc arena (up to 8 per core):
   the script threads of a burst of first visits spread their allocations over 10-20 arenas, and freed memory in
   them stays resident.
3. glibc returns freed memory inside its heaps only on `malloc_trim`, which nothing calls.

`install()` (once per process; app.py calls it on every run, the later calls cost a flag check) fixes them: it
caps glibc at 2 malloc arenas (`mallopt(M_ARENA_MAX, 2)`: the GIL serialises Python's allocations anyway), makes
the session store shut down every session it expires (as `close_session` does: uploads, media and dataframe
sources are released), and starts one daemon thread that, every quarter of the session TTL (0.5-30 s), asks the
server's event loop to expire what is due; when sessions were ended it runs a full garbage collection (they hold
reference cycles; the app sets runner.postScriptGC = false, see .streamlit/config.toml) and `malloc_trim(0)` (a
few ms): at once when no session is open, else at most every 5 minutes (the collection holds the GIL ~0.2 s with
the shipped data, ~1 s with 50,000 parcels). Nothing runs while no session expires. tests/unit/test_memory_release.py
fails if the Streamlit internals used here change; tests/e2e/test_memory.py checks the RSS after 50 sessions came
and went.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import gc
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streamlit import config, runtime

_LOG = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
ARENAS = 2
MIN_INTERVAL_S = 0.5
MAX_INTERVAL_S = 30.0
BUSY_GC_GAP_S = 300.0  # while sessions are open, at most one collection per 5 minutes


@dataclass
class Reaper:
    """Ends expired disconnected sessions and returns memory; one per process (see `install`)."""

    server_runtime: Any
    interval_s: float
    trim: Callable[[], None] | None
    ended: int = 0  # sessions shut down because their TTL passed (read by the thread, written on the event loop)
    released: int = 0  # `ended` at the last collection
    collections: int = 0
    last_collection_s: float = 0.0
    last_full_gc: float = -math.inf  # time.monotonic() of the last collection
    stop: threading.Event = field(default_factory=threading.Event)

    def wrap_storage(self) -> bool:
        """Make the session store shut down the sessions it expires (on any expire: ours or Streamlit's own)."""
        cache = _session_cache(self.server_runtime)
        if cache is None:
            return False
        expire = cache.expire
        if getattr(expire, "_urban_plan_reaper", False):
            return True

        def expire_and_end(at_time: float | None = None) -> list[tuple[Any, Any]]:
            removed = expire(at_time)
            for _, info in removed:
                self._end(info)
            return removed

        expire_and_end._urban_plan_reaper = True  # type: ignore[attr-defined]
        cache.expire = expire_and_end
        return True

    def _end(self, info: Any) -> None:
        session = getattr(info, "session", None)
        if session is None:
            return
        try:
            session.shutdown()  # as WebsocketSessionManager.close_session does for a stored session
        except Exception:  # one broken session must not keep the others
            _LOG.exception("memory: could not shut down expired session %s", getattr(session, "id", "?"))
        self.ended += 1

    def reap_once(self) -> int:
        """Expire what is due, on the server's event loop (where Streamlit touches its session store); then, if
        sessions were ended, collect and trim. Returns the sessions ended since the last collection."""
        loop = _event_loop(self.server_runtime)
        cache = _session_cache(self.server_runtime)
        if loop is None or cache is None:
            return 0
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def on_loop() -> None:
            try:
                cache.expire()
                done.set_result(None)
            except Exception as exc:
                done.set_exception(exc)

        loop.call_soon_threadsafe(on_loop)
        done.result(timeout=max(10.0, self.interval_s))
        fresh = self.ended - self.released
        if not fresh:
            return 0
        idle = not _active_sessions(self.server_runtime)
        now = time.monotonic()
        if not idle and now - self.last_full_gc < BUSY_GC_GAP_S:
            return 0  # planners are working: a full collection holds the GIL (0.2 s with the shipped data)
        self.released = self.ended
        started = time.perf_counter()
        gc.collect()
        self.last_full_gc = now
        if self.trim is not None:
            self.trim()  # a few ms with two arenas
        self.collections += 1
        self.last_collection_s = time.perf_counter() - started
        _LOG.debug("memory: %d expired sessions ended; collected in %.3f s", fresh, self.last_collection_s)
        return fresh

    def run(self) -> None:
        while not self.stop.wait(self.interval_s):
            if not runtime.exists() or runtime.get_instance() is not self.server_runtime:
                return  # the server stopped (or, in tests, another runtime replaced it)
            try:
                self.reap_once()
            except RuntimeError:  # the event loop closed: the server is shutting down
                return
            except Exception:
                _LOG.exception("memory: reaping expired sessions failed")


_INSTALL_LOCK = threading.Lock()
_REAPER: Reaper | None = None


def install() -> Reaper | None:
    """Once per server process (idempotent, cheap after the first call): limit malloc arenas, end sessions whose
    TTL passed and give their memory back. No-op outside a running server (AppTest, bare mode)."""
    global _REAPER
    if _REAPER is not None and _REAPER.server_runtime is _current_runtime():
        return _REAPER
    server_runtime = _current_runtime()
    if server_runtime is None:
        return None
    with _INSTALL_LOCK:
        if _REAPER is not None and _REAPER.server_runtime is server_runtime:
            return _REAPER
        libc = _glibc()
        if libc is not None:
            with contextlib.suppress(Exception):
                libc.mallopt(M_ARENA_MAX, ARENAS)
        ttl = float(config.get_option("server.disconnectedSessionTTL"))
        reaper = Reaper(
            server_runtime,
            interval_s=min(MAX_INTERVAL_S, max(MIN_INTERVAL_S, ttl / 4)),
            trim=(lambda: libc.malloc_trim(0)) if libc is not None else None,
        )
        if not reaper.wrap_storage():
            _LOG.warning("memory: Streamlit's session store changed; expired sessions are left to Streamlit")
        threading.Thread(target=reaper.run, name="urban-plan-memory", daemon=True).start()
        _REAPER = reaper
        return reaper


def _current_runtime() -> Any | None:
    return runtime.get_instance() if runtime.exists() else None


def _session_cache(server_runtime: Any) -> Any | None:
    """The TTL cache behind Streamlit's MemorySessionStorage, or None if Streamlit stores sessions otherwise."""
    storage = getattr(getattr(server_runtime, "_session_mgr", None), "_session_storage", None)
    cache = getattr(storage, "_cache", None)
    return cache if callable(getattr(cache, "expire", None)) else None


def _active_sessions(server_runtime: Any) -> int:
    with contextlib.suppress(Exception):
        return len(server_runtime._session_mgr.list_active_sessions())
    return 0


def _event_loop(server_runtime: Any) -> Any | None:
    with contextlib.suppress(Exception):
        return server_runtime._get_async_objs().eventloop
    return None


def _glibc() -> Any | None:
    """glibc's malloc controls (mallopt, malloc_trim); None elsewhere (musl, macOS, Windows)."""
    try:
        libc = ctypes.CDLL("libc.so.6")  # glibc's soname on Linux (find_library would start ldconfig)
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
    except (OSError, AttributeError):
        return None
    return libc
