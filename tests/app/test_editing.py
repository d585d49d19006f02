"""Editing in the app: login, who sees the upload page, upload -> preview -> publish, rollback, role checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st

from tests.app.conftest import log_in, raw_keys, texts
from urban_plan import auth
from urban_plan.i18n import t
from urban_plan.store import FileLayerStore

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.SECRETS_ENV, raising=False)
    st.cache_resource.clear()  # the login throttle lives there; each test starts unthrottled
    st.cache_data.clear()


@pytest.fixture(scope="module")
def password_hash() -> str:
    return auth.hash_password(PASSWORD)


def with_editor(at, password_hash: str, layers: list[str] | None = None):
    entry = {"password_hash": password_hash}
    if layers is not None:
        entry["layers"] = layers
    at.secrets["editors"] = {"li": entry}
    return at


def nav_pages(at) -> list[str]:
    """The pages st.navigation offered in the last run (AppTest keeps them; there is no public accessor)."""
    return [Path(page["script_path"]).stem for page in at._registered_pages.values()]


def test_with_no_editor_account_editing_is_off_and_says_how_to_enable_it(app) -> None:
    at = app().run()
    at.switch_page("app_pages/account.py").run()
    assert not at.exception
    assert any("add-editor" in text for text in texts(at))
    assert "upload" not in nav_pages(at)


def test_a_viewer_has_no_upload_page_whatever_the_url_says(app, password_hash: str) -> None:
    at = with_editor(app(role="editor", editor="1", user="li", page="upload"), password_hash).run()
    assert "upload" not in nav_pages(at)
    with pytest.raises(Exception, match="upload"):
        at.switch_page("app_pages/upload.py").run()


def test_a_wrong_password_is_refused_and_repeated_failures_slow_the_name_down(
    app, password_hash: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from urban_plan import throttle

    monkeypatch.setattr(throttle, "_now", lambda: 1_000_000.0)  # a slow machine must not let the wait run out
    at = with_editor(app(), password_hash).run()
    log_in(at, password="wrong password!")
    assert [e.value for e in at.error] == ["账号或密码不正确。"]
    for _ in range(2):
        log_in(at, password="still wrong!!")
    log_in(at)  # the right password no longer helps for a while
    assert [e.value for e in at.error] == ["登录尝试过于频繁,请 2 秒后再试。"]
    assert "upload" not in nav_pages(at)


def test_logging_out_ends_the_session_and_a_new_password_ends_it_too(app, password_hash: str, tmp_path: Path) -> None:
    at = with_editor(app(), password_hash).run()
    log_in(at)
    assert "upload" in nav_pages(at)
    assert any("只在当前标签页有效" in text for text in texts(at))  # AppTest runs without serve.py's routes
    token = at.session_state["_editor_token"]
    at.button[0].click().run()  # 退出登录
    assert "upload" not in nav_pages(at)
    from ui import auth as ui_auth

    accounts = auth.load_accounts({"editors": {"li": {"password_hash": password_hash}}})
    assert ui_auth.sessions.Sessions(ui_auth.throttle.database_path()).validate(token, accounts) is None
    log_in(at)
    assert "upload" in nav_pages(at)
    at.secrets["editors"] = {"li": {"password_hash": auth.hash_password("a brand new password")}}
    at.run()
    assert "upload" not in nav_pages(at)


def test_an_unusable_login_database_is_explained_not_a_traceback(app, password_hash: str, data_dir: Path) -> None:
    (data_dir / "store" / "auth.sqlite3").mkdir()  # what sqlite sees on a broken or read-only folder: cannot open
    at = with_editor(app("en"), password_hash).run()
    log_in(at)
    assert not at.exception
    assert [e.value for e in at.error] == [t("auth.unavailable", "en")]
    assert "upload" not in nav_pages(at)


def test_an_editor_logs_in_uploads_previews_and_publishes(app, password_hash: str, data_dir: Path) -> None:
    at = with_editor(app(), password_hash).run()
    log_in(at)
    assert "upload" in nav_pages(at)
    fc = json.loads((data_dir / "projects.geojson").read_text(encoding="utf-8"))
    for feature in fc["features"]:
        if feature["properties"]["id"] == "prj-huanghe-north":
            feature["properties"].update(status="completed", progress=100)
    at.switch_page("app_pages/upload.py").run()
    at.file_uploader[0].upload("projects.geojson", json.dumps(fc, ensure_ascii=False).encode(), "application/json")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert [m.value for m in at.metric][:3] == ["0", "0", "1"]  # added, removed, changed
    assert raw_keys(at) == []
    publish = next(b for b in at.button if "发布为新版本" in b.label)
    publish.click().run()
    assert any("第 4 版" in s.value for s in at.success)
    store = FileLayerStore(data_dir)
    latest = store.latest("projects")
    assert (latest.number, latest.author, latest.counts["changed"]) == (4, "li", 1)


def test_an_editor_limited_to_other_layers_cannot_choose_this_one(app, password_hash: str) -> None:
    at = with_editor(app(), password_hash, layers=["roads"]).run()
    log_in(at)
    at.switch_page("app_pages/upload.py").run()
    assert at.selectbox(key="upload_target").options == ["新改扩建道路"]  # no other layer, no "new layer"


def test_a_rejected_upload_explains_itself_and_changes_nothing(app, password_hash: str, data_dir: Path) -> None:
    at = with_editor(app("en"), password_hash).run()
    log_in(at)
    at.switch_page("app_pages/upload.py").run()
    before = (data_dir / "store" / "projects" / "manifest.json").read_bytes()
    bad = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"名称": "x", "状态": "done-ish"},
                "geometry": {"type": "Point", "coordinates": [116.4, 39.9]},
            }
        ],
    }
    at.file_uploader[0].upload("bad.geojson", json.dumps(bad).encode(), "application/json")
    at.run()
    assert not at.exception
    shown = " ".join(texts(at))
    assert "outside Jiyang District" in shown or any("outside" in str(df.value) for df in at.dataframe)
    assert not any("Publish as a new version" in b.label for b in at.button)
    assert (data_dir / "store" / "projects" / "manifest.json").read_bytes() == before


def test_the_history_page_lists_versions_and_an_editor_can_roll_back(app, password_hash: str, data_dir: Path) -> None:
    at = with_editor(app(layer="projects"), password_hash).run()
    at.switch_page("app_pages/history.py").run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 3
    assert not any("回滚到" in b.label for b in at.button)  # a viewer sees no rollback
    log_in(at)
    at.switch_page("app_pages/history.py").run()
    at.selectbox(key="history_v_projects").set_value(1).run()
    at.checkbox(key="rb_sure_projects_1").check().run()
    next(b for b in at.button if "回滚到第 1 版" in b.label).click().run()
    latest = FileLayerStore(data_dir).latest("projects")
    assert (latest.number, latest.restored_from) == (4, 1)
