"""Progress filters: each criterion narrows the right rows, and the sentence says what is shown."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import shapely

from urban_plan import filters
from urban_plan.filters import Criteria


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


def test_kpis_count_statuses_and_average_only_reported_progress() -> None:
    shown = filters.apply(frame(), Criteria())
    k = filters.kpis(shown, frame())
    assert (k.shown, k.reported, k.mean_progress) == (5, 4, pytest.approx((40 + 100 + 75 + 0) / 4))
    assert k.by_status == {"planned": 2, "in_progress": 2, "completed": 1}
    none_reported = filters.kpis(shown[shown["progress"].isna()], frame())
    assert none_reported.mean_progress is None and none_reported.reported == 0
