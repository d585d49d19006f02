"""Progress filters: a declarative table of criteria, applied to a layers frame, described in a sentence."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from urban_plan import schema
from urban_plan.i18n import label, t


@dataclass(frozen=True)
class Criteria:
    """What the planner asked to see. The defaults show everything."""

    statuses: frozenset[str] = frozenset(schema.STATUSES)
    progress_min: int = 0
    progress_max: int = 100
    include_unreported: bool = True  # features whose progress is null
    end_from: dt.date | None = None  # planned completion window
    end_to: dt.date | None = None
    include_undated: bool = True  # features without a planned completion date
    layers: frozenset[str] = frozenset(schema.OVERLAY_LAYERS)
    kinds: frozenset[str] | None = None  # None: every kind
    show_approximate: bool = True
    show_placeholder: bool = True

    def is_default(self) -> bool:
        return self == Criteria()


@dataclass(frozen=True)
class FilterSpec:
    """One filter: its fields in Criteria, and whether a given criteria value narrows anything."""

    name: str
    fields: tuple[str, ...]
    mask: Any  # (frame, criteria) -> boolean ndarray
    describe: Any  # (criteria, lang) -> str | None  (None when it does not narrow)


def apply(frame: pd.DataFrame, criteria: Criteria) -> pd.DataFrame:
    """The rows of an overlay frame that pass every filter (base layers are never filtered)."""
    return frame if frame.empty else frame[mask(frame, criteria)]


def mask(frame: pd.DataFrame, criteria: Criteria) -> np.ndarray:
    """True for the rows that pass every filter."""
    keep = np.ones(len(frame), dtype=bool)
    for spec in FILTERS:
        keep &= spec.mask(frame, criteria)
    return keep


def describe(criteria: Criteria, lang: str) -> str:
    """One sentence saying what is shown, for captions, exports and the presentation stamp."""
    parts = [text for spec in FILTERS if (text := spec.describe(criteria, lang))]
    if not parts:
        return t("filters.all_shown", lang)
    return t("filters.shown_prefix", lang) + t("filters.separator", lang).join(parts)


def active_count(criteria: Criteria) -> int:
    return sum(1 for spec in FILTERS if spec.describe(criteria, "zh"))


# --- masks and descriptions --------------------------------------------------------------------------------


def _status_mask(frame: pd.DataFrame, c: Criteria) -> np.ndarray:
    return frame["status"].isin(c.statuses).to_numpy()


def _status_text(c: Criteria, lang: str) -> str | None:
    if c.statuses >= set(schema.STATUSES):
        return None
    names = [label("status", s, lang) for s in schema.STATUSES if s in c.statuses]
    return t("filters.desc_status", lang, statuses=t("filters.list_separator", lang).join(names) or "—")


def _progress_mask(frame: pd.DataFrame, c: Criteria) -> np.ndarray:
    progress = pd.to_numeric(frame["progress"], errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(progress)
    inside = (progress >= c.progress_min) & (progress <= c.progress_max)
    return np.where(missing, c.include_unreported, inside)


def _progress_text(c: Criteria, lang: str) -> str | None:
    if (c.progress_min, c.progress_max) == (0, 100) and c.include_unreported:
        return None
    key = "filters.desc_progress" if c.include_unreported else "filters.desc_progress_reported_only"
    return t(key, lang, low=c.progress_min, high=c.progress_max)


def _end_mask(frame: pd.DataFrame, c: Criteria) -> np.ndarray:
    end = pd.to_datetime(frame["end_date"], errors="coerce", format="%Y-%m-%d")
    missing = end.isna().to_numpy()
    inside = np.ones(len(frame), dtype=bool)
    if c.end_from:
        inside &= (end >= pd.Timestamp(c.end_from)).to_numpy()
    if c.end_to:
        inside &= (end <= pd.Timestamp(c.end_to)).to_numpy()
    return np.where(missing, c.include_undated, inside)


def _end_text(c: Criteria, lang: str) -> str | None:
    if c.end_from is None and c.end_to is None and c.include_undated:
        return None
    start = c.end_from.isoformat() if c.end_from else "…"
    end = c.end_to.isoformat() if c.end_to else "…"
    key = "filters.desc_end" if c.include_undated else "filters.desc_end_dated_only"
    return t(key, lang, start=start, end=end)


def _layer_mask(frame: pd.DataFrame, c: Criteria) -> np.ndarray:
    return frame["layer"].isin(c.layers).to_numpy()


def _layer_text(c: Criteria, lang: str) -> str | None:
    if c.layers >= set(schema.OVERLAY_LAYERS):
        return None
    names = [label("layer", name, lang) for name in schema.OVERLAY_LAYERS if name in c.layers]
    return t("filters.desc_layers", lang, layers=t("filters.list_separator", lang).join(names) or "—")


def _kind_mask(frame: pd.DataFrame, c: Criteria) -> np.ndarray:
    if c.kinds is None:
        return np.ones(len(frame), dtype=bool)
    return frame["kind"].isin(c.kinds).to_numpy()


def _kind_text(c: Criteria, lang: str) -> str | None:
    if c.kinds is None:
        return None
    names = sorted(label("kind", k, lang) for k in c.kinds)
    return t("filters.desc_kinds", lang, kinds=t("filters.list_separator", lang).join(names) or "—")


def _confidence_mask(frame: pd.DataFrame, c: Criteria) -> np.ndarray:
    confidence = frame["confidence"].to_numpy()
    keep = np.ones(len(frame), dtype=bool)
    if not c.show_approximate:
        keep &= confidence != "approximate"
    if not c.show_placeholder:
        keep &= confidence != "placeholder"
    return keep


def _confidence_text(c: Criteria, lang: str) -> str | None:
    hidden = [
        label("confidence", name, lang)
        for name, shown in (("approximate", c.show_approximate), ("placeholder", c.show_placeholder))
        if not shown
    ]
    if not hidden:
        return None
    return t("filters.desc_hidden", lang, what=t("filters.list_separator", lang).join(hidden))


FILTERS: tuple[FilterSpec, ...] = (
    FilterSpec("layers", ("layers",), _layer_mask, _layer_text),
    FilterSpec("status", ("statuses",), _status_mask, _status_text),
    FilterSpec("progress", ("progress_min", "progress_max", "include_unreported"), _progress_mask, _progress_text),
    FilterSpec("end", ("end_from", "end_to", "include_undated"), _end_mask, _end_text),
    FilterSpec("kind", ("kinds",), _kind_mask, _kind_text),
    FilterSpec("confidence", ("show_approximate", "show_placeholder"), _confidence_mask, _confidence_text),
)


@dataclass
class Kpis:
    shown: int
    by_status: dict[str, int] = field(default_factory=dict)
    mean_progress: float | None = None  # over features that report progress
    reported: int = 0  # how many shown features report progress
    projects_shown: int = 0
    projects_total: int = 0


def kpis(shown: pd.DataFrame, all_overlays: pd.DataFrame) -> Kpis:
    """The KPI cards' numbers for the features shown."""
    progress = pd.to_numeric(shown["progress"], errors="coerce") if len(shown) else pd.Series(dtype=float)
    reported = progress.dropna()
    return Kpis(
        shown=len(shown),
        by_status={s: int((shown["status"] == s).sum()) if len(shown) else 0 for s in schema.STATUSES},
        mean_progress=float(reported.mean()) if len(reported) else None,
        reported=len(reported),
        projects_shown=int((shown["layer"] == "projects").sum()) if len(shown) else 0,
        projects_total=int((all_overlays["layer"] == "projects").sum()) if len(all_overlays) else 0,
    )
