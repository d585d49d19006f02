"""One GET through an ASGI app without an HTTP client (httpx is not a dependency), for route tests."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any


def get(app: Any, path: str, query: str = "", headers: dict[str, str] | None = None) -> tuple[int, list, bytes]:
    """Status, headers as (name, value) pairs in order, and body."""
    sent: list[dict] = []
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8501),
        "scheme": "http",
        "root_path": "",
        "http_version": "1.1",
    }

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    # In a thread of its own: in the same pytest process, Playwright's sync API may own this thread's event loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start = sent[0]
    headers_sent = [(k.decode(), v.decode()) for k, v in start["headers"]]
    return start["status"], headers_sent, b"".join(m.get("body", b"") for m in sent[1:])
