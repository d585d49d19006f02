"""Every page runs in both languages, shows no raw key, and follows the shared filters and the URL."""

from __future__ import annotations

import pytest

from tests.app.conftest import component_args, raw_keys, texts
from urban_plan import assets

PAGES = [
    "app_pages/map.py",
    "app_pages/table.py",
    "app_pages/dashboard.py",
    "app_pages/present.py",
    "app_pages/history.py",
    "app_pages/account.py",
]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_in_both_languages_without_raw_keys(app, page: str, lang: str) -> None:
    at = app(lang).run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert raw_keys(at) == []
    shown = " ".join(texts(at))
    assert ("济阳区城市规划一张图" in shown) == (lang == "zh")
    assert ("Jiyang District planning map" in shown) == (lang == "en")


def test_the_map_component_gets_only_local_assets_and_reruns_only_on_clicks(app) -> None:
    at = app().run()
    (args,) = component_args(at)
    links = args["js_links"] + args["css_links"]
    assert links and all(link.startswith(assets.APP_BASE + "/") for link in links), links
    assert args["returned_objects"] == ["last_object_clicked_tooltip"]
    assert args["feature_group"] and "up-l-projects" in args["feature_group"]


def test_a_status_filter_changes_the_kpis_and_the_url(app) -> None:
    at = app().run()
    assert at.metric[0].value == "23"
    at.multiselect(key="f_status_zh_0").set_value(["in_progress"]).run()
    assert at.metric[0].value == "11"  # 7 works in progress + 4 layout areas (no progress: status leaves them alone)
    assert at.query_params["status"] == "in_progress"
    (args,) = component_args(at)
    assert "up-s-planned" not in args["feature_group"]


def test_a_shared_link_opens_with_its_filters(app) -> None:
    at = app("en", status="in_progress", layers="rail").run()
    assert at.metric[0].value == "4"
    assert at.multiselect(key="f_status_en_0").value == ["in_progress"]


def test_switching_language_keeps_the_filters(app) -> None:
    at = app().run()
    at.multiselect(key="f_status_zh_0").set_value(["in_progress"]).run()
    at.radio(key="lang_choice").set_value("en").run()
    assert at.multiselect(key="f_status_en_0").value == ["in_progress"]
    assert at.metric[0].value == "11" and at.metric[0].label == "Features shown"
    assert at.query_params["lang"] == "en"


def test_a_broken_link_is_ignored_with_a_notice(app) -> None:
    at = app(status="bogus", progress="x-y").run()
    assert not at.exception
    assert at.metric[0].value == "23"
    assert any("status" in toast.value and "progress" in toast.value for toast in at.toast)


def test_the_table_lists_the_filtered_features(app) -> None:
    at = app(layers="roads").run()
    at.switch_page("app_pages/table.py").run()
    table = at.dataframe[0].value
    assert len(table) == 9 and set(table["图层"]) == {"新改扩建道路"}
