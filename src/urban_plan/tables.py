"""Features as a plain table for people: localised headers and values, no geometry."""

from __future__ import annotations

import pandas as pd

from urban_plan import display
from urban_plan.i18n import label, t

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
