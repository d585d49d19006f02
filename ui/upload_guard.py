"""Bounds Streamlit's upload endpoint: files only from a session on a page with an uploader, a few per session.

Streamlit 1.67 stores any multipart PUT to /_stcore/upload_file/<session_id>/<file_id> in memory for any live
session, whatever page it is on and whatever the file id (ids are not checked against a file_uploader), until the
session ends; only server.maxUploadSize (per request) bounds it. The route hands every accepted file to the
runtime's one MemoryUploadedFileManager (`add_file`); this module wraps that method on the instance, once per
process, and refuses with an HTTP error before anything is stored. It also wraps the runtime's `is_active_session`,
which only that route asks and asks before it reads the body, so a session whose page has no uploader is refused
(400) before a byte is read. tests/unit/test_upload_guard.py fails if the Streamlit internals used here change.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from streamlit import config, runtime
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from urban_plan.i18n import t

_LOG = logging.getLogger(__name__)

UPLOAD_PAGES = frozenset({"upload"})  # url paths of the pages that call st.file_uploader (a test keeps this true)
MAX_FILES = 3  # per session: the upload page takes one file; a replacement may briefly sit beside the old one
MAX_SIZES = 2  # per session, at most this many times server.maxUploadSize in total


def enforce(page: str) -> None:
    """Call at the start of every run with the page being shown: installs the guard (once per process) and
    records the session's page, which decides whether its uploads are accepted. No-op outside a server."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not runtime.exists():
        return
    instance = runtime.get_instance()
    install(instance.uploaded_file_mgr, instance).note_page(ctx.session_id, page)


def install(manager: Any, server_runtime: Any = None) -> UploadGuard:
    """Wrap `manager`'s add_file and remove_session_files, and `server_runtime.is_active_session` when given
    (idempotent); returns the guard."""
    with _INSTALL_LOCK:
        guard = getattr(manager, "_urban_plan_upload_guard", None)
        if guard is None:
            if not isinstance(manager, MemoryUploadedFileManager):
                # Streamlit changed how uploads are stored: refuse every upload rather than leave the hole open.
                _LOG.error("upload guard: unexpected uploaded-file manager %r; refusing all uploads", manager)
            guard = UploadGuard(manager)
            manager.add_file = guard.add_file
            manager.remove_session_files = guard.remove_session_files
            manager._urban_plan_upload_guard = guard
            if server_runtime is not None:
                is_active = server_runtime.is_active_session
                server_runtime.is_active_session = lambda session_id: (
                    is_active(session_id) and guard.may_upload(session_id)
                )
            # Sessions can PUT from the moment they connect, before the first run gets here; no page has been shown
            # yet, so nothing stored until now came from an uploader: drop it.
            for session_id in list(getattr(manager, "file_storage", {})):
                guard._remove_session_files(session_id)
        return guard


_INSTALL_LOCK = threading.Lock()


class UploadGuard:
    """Per-session page and quota checks in front of a MemoryUploadedFileManager."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager
        self._add_file = manager.add_file
        self._remove_session_files = manager.remove_session_files
        self._usable = isinstance(manager, MemoryUploadedFileManager)
        self._pages: dict[str, str] = {}
        self._lock = threading.Lock()

    def note_page(self, session_id: str, page: str) -> None:
        with self._lock:
            self._pages[session_id] = page

    def may_upload(self, session_id: str) -> bool:
        return self._usable and self._pages.get(session_id) in UPLOAD_PAGES

    def add_file(self, session_id: str, file: UploadedFileRec) -> None:
        with self._lock:
            if not self.may_upload(session_id):
                raise _refusal(403, "upload_guard.not_here")
            stored = {k: v for k, v in self._manager.file_storage.get(session_id, {}).items() if k != file.file_id}
            limit = MAX_SIZES * int(config.get_option("server.maxUploadSize")) * 1024 * 1024
            if len(stored) + 1 > MAX_FILES or sum(len(f.data) for f in stored.values()) + len(file.data) > limit:
                raise _refusal(413, "upload_guard.too_many", files=MAX_FILES, megabytes=limit // (1024 * 1024))
            self._add_file(session_id=session_id, file=file)

    def remove_session_files(self, session_id: str) -> None:
        # Streamlit calls this when a session ends: forget its page too, so the table stays as small as the sessions.
        with self._lock:
            self._pages.pop(session_id, None)
        self._remove_session_files(session_id)


def _refusal(status: int, key: str, **params: Any) -> Exception:
    from starlette.exceptions import HTTPException

    # The client is Streamlit's uploader (or a script): it has no language preference here, so both.
    detail = f"{t(key, 'zh', **params)} / {t(key, 'en', **params)}"
    return HTTPException(status_code=status, detail=detail)
