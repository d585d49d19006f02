"""Streamlit's upload endpoint attacked from a real page: no page without an uploader may store files in the server's
memory, and the upload page stores only a few per session."""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.e2e import harness
from tests.e2e.conftest import Session, browser_session
from tests.e2e.test_editing import PASSWORD, go, log_in
from ui import upload_guard
from urban_plan import auth

MB = 1024 * 1024

# What Streamlit's frontend does for a file_uploader (a multipart PUT with the XSRF cookie echoed in a header),
# replayed from inside the page so the cookies are the page's own. Returns the HTTP status of each PUT.
PUT_FILES = """async ([sessionId, fileIds, size]) => {
  const token = decodeURIComponent((document.cookie.match(/(?:^|; )_streamlit_xsrf=([^;]*)/) || [])[1] || "");
  const statuses = [];
  for (const fileId of fileIds) {
    const body = new FormData();
    body.append("file", new Blob([new Uint8Array(size)]), `junk-${fileId}.bin`);
    const response = await fetch(`/_stcore/upload_file/${sessionId}/${fileId}`,
      {method: "PUT", body, headers: {"X-Xsrftoken": token}, credentials: "same-origin"});
    statuses.push(response.status);
  }
  return statuses;
}"""


@pytest.fixture(scope="module")
def guarded_app(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[harness.App]:
    del browser
    root = tmp_path_factory.mktemp("upload-guard")
    data = harness.copy_data(root / "data")
    secrets = root / "secrets.toml"
    auth.add_editor(secrets, "li", PASSWORD, layers=["projects"])
    with harness.running_app(data, root, env={auth.SECRETS_ENV: str(secrets)}) as app:
        yield app


@pytest.fixture
def visit(browser: Any, guarded_app: harness.App, request: pytest.FixtureRequest) -> Iterator[tuple[Session, list]]:
    """A browser session whose websocket frames are kept: the server tells the page its session id in them."""
    with browser_session(browser, guarded_app, request) as session:
        frames: list[bytes] = []

        def on_socket(socket: Any) -> None:
            socket.on("framereceived", lambda payload: frames.append(payload if isinstance(payload, bytes) else b""))

        session.page.on("websocket", on_socket)
        yield session, frames


def session_id(frames: list[bytes]) -> str:
    """The id in the server's latest NewSession message (a reload, e.g. after logging in, starts a new session):
    what Streamlit's frontend puts in its upload URLs."""
    ids = []
    for frame in frames:
        try:
            message = ForwardMsg.FromString(frame)
        except Exception:  # noqa: S112 (other frames are not ours to read)
            continue
        if message.HasField("new_session"):
            ids.append(message.new_session.initialize.session_id)
    assert ids, "the server sent no NewSession message"
    return ids[-1]


def held_upload_bytes(app: harness.App) -> int:
    """Bytes of uploaded files the server holds, from Streamlit's own metrics (no line at all when none)."""
    with urllib.request.urlopen(f"{app.url}/_stcore/metrics", timeout=10) as response:  # noqa: S310 (our own URL)
        lines = response.read().decode().splitlines()
    held = [line for line in lines if "UploadedFileManager" in line and not line.startswith("#")]
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in held)


def put_files(page: Any, frames: list[bytes], count: int, size: int) -> list[int]:
    """PUT `count` files of `size` bytes for this page's session; the statuses the server answered."""
    return page.evaluate(PUT_FILES, [session_id(frames), [str(uuid.uuid4()) for _ in range(count)], size])


def test_a_page_without_an_uploader_stores_no_uploaded_file(visit: tuple[Session, list]) -> None:
    session, frames = visit
    page = session.open("/")
    page.get_by_text("导出(离线").wait_for()  # the page has run to its end (the session's page is known)
    assert page.locator('input[type="file"]').count() == 0
    # Six files of 20 MB, as in the review: without the guard every one is kept in memory until the session ends.
    # With it the route hears the session is not one that may upload, and refuses before it reads the body.
    statuses = put_files(page, frames, count=6, size=20 * MB)
    assert statuses == [400] * 6, statuses
    assert held_upload_bytes(session.app) == 0
    assert session.watch.outside_requests == []


def test_the_upload_page_stores_a_few_files_per_session_and_no_more(visit: tuple[Session, list]) -> None:
    session, frames = visit
    page = log_in(session)
    go(page, "上传更新")
    page.locator('input[type="file"]').wait_for(state="attached")
    statuses = put_files(page, frames, count=upload_guard.MAX_FILES + 2, size=MB)
    assert statuses == [204] * upload_guard.MAX_FILES + [413, 413], statuses
    assert held_upload_bytes(session.app) == upload_guard.MAX_FILES * MB
    # Leaving the upload page closes the door again for the same session.
    go(page, "规划地图")
    assert put_files(page, frames, count=1, size=MB) == [400]
