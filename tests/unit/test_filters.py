"""Progress filters: each criterion narrows the right rows, and the sentence says what is shown."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import shapely

from urban_plan import filters, registry
from urban_plan.filters import Criteria
from urban_plan.registry import FieldDef


def frame() -> pd.DataFrame:
    rows = [
        ("projects", "a", "planned", None, None, "programme", "placeholder"),
        ("projects", "b", "in_progress", 40.0, "2026-09-30", "road", "approximate"),
        ("projects", "c", "completed", 100.0, "2024-06-30", "road", "surveyed"),
        ("rail", "d", "in_progress", 75.0, "2026-12-31", "railway", "approximate"),
        ("roads", "e", "planned", 0.0, "2023-12-31", "road_work", "placeholder"),
    ]
    data = pd.DataFrame(rows, columns=["layer", "id", "status", "progress", "end_date", "kind", "confidence"])
    data["geometry"] = [shapely.Point(117.1, 36.9)] * len(data)
    return data


CASES = [
    ("everything by default", Criteria(), "abcde"),
    ("status", Criteria(statuses=frozenset({"in_progress"})), "bd"),
    ("no status at all shows nothing", Criteria(statuses=frozenset()), ""),
    ("progress range keeps unreported", Criteria(progress_min=30, progress_max=80), "abd"),
    ("progress range, reported only", Criteria(progress_min=30, progress_max=80, include_unreported=False), "bd"),
    ("progress edges are inclusive", Criteria(progress_min=100, progress_max=100, include_unreported=False), "c"),
    ("completion window", Criteria(end_from=dt.date(2026, 1, 1), end_to=dt.date(2026, 12, 31)), "abd"),
    ("completion window, dated only", Criteria(end_to=dt.date(2024, 12, 31), include_undated=False), "ce"),
    ("layers", Criteria(layers=frozenset({"rail", "roads"})), "de"),
    ("kinds", Criteria(kinds=frozenset({"road"})), "bc"),
    ("hide placeholders", Criteria(show_placeholder=False), "bcd"),
    ("hide approximate and placeholders", Criteria(show_approximate=False, show_placeholder=False), "c"),
]


@pytest.mark.parametrize(("name", "criteria", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_filter_keeps_exactly_the_matching_features(name: str, criteria: Criteria, expected: str) -> None:
    assert "".join(filters.apply(frame(), criteria)["id"]) == expected


def test_filters_combine_with_and() -> None:
    criteria = Criteria(statuses=frozenset({"in_progress", "completed"}), layers=frozenset({"projects"}))
    assert "".join(filters.apply(frame(), criteria)["id"]) == "bc"


def test_the_description_names_every_active_filter_in_both_languages() -> None:
    criteria = Criteria(statuses=frozenset({"in_progress"}), progress_min=20, show_placeholder=False)
    zh, en = filters.describe(criteria, "zh"), filters.describe(criteria, "en")
    assert "在建" in zh and "20%" in zh and "待核实" in zh
    assert "In progress" in en and "20%" in en and "Unverified" in en
    assert filters.describe(Criteria(), "en") == "All features shown (no filter)."
    assert filters.active_count(criteria) == 3


STAGE = FieldDef(
    "学段", "学段", "Stage", "enum", options=(("小学", "小学", "Primary"), ("初中", "初中", "Junior high"))
)
LAYERS = registry.add_layer(
    registry.builtin(), "schools", name_zh="学校", name_en="Schools", role="overlay", fields=(STAGE,)
)


def with_schools() -> pd.DataFrame:
    """The frame above plus three schools (a layer that does not track progress: no status, no progress)."""
    schools = pd.DataFrame(
        {
            "layer": "schools",
            "id": ["s1", "s2", "s3"],
            "status": None,
            "progress": float("nan"),
            "end_date": None,
            "kind": None,
            "confidence": "surveyed",
            "学段": ["小学", "初中", None],
        }
    )
    return pd.concat([frame(), schools], ignore_index=True)


@pytest.mark.parametrize(
    "criteria",
    [
        Criteria(statuses=frozenset({"in_progress"})),
        Criteria(statuses=frozenset()),
        Criteria(progress_min=30, progress_max=80, include_unreported=False),
        Criteria(end_to=dt.date(2024, 12, 31), include_undated=False),
    ],
)
def test_status_progress_and_completion_filters_leave_a_layer_without_progress_alone(criteria: Criteria) -> None:
    kept = filters.apply(with_schools(), criteria, LAYERS)
    assert {"s1", "s2", "s3"} <= set(kept["id"])
    assert set(kept["id"]) - {"s1", "s2", "s3"} == set(filters.apply(frame(), criteria)["id"])


def test_a_layer_s_enum_field_is_a_filter_on_that_layer_only() -> None:
    criteria = Criteria().with_attribute("schools", "学段", frozenset({"初中"}))
    assert "".join(filters.apply(with_schools(), criteria, LAYERS)["id"]) == "abcdes2"
    nothing = Criteria().with_attribute("schools", "学段", frozenset())
    assert "".join(filters.apply(with_schools(), nothing, LAYERS)["id"]) == "abcde"
    # A field no feature has yet: the layer shows nothing for a chosen value, the others are untouched.
    absent = Criteria().with_attribute("schools", "办学性质", frozenset({"公办"}))
    assert "".join(filters.apply(with_schools(), absent, LAYERS)["id"]) == "abcde"
    assert "学段" in filters.describe(criteria, "zh", LAYERS) and "初中" in filters.describe(criteria, "zh", LAYERS)
    assert filters.describe(criteria, "en", LAYERS) == "Filtered: Schools: Stage is Junior high"
    assert filters.active_count(criteria) == 1


def test_every_layer_is_shown_by_default_also_one_added_later() -> None:
    assert Criteria().layers is None and Criteria().shows_layer("schools")
    assert "".join(filters.apply(with_schools(), Criteria(), LAYERS)["id"]) == "abcdes1s2s3"
    only = Criteria(layers=frozenset({"schools"}))
    assert "".join(filters.apply(with_schools(), only, LAYERS)["id"]) == "s1s2s3"
    assert filters.describe(only, "zh", LAYERS) == "当前筛选:图层:学校"
    assert filters.describe(Criteria(layers=frozenset(LAYERS.overlays())), "en", LAYERS).startswith("All features")


def test_kpis_count_statuses_and_average_only_reported_progress() -> None:
    shown = filters.apply(frame(), Criteria())
    k = filters.kpis(shown)
    assert (k.shown, k.reported, k.mean_progress) == (5, 4, pytest.approx((40 + 100 + 75 + 0) / 4))
    assert k.by_status == {"planned": 2, "in_progress": 2, "completed": 1}
    none_reported = filters.kpis(shown[shown["progress"].isna()])
    assert none_reported.mean_progress is None and none_reported.reported == 0


def test_kpis_count_statuses_and_progress_only_in_layers_that_track_progress() -> None:
    everything = with_schools()
    k = filters.kpis(everything, LAYERS)
    assert (k.shown, k.reported) == (8, 4)
    assert k.by_status == {"planned": 2, "in_progress": 2, "completed": 1}
