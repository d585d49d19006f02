"""Dashboard charts (Altair, as Streamlit ships it): progress, status counts, and a schedule (Gantt) with milestones."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd

from urban_plan import display, progress, schema
from urban_plan.i18n import label, t

FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif"
CHART_LAYERS = ("projects", "roads", "rail")  # the works whose progress a meeting follows


def progress_chart(rated: pd.DataFrame, lang: str) -> alt.LayerChart:
    """Reported progress per project, road work and rail item; expected progress (序时进度) as a tick;
    "not reported" written where there is no number (never drawn as 0)."""
    data = _works(rated, lang)
    data["progress_value"] = data["progress"].fillna(0)
    data["progress_text"] = [display.progress_text(v, lang) for v in data["progress"]]
    data["reported"] = data["progress"].notna()
    y = alt.Y("label:N", sort=None, title=None, axis=alt.Axis(labelLimit=260))
    bars = (
        alt.Chart(data)
        .mark_bar(height=14)
        .encode(
            y=y,
            x=alt.X("progress_value:Q", title=t("chart.progress_axis", lang), scale=alt.Scale(domain=[0, 100])),
            color=_status_colour(lang),
            tooltip=_tooltip(lang),
        )
        .transform_filter("datum.reported")
    )
    expected = (
        alt.Chart(data)
        .mark_tick(color="#222", thickness=2, size=18)
        .encode(y=y, x="expected:Q", tooltip=_tooltip(lang))
        .transform_filter("isValid(datum.expected)")
    )
    text = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, color="#555")
        .encode(y=y, x="progress_value:Q", text="progress_text:N")
    )
    return (
        (bars + expected + text)
        .properties(height=max(120, 22 * len(data)), title=t("chart.progress_title", lang))
        .configure_axis(labelFont=FONT, titleFont=FONT)
        .configure_title(font=FONT)
        .configure_legend(labelFont=FONT, titleFont=FONT)
    )


def status_chart(frame: pd.DataFrame, lang: str) -> alt.Chart:
    """How many features of each layer are planned, in progress, completed."""
    counts = (
        frame.groupby(["layer", "status"]).size().reset_index(name="count")
        if len(frame)
        else pd.DataFrame(columns=["layer", "status", "count"])
    )
    counts["layer_label"] = [label("layer", v, lang) for v in counts["layer"]]
    counts["status_label"] = [label("status", v, lang) for v in counts["status"]]
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            y=alt.Y("layer_label:N", title=None, axis=alt.Axis(labelLimit=260)),
            x=alt.X("count:Q", title=t("chart.count_axis", lang), axis=alt.Axis(tickMinStep=1)),
            color=_status_colour(lang),
            tooltip=[
                alt.Tooltip("layer_label:N", title=t("field.layer", lang)),
                alt.Tooltip("status_label:N", title=t("field.status", lang)),
                alt.Tooltip("count:Q", title=t("chart.count_axis", lang)),
            ],
        )
        .properties(height=160, title=t("chart.status_title", lang))
        .configure_axis(labelFont=FONT, titleFont=FONT)
        .configure_title(font=FONT)
        .configure_legend(labelFont=FONT, titleFont=FONT)
    )


def gantt_chart(rated: pd.DataFrame, milestones: list[progress.Milestone], on: dt.date, lang: str) -> alt.LayerChart:
    """Start to planned completion per work; a diamond where only the completion is known; the as-of line;
    milestones from the history (first reported, status changes, new planned dates)."""
    data = _works(rated, lang)
    data["start"] = pd.to_datetime(data["start_date"], errors="coerce")
    data["end"] = pd.to_datetime(data["end_date"], errors="coerce")
    keys = dict(zip(zip(data["layer"], data["id"], strict=True), data["label"], strict=True))
    marks = pd.DataFrame(
        [
            {"label": keys[(m.layer, m.id)], "date": pd.Timestamp(m.date), "event": m.label}
            for m in milestones
            if (m.layer, m.id) in keys
        ],
        columns=["label", "date", "event"],
    )
    y = alt.Y("label:N", sort=list(data["label"]), title=None, axis=alt.Axis(labelLimit=260))
    bars = (
        alt.Chart(data)
        .mark_bar(height=12, opacity=0.85)
        .encode(
            y=y,
            x=alt.X("start:T", title=t("chart.time_axis", lang)),
            x2="end:T",
            color=_status_colour(lang),
            tooltip=_tooltip(lang),
        )
        .transform_filter("isValid(datum.start) && isValid(datum.end)")
    )
    ends = (
        alt.Chart(data)
        .mark_point(shape="diamond", size=120, filled=True)
        .encode(y=y, x="end:T", color=_status_colour(lang), tooltip=_tooltip(lang))
        .transform_filter("isValid(datum.end)")
    )
    today = pd.DataFrame({"date": [pd.Timestamp(on)], "text": [t("chart.as_of_line", lang, on=on.isoformat())]})
    rule = alt.Chart(today).mark_rule(color="#c62828", strokeWidth=2, strokeDash=[6, 3]).encode(x="date:T")
    rule_text = (
        alt.Chart(today)
        .mark_text(align="left", dx=4, dy=-6, color="#c62828", fontWeight="bold")
        .encode(x="date:T", y=alt.value(0), text="text:N")
    )
    points = (
        alt.Chart(marks)
        .mark_point(shape="circle", size=60, color="#222", filled=False, strokeWidth=1.5)
        .encode(
            y=y,
            x="date:T",
            tooltip=[
                alt.Tooltip("label:N", title=t("field.name", lang)),
                alt.Tooltip("date:T", title=t("chart.date", lang)),
                alt.Tooltip("event:N", title=t("chart.milestone", lang)),
            ],
        )
    )
    return (
        (bars + ends + points + rule + rule_text)
        .properties(height=max(140, 24 * len(data)), title=t("chart.gantt_title", lang))
        .configure_axis(labelFont=FONT, titleFont=FONT)
        .configure_title(font=FONT)
        .configure_legend(labelFont=FONT, titleFont=FONT)
    )


def _works(rated: pd.DataFrame, lang: str) -> pd.DataFrame:
    part = rated[rated["layer"].isin(CHART_LAYERS)] if len(rated) else rated
    out = pd.DataFrame(
        {
            "layer": part["layer"] if len(part) else [],
            "id": part["id"] if len(part) else [],
            "label": [display.name(display.clean(r), lang) for r in part.to_dict("records")],
            "status": part["status"] if len(part) else [],
            "progress": pd.to_numeric(part["progress"], errors="coerce") if len(part) else [],
            "expected": part.get("expected"),
            "start_date": part["start_date"] if len(part) else [],
            "end_date": part["end_date"] if len(part) else [],
            "rating": part.get("rating"),
        }
    ).reset_index(drop=True)
    # Names must be unique for the y axis: nine placeholder roads share a pattern but not a name; keep it so.
    out["status_label"] = [label("status", s, lang) for s in out["status"]]
    out["rating_label"] = [label("rating", r, lang) if isinstance(r, str) else "" for r in out["rating"]]
    return out


def _status_colour(lang: str) -> alt.Color:
    names = [label("status", s, lang) for s in schema.STATUSES]
    colours = [display.status_colour(s) for s in schema.STATUSES]
    return alt.Color("status_label:N", title=t("field.status", lang), scale=alt.Scale(domain=names, range=colours))


def _tooltip(lang: str) -> list[alt.Tooltip]:
    return [
        alt.Tooltip("label:N", title=t("field.name", lang)),
        alt.Tooltip("status_label:N", title=t("field.status", lang)),
        alt.Tooltip("progress:Q", title=t("field.progress", lang), format=".0f"),
        alt.Tooltip("expected:Q", title=t("chart.expected", lang), format=".0f"),
        alt.Tooltip("rating_label:N", title=t("field.rating", lang)),
        alt.Tooltip("start_date:N", title=t("field.start_date", lang)),
        alt.Tooltip("end_date:N", title=t("field.end_date", lang)),
    ]
