"""Progress filters: a declarative table of criteria, applied to a layers frame, described in a sentence.

Which layers exist, which track progress and what their enum fields are come from the layer registry: status,
progress and completion filters narrow only layers that track progress; a layer's own enum fields filter that layer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from urban_plan import schema
from urban_plan.i18n import label, t
from urban_plan.registry import Registry

# (layer id, field name, the values kept): one enum-field filter. Sorted tuples, so equal criteria are equal.
AttributeFilter = tuple[str, str, frozenset[str]]


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
    layers: frozenset[str] | None = None  # None: every overlay layer (a layer added later too)
    kinds: frozenset[str] | None = None  # None: every kind
    show_approximate: bool = True
    show_placeholder: bool = True
    attributes: tuple[AttributeFilter, ...] = ()  # a layer's enum fields: only these values of that layer shown

    def is_default(self) -> bool:
        return self == Criteria()

    @functools.cached_property
    def cache_key(self) -> str:
        """These criteria as one canonical string (sets sorted): equal criteria, equal keys, for shared caches."""

        def canonical(value: Any) -> Any:
            if isinstance(value, frozenset | set):
                return sorted(map(str, value))
            if isinstance(value, tuple):
                return [canonical(item) for item in value]
            return value.isoformat() if isinstance(value, dt.date) else value

        return repr([canonical(getattr(self, f.name)) for f in dataclasses.fields(self)])

    def shows_layer(self, layer: str) -> bool:
        """Whether the layer filter lets a layer's features through (other filters may still narrow them)."""
        return self.layers is None or layer in self.layers

    def attribute(self, layer: str, name: str) -> frozenset[str] | None:
        """The values kept of one layer's enum field; None when that field is not filtered."""
        return next((values for lay, field_, values in self.attributes if (lay, field_) == (layer, name)), None)

    def with_attribute(self, layer: str, name: str, values: frozenset[str] | None) -> Criteria:
        """These criteria with one enum-field filter set (None: removed)."""
        kept = [item for item in self.attributes if item[:2] != (layer, name)]
        if values is not None:
            kept.append((layer, name, frozenset(values)))
        return replace(self, attributes=tuple(sorted(kept, key=lambda item: item[:2])))


@dataclass(frozen=True)
class FilterSpec:
    """One filter: its fields in Criteria, and whether a given criteria value narrows anything."""

    name: str
    fields: tuple[str, ...]
    mask: Any  # (frame, criteria) -> boolean ndarray
    describe: Any  # (criteria, lang, registry) -> str | None  (None when it does not narrow)
    progress_only: bool = False  # narrows only layers that track progress


def apply(frame: pd.DataFrame, criteria: Criteria, registry: Registry | None = None) -> pd.DataFrame:
    """The rows of an overlay frame that pass every filter (base layers are never filtered). `registry`: which
    layers track progress (status, progress and completion filters narrow only those); None: every layer does."""
    return frame if frame.empty else frame[mask(frame, criteria, registry)]


def mask(frame: pd.DataFrame, criteria: Criteria, registry: Registry | None = None) -> np.ndarray:
    """True for the rows that pass every filter (see apply)."""
    keep = np.ones(len(frame), dtype=bool)
    if not len(frame):
        return keep
    tracked = (
        np.ones(len(frame), dtype=bool)
        if registry is None
        else frame["layer"].isin(registry.progress_layers()).to_numpy()
    )
    for spec in FILTERS:
        if spec.describe(criteria, "en", registry) is None:  # not narrowing (says nothing): keeps every valid row
            continue
        narrowed = spec.mask(frame, criteria)
        # A layer without progress has no status or completion date to filter by: those filters leave it alone.
        keep &= narrowed | ~tracked if spec.progress_only else narrowed
    return keep


def describe(criteria: Criteria, lang: str, registry: Registry | None = None) -> str:
    """One sentence saying what is shown, for captions, exports and the presentation stamp. `registry` names the
    layers and enum values (without it: their codes)."""
    parts = [text for spec in FILTERS if (text := spec.describe(criteria, lang, registry))]
    if not parts:
        return t("filters.all_shown", lang)
    return t("filters.shown_prefix", lang) + t("filters.separator", lang).join(parts)


def active_count(criteria: Criteria) -> int:
    return sum(1 for spec in FILTERS if spec.describe(criteria, "zh", None))


# --- masks and descriptions --------------------------------------------------------------------------------


def _status_mask(frame: pd.DataFrame, c: Criteria) -> np.ndarray:
    return frame["status"].isin(c.statuses).to_numpy()


def _status_text(c: Criteria, lang: str, registry: Registry | None = None) -> str | None:
    if c.statuses >= set(schema.STATUSES):
        return None
    names = [label("status", s, lang) for s in schema.STATUSES if s in c.statuses]
    return t("filters.desc_status", lang, statuses=t("filters.list_separator", lang).join(names) or "—")


def _progress_mask(frame: pd.DataFrame, c: Criteria) -> np.ndarray:
    progress = pd.to_numeric(frame["progress"], errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(progress)
    inside = (progress >= c.progress_min) & (progress <= c.progress_max)
    return np.where(missing, c.include_unreported, inside)


def _progress_text(c: Criteria, lang: str, registry: Registry | None = None) -> str | None:
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


def _end_text(c: Criteria, lang: str, registry: Registry | None = None) -> str | None:
    if c.end_from is None and c.end_to is None and c.include_undated:
        return None
    start = c.end_from.isoformat() if c.end_from else "…"
    end = c.end_to.isoformat() if c.end_to else "…"
    key = "filters.desc_end" if c.include_undated else "filters.desc_end_dated_only"
    return t(key, lang, start=start, end=end)


def _layer_mask(frame: pd.DataFrame, c: Criteria) -> np.ndarray:
    if c.layers is None:
        return np.ones(len(frame), dtype=bool)
    return frame["layer"].isin(c.layers).to_numpy()


def _layer_text(c: Criteria, lang: str, registry: Registry | None = None) -> str | None:
    if c.layers is None or (registry is not None and c.layers >= set(registry.overlays())):
        return None
    order = registry.ids(archived=True) if registry is not None else ()
    chosen = sorted(c.layers, key=lambda name: (order.index(name) if name in order else len(order), name))
    names = [_layer_name(name, lang, registry) for name in chosen]
    return t("filters.desc_layers", lang, layers=t("filters.list_separator", lang).join(names) or "—")


def _layer_name(layer: str, lang: str, registry: Registry | None) -> str:
    return registry.name(layer, lang) if registry is not None and layer in registry else label("layer", layer, lang)


def _attribute_mask(frame: pd.DataFrame, c: Criteria) -> np.ndarray:
    keep = np.ones(len(frame), dtype=bool)
    for layer, name, values in c.attributes:
        rows = (frame["layer"] == layer).to_numpy()
        # No feature of the frame has the field: none of them has a chosen value.
        kept = frame[name].isin(values).to_numpy() if name in frame.columns else np.zeros(len(frame), dtype=bool)
        keep &= ~rows | kept
    return keep


def _attribute_text(c: Criteria, lang: str, registry: Registry | None = None) -> str | None:
    if not c.attributes:
        return None
    parts = []
    for layer, name, values in c.attributes:
        spec = registry.get(layer).field(name) if registry is not None and layer in registry else None
        shown = sorted(spec.option_label(v, lang) for v in values) if spec else sorted(values)
        parts.append(
            t(
                "maplayers.desc_attribute",
                lang,
                layer=_layer_name(layer, lang, registry),
                field=spec.label(lang) if spec else name,
                values=t("filters.list_separator", lang).join(shown) or "—",
            )
        )
    return t("filters.separator", lang).join(parts)


def _kind_mask(frame: pd.DataFrame, c: Criteria) -> np.ndarray:
    if c.kinds is None:
        return np.ones(len(frame), dtype=bool)
    return frame["kind"].isin(c.kinds).to_numpy()


def _kind_text(c: Criteria, lang: str, registry: Registry | None = None) -> str | None:
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


def _confidence_text(c: Criteria, lang: str, registry: Registry | None = None) -> str | None:
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
    FilterSpec("status", ("statuses",), _status_mask, _status_text, progress_only=True),
    FilterSpec(
        "progress",
        ("progress_min", "progress_max", "include_unreported"),
        _progress_mask,
        _progress_text,
        progress_only=True,
    ),
    FilterSpec("end", ("end_from", "end_to", "include_undated"), _end_mask, _end_text, progress_only=True),
    FilterSpec("kind", ("kinds",), _kind_mask, _kind_text),
    FilterSpec("confidence", ("show_approximate", "show_placeholder"), _confidence_mask, _confidence_text),
    FilterSpec("attributes", ("attributes",), _attribute_mask, _attribute_text),
)


@dataclass
class Kpis:
    shown: int
    by_status: dict[str, int] = field(default_factory=dict)
    mean_progress: float | None = None  # over features that report progress
    reported: int = 0  # how many shown features report progress
    tracked: int | None = None  # how many shown features belong to layers that track progress (None: all of them)

    @property
    def works(self) -> int:
        """The shown features progress is expected of (a school or a river reports none, and is not "missing" it)."""
        return self.shown if self.tracked is None else self.tracked


def kpis(shown: pd.DataFrame, registry: Registry | None = None) -> Kpis:
    """The KPI cards' numbers for the features shown: status counts and mean progress over the layers that track
    progress (`registry`; None: every layer), the count over every feature shown."""
    tracked = shown[shown["layer"].isin(registry.progress_layers())] if registry is not None and len(shown) else shown
    progress = pd.to_numeric(tracked["progress"], errors="coerce") if len(tracked) else pd.Series(dtype=float)
    reported = progress.dropna()
    return Kpis(
        shown=len(shown),
        by_status={s: int((tracked["status"] == s).sum()) if len(tracked) else 0 for s in schema.STATUSES},
        mean_progress=float(reported.mean()) if len(reported) else None,
        reported=len(reported),
        tracked=len(tracked),
    )
