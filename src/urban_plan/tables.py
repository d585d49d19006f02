"""Features as a plain table for people: localised headers and values, no geometry."""

from __future__ import annotations

from typing import Any

import pandas as pd

from urban_plan import display
from urban_plan.i18n import label, t
from urban_plan.store import VersionInfo

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
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
                "source": display.local_text(data.get("source"), lang),
                "note": display.local_text(data.get("note"), lang),
                "id": f"{data.get('layer')}/{data.get('id')}",
            }
        )
    table = pd.DataFrame(rows, columns=list(TABLE_FIELDS))
    return table.rename(columns=headers(lang))


def csv_bytes(table: pd.DataFrame) -> bytes:
    """A table as CSV for Excel: UTF-8 with a BOM (Excel on Chinese Windows reads UTF-8 only then), and every text
    cell that a spreadsheet would run as a formula prefixed with a single quote (OWASP's CSV-injection advice).

    Only text is touched: a number such as -3.5 stays a number; the text "-3.5" becomes "'-3.5". Every
    spreadsheet export goes through here (a test looks for any other CSV writer).
    """
    safe = table.rename(columns=lambda name: _guard(name) if isinstance(name, str) else name)
    safe = safe.apply(lambda column: column if pd.api.types.is_numeric_dtype(column) else column.map(_guard))
    # CRLF rows (RFC 4180): then the csv module also quotes a lone \r in a cell, which would otherwise split the row.
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def _guard(value: Any) -> Any:
    # A leading = + - @ starts a formula; tab and carriage return are stripped by some importers, then it does too.
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
