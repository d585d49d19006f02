"""A data folder that refuses writes (read-only, full): the upload page says so in the user's language, the store
stays exactly as it was, and the upload is still there to publish once the folder is fixed."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import streamlit as st

from tests.app.conftest import log_in, raw_keys
from urban_plan import auth
from urban_plan.i18n import t
from urban_plan.store import FileLayerStore

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.SECRETS_ENV, raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()


def snapshot(root: Path) -> dict[str, bytes]:
    """The store's files (not the writers' lock file, nor the login database the auth pages keep beside them)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock" and not p.name.startswith("auth.sqlite3")
    }


def read_only_folder(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a read-only mount does to Python (root included, unlike chmod): opening for writing fails with EROFS."""
    real_open = os.open
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def refusing(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & writing and Path(os.fsdecode(path)).resolve().is_relative_to(data_dir.resolve()):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing)


def full_disk(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a full disk does: the bytes cannot be flushed to it (ENOSPC at fsync, after the temp file exists)."""
    del data_dir

    def refusing(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", refusing)


@pytest.mark.parametrize(
    ("fault", "code"),
    [pytest.param(read_only_folder, "read_only", id="read-only"), pytest.param(full_disk, "disk_full", id="full")],
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_folder_that_refuses_writes_gets_a_clear_message_and_the_store_is_unchanged(
    app: Any,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: Callable[[Path, pytest.MonkeyPatch], None],
    code: str,
    lang: str,
) -> None:
    at = app(lang)
    at.secrets["editors"] = {"li": {"password_hash": auth.hash_password(PASSWORD)}}
    at.run()
    log_in(at)
    fc = json.loads((data_dir / "projects.geojson").read_text(encoding="utf-8"))
    fc["features"][0]["properties"]["status"] = "completed"
    at.switch_page("app_pages/upload.py").run()
    at.file_uploader[0].upload("projects.geojson", json.dumps(fc, ensure_ascii=False).encode(), "application/json")
    at.run()
    publish_label = t("upload.publish_button", lang, base=3)
    before = snapshot(data_dir)

    with monkeypatch.context() as patch:
        fault(data_dir, patch)
        next(b for b in at.button if b.label == publish_label).click().run()

    assert not at.exception, [e.message for e in at.exception]
    assert [e.value for e in at.error] == [t(f"store.{code}", lang)]
    assert raw_keys(at) == []
    assert snapshot(data_dir) == before
    assert not list(data_dir.rglob("*.tmp"))

    # Nothing was lost on the page either: once the folder takes writes again, the same upload publishes.
    next(b for b in at.button if b.label == publish_label).click().run()
    assert not at.exception and not at.error
    assert len(at.success) == 1
    assert FileLayerStore(data_dir).latest("projects").number == 4


def test_a_rollback_on_a_read_only_folder_explains_itself_and_changes_nothing(
    app: Any, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app("en", layer="projects")
    at.secrets["editors"] = {"li": {"password_hash": auth.hash_password(PASSWORD)}}
    at.run()
    log_in(at)
    at.switch_page("app_pages/history.py").run()
    at.selectbox(key="history_v_projects").set_value(1).run()
    at.checkbox(key="rb_sure_projects_1").check().run()
    before = snapshot(data_dir)
    with monkeypatch.context() as patch:
        read_only_folder(data_dir, patch)
        next(b for b in at.button if b.label == t("history.rollback_button", "en", number=1)).click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert [e.value for e in at.error] == [t("store.read_only", "en")]
    assert snapshot(data_dir) == before
