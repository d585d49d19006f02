"""URL parameters: a copied link reopens the same view; hostile or broken values are ignored, never trusted."""

from __future__ import annotations

import datetime as dt

import pytest

from urban_plan import registry, viewstate
from urban_plan.filters import Criteria
from urban_plan.registry import FieldDef
from urban_plan.viewstate import ViewState

STAGE = FieldDef(
    "学段", "学段", "Stage", "enum", options=(("小学", "小学", "Primary"), ("初中", "初中", "Junior high"))
)
# The shipped layers, a 学校 layer with an enum field (not tracking progress), and one archived.
LAYERS = registry.set_archived(
    registry.add_layer(
        registry.add_layer(
            registry.builtin(), "schools", name_zh="学校", name_en="Schools", role="overlay", fields=(STAGE,)
        ),
        "parks",
        name_zh="公园",
        name_en="Parks",
        role="overlay",
        fields=(FieldDef("类别", "类别", "Type", "enum", options=(("市级", "市级", "City"),)),),
    ),
    "parks",
    True,
)


def test_a_view_survives_the_round_trip_through_the_url() -> None:
    state = ViewState(
        lang="en",
        basemap="osm",
        criteria=Criteria(
            statuses=frozenset({"in_progress"}),
            progress_min=10,
            progress_max=90,
            include_unreported=False,
            end_from=dt.date(2024, 1, 1),
            end_to=None,
            include_undated=False,
            layers=frozenset({"projects", "rail"}),
            kinds=frozenset({"road", "车站"}),
            show_approximate=False,
            show_placeholder=False,
        ),
    )
    query = viewstate.to_query(state)
    assert viewstate.from_query(query) == (state, [])


def test_the_default_view_makes_a_plain_link() -> None:
    assert viewstate.to_query(ViewState()) == {}


@pytest.mark.parametrize(
    ("params", "ignored"),
    [
        ({"lang": "fr"}, ["lang"]),
        ({"status": "planned,<script>"}, ["status"]),
        ({"progress": "abc"}, ["progress"]),
        ({"end": "2026-13-45.."}, ["end"]),
        ({"layers": "context"}, ["layers"]),  # the base layer is not filterable
        ({"kinds": "a" * 41}, ["kinds"]),
        ({"approx": "yes"}, ["approx"]),
        ({"basemap": "http://evil.example/{z}/{x}/{y}.png"}, ["basemap"]),
        ({"status": "x" * 700}, ["status"]),
    ],
)
def test_invalid_parameters_are_ignored_and_named(params: dict, ignored: list[str]) -> None:
    state, names = viewstate.from_query(params, LAYERS)
    assert state == ViewState() and names == ignored


def test_values_are_clamped_and_put_in_order() -> None:
    state, ignored = viewstate.from_query({"progress": "150-20", "end": "2026-12-31..2024-01-01"})
    assert ignored == []
    assert (state.criteria.progress_min, state.criteria.progress_max) == (20, 100)
    assert (state.criteria.end_from, state.criteria.end_to) == (dt.date(2024, 1, 1), dt.date(2026, 12, 31))


def test_parameters_of_other_pages_are_left_alone() -> None:
    assert viewstate.from_query({"layer": "projects", "lang": "en"}) == (ViewState(lang="en"), [])


def test_repeated_parameters_use_the_last_value() -> None:
    state, _ = viewstate.from_query({"lang": ["zh", "en"]})
    assert state.lang == "en"


def test_enum_field_filters_with_chinese_names_and_values_survive_the_round_trip() -> None:
    criteria = Criteria(layers=frozenset({"schools", "projects"}))
    criteria = criteria.with_attribute("schools", "学段", frozenset({"初中"}))
    state = ViewState(criteria=criteria)
    query = viewstate.to_query(state)
    assert query["layers"] == "projects,schools" and "学段" in query["attrs"]
    assert viewstate.from_query(query, LAYERS) == (state, [])
    assert viewstate.from_query(query) == (state, [])  # without the registry: only the form is checked


@pytest.mark.parametrize(
    ("params", "kept"),
    [
        ({"layers": "schools,gone_layer"}, Criteria(layers=frozenset({"schools"}))),
        ({"layers": "projects,parks"}, Criteria(layers=frozenset({"projects"}))),  # parks is archived
        ({"attrs": '{"schools":{"学段":["小学","大学"]}}'}, Criteria().with_attribute("schools", "学段", {"小学"})),
        ({"attrs": '{"schools":{"学段":["大学"]}}'}, Criteria()),
        ({"attrs": '{"schools":{"校长":["张三"]}}'}, Criteria()),  # no such field
        ({"attrs": '{"parks":{"类别":["市级"]}}'}, Criteria()),  # an archived layer
        ({"attrs": '{"nowhere":{"学段":["小学"]}}'}, Criteria()),
        ({"attrs": '{"schools":{"学段":"小学"}}'}, Criteria()),  # not a list
        ({"attrs": "not json"}, Criteria()),
        ({"attrs": '{"<script>":{}}'}, Criteria()),
    ],
)
def test_unknown_layers_fields_and_values_in_a_link_are_left_out_with_the_notice(params: dict, kept: Criteria) -> None:
    state, ignored = viewstate.from_query(params, LAYERS)
    assert state.criteria == kept and ignored == list(params)  # the parameter is named, never the data in it


def test_a_long_attribute_filter_is_refused_before_it_is_parsed() -> None:
    big = '{"schools":{"学段":[' + ",".join(['"小学"'] * 2000) + "]}}"
    assert viewstate.from_query({"attrs": big}, LAYERS) == (ViewState(), ["attrs"])
