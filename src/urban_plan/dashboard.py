"""What the progress dashboard shows: the article's targets beside what the data says, and the schedule lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from urban_plan import display, schema
from urban_plan.i18n import label, pick, t

# Targets whose "what the data says" can be counted from a layer.
TARGET_LAYERS = {"five_projects_investment": "projects", "road_works": "roads"}


@dataclass(frozen=True)
class TargetCard:
    label: str
    target: str  # the article's figure with its unit
    reported: str  # the reported value and the date it describes, or "not reported"
    data: str  # what the map's data says (counts by status), or ""
    note: str
    source: str


def target_cards(targets: dict[str, Any] | None, overlays: pd.DataFrame, lang: str) -> list[TargetCard]:
    """One card per target row. A missing value is said to be missing; nothing is computed that was not reported."""
    cards = []
    for row in (targets or {}).get("rows", []):
        unit = pick(row.get("unit_zh"), row.get("unit_en"), lang)
        target = f"{_number(row.get('target'))} {unit}".strip()
        if row.get("reported") is None:
            reported = t("value.not_reported", lang)
        else:
            share = ""
            if row.get("target"):
                share = t("dashboard.share", lang, share=f"{row['reported'] / row['target'] * 100:.0f}")
            reported = t(
                "dashboard.reported",
                lang,
                value=f"{_number(row['reported'])} {unit}".strip(),
                as_of=row.get("reported_as_of") or "—",
                share=share,
            )
        layer = TARGET_LAYERS.get(row.get("id"))
        cards.append(
            TargetCard(
                label=pick(row.get("label_zh"), row.get("label_en"), lang),
                target=target,
                reported=reported,
                data=data_summary(overlays, layer, lang) if layer else "",
                note=str(row.get("note") or ""),
                source=str(row.get("source") or ""),
            )
        )
    return cards


def data_summary(overlays: pd.DataFrame, layer: str, lang: str) -> str:
    part = overlays[overlays["layer"] == layer] if len(overlays) else overlays
    counts = (
        t("filters.list_separator", lang).join(
            f"{label('status', s, lang)} {int((part['status'] == s).sum())}" for s in schema.STATUSES
        )
        if len(part)
        else ""
    )
    placeholders = int((part["confidence"] == "placeholder").sum()) if len(part) else 0
    text = t("dashboard.data_count", lang, layer=label("layer", layer, lang), count=len(part), counts=counts)
    if placeholders:
        text += t("dashboard.placeholders", lang, count=placeholders)
    return text


def schedule_table(rated: pd.DataFrame, lang: str, ratings: tuple[str, ...]) -> pd.DataFrame:
    """Features with one of the given ratings, worst first: name, layer, rating, why, expected, reported."""
    part = rated[rated["rating"].isin(ratings)] if len(rated) else rated
    order = {"red": 0, "yellow": 1, "missing": 2, "green": 3}
    part = part.sort_values(by="rating", key=lambda s: s.map(order), kind="stable") if len(part) else part
    rows = [
        {
            t("field.name", lang): display.name(display.clean(r), lang),
            t("field.layer", lang): label("layer", r["layer"], lang),
            t("field.rating", lang): label("rating", r["rating"], lang),
            t("dashboard.why", lang): r["rating_reason"],
            t("chart.expected", lang): None if r["expected"] != r["expected"] else r["expected"],
            t("field.progress", lang): None if r["progress"] != r["progress"] else r["progress"],
        }
        for r in part.to_dict("records")
    ]
    columns = [
        t(k, lang)
        for k in ("field.name", "field.layer", "field.rating", "dashboard.why", "chart.expected", "field.progress")
    ]
    return pd.DataFrame(rows, columns=columns)


def _number(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
