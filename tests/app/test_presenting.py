"""Dashboard and presentation in AppTest: targets beside the data, ratings, time machine, saved views."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import streamlit as st

from tests.app.conftest import log_in, texts
from urban_plan import auth
from urban_plan.store import Actor, FileLayerStore

EDITOR = Actor("li", "editor")


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.SECRETS_ENV, raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()


def save_views(data_dir: Path, views: list[dict], meetings: list[str] | None = None) -> None:
    FileLayerStore(data_dir).publish(
        "views", {"views": views, "meetings": meetings or []}, actor=EDITOR, base_version=0
    )


def test_the_dashboard_sets_targets_beside_what_the_data_says_and_never_invents_a_number(app) -> None:
    at = app().run()
    at.switch_page("app_pages/dashboard.py").run()
    assert not at.exception, [e.message for e in at.exception]
    shown = " ".join(texts(at))
    assert "135.8 亿元" in shown and "2,156 套(截至 2023-12-31)" in shown and "47%" in shown
    assert shown.count("未上报") >= 2  # the 87 key projects and their 94亿 annual investment
    assert "新改扩建道路 9 个(规划 9" in shown and "9 个为待核实要素" in shown


def test_the_dashboard_lists_what_is_behind_and_what_is_missing_data(app) -> None:
    at = app("en").run()
    at.switch_page("app_pages/dashboard.py").run()
    behind, missing = at.dataframe[0].value, at.dataframe[1].value
    assert "Huanghe Avenue north extension" in set(behind["Name"])
    assert set(behind["Plan vs actual"]) == {"Far behind / overdue"}
    assert "Jinan–Binzhou HSR (Jiyang section)" in set(missing["Name"])


def test_the_time_machine_shows_the_layers_as_they_were(app) -> None:
    at = app(asof="2023-06-01").run()
    at.switch_page("app_pages/table.py").run()
    table = at.dataframe[0].value
    assert set(table["名称"]) >= {"黄河大道北延"} and "济阳站" not in set(table["名称"])
    assert set(table[table["名称"] == "黄河大道北延"]["状态"]) == {"规划"}


def test_a_comparison_date_lists_what_changed_since(app) -> None:
    at = app("en", compare="2024-01-01").run()
    changes = at.dataframe[-1].value
    assert {"Appeared", "Status changed"} <= set(changes["Change"])
    assert "Jiyang Station" in set(changes["Name"])


def test_the_last_saved_meeting_is_the_default_comparison(app, data_dir: Path) -> None:
    save_views(data_dir, [], meetings=["2024-06-01", "2025-12-01"])
    at = app().run()
    assert at.query_params.get("compare") == "2025-12-01"


def test_a_saved_view_opens_from_its_link_and_the_buttons_step_through_views(app, data_dir: Path) -> None:
    save_views(
        data_dir,
        [
            {"id": "rail", "title_zh": "高铁进展", "title_en": "Rail", "query": {"layers": "rail"}},
            {
                "id": "roads",
                "title_zh": "道路工程",
                "title_en": "Roads",
                "query": {"layers": "roads", "asof": "2024-01-01"},
            },
        ],
    )
    at = app(view="rail").run()
    at.switch_page("app_pages/present.py").run()
    assert not at.exception
    assert any("高铁进展" in text and "1 / 2" in text for text in texts(at))
    next(b for b in at.button if b.key == "step_next").click().run()
    assert any("道路工程" in text for text in texts(at))
    assert at.query_params["view"] == "roads" and at.query_params["asof"] == "2024-01-01"
    next(b for b in at.button if b.key == "step_prev_page").click().run()
    assert at.query_params["view"] == "rail" and "asof" not in at.query_params


def test_an_editor_saves_a_view_and_a_meeting_date(app, data_dir: Path) -> None:
    at = app(layers="projects").run()
    at.secrets["editors"] = {"li": {"password_hash": auth.hash_password("correct horse battery")}}
    log_in(at)
    at.switch_page("app_pages/present.py").run()
    at.text_input(key="view_title_zh").input("五大项目").run()
    at.button(key="save_view").click().run()
    at.button(key="save_meeting").click().run()
    store = FileLayerStore(data_dir)
    views = store.load("views")
    assert [v["title_zh"] for v in views["views"]] == ["五大项目"]
    assert views["views"][0]["query"] == {"layers": "projects"}
    assert views["meetings"] == [dt.date.today().isoformat()]
    assert store.latest("views").number == 2


def test_the_coordinates_tool_shows_a_pasted_point_in_every_system(app) -> None:
    at = app("en").run()
    at.switch_page("app_pages/coordinates.py").run()
    at.text_input[0].input("36.9762, 117.1699").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.iloc[0][1:]) == ["117.169900", "36.976200"] and len(table) == 4
    assert any("Latitude came first" in c.value for c in at.caption)
    at.text_input[0].input("not a point").run()
    assert at.error and ("Two numbers" in at.error[0].value or "not a number" in at.error[0].value)


def test_an_editor_updates_a_reported_target_as_a_new_version(app, data_dir: Path) -> None:
    at = app("en").run()
    at.secrets["editors"] = {"li": {"password_hash": auth.hash_password("correct horse battery")}}
    log_in(at)
    at.switch_page("app_pages/dashboard.py").run()
    at.text_input(key="targets_message").input("2024 year-end report").run()
    at.button(key="save_targets").click().run()
    assert not at.exception
    store = FileLayerStore(data_dir)
    assert store.latest("targets").number == 3 and store.latest("targets").author == "li"
