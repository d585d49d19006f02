"""How a feature's values read in each language, and escaping of data text before it reaches HTML or JS."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

from urban_plan.i18n import label, pick, t

STATUS_COLOURS: dict[str, str] = {"planned": "#3b6fb6", "in_progress": "#e08a00", "completed": "#2e8b57"}
UNKNOWN_COLOUR = "#7a7a7a"


def escape(value: Any) -> str:
    """Text safe inside HTML (innerHTML), a JS template literal and a Jinja template (folium compiles what it
    renders): < > & " ' ` $ { } all become entities."""
    text = html.escape("" if value is None else str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("{", "&#123;").replace("}", "&#125;")


def name(row: Mapping[str, Any], lang: str) -> str:
    return pick(row.get("name_zh"), row.get("name_en"), lang) or str(row.get("id") or "")


def progress_text(value: Any, lang: str) -> str:
    if _missing(value):
        return t("value.not_reported", lang)
    return f"{float(value):.0f}%"


def investment_text(value: Any, lang: str) -> str:
    if _missing(value):
        return t("value.not_public", lang)
    return t("value.yi", lang, amount=f"{float(value):,.2f}".rstrip("0").rstrip("."))


def date_text(value: Any, lang: str) -> str:
    return t("value.unknown", lang) if _missing(value) else str(value)


def confidence_text(value: Any, lang: str) -> str:
    return t("value.unknown", lang) if _missing(value) else label("confidence", value, lang)


def confidence_tag(value: Any, lang: str) -> str:
    """The short mark shown beside a name: 示意 for approximate, 待核实 for placeholder, nothing when surveyed."""
    if value in ("approximate", "placeholder"):
        return t(f"confidence_tag.{value}", lang)
    return ""


def details(row: Mapping[str, Any], lang: str) -> list[tuple[str, str, str]]:
    """(field, label, value) triples for a popup or the details panel, in display order; plain text, not escaped."""
    row = clean(row)
    other = "name_en" if lang == "zh" else "name_zh"
    return [
        ("name", t("field.name", lang), name(row, lang)),
        ("name_other", t(f"field.{other}", lang), str(row.get(other) or "—")),
        ("layer", t("field.layer", lang), label("layer", row.get("layer"), lang)),
        ("kind", t("field.kind", lang), label("kind", row.get("kind"), lang) if row.get("kind") else "—"),
        ("status", t("field.status", lang), label("status", row.get("status"), lang)),
        ("progress", t("field.progress", lang), progress_text(row.get("progress"), lang)),
        ("start_date", t("field.start_date", lang), date_text(row.get("start_date"), lang)),
        ("end_date", t("field.end_date", lang), date_text(row.get("end_date"), lang)),
        ("investment_yi", t("field.investment_yi", lang), investment_text(row.get("investment_yi"), lang)),
        ("confidence", t("field.confidence", lang), confidence_text(row.get("confidence"), lang)),
        ("source", t("field.source", lang), str(row.get("source") or t("value.unknown", lang))),
        ("note", t("field.note", lang), str(row.get("note") or "—")),
        ("id", t("field.id", lang), f"{row.get('layer')}/{row.get('id')}"),
    ]


LOCAL_TZ = dt.timezone(dt.timedelta(hours=8), "CST")  # China Standard Time, no daylight saving


def local_time(saved_at: str) -> str:
    """A stored UTC timestamp as the planners read it: Beijing time, to the minute."""
    try:
        moment = dt.datetime.fromisoformat(saved_at.replace("Z", "+00:00"))
    except ValueError:
        return saved_at
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def clean(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with pandas' missing values (NaN, NaT) turned into None, so `or` and `is None` read naturally."""
    return {key: None if _missing(value) else value for key, value in row.items()}


def value_text(field: str, value: Any, lang: str) -> str:
    """One stored value as people read it, for diffs: statuses and confidences by name, nulls in words."""
    if field == "status":
        return label("status", value, lang) if not _missing(value) else "—"
    if field == "progress":
        return progress_text(value, lang)
    if field == "investment_yi":
        return investment_text(value, lang)
    if field == "confidence":
        return confidence_text(value, lang)
    if field in ("start_date", "end_date"):
        return date_text(value, lang)
    return "—" if _missing(value) else str(value)


def status_colour(status: Any) -> str:
    return STATUS_COLOURS.get(str(status), UNKNOWN_COLOUR)


def _missing(value: Any) -> bool:
    if value is None or (isinstance(value, str) and value == ""):
        return True
    try:
        return bool(value != value)  # NaN and NaT are the only values not equal to themselves
    except (TypeError, ValueError):
        return False
