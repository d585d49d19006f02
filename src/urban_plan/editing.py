"""Editing a versioned document safely: what an edit changes, carrying it onto a newer version, checking a save."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from urban_plan.display import local_time
from urban_plan.i18n import pick, t
from urban_plan.store import VersionInfo

Key = tuple[str, ...]


class _Absent:
    """A cell that does not exist (a row or view not in the document), distinct from a stored null."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Change:
    """One cell of a document that differs between two versions."""

    key: Key  # ("row", id, field) for targets; ("view", id) or ("meeting", date) for views
    before: Any  # ABSENT when the cell did not exist
    after: Any


@dataclass(frozen=True)
class Conflict:
    """A cell both I and someone else changed since my base, to different values."""

    key: Key
    base: Any
    mine: Any
    theirs: Any


@dataclass(frozen=True)
class Merge:
    doc: Any  # the latest document with my changes applied (mine win on conflicts: the user saw them)
    conflicts: list[Conflict]
    already_there: bool  # every change of mine is in the latest version already: nothing to publish


def changes(collection: str, before: Any, after: Any) -> list[Change]:
    """Every cell that differs, in the order of the documents (rows/views of `after`, then removed ones)."""
    old, new = cells(collection, before), cells(collection, after)
    keys = list(new) + [k for k in old if k not in new]
    return [Change(k, old.get(k, ABSENT), new.get(k, ABSENT)) for k in keys if old.get(k, ABSENT) != new.get(k, ABSENT)]


def merge(collection: str, base: Any, mine: Any, theirs: Any) -> Merge:
    """Three-way merge by cell: `theirs` (the latest) with every cell I changed from `base` set to my value."""
    my_changes = changes(collection, base, mine)
    merged = cells(collection, theirs)
    conflicts = []
    for change in my_changes:
        current = merged.get(change.key, ABSENT)
        if current not in (change.before, change.after):
            conflicts.append(Conflict(change.key, change.before, change.after, current))
        if change.after is ABSENT:
            merged.pop(change.key, None)
        else:
            merged[change.key] = change.after
    if collection == "targets":  # a row someone removed but I edited comes back whole, not as a stray cell
        mine_cells = cells(collection, mine)
        for rid in {c.key[1] for c in my_changes if c.after is not ABSENT}:
            if ("row", rid, "id") not in merged:
                merged.update({k: v for k, v in mine_cells.items() if k[1] == rid})
    doc = _rebuild(collection, merged, (theirs, mine))
    already = not changes(collection, theirs, doc)
    return Merge(doc, conflicts, already)


def missing(collection: str, stored: Any, base: Any, mine: Any) -> list[Change]:
    """My changes (base -> mine) that the stored document does not hold: empty means the save kept every edit."""
    held = cells(collection, stored)
    return [c for c in changes(collection, base, mine) if held.get(c.key, ABSENT) != c.after]


def since(history: Iterable[VersionInfo], base: int) -> list[VersionInfo]:
    """The versions saved after the one an edit started from, oldest first."""
    return sorted((v for v in history if v.number > base), key=lambda v: v.number)


def target_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows as the table editor returns them, made storable: missing values become null, dates ISO text
    (the date column hands back timestamps after an edit), numpy numbers Python ones, whole numbers whole."""
    return [{name: _plain(value) for name, value in record.items()} for record in records]


def describe_version(collection: str, info: VersionInfo, before: Any, after: Any, lang: str) -> str:
    """One saved version as a sentence: number, author, Beijing time, message, and what it changed."""
    found = changes(collection, before, after)
    what = "; ".join(describe(collection, change, (after, before), lang) for change in found)
    return t(
        "docedit.version_line",
        lang,
        number=info.number,
        author=info.author,
        time=local_time(info.saved_at),
        message=info.message or t("docedit.no_message", lang),
        changes=what or t("docedit.no_changes", lang),
    )


def describe(collection: str, change: Change, docs: Iterable[Any], lang: str) -> str:
    """A change as people read it: the row or view by its title, the field by name, values in words."""
    docs = tuple(docs)
    if collection == "targets":
        _, rid, name = change.key
        title = _row_title(rid, docs, lang)
        if name == "id" and (change.before is ABSENT or change.after is ABSENT):
            return t("docedit.row_added" if change.before is ABSENT else "docedit.row_removed", lang, row=title)
        return t(
            "docedit.cell_changed",
            lang,
            row=title,
            field=field_name(name, lang),
            before=_value_text(change.before, lang),
            after=_value_text(change.after, lang),
        )
    kind, ident = change.key
    if kind == "meeting":
        return t("docedit.meeting_added" if change.before is ABSENT else "docedit.meeting_removed", lang, date=ident)
    entry = change.after if change.after is not ABSENT else change.before
    title = pick(entry.get("title_zh"), entry.get("title_en"), lang) or ident
    if change.before is ABSENT:
        return t("docedit.view_added", lang, title=title)
    if change.after is ABSENT:
        return t("docedit.view_removed", lang, title=title)
    return t("docedit.view_changed", lang, title=title)


def describe_conflict(collection: str, conflict: Conflict, docs: Iterable[Any], lang: str) -> str:
    """What both sides did to the same cell: mine, then theirs."""
    docs = tuple(docs)
    what = describe(collection, Change(conflict.key, conflict.base, conflict.mine), docs, lang)
    theirs = describe(collection, Change(conflict.key, conflict.base, conflict.theirs), docs, lang)
    return t("docedit.conflict_line", lang, mine=what, theirs=theirs)


def field_name(name: str, lang: str) -> str:
    """A targets column as people call it (the stored name when it has no label)."""
    key = f"docedit.field.{name}"
    text = t(key, lang)
    return name if text == key else text


def cells(collection: str, doc: Any) -> dict[Key, Any]:
    """A document as a flat map of comparable cells (the unit a merge keeps or replaces)."""
    if not doc:
        return {}
    if collection == "targets":
        return {("row", str(r.get("id")), name): value for r in doc.get("rows", []) for name, value in r.items()}
    if collection == "views":
        out: dict[Key, Any] = {("view", str(v.get("id"))): v for v in doc.get("views", [])}
        out.update({("meeting", str(m)): True for m in doc.get("meetings", [])})
        return out
    raise ValueError(f"no editing rules for {collection!r}: expected targets or views")


def _rebuild(collection: str, merged: dict[Key, Any], order_from: tuple[Any, ...]) -> Any:
    """The document from its cells; rows and views keep the latest version's order, mine new ones after."""
    ids: list[str] = []
    for doc in order_from:
        for key in cells(collection, doc):
            if key[0] in ("row", "view") and key[1] not in ids:
                ids.append(key[1])
    if collection == "targets":
        rows = []
        for rid in ids:
            row = {key[2]: value for key, value in merged.items() if key[0] == "row" and key[1] == rid}
            if "id" in row:  # a row someone removed stays removed unless I restored it (then its id is mine)
                rows.append(row)
        return {"rows": rows}
    views = [merged[("view", vid)] for vid in ids if ("view", vid) in merged]
    meetings = sorted(key[1] for key in merged if key[0] == "meeting")
    return {"views": views, "meetings": meetings}


def _row_title(rid: str, docs: tuple[Any, ...], lang: str) -> str:
    for doc in docs:
        for row in (doc or {}).get("rows", []):
            if row.get("id") == rid:
                return pick(row.get("label_zh"), row.get("label_en"), lang) or rid
    return rid


def _value_text(value: Any, lang: str) -> str:
    if value is ABSENT or value is None:
        return t("docedit.empty", lang)
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):  # NaN, NaT, pd.NA
        return None
    if isinstance(value, dt.datetime):  # pandas Timestamp too: the date column holds dates, not times
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):  # numpy scalars are not JSON: store the Python number
        value = value.item()
    if isinstance(value, float) and value.is_integer():  # a float column turns 4600 into 4600.0: keep counts whole
        return int(value)
    return value
