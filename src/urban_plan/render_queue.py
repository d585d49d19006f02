"""A bounded render queue: one job at a time, a few waiting, the rest refused; identical requests share one render."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

Job = Callable[[], bytes]


class QueueFull(Exception):
    """Every waiting place is taken: the caller should try again shortly."""

    def __init__(self, waiting: int) -> None:
        super().__init__(f"render queue full ({waiting} waiting)")
        self.waiting = waiting


@dataclass(eq=False)
class _Entry:
    key: Hashable
    job: Job
    holders: int = 0
    running: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    result: bytes | None = None
    error: BaseException | None = None


class Ticket:
    """A caller's claim on a render: its place in line, a way to wait, and the result (or the job's exception)."""

    def __init__(self, queue: RenderQueue, entry: _Entry) -> None:
        self._queue = queue
        self._entry = entry
        self._released = False

    @property
    def key(self) -> Hashable:
        return self._entry.key

    def position(self) -> int | None:
        """0 while rendering, k >= 1 for the k-th place in line, None once finished."""
        return self._queue._position(self._entry)

    def wait(self, timeout: float | None = None) -> bool:
        """True once the render has finished (successfully or not)."""
        return self._entry.done.wait(timeout)

    def result(self) -> bytes:
        """The rendered bytes; re-raises the job's exception. Only after `wait` returned True."""
        if not self._entry.done.is_set():
            raise RuntimeError("the render has not finished")
        if self._entry.error is not None:
            raise self._entry.error
        assert self._entry.result is not None
        return self._entry.result

    def release(self) -> None:
        """The caller no longer wants the result; a job nobody waits for any more leaves the line (idempotent)."""
        if not self._released:
            self._released = True
            self._queue._release(self._entry)


class RenderQueue:
    """Thread-safe. `submit(key, job)` joins the job already queued or running under that key (single flight),
    answers from a small cache of finished renders, or queues the job; a worker thread runs one job at a time.
    When `max_waiting` jobs already wait, a new key is refused with QueueFull. Failures are not cached."""

    def __init__(self, *, max_waiting: int = 3, cache_entries: int = 8, cache_bytes: int = 64 * 1024 * 1024) -> None:
        if max_waiting < 0 or cache_entries < 0 or cache_bytes < 0:
            raise ValueError("queue and cache sizes must not be negative")
        self.max_waiting = max_waiting
        self.cache_entries = cache_entries
        self.cache_bytes = cache_bytes
        self._lock = threading.Lock()
        self._waiting: collections.deque[_Entry] = collections.deque()
        self._running: _Entry | None = None
        self._by_key: dict[Hashable, _Entry] = {}
        self._cache: collections.OrderedDict[Hashable, bytes] = collections.OrderedDict()
        self._worker: threading.Thread | None = None

    def submit(self, key: Hashable, job: Job) -> Ticket:
        """A ticket for the render of `key`; `job` runs only if no render of that key is cached or under way."""
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                entry = _Entry(key, job, holders=1, result=cached)
                entry.done.set()
                return Ticket(self, entry)
            entry = self._by_key.get(key)
            if entry is None:
                if len(self._waiting) >= self.max_waiting:
                    raise QueueFull(len(self._waiting))
                entry = _Entry(key, job)
                self._by_key[key] = entry
                self._waiting.append(entry)
                self._start_worker()
            entry.holders += 1
            return Ticket(self, entry)

    def cached(self, key: Hashable) -> bytes | None:
        """A finished render of `key`, if it is still in the cache."""
        with self._lock:
            data = self._cache.get(key)
            if data is not None:
                self._cache.move_to_end(key)
            return data

    def status(self) -> tuple[int, int]:
        """(jobs running, jobs waiting)."""
        with self._lock:
            return (1 if self._running else 0, len(self._waiting))

    # --- internals ------------------------------------------------------------------------------------------------

    def _position(self, entry: _Entry) -> int | None:
        with self._lock:
            if entry.done.is_set():
                return None
            if entry.running:
                return 0
            try:
                return self._waiting.index(entry) + 1
            except ValueError:  # released by every holder: no longer in line
                return None

    def _release(self, entry: _Entry) -> None:
        with self._lock:
            entry.holders -= 1
            if entry.holders <= 0 and not entry.running and not entry.done.is_set() and entry in self._waiting:
                self._waiting.remove(entry)
                self._by_key.pop(entry.key, None)
                entry.error = RuntimeError("released before it ran")
                entry.done.set()

    def _start_worker(self) -> None:
        # Caller holds the lock. The worker ends when the line is empty, so an idle process keeps no thread.
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="render-queue", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._worker = None
                    return
                entry = self._waiting.popleft()
                entry.running = True
                self._running = entry
            try:
                data = entry.job()
                if not isinstance(data, bytes):
                    raise TypeError(f"a render job must return bytes, got {type(data).__name__}")
                entry.result = data
            except BaseException as exc:  # handed to every holder by Ticket.result
                entry.error = exc
            with self._lock:
                self._running = None
                entry.running = False
                self._by_key.pop(entry.key, None)
                if entry.error is None and entry.result is not None:
                    self._remember(entry.key, entry.result)
                entry.done.set()

    def _remember(self, key: Hashable, data: bytes) -> None:
        # Caller holds the lock.
        if len(data) > self.cache_bytes or self.cache_entries == 0:
            return
        self._cache[key] = data
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_entries or sum(map(len, self._cache.values())) > self.cache_bytes:
            self._cache.popitem(last=False)
