"""The upload guard in front of Streamlit's upload endpoint, and the Streamlit internals it relies on."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from starlette.exceptions import HTTPException
from streamlit import config
from streamlit.runtime import app_session
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec
from streamlit.web.server import server
from streamlit.web.server.starlette import starlette_app, starlette_routes

from ui import upload_guard

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def rec(file_id: str, size: int = 10) -> UploadedFileRec:
    return UploadedFileRec(file_id=file_id, name=f"{file_id}.geojson", type="application/json", data=b"x" * size)


@pytest.fixture
def manager() -> MemoryUploadedFileManager:
    return MemoryUploadedFileManager("/_stcore/upload_file")


def test_the_streamlit_internals_the_guard_wraps_are_still_there() -> None:
    """If this fails, Streamlit changed how uploads reach memory: re-read ui/upload_guard.py before upgrading."""
    # The server builds one MemoryUploadedFileManager and the upload route stores through that very instance...
    assert "MemoryUploadedFileManager(UPLOAD_FILE_ENDPOINT)" in inspect.getsource(server.Server.__init__)
    assert "upload_mgr: MemoryUploadedFileManager = runtime.uploaded_file_mgr" in inspect.getsource(starlette_app)
    routes = inspect.getsource(starlette_routes.create_upload_routes)
    # ... by calling add_file on it (looked up at call time, so the wrapper on the instance is what runs) ...
    assert "upload_mgr.add_file(" in routes and "session_id=session_id" in routes
    # ... and the route turns an HTTPException into its status (the guard's refusals are 403 and 413).
    assert "from starlette.exceptions import HTTPException" in routes
    # The route asks the runtime whether the session is live before it reads the body, and nothing else asks.
    assert routes.index("runtime.is_active_session(session_id)") < routes.index("request.stream()")
    package = Path(inspect.getfile(server)).parents[2]
    callers = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "is_active_session(" in (text := path.read_text(encoding="utf-8"))
        and path.name != "runtime.py"
        and "def is_active_session(" not in text
    ]
    assert callers == ["web/server/starlette/starlette_routes.py"], callers
    # A session's files are dropped through remove_session_files when it ends (the guard forgets its page there).
    assert "remove_session_files(self.id)" in inspect.getsource(app_session.AppSession)
    assert list(inspect.signature(MemoryUploadedFileManager.add_file).parameters) == ["self", "session_id", "file"]
    assert list(inspect.signature(MemoryUploadedFileManager.remove_session_files).parameters) == [
        "self",
        "session_id",
    ]
    assert isinstance(MemoryUploadedFileManager("/x").file_storage, dict)


def test_a_session_not_on_an_upload_page_stores_nothing(manager: MemoryUploadedFileManager) -> None:
    guard = upload_guard.install(manager)
    guard.note_page("s1", "map")
    for session in ("s1", "never-ran"):
        with pytest.raises(HTTPException) as refused:
            manager.add_file(session_id=session, file=rec("f1"))
        assert refused.value.status_code == 403
        assert "此页面不接受上传" in refused.value.detail and "accepts no uploads" in refused.value.detail
    assert manager.get_files("s1", ["f1"]) == [] and manager.get_stats() == {}


def test_the_upload_page_stores_a_few_files_and_no_more(manager: MemoryUploadedFileManager) -> None:
    guard = upload_guard.install(manager)
    guard.note_page("s1", "upload")
    ids = [f"f{i}" for i in range(upload_guard.MAX_FILES)]
    for file_id in ids:
        manager.add_file(session_id="s1", file=rec(file_id))
    manager.add_file(session_id="s1", file=rec(ids[0], 20))  # replacing a file is not one more
    with pytest.raises(HTTPException) as refused:
        manager.add_file(session_id="s1", file=rec("one-more"))
    assert refused.value.status_code == 413
    assert len(manager.get_files("s1", [*ids, "one-more"])) == upload_guard.MAX_FILES
    # Bytes are bounded too: a few files that together pass MAX_SIZES x server.maxUploadSize are refused.
    limit = upload_guard.MAX_SIZES * config.get_option("server.maxUploadSize") * MB
    guard.note_page("s2", "upload")
    manager.add_file(session_id="s2", file=rec("big", limit - 5))
    with pytest.raises(HTTPException):
        manager.add_file(session_id="s2", file=rec("small", 6))
    manager.add_file(session_id="s2", file=rec("small", 5))


def test_files_stored_before_the_guard_was_installed_are_dropped(manager: MemoryUploadedFileManager) -> None:
    """The first session can PUT while the server's first run is still importing, before app.py installs the guard."""
    manager.add_file(session_id="early", file=rec("f1", MB))
    upload_guard.install(manager)
    assert manager.get_files("early", ["f1"]) == [] and manager.get_stats() == {}


def test_a_session_that_ends_leaves_neither_files_nor_its_page_behind(manager: MemoryUploadedFileManager) -> None:
    guard = upload_guard.install(manager)
    assert upload_guard.install(manager) is guard  # installed once, however many runs call it
    guard.note_page("s1", "upload")
    manager.add_file(session_id="s1", file=rec("f1"))
    manager.remove_session_files("s1")
    assert manager.get_files("s1", ["f1"]) == []
    with pytest.raises(HTTPException):
        manager.add_file(session_id="s1", file=rec("f2"))


def test_the_route_is_told_a_session_off_the_upload_page_is_not_there_before_it_reads_a_byte(
    manager: MemoryUploadedFileManager,
) -> None:
    class Runtime:
        def is_active_session(self, session_id: str) -> bool:
            return session_id != "closed"

    server_runtime = Runtime()
    guard = upload_guard.install(manager, server_runtime)
    guard.note_page("viewer", "map")
    guard.note_page("editor", "upload")
    guard.note_page("closed", "upload")
    answers = {sid: server_runtime.is_active_session(sid) for sid in ("viewer", "editor", "closed", "unknown")}
    assert answers == {"viewer": False, "editor": True, "closed": False, "unknown": False}


def test_the_upload_pages_are_exactly_the_pages_with_a_file_uploader() -> None:
    with_uploader = set()
    for path in (ROOT / "app_pages").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "file_uploader"]
        if calls:
            with_uploader.add(path.stem)
    assert with_uploader == set(upload_guard.UPLOAD_PAGES)
    # A shared helper with an uploader would put one on pages this list does not name.
    assert not [p.name for p in (ROOT / "ui").glob("*.py") if ".file_uploader(" in p.read_text(encoding="utf-8")]
    # app.py serves every page at its file's name (url_path=path), which is what the guard is told.
    assert "url_path=path" in (ROOT / "app.py").read_text(encoding="utf-8")
