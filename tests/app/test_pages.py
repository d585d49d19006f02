"""Every page runs in both languages, shows no raw key, and follows the shared filters and the URL."""

from __future__ import annotations

import pytest

from tests.app.conftest import component_args, raw_keys, texts
from tests.app.kpi import kpi_strip, kpis
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
    assert kpis(at)["shown"].value == "23"
    at.multiselect(key="f_status_zh_0").set_value(["in_progress"]).run()
    assert kpis(at)["shown"].value == "11"  # 7 works in progress + 4 layout areas (status leaves them alone)
    assert at.query_params["status"] == "in_progress"
    (args,) = component_args(at)
    assert "up-s-planned" not in args["feature_group"]


def test_a_shared_link_opens_with_its_filters(app) -> None:
    at = app("en", status="in_progress", layers="rail").run()
    assert kpis(at)["shown"].value == "4"
    assert at.multiselect(key="f_status_en_0").value == ["in_progress"]


def test_switching_language_keeps_the_filters(app) -> None:
    at = app().run()
    at.multiselect(key="f_status_zh_0").set_value(["in_progress"]).run()
    at.radio(key="lang_choice").set_value("en").run()
    assert at.multiselect(key="f_status_en_0").value == ["in_progress"]
    assert kpis(at)["shown"][:2] == ("Features shown", "11")
    assert at.query_params["lang"] == "en"


def test_a_broken_link_is_ignored_with_a_notice(app) -> None:
    at = app(status="bogus", progress="x-y").run()
    assert not at.exception
    assert kpis(at)["shown"].value == "23"
    assert any("status" in toast.value and "progress" in toast.value for toast in at.toast)


def test_the_table_lists_the_filtered_features(app) -> None:
    at = app(layers="roads").run()
    at.switch_page("app_pages/table.py").run()
    table = at.dataframe[0].value
    assert len(table) == 9 and set(table["图层"]) == {"新改扩建道路"}


STRIP = {
    "zh": {
        "shown": ("显示要素", "23"),
        "five_projects": ("五大项目总投资", "135.8 亿元"),
        "mean_progress": ("平均进度(已上报)", "暂无上报"),
        "planned": ("规划", "12"),
        "in_progress": ("在建", "7"),
        "completed": ("已完工", "0"),
    },
    "en": {
        "shown": ("Features shown", "23"),
        "five_projects": ("Five projects, total investment", "¥13.58 bn"),
        "mean_progress": ("Mean progress (reported)", "none reported"),
        "planned": ("Planned", "12"),
        "in_progress": ("In progress", "7"),
        "completed": ("Completed", "0"),
    },
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", ["app_pages/map.py", "app_pages/dashboard.py", "app_pages/table.py"])
def test_the_kpi_strip_is_one_element_with_every_figure_its_help_and_its_notes(app, page: str, lang: str) -> None:
    """Six figures and the notes line in one st.html (not 14 elements: each costs a message per run, issue 11);
    every "?" is a button described by its help text."""
    at = app(lang).run()
    at.switch_page(page).run()
    strip = kpi_strip(at)
    assert strip is not None and not at.metric
    assert {key: card[:2] for key, card in strip.cards.items()} == STRIP[lang]
    assert all(card.help for card in strip.cards.values())
    assert ("暂无上报" if lang == "zh" else "none reported") in strip.notes
    (body,) = [e.proto.body for e in at.get("html") if 'class="up-kpis"' in e.proto.body]
    for key in STRIP[lang]:
        assert f'aria-describedby="up-kpi-help-{key}"' in body and f'id="up-kpi-help-{key}" role="tooltip"' in body
    assert body.count("<button") == 6 and "<script" not in body
