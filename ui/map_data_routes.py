"""The large layers' data over HTTP, mounted by serve.py: built once per data version, fetched once per browser.

A map with a large (shared, compact) overlay layer needs its every feature in the browser once; filter changes then
send only a bit mask (mapping.SelectedLayer). Carried in the page (st.html), that multi-MB block cost Streamlit a
re-clean, a serialisation and a hash on every run, filter changes included (~8 ms per MB). Here the page run only
registers the data under a name for exactly its bytes (mapping.shared_name: the layer's digest and its style
table) and points the map at `<baseUrlPath>/_map/shared/<name>.json`; the bytes are joined and gzip-compressed
once, on the first request, and kept in a small process-wide cache. The name says the content, so the browser may
keep the answer for good (`immutable`, ETag). An unknown name (never registered in this process, or dropped from the
bounded cache) is a 404: the map retries a few times and says so, and the page's next run registers it again.

What is served is what the page would carry inline: the public map data every viewer of the map page gets (no login
involved, nothing the page would not show). Several server processes behind one proxy need sticky sessions for
this route exactly as for Streamlit's own `/media` files: a name is known to the process whose page run registered
it. Run without serve.py (`streamlit run app.py`, AppTest) the route does not exist: `mounted()` is False and
ui.widgets.planning_map keeps the inline block.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from urban_plan import mapping

PATH = "/_map/shared"
MAX_ENTRIES = 16  # data versions x languages x colourings a server shows at once, with room to spare
MAX_BYTES = 192 * 1024 * 1024  # of compressed bodies (a 50,000-parcel layer: a few MB)
MAX_AGE_S = 365 * 24 * 3600  # the name says the content: a browser never needs to ask again
GZIP_LEVEL = 6
_NAME = re.compile(r"([0-9a-f]{24})\.json")
_state = {"mounted": False}


class _Entry:
    """One layer's body: its source until the first request builds it, then only the gzip bytes."""

    def __init__(self, source: Callable[[], str]) -> None:
        self.source: Callable[[], str] | None = source
        self.gzipped: bytes | None = None
        self.lock = threading.Lock()

    def body(self) -> bytes:
        """The gzip-compressed body, built by the first caller; the others wait for it (once per entry)."""
        if self.gzipped is None:
            with self.lock:
                if self.gzipped is None:
                    assert self.source is not None
                    self.gzipped = gzip.compress(self.source().encode(), compresslevel=GZIP_LEVEL, mtime=0)
                    self.source = None  # the layer's strings are the page cache's business, not ours
        return self.gzipped


class SharedData:
    """The bounded, process-wide cache of registered bodies: least recently registered or served go first, by
    count and by compressed size (an entry not yet built counts nothing)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0  # bodies built (tests: once per name)

    def register(self, name: str, source: Callable[[], str]) -> None:
        with self._lock:
            if name in self._entries:
                self._entries.move_to_end(name)
                return
            self._entries[name] = _Entry(self._counted(source))
            self._trim()

    def touch(self, name: str) -> bool:
        """Whether `name` is known; if so it becomes the most recently used."""
        return self.get(name) is not None

    def get(self, name: str) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None:
                self._entries.move_to_end(name)
            return entry

    def trim(self) -> None:
        with self._lock:
            self._trim()

    def names(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _counted(self, source: Callable[[], str]) -> Callable[[], str]:
        def build() -> str:
            self.builds += 1
            return source()

        return build

    def _trim(self) -> None:
        size = sum(len(e.gzipped or b"") for e in self._entries.values())
        while len(self._entries) > 1 and (len(self._entries) > self.max_entries or size > self.max_bytes):
            _, dropped = self._entries.popitem(last=False)
            size -= len(dropped.gzipped or b"")


CACHE = SharedData()


def routes() -> list[Any]:
    """The route for `st.App(..., routes=...)`; calling this marks it mounted in this process."""
    from starlette.routing import Route

    _state["mounted"] = True
    return [Route(_base() + PATH + "/{name}", serve, methods=["GET"])]


def mounted() -> bool:
    return _state["mounted"]


def register(shared: Iterable[mapping.PreparedLayer], options: mapping.MapOptions) -> dict[str, str]:
    """Make the route know these layers' data (cheap when it already does: a name and a cache touch) and return
    where the map fetches each: layer digest -> URL (with server.baseUrlPath). Called by the page run before it
    sends the map, so the route always knows a name the page names."""
    sources = {}
    for part in shared:
        styles = mapping.shared_styles(part, options)
        name = mapping.shared_name(part, styles)
        if not CACHE.touch(name):  # the layer's joined string (built once per prepared layer), not the layer
            CACHE.register(name, partial(mapping.join_shared_body, styles, part.whole))
        sources[part.digest] = url(name)
    return sources


def url(name: str) -> str:
    return f"{_base()}{PATH}/{name}.json"


async def serve(request: Any) -> Any:
    """GET <base>/_map/shared/<name>.json: the body, gzip-compressed when the client takes it (the usual case:
    compressed once, sent as is), else plain; 304 for a matching If-None-Match; 404 for a name it does not know."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    match = _NAME.fullmatch(request.path_params.get("name", ""))
    entry = CACHE.get(match.group(1)) if match else None
    if match is None or entry is None:
        return Response(
            "unknown map data (reload the page) / 未知的地图数据(请刷新页面)",
            status_code=404,
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )
    name = match.group(1)
    headers = {
        "Cache-Control": f"private, max-age={MAX_AGE_S}, immutable",
        "ETag": f'"{name}"',
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if _etag_matches(request.headers.get("if-none-match", ""), name):
        return Response(status_code=304, headers=headers)
    body = entry.gzipped if entry.gzipped is not None else await run_in_threadpool(entry.body)
    CACHE.trim()  # a body just built counts now
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        headers["Content-Encoding"] = "gzip"
    else:  # curl without --compressed, some proxies: rare, so not kept uncompressed
        body = await run_in_threadpool(gzip.decompress, body)
    return Response(body, media_type="application/json", headers=headers)


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (named or `*`, with a quality above zero)."""
    wanted = {}
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        wanted[coding.strip().lower()] = quality
    return wanted.get("gzip", wanted.get("x-gzip", wanted.get("*", 0.0))) > 0


def _etag_matches(header: str, name: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or f'"{name}"' in tags


def _base() -> str:
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""
