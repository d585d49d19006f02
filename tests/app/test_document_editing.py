"""Editing versioned documents (targets, saved views, meeting dates) with the time machine set and while others save."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import streamlit as st

from tests.app.conftest import EDITOR_PASSWORD, log_in, raw_keys, texts
from urban_plan import auth
from urban_plan.store import Actor, FileLayerStore

WANG = Actor("wang", "editor")
# 02:30 UTC is 10:30 in Beijing: the messages must show the planners' clock.
WANG_SAVED_AT = dt.datetime(2025, 3, 1, 2, 30, tzinfo=dt.UTC)
RAIL = {"id": "rail", "title_zh": "高铁进展", "title_en": "Rail", "query": {"layers": "rail"}}
ROADS = {"id": "roads", "title_zh": "道路工程", "title_en": "Roads", "query": {"layers": "roads"}}


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.SECRETS_ENV, raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()


def editor_on(at: Any, page: str) -> Any:
    at.run()
    at.secrets["editors"] = {"li": {"password_hash": auth.hash_password(EDITOR_PASSWORD)}}
    log_in(at)
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def row(doc: dict, rid: str) -> dict:
    return next(r for r in doc["rows"] if r["id"] == rid)


def edit_key_projects(at: Any) -> str:
    """Type 50 key projects reported on 2024-12-31 into the targets table, as the browser would send it."""
    key = at.data_editor[0].key
    at.session_state[key] = {
        "edited_rows": {3: {"reported": 50, "reported_as_of": "2024-12-31"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    return key


def screen(at: Any) -> str:
    return "\n".join(texts(at))


def successes(at: Any) -> str:
    return " ".join(s.value for s in at.success)


def wang_publishes(data_dir: Path, collection: str, change: Any, message: str) -> int:
    store = FileLayerStore(data_dir)
    latest = store.latest(collection)
    doc = store.load(collection) if latest else {"views": [], "meetings": []}
    change(doc)
    saved = store.publish(
        collection,
        doc,
        actor=WANG,
        base_version=latest.number if latest else 0,
        message=message,
        saved_at=WANG_SAVED_AT,
    )
    return saved.number


def save_views(data_dir: Path, views: list[dict], meetings: list[str]) -> None:
    FileLayerStore(data_dir).publish(
        "views", {"views": views, "meetings": meetings}, actor=Actor("seed", "editor"), base_version=0
    )


# Targets -------------------------------------------------------------------------------------------------------


def test_with_the_time_machine_in_the_past_the_targets_editor_edits_the_current_version(app, data_dir: Path) -> None:
    at = editor_on(app(asof="2023-06-01"), "app_pages/dashboard.py")
    assert "正在查看历史日期" in screen(at)  # the page says what the editor acts on
    table = at.data_editor[0].value.set_index("id")
    assert table.loc["resettlement_flats", "reported"] == 2156  # today's figures, not 2023-06-01's
    edit_key_projects(at)
    at.run()
    at.button(key="save_targets").click().run()
    assert not at.exception
    store = FileLayerStore(data_dir)
    saved = store.load("targets")
    assert store.latest("targets").number == 3
    assert row(saved, "resettlement_flats")["reported"] == 2156  # the later figure did not go back to "not reported"
    assert row(saved, "key_projects")["reported"] == 50
    assert row(saved, "key_projects")["reported_as_of"] == "2024-12-31"
    assert "第 3 版" in successes(at)


def test_a_targets_save_by_someone_else_keeps_my_edits_and_says_who_saved_what(app, data_dir: Path) -> None:
    at = editor_on(app(), "app_pages/dashboard.py")
    key = edit_key_projects(at)
    at.run()

    def report_2300(doc: dict) -> None:
        row(doc, "resettlement_flats").update(reported=2300, reported_as_of="2024-06-30")

    assert wang_publishes(data_dir, "targets", report_2300, "2024年中报告") == 3
    at.run()  # any rerun (a widget touched) must not rebuild my table
    assert at.data_editor[0].key == key and at.session_state[key]["edited_rows"]
    at.button(key="save_targets").click().run()
    assert not at.exception
    store = FileLayerStore(data_dir)
    assert store.latest("targets").number == 3  # nothing written over wang's version
    assert not at.success
    warning = " ".join(w.value for w in at.warning)
    for expected in ("wang", "第 3 版", "2025-03-01 10:30", "北京时间", "2156 → 2300", "2024年中报告"):
        assert expected in warning, expected
    assert at.data_editor[0].key == key and at.session_state[key]["edited_rows"]  # my edit is still on screen
    assert not raw_keys(at)

    at.button(key="targets_save_merged").click().run()
    assert not at.exception
    latest = store.latest("targets")
    saved = store.load("targets")
    assert latest.number == 4 and latest.author == "li" and latest.base == 3
    assert row(saved, "key_projects")["reported"] == 50  # mine
    assert row(saved, "resettlement_flats")["reported"] == 2300  # wang's
    assert "第 4 版" in successes(at)


def test_a_targets_save_that_raced_someone_else_is_never_reported_as_saved(app, data_dir: Path) -> None:
    at = editor_on(app("en"), "app_pages/dashboard.py")
    edit_key_projects(at)
    at.run()
    wang_publishes(data_dir, "targets", lambda doc: row(doc, "road_works").update(note="9 named"), "names")
    at.button(key="save_targets").click().run()
    assert not at.success and "wang" in " ".join(w.value for w in at.warning)
    wang_publishes(data_dir, "targets", lambda doc: row(doc, "road_works").update(note="10 named"), "again")
    at.button(key="targets_save_merged").click().run()  # the latest moved again after the warning
    store = FileLayerStore(data_dir)
    assert store.latest("targets").number == 4 and not at.success
    assert "version 4" in " ".join(w.value for w in at.warning) and not raw_keys(at)
    at.button(key="targets_save_merged").click().run()
    assert store.latest("targets").number == 5 and row(store.load("targets"), "key_projects")["reported"] == 50
    assert "version 5" in successes(at)


def test_an_idle_targets_editor_follows_what_others_save(app, data_dir: Path) -> None:
    at = editor_on(app(), "app_pages/dashboard.py")
    wang_publishes(data_dir, "targets", lambda doc: row(doc, "resettlement_flats").update(reported=2300), "new")
    at.run()
    table = at.data_editor[0].value.set_index("id")
    assert table.loc["resettlement_flats", "reported"] == 2300 and not at.warning


def test_a_save_the_store_did_not_keep_is_never_reported_as_saved(
    app, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish = FileLayerStore.publish

    def drops_reported_values(self, collection, payload, **kwargs):  # a backend that loses a field
        if collection == "targets":
            payload = {"rows": [{**r, "reported": None, "reported_as_of": None} for r in payload["rows"]]}
        return publish(self, collection, payload, **kwargs)

    monkeypatch.setattr(FileLayerStore, "publish", drops_reported_values)
    at = editor_on(app(), "app_pages/dashboard.py")
    edit_key_projects(at)
    at.run()
    at.button(key="save_targets").click().run()
    assert not at.exception and not at.success
    error = " ".join(e.value for e in at.error)
    assert "核对失败" in error and "第 3 版" in error and "区级重点项目·已上报值" in error


# Saved views and meeting dates ---------------------------------------------------------------------------------


def test_with_the_time_machine_in_the_past_views_and_meetings_are_saved_on_the_current_version(
    app, data_dir: Path
) -> None:
    save_views(data_dir, [RAIL], ["2025-12-01"])
    at = editor_on(app(asof="2023-06-01", layers="projects"), "app_pages/present.py")
    at.text_input(key="view_title_zh").input("历史对比").run()
    at.button(key="save_view").click().run()
    assert "第 2 版" in successes(at) and at.text_input(key="view_title_zh").value == ""  # ready for the next one
    at.button(key="save_meeting").click().run()
    assert "第 3 版" in successes(at)
    saved = FileLayerStore(data_dir).load("views")
    assert [v["title_zh"] for v in saved["views"]] == ["高铁进展", "历史对比"]
    assert saved["views"][1]["query"]["asof"] == "2023-06-01"  # the view keeps the date it shows
    assert saved["meetings"] == ["2025-12-01", dt.date.today().isoformat()]


def test_a_view_saved_while_someone_else_saved_keeps_my_title_and_says_who_saved_what(app, data_dir: Path) -> None:
    save_views(data_dir, [RAIL], [])
    at = editor_on(app(layers="projects"), "app_pages/present.py")
    at.text_input(key="view_title_zh").input("五大项目").run()
    assert wang_publishes(data_dir, "views", lambda doc: doc["views"].append(ROADS), "道路视图") == 2
    at.button(key="save_view").click().run()
    assert not at.exception
    store = FileLayerStore(data_dir)
    assert store.latest("views").number == 2 and not at.success
    warning = " ".join(w.value for w in at.warning)
    for expected in ("wang", "第 2 版", "2025-03-01 10:30", "道路工程"):
        assert expected in warning, expected
    assert at.text_input(key="view_title_zh").value == "五大项目" and not raw_keys(at)
    at.button(key="views_save_merged").click().run()
    saved = store.load("views")
    assert [v["title_zh"] for v in saved["views"]] == ["高铁进展", "道路工程", "五大项目"]
    assert store.latest("views").number == 3 and "第 3 版" in successes(at)


def test_a_meeting_date_saved_while_someone_else_saved_says_so_and_keeps_both(app, data_dir: Path) -> None:
    save_views(data_dir, [RAIL], ["2025-06-01"])
    at = editor_on(app(), "app_pages/present.py")
    at.date_input(key="meeting_date").set_value(dt.date(2025, 12, 1)).run()
    wang_publishes(data_dir, "views", lambda doc: doc["meetings"].append("2025-09-01"), "九月例会")
    at.button(key="save_meeting").click().run()
    store = FileLayerStore(data_dir)
    assert store.latest("views").number == 2 and not at.success
    warning = " ".join(w.value for w in at.warning)
    assert "wang" in warning and "2025-09-01" in warning and "第 2 版" in warning
    at.button(key="views_save_merged").click().run()
    assert store.load("views")["meetings"] == ["2025-06-01", "2025-09-01", "2025-12-01"]
    assert "第 3 版" in successes(at)


def test_deleting_a_view_someone_else_just_deleted_never_deletes_another_one(app, data_dir: Path) -> None:
    save_views(data_dir, [RAIL, ROADS], [])
    at = editor_on(app(), "app_pages/present.py")
    at.selectbox(key="delete_view").select("rail").run()

    def drop_rail(doc: dict) -> None:
        doc["views"] = [v for v in doc["views"] if v["id"] != "rail"]

    wang_publishes(data_dir, "views", drop_rail, "删除高铁视图")
    at.run()
    at.button(key="delete_view_button").click().run()
    store = FileLayerStore(data_dir)
    assert [v["id"] for v in store.load("views")["views"]] == ["roads"]
    assert "wang" in " ".join(w.value for w in at.warning)
    at.button(key="views_save_merged").click().run()
    assert [v["id"] for v in store.load("views")["views"]] == ["roads"]  # the view I did not choose survives
    assert store.latest("views").number == 2  # my deletion was already there: no empty version
    assert "第 2 版" in " ".join(i.value for i in at.info)
