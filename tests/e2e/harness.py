"""Start the real app on a free port and drive it in Debian's Chromium with every outside request aborted."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOT_DIR = ROOT / "tests" / "e2e" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_data(target: Path) -> Path:
    """A private copy of the shipped geodata, so tests never change the repository's data."""
    shutil.copytree(ROOT / "geodata", target, ignore=shutil.ignore_patterns(".lock"))
    return target


@dataclass
class App:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def running_app(
    data_dir: Path,
    log_dir: Path,
    env: dict[str, str] | None = None,
    script: str = "serve.py",
    port: int | None = None,
) -> Iterator[App]:
    """`streamlit run serve.py` (app.py plus the login-cookie routes, as scripts/run.sh serves it) on a free port,
    or on `port` (a restart where open pages reconnect); waits on /_stcore/health, never on sleep; prints the log
    on failure."""
    port = port or free_port()
    log_path = log_dir / f"streamlit-{port}.log"
    if log_path.exists():  # a restart on the same port keeps the earlier server's log
        log_path = log_dir / f"streamlit-{port}-{time.time_ns()}.log"
    environment = {**os.environ, "URBAN_PLAN_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                script,
                f"--server.port={port}",
                "--server.address=127.0.0.1",
                "--server.headless=true",
                "--browser.gatherUsageStats=false",
                "--server.fileWatcherType=none",
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    app = App(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{app.url}/_stcore/health", timeout=2) as response,  # noqa: S310 (our own URL)
            ):
                if response.read().strip() == b"ok":
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start:\n{app.log()}")
            time.sleep(0.2)
        yield app
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Watch:
    """What a page did that a user would not see: requests leaving the machine, console errors."""

    outside_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def watch_page(context: Any, page: Any) -> Watch:
    """Abort and count every request not to 127.0.0.1; collect console errors and any JS dialog (XSS canary)."""
    watch = Watch()

    def route(route_: Any) -> None:
        url = route_.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:", "about:")):
            route_.continue_()
        else:
            watch.outside_requests.append(url)
            route_.abort()

    context.route("**/*", route)

    def on_console(msg: Any) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        # Opening a deep link (/table) makes Streamlit's frontend probe /table/_stcore/... for a base path
        # first; those 404s are its own discovery, not the app's.
        if re.search(r"/[^/]+/_stcore/(health|host-config)$", url):
            return
        watch.console_errors.append(f"{msg.text} ({url})" if url else msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: watch.console_errors.append(str(exc)))

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return watch


def wait_for_app(page: Any, timeout_ms: int = 30000) -> None:
    """Streamlit has finished running the script: the status widget is gone and the app view is there."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelector('[data-testid=\"stMain\"]')",
        timeout=timeout_ms,
    )


def map_frame(page: Any) -> Any:
    """The map's iframe; the last one, since a remounted map briefly sits beside the one it replaces."""
    return page.locator('iframe[title="streamlit_folium.st_folium"]').last.content_frame


def drawn_features(page: Any) -> int:
    """Features drawn in the map iframe: SVG paths (lines, areas, circle markers) in the overlay pane."""
    return map_frame(page).locator(".leaflet-overlay-pane path").count()
