"""URL parameters: a copied link reopens the same view; hostile or broken values are ignored, never trusted."""

from __future__ import annotations

import datetime as dt

import pytest

from urban_plan import viewstate
from urban_plan.filters import Criteria
from urban_plan.viewstate import ViewState


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
    state, names = viewstate.from_query(params)
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
