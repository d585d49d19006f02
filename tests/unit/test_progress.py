"""Schedule maths: expected progress and the plan-versus-actual rating at the edges; as-of state; changes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from urban_plan import frame, progress, schema
from urban_plan.progress import Thresholds
from urban_plan.store import Actor, FileLayerStore

D = dt.date


@pytest.mark.parametrize(
    ("start", "end", "on", "expected"),
    [
        (D(2024, 1, 1), D(2025, 1, 1), D(2023, 6, 1), 0.0),  # before the start
        (D(2024, 1, 1), D(2025, 1, 1), D(2024, 1, 1), 0.0),  # on the start
        (D(2024, 1, 1), D(2025, 1, 1), D(2024, 7, 2), pytest.approx(50.0, abs=0.3)),  # half way
        (D(2024, 1, 1), D(2025, 1, 1), D(2025, 1, 1), 100.0),  # on the planned completion
        (D(2024, 1, 1), D(2025, 1, 1), D(2026, 1, 1), 100.0),  # after it
        (None, D(2025, 1, 1), D(2024, 6, 1), None),  # missing start
        (D(2024, 1, 1), None, D(2024, 6, 1), None),  # missing end
        (D(2024, 1, 1), D(2024, 1, 1), D(2024, 1, 1), 0.0),  # zero-length schedule, not a division by zero
    ],
)
def test_expected_progress_is_the_share_of_the_schedule_that_has_passed(start, end, on, expected) -> None:
    assert progress.expected_progress(start, end, on) == expected


def row(status="in_progress", progress_=None, start="2024-01-01", end="2025-01-01") -> dict:
    return {"status": status, "progress": progress_, "start_date": start, "end_date": end}


ON = D(2024, 7, 2)  # half way through 2024: 50% expected


@pytest.mark.parametrize(
    ("case", "data", "on", "code", "reason"),
    [
        ("on track", row(progress_=45), ON, "green", "on_track"),
        ("exactly 10 behind is yellow", row(progress_=40), ON, "yellow", "behind"),
        ("exactly 30 behind is still yellow", row(progress_=20), ON, "yellow", "behind"),
        ("more than 30 behind is red", row(progress_=19), ON, "red", "far_behind"),
        ("ahead is green", row(progress_=90), ON, "green", "on_track"),
        ("before the start", row(progress_=0), D(2023, 6, 1), "green", "not_started"),
        ("after the end, not completed: overdue", row(progress_=95), D(2025, 2, 1), "red", "overdue"),
        ("overdue even with no progress reported", row(progress_=None), D(2025, 2, 1), "red", "overdue"),
        ("completed is green whatever the dates", row("completed", 100), D(2026, 1, 1), "green", "completed"),
        ("null progress is missing data", row(progress_=None), ON, "missing", "no_progress"),
        ("missing dates is missing data", row(progress_=30, start=None), ON, "missing", "no_dates"),
        ("no dates and no progress", row(progress_=None, start=None, end=None), ON, "missing", "no_progress"),
    ],
)
def test_the_rating_at_its_edges(case: str, data: dict, on: dt.date, code: str, reason: str) -> None:
    rating = progress.rate(data, on)
    assert (rating.code, rating.reason) == (code, reason), case


def test_thresholds_are_the_planners_to_change_and_kept_in_order() -> None:
    assert progress.rate(row(progress_=45), ON, Thresholds(yellow=2, red=4)).code == "red"
    assert progress.rate(row(progress_=45), ON, Thresholds(yellow=2, red=30)).code == "yellow"
    assert Thresholds(yellow=40, red=10).valid() == Thresholds(40, 40)


def test_the_reason_says_why_in_both_languages() -> None:
    rating = progress.rate(row(progress_=19), ON)
    zh = rating.text(row(progress_=19), ON, "zh")
    en = rating.text(row(progress_=19), ON, "en")
    assert "50%" in zh and "19%" in zh and "落后 31 个百分点" in zh
    assert "31 points behind" in en


def test_rate_frame_adds_columns_for_every_row() -> None:
    data = pd.DataFrame([{"layer": "roads", "id": "a", **row(progress_=19)}, {"layer": "roads", "id": "b", **row()}])
    rated = progress.rate_frame(data, ON, "en")
    assert list(rated["rating"]) == ["red", "missing"] and rated["rating_reason"].str.len().min() > 10


def feature(fid: str, **props) -> dict:
    return {
        "type": "Feature",
        "properties": {"id": fid, "name_zh": fid, "status": "planned", **props},
        "geometry": {"type": "Point", "coordinates": [117.17, 36.98]},
    }


def test_compare_names_what_appeared_disappeared_advanced_slipped_and_changed_status() -> None:
    before = frame.layers_frame(
        {
            "projects": {
                "features": [
                    feature("same"),
                    feature("gone"),
                    feature("up", status="in_progress", progress=20),
                    feature("down", status="in_progress", progress=50),
                    feature("late", end_date="2025-01-01"),
                    feature("started"),
                ]
            }
        }
    )
    after = frame.layers_frame(
        {
            "projects": {
                "features": [
                    feature("same"),
                    feature("new"),
                    feature("up", status="in_progress", progress=40),
                    feature("down", status="in_progress", progress=30),
                    feature("late", end_date="2025-06-30"),
                    feature("started", status="in_progress"),
                ]
            }
        }
    )
    changes = progress.compare(before, after, "en").set_index("id")["change"].to_dict()
    assert changes == {
        "new": "appeared",
        "gone": "disappeared",
        "up": "advanced",
        "down": "slipped",
        "late": "slipped",
        "started": "status",
    }


def test_the_state_on_a_date_uses_the_versions_in_effect_then(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    state = progress.state_on(store, D(2024, 1, 1))
    assert state["rail"].number == 1 and state["projects"].number == 2
    assert progress.state_on(store, D(2022, 1, 1))["projects"] is None
    rail_2024 = frame.collection_frame(store.load("rail", state["rail"].number), "rail")
    assert list(rail_2024["id"]) == ["rail-connector"]


def test_milestones_come_from_the_history(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    events = {(m.id, m.date.isoformat(), m.label) for m in progress.milestones(store, ("projects",), "en")}
    assert ("prj-huanghe-north", "2023-12-31", "In progress") in events
    assert ("prj-huanghe-north", "2025-11-30", "planned completion now 2026-09-30") in events
    until = progress.milestones(store, ("projects",), "en", until=D(2024, 1, 1))
    assert max(m.date for m in until) == D(2023, 12, 31)


def test_a_rollback_is_a_milestone_only_when_something_changed(data_dir: Path) -> None:
    store = FileLayerStore(data_dir)
    store.rollback("projects", 3, actor=Actor("li", "editor"), base_version=3)
    assert len(progress.milestones(store, ("projects",), "en")) == 9
    assert schema.STATUSES  # the statuses the labels come from


def test_the_vectorised_rating_equals_the_one_row_rules_on_random_rows() -> None:
    import random

    rng = random.Random(7)
    dates = [None, "2023-01-01", "2024-01-01", "2024-07-02", "2025-01-01", "2026-12-31"]
    rows = [
        {
            "layer": "roads",
            "id": f"r{i}",
            "status": rng.choice(["planned", "in_progress", "completed"]),
            "progress": rng.choice([None, 0, 10, 40, 50, 75, 100]),
            "start_date": rng.choice(dates),
            "end_date": rng.choice(dates),
        }
        for i in range(400)
    ]
    limits = Thresholds(yellow=rng.choice([5, 10]), red=rng.choice([20, 30]))
    rated = progress.rate_frame(pd.DataFrame(rows), ON, "zh", limits)
    for row, got in zip(rows, rated.to_dict("records"), strict=True):
        one = progress.rate(row, ON, limits)
        assert got["rating"] == one.code, row
        for name, value in (("expected", one.expected), ("behind", one.behind)):
            assert (value is None and got[name] != got[name]) or got[name] == pytest.approx(value), (row, name)
        assert got["rating_reason"] == one.text(row, ON, "zh")
