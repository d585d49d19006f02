"""Editing versioned documents: what an edit changes, carrying it onto a newer version, checking a save."""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from urban_plan import documents, editing
from urban_plan.editing import ABSENT, Change
from urban_plan.store import VersionInfo

TARGETS = documents.seed_targets()[1][1]  # the 2023 year-end table: 2,156 flats reported
RAIL = {"id": "rail", "title_zh": "高铁进展", "title_en": "Rail", "query": {"layers": "rail"}}
ROADS = {"id": "roads", "title_zh": "道路工程", "title_en": "Roads", "query": {"layers": "roads"}}


def edited(doc: dict, rid: str, **cells: object) -> dict:
    out = copy.deepcopy(doc)
    next(r for r in out["rows"] if r["id"] == rid).update(cells)
    return out


def cell(doc: dict, rid: str, name: str) -> object:
    return next(r for r in doc["rows"] if r["id"] == rid)[name]


def info(number: int, base: int, author: str = "wang", saved_at: str = "2025-03-01T02:30:00Z") -> VersionInfo:
    return VersionInfo(number, author, saved_at, "2024年中报告", "2025-03-01", "", base)


def test_changes_lists_each_changed_cell_of_a_targets_table() -> None:
    mine = edited(TARGETS, "key_projects", reported=50, reported_as_of="2024-12-31")
    assert editing.changes("targets", TARGETS, mine) == [
        Change(("row", "key_projects", "reported"), None, 50),
        Change(("row", "key_projects", "reported_as_of"), None, "2024-12-31"),
    ]
    assert editing.changes("targets", TARGETS, copy.deepcopy(TARGETS)) == []


def test_edits_of_different_cells_are_merged_onto_the_newer_version() -> None:
    mine = edited(TARGETS, "key_projects", reported=50, reported_as_of="2024-12-31")
    theirs = edited(TARGETS, "resettlement_flats", reported=2300, reported_as_of="2024-06-30")
    merged = editing.merge("targets", TARGETS, mine, theirs)
    assert merged.conflicts == [] and not merged.already_there
    assert cell(merged.doc, "key_projects", "reported") == 50
    assert cell(merged.doc, "resettlement_flats", "reported") == 2300
    assert [r["id"] for r in merged.doc["rows"]] == [r["id"] for r in TARGETS["rows"]]
    assert documents.validate_targets(merged.doc) == []


def test_the_same_cell_changed_by_both_is_a_conflict_and_my_value_is_kept() -> None:
    mine = edited(TARGETS, "resettlement_flats", reported=2400)
    theirs = edited(TARGETS, "resettlement_flats", reported=2300)
    merged = editing.merge("targets", TARGETS, mine, theirs)
    assert merged.conflicts == [editing.Conflict(("row", "resettlement_flats", "reported"), 2156, 2400, 2300)]
    assert cell(merged.doc, "resettlement_flats", "reported") == 2400
    text = editing.describe_conflict("targets", merged.conflicts[0], (mine, theirs), "zh")
    assert text == "你:竣工安置房·已上报值:2156 → 2400;对方:竣工安置房·已上报值:2156 → 2300"


def test_the_same_change_made_by_both_is_no_conflict_and_needs_no_new_version() -> None:
    mine = edited(TARGETS, "resettlement_flats", reported=2300)
    merged = editing.merge("targets", TARGETS, mine, copy.deepcopy(mine))
    assert merged.conflicts == [] and merged.already_there


def test_a_row_someone_removed_that_i_edited_comes_back_whole() -> None:
    mine = edited(TARGETS, "key_projects", reported=50, reported_as_of="2024-12-31")
    theirs = {"rows": [r for r in copy.deepcopy(TARGETS["rows"]) if r["id"] != "key_projects"]}
    merged = editing.merge("targets", TARGETS, mine, theirs)
    assert [c.theirs for c in merged.conflicts] == [ABSENT, ABSENT]
    assert next(r for r in merged.doc["rows"] if r["id"] == "key_projects") == mine["rows"][3]
    assert documents.validate_targets(merged.doc) == []


def test_views_added_on_both_sides_are_all_kept_theirs_first_and_meetings_are_united() -> None:
    base = {"views": [RAIL], "meetings": ["2025-06-01"]}
    mine = {"views": [RAIL, {**ROADS, "id": "mine"}], "meetings": ["2025-06-01", "2025-12-01"]}
    theirs = {"views": [RAIL, ROADS], "meetings": ["2025-06-01", "2025-09-01"]}
    merged = editing.merge("views", base, mine, theirs)
    assert [v["id"] for v in merged.doc["views"]] == ["rail", "roads", "mine"]
    assert merged.doc["meetings"] == ["2025-06-01", "2025-09-01", "2025-12-01"]
    assert merged.conflicts == [] and documents.validate_views(merged.doc) == []


def test_deleting_a_view_someone_already_deleted_is_already_there_and_touches_nothing_else() -> None:
    base = {"views": [RAIL, ROADS], "meetings": []}
    mine = {"views": [ROADS], "meetings": []}
    theirs = {"views": [ROADS], "meetings": []}
    merged = editing.merge("views", base, mine, theirs)
    assert merged.already_there and merged.doc == theirs


def test_deleting_a_view_someone_else_changed_is_a_conflict() -> None:
    base = {"views": [RAIL], "meetings": []}
    theirs = {"views": [{**RAIL, "title_zh": "高铁(更新)"}], "meetings": []}
    merged = editing.merge("views", base, {"views": [], "meetings": []}, theirs)
    assert len(merged.conflicts) == 1 and merged.conflicts[0].mine is ABSENT
    assert merged.doc["views"] == []


def test_missing_names_the_edits_a_stored_version_lacks() -> None:
    mine = edited(TARGETS, "key_projects", reported=50, reported_as_of="2024-12-31")
    assert editing.missing("targets", mine, TARGETS, mine) == []
    assert editing.missing("targets", edited(mine, "key_projects", reported=5.0e1), TARGETS, mine) == []
    lost = editing.missing("targets", edited(mine, "key_projects", reported=None), TARGETS, mine)
    assert lost == [Change(("row", "key_projects", "reported"), None, 50)]
    assert editing.missing("views", {"views": [], "meetings": []}, {}, {"views": [RAIL], "meetings": []}) == [
        Change(("view", "rail"), ABSENT, RAIL)
    ]


def test_since_lists_the_versions_saved_after_the_base_oldest_first() -> None:
    history = [info(3, 2), info(1, 0), info(4, 3), info(2, 1)]
    assert [v.number for v in editing.since(history, 2)] == [3, 4]
    assert editing.since(history, 4) == []


def test_a_version_is_described_with_its_author_beijing_time_number_and_changes() -> None:
    theirs = edited(TARGETS, "resettlement_flats", reported=2300, reported_as_of="2024-06-30")
    zh = editing.describe_version("targets", info(3, 2), TARGETS, theirs, "zh")
    assert zh == (
        "第 3 版 · wang · 2025-03-01 10:30(北京时间)· “2024年中报告”:"
        "竣工安置房·已上报值:2156 → 2300; 竣工安置房·上报截至:2023-12-31 → 2024-06-30"
    )
    en = editing.describe_version(
        "views", info(2, 1), {"views": [RAIL], "meetings": []}, {"views": [ROADS], "meetings": ["2025-09-01"]}, "en"
    )
    assert "Version 2 · wang · 2025-03-01 10:30 (Beijing time)" in en
    assert "view “Roads” added" in en and "view “Rail” deleted" in en and "meeting date 2025-09-01 added" in en


@pytest.mark.parametrize(
    ("cell_value", "stored"),
    [
        (pd.Timestamp("2024-12-31"), "2024-12-31"),  # what the date column returns after an edit
        (dt.date(2024, 12, 31), "2024-12-31"),
        (pd.NaT, None),
        (float("nan"), None),
        (np.int64(50), 50),
        (np.float64(2.5), 2.5),
        (np.float64(4600.0), 4600),  # the target column is float (135.8 is in it): 4600 stays 4600
        (135.8, 135.8),
        ("text", "text"),
        (None, None),
    ],
)
def test_rows_from_the_table_editor_are_made_storable(cell_value: object, stored: object) -> None:
    [row] = editing.target_rows([{"id": "x", "value": cell_value}])
    assert row == {"id": "x", "value": stored} and type(row["value"]) is type(stored)


def test_a_collection_without_editing_rules_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="no editing rules for 'roads'"):
        editing.cells("roads", {"type": "FeatureCollection"})
