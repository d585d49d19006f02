"""What the progress dashboard shows: the article's targets beside what the data says, and the schedule lists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from urban_plan import display, filters, schema
from urban_plan import registry as layer_registry
from urban_plan.i18n import label, pick, t
from urban_plan.registry import Registry

TOTAL_TARGET = "five_projects_investment"  # the targets row holding the article's one total for the five projects


@dataclass(frozen=True)
class TargetCard:
    label: str
    target: str  # the article's figure with its unit
    reported: str  # the reported value and the date it describes, or "not reported"
    data: str  # what the map's data says (counts by status), or ""
    note: str
    source: str


def target_cards(
    targets: dict[str, Any] | None, overlays: pd.DataFrame, lang: str, registry: Registry | None = None
) -> list[TargetCard]:
    """One card per target row. A missing value is said to be missing; nothing is computed that was not reported.
    `registry` (default: the shipped layers) says which layers exist, track progress and what they are called."""
    layers = registry or layer_registry.builtin()
    progress_layers = layers.progress_layers()
    cards = []
    for row in (targets or {}).get("rows", []):
        if row.get("reported") is None:
            reported = t("value.not_reported", lang)
        else:
            share = ""
            if row.get("target"):
                share = t("dashboard.share", lang, share=f"{row['reported'] / row['target'] * 100:.0f}")
            reported = t(
                "dashboard.reported",
                lang,
                value=_amount(row["reported"], row, lang),
                as_of=row.get("reported_as_of") or "—",
                share=share,
            )
        # A row may name the layer whose features it is counted from; only while that layer is active and tracks
        # progress (otherwise the card shows no data line rather than count the wrong thing)
        layer = row.get("layer") if row.get("layer") in progress_layers else None
        source = _short_source(display.local_text(row.get("source"), lang))
        note = display.local_text(row.get("note"), lang)
        if source:  # the source named on the card itself, not left to "the article"
            note = t("filters.separator", lang).join(p for p in (note, t("dashboard.source", lang, source=source)) if p)
        cards.append(
            TargetCard(
                label=pick(row.get("label_zh"), row.get("label_en"), lang),
                target=_amount(row.get("target"), row, lang),
                reported=reported,
                data=data_summary(overlays, layer, lang, layers) if layer else "",
                note=note,
                source=source,
            )
        )
    return cards


def mean_progress_text(kpis: filters.Kpis, lang: str) -> str:
    """The KPI strip's mean progress: a percentage, or 暂无上报 in words (never a bare dash)."""
    return t("kpi.mean_progress_none", lang) if kpis.mean_progress is None else f"{kpis.mean_progress:.0f}%"


def kpi_notes(kpis: filters.Kpis, lang: str) -> list[str]:
    """Why a KPI reads empty or zero, said on the page under the strip (not only in a tooltip)."""
    notes = []
    if kpis.works and kpis.mean_progress is None:
        notes.append(t("kpi.note_no_progress", lang, total=kpis.works))
    elif kpis.reported < kpis.works:
        notes.append(t("kpi.note_some_progress", lang, n=kpis.reported, total=kpis.works))
    if kpis.works and not kpis.by_status.get("completed"):
        notes.append(t("kpi.note_none_completed", lang))
    return notes


def data_summary(overlays: pd.DataFrame, layer: str, lang: str, registry: Registry) -> str:
    part = overlays[overlays["layer"] == layer] if len(overlays) else overlays
    counts = (
        t("filters.list_separator", lang).join(
            f"{label('status', s, lang)} {int((part['status'] == s).sum())}" for s in schema.STATUSES
        )
        if len(part)
        else ""
    )
    placeholders = int((part["confidence"] == "placeholder").sum()) if len(part) else 0
    text = t("dashboard.data_count", lang, layer=registry.name(layer, lang), count=len(part), counts=counts)
    if placeholders:
        text += t("dashboard.placeholders", lang, count=placeholders)
    return text


def schedule_table(rated: pd.DataFrame, lang: str, ratings: tuple[str, ...], registry: Registry) -> pd.DataFrame:
    """Features of the layers that track progress with one of the given ratings, worst first: name, layer, rating,
    why, expected, reported. A layer without progress (a school, a park) is never "behind" nor "missing data"."""
    tracked = registry.progress_layers()
    part = rated[rated["rating"].isin(ratings) & rated["layer"].isin(tracked)] if len(rated) else rated
    order = {"red": 0, "yellow": 1, "missing": 2, "green": 3}
    part = part.sort_values(by="rating", key=lambda s: s.map(order), kind="stable") if len(part) else part
    rows = [
        {
            t("field.name", lang): display.name(display.clean(r), lang),
            t("field.layer", lang): registry.name(r["layer"], lang),
            t("field.rating", lang): label("rating", r["rating"], lang),
            t("dashboard.why", lang): r["rating_reason"],
            # Text, not numbers: an empty cell would read "None"; a missing value is said in words.
            t("dashboard.col_expected", lang): "—" if r["expected"] != r["expected"] else f"{r['expected']:.0f}%",
            t("field.progress", lang): display.progress_text(r["progress"], lang),
        }
        for r in part.to_dict("records")
    ]
    keys = ("field.name", "field.layer", "field.rating", "dashboard.why", "dashboard.col_expected", "field.progress")
    columns = [t(k, lang) for k in keys]
    return pd.DataFrame(rows, columns=columns)


def _short_source(source: str) -> str:
    """A link named by its site (jinan.sdnews.com.cn), so a card stays readable; the full link is in the data."""
    found = re.fullmatch(r"https?://([^/\s]+)\S*", source.strip())
    return found.group(1) if found else source


def _amount(value: Any, row: dict[str, Any], lang: str) -> str:
    """A figure with its unit; money kept in 亿元 reads in the one English unit the app uses (¥ bn)."""
    if value is not None and row.get("unit_zh") == "亿元":
        return display.yi_text(float(value), lang)
    unit = pick(row.get("unit_zh"), row.get("unit_en"), lang)
    return f"{_number(value)} {unit}".strip()


def _number(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
