"""Features as a plain table for people: localised headers and values, no geometry."""

from __future__ import annotations

import pandas as pd

from urban_plan import display
from urban_plan.i18n import label, t
from urban_plan.store import VersionInfo

TABLE_FIELDS = (
    "name",
    "layer",
    "kind",
    "status",
    "progress",
    "start_date",
    "end_date",
    "investment_yi",
    "confidence",
    "source",
    "note",
    "id",
)


def feature_table(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """One row per feature; progress stays numeric (null when not reported) so it sorts and charts."""
    rows = []
    for _, row in frame.iterrows():
        data = display.clean(row.to_dict())
        rows.append(
            {
                "name": display.name(data, lang),
                "layer": label("layer", data.get("layer"), lang),
                "kind": label("kind", data.get("kind"), lang) if data.get("kind") else "",
                "status": label("status", data.get("status"), lang),
                "progress": data.get("progress"),
                "start_date": display.date_text(data.get("start_date"), lang),
                "end_date": display.date_text(data.get("end_date"), lang),
                "investment_yi": display.investment_text(data.get("investment_yi"), lang),
                "confidence": display.confidence_text(data.get("confidence"), lang),
                "source": data.get("source") or "",
                "note": data.get("note") or "",
                "id": f"{data.get('layer')}/{data.get('id')}",
            }
        )
    table = pd.DataFrame(rows, columns=list(TABLE_FIELDS))
    return table.rename(columns=headers(lang))


def headers(lang: str) -> dict[str, str]:
    return {name: t(f"field.{name}", lang) for name in TABLE_FIELDS}


def version_rows(versions: list[VersionInfo], current: VersionInfo | None, lang: str) -> list[dict[str, str]]:
    """A layer's history for people, newest first: who, when (Beijing time), as of, what changed, why."""
    rows = []
    for v in reversed(versions):
        counts = v.counts or {}
        change = f"+{counts.get('added', 0)} −{counts.get('removed', 0)} ~{counts.get('changed', 0)}" if counts else ""
        flags = []
        if current is not None and v.number == current.number:
            flags.append(t("history.current", lang))
        if v.restored_from:
            flags.append(t("history.restored", lang, number=v.restored_from))
        rows.append(
            {
                t("history.col_version", lang): f"v{v.number}",
                t("history.col_as_of", lang): v.as_of,
                t("history.col_saved", lang): display.local_time(v.saved_at),
                t("history.col_author", lang): v.author,
                t("history.col_changes", lang): change,
                t("history.col_total", lang): str(counts.get("total", "")),
                t("history.col_note", lang): " · ".join(flags),
                t("history.col_message", lang): v.message,
            }
        )
    return rows
