"""Dashboard charts (Altair, as Streamlit ships it): progress, status counts, and a schedule (Gantt) with milestones."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd

from urban_plan import display, progress, schema
from urban_plan.i18n import label, normalise_lang, t
from urban_plan.registry import Registry

FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif"
ROW = 26  # pixels per bar: one full name per row, none dropped for lack of room
# Vega's own month names are English; Chinese axes use numbers only, so they read right without a locale.
TIME_FORMAT = {"zh": "%Y年%-m月", "en": "%b %Y"}
DATE_FORMAT = "%Y-%m-%d"


def progress_chart(rated: pd.DataFrame, lang: str, registry: Registry) -> alt.LayerChart | alt.Chart:
    """Reported progress per work of the layers that track progress (the registry says which), one row each with
    its full name; expected progress
    (序时进度) as a black tick with its own legend entry; "not reported" written where there is no number (never
    drawn as 0). When no work reports progress the chart says so instead of drawing a column of empty rows."""
    data = _works(rated, lang, registry)
    reported = int(data["progress"].notna().sum())
    if not reported:
        return _message_chart(
            t("chart.progress_title", lang),
            t("chart.no_progress", lang),
            t("chart.no_progress_reason", lang, total=len(data)),
        )
    data["progress_value"] = data["progress"].fillna(0)
    data["progress_text"] = [display.progress_text(v, lang) for v in data["progress"]]
    data["reported"] = data["progress"].notna()
    data["expected_name"] = t("chart.expected_legend", lang)
    y = _names_axis(data)
    x_title = t("chart.progress_axis", lang)
    bars = (
        alt.Chart(data)
        .mark_bar(height=14)
        .encode(
            y=y,
            x=alt.X("progress_value:Q", title=x_title, scale=alt.Scale(domain=[0, 100])),
            color=_status_colour(lang),
            tooltip=_tooltip(lang),
        )
        .transform_filter("datum.reported")
    )
    expected = (
        alt.Chart(data)
        .mark_tick(thickness=2, size=18)
        .encode(
            y=y,
            x=alt.X("expected:Q", title=x_title),
            color=alt.Color(
                "expected_name:N",
                title=t("chart.expected_legend_title", lang),
                scale=alt.Scale(range=["#222222"]),
                legend=alt.Legend(symbolType="M0,-1L0,1", symbolStrokeWidth=2),  # drawn as the tick it explains
            ),
            tooltip=_tooltip(lang),
        )
        .transform_filter("isValid(datum.expected)")
    )
    text = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, color="#555")
        .encode(y=y, x=alt.X("progress_value:Q", title=x_title), text="progress_text:N")
    )
    return _styled(
        alt.layer(bars, expected, text)
        .resolve_scale(color="independent")
        .properties(height=alt.Step(ROW), title=t("chart.progress_title", lang))
    )


def status_chart(frame: pd.DataFrame, lang: str, registry: Registry) -> alt.Chart:
    """How many features of each progress layer are planned, in progress, completed; every layer named (from the
    registry) on its own row, in the registry's order. Layers that do not track progress have no status: left out."""
    layers = registry.progress_layers()
    part = frame[frame["layer"].isin(layers)] if len(frame) else frame
    counts = (
        part.groupby(["layer", "status"]).size().reset_index(name="count")
        if len(part)
        else pd.DataFrame(columns=["layer", "status", "count"])
    )
    if not len(counts):
        return _message_chart(t("chart.status_title", lang), t("chart.no_features", lang), "")
    counts["layer_label"] = [registry.name(v, lang) for v in counts["layer"]]
    order = [registry.name(v, lang) for v in layers]
    counts["status_label"] = [label("status", v, lang) for v in counts["status"]]
    return _styled(
        alt.Chart(counts)
        .mark_bar()
        .encode(
            y=alt.Y(
                "layer_label:N",
                title=None,
                sort=order,
                axis=alt.Axis(labelLimit=0, labelOverlap=False),
                scale=alt.Scale(paddingInner=0.25),
            ),
            x=alt.X("count:Q", title=t("chart.count_axis", lang), axis=alt.Axis(tickMinStep=1)),
            color=_status_colour(lang),
            tooltip=[
                alt.Tooltip("layer_label:N", title=t("field.layer", lang)),
                alt.Tooltip("status_label:N", title=t("field.status", lang)),
                alt.Tooltip("count:Q", title=t("chart.count_axis", lang)),
            ],
        )
        .properties(height=alt.Step(ROW + 8), title=t("chart.status_title", lang))
    )


def gantt_chart(
    rated: pd.DataFrame, milestones: list[progress.Milestone], on: dt.date, lang: str, registry: Registry
) -> alt.LayerChart | alt.Chart:
    """Start to planned completion per work; a diamond at each planned completion; the as-of line; milestones from
    the history (first reported, status changes, new planned dates) as circles. Both marks have a legend entry,
    and the time axis shows years."""
    data = _works(rated, lang, registry)
    data["start"] = pd.to_datetime(data["start_date"], errors="coerce")
    data["end"] = pd.to_datetime(data["end_date"], errors="coerce")
    if not len(data) or not data["end"].notna().any():
        return _message_chart(
            t("chart.gantt_title", lang), t("chart.no_dates", lang), t("chart.no_dates_reason", lang, total=len(data))
        )
    keys = dict(zip(zip(data["layer"], data["id"], strict=True), data["label"], strict=True))
    end_name, milestone_name = t("chart.end_marker", lang), t("chart.milestone", lang)
    data["marker"] = end_name
    marks = pd.DataFrame(
        [
            {"label": keys[(m.layer, m.id)], "date": pd.Timestamp(m.date), "event": m.label, "marker": milestone_name}
            for m in milestones
            if (m.layer, m.id) in keys
        ],
        columns=["label", "date", "event", "marker"],
    )
    y = _names_axis(data)
    time_title = t("chart.time_axis", lang)
    x_axis = alt.Axis(format=TIME_FORMAT[normalise_lang(lang)], labelOverlap=True)
    shape = alt.Shape(
        "marker:N",
        title=t("chart.markers_title", lang),
        scale=alt.Scale(domain=[end_name, milestone_name], range=["diamond", "circle"]),
    )
    bars = (
        alt.Chart(data)
        .mark_bar(height=12, opacity=0.85)
        .encode(
            y=y,
            x=alt.X("start:T", title=time_title, axis=x_axis),
            x2="end:T",
            color=_status_colour(lang),
            tooltip=_tooltip(lang),
        )
        .transform_filter("isValid(datum.start) && isValid(datum.end)")
    )
    ends = (
        alt.Chart(data)
        .mark_point(size=120, filled=True)
        .encode(
            y=y,
            x=alt.X("end:T", title=time_title, axis=x_axis),
            color=_status_colour(lang),
            shape=shape,
            tooltip=_tooltip(lang),
        )
        .transform_filter("isValid(datum.end)")
    )
    today = pd.DataFrame({"date": [pd.Timestamp(on)], "text": [t("chart.as_of_line", lang, on=on.isoformat())]})
    rule = (
        alt.Chart(today)
        .mark_rule(color="#c62828", strokeWidth=2, strokeDash=[6, 3])
        .encode(x=alt.X("date:T", title=time_title, axis=x_axis))
    )
    rule_text = (
        alt.Chart(today)
        .mark_text(align="left", dx=4, dy=-6, color="#c62828", fontWeight="bold")
        .encode(x=alt.X("date:T", title=time_title, axis=x_axis), y=alt.value(0), text="text:N")
    )
    points = (
        alt.Chart(marks)
        .mark_point(size=60, color="#222", filled=False, strokeWidth=1.5)
        .encode(
            y=y,
            x=alt.X("date:T", title=time_title, axis=x_axis),
            shape=shape,
            tooltip=[
                alt.Tooltip("label:N", title=t("field.name", lang)),
                alt.Tooltip("date:T", title=t("chart.date", lang), format=DATE_FORMAT),
                alt.Tooltip("event:N", title=t("chart.milestone", lang)),
            ],
        )
    )
    return _styled(
        alt.layer(bars, ends, points, rule, rule_text).properties(
            height=alt.Step(ROW), title=t("chart.gantt_title", lang)
        )
    )


def _names_axis(data: pd.DataFrame) -> alt.Y:
    """Every work's full name on its own row: no truncation, no label dropped for overlap."""
    return alt.Y("label:N", sort=list(data["label"]), title=None, axis=alt.Axis(labelLimit=0, labelOverlap=False))


def _message_chart(title: str, message: str, reason: str) -> alt.LayerChart:
    """A chart-sized box that says why there is nothing to draw (instead of empty bars): the message, then why."""
    lines = [(message, 28, 16, "#333"), *([(reason, 56, 13, "#666")] if reason else [])]
    layers = [
        alt.Chart(pd.DataFrame({"text": [text]}))
        .mark_text(align="left", baseline="middle", fontSize=size, color=colour)
        .encode(text="text:N", y=alt.value(y), x=alt.value(4))
        for text, y, size, colour in lines
    ]
    return _styled(alt.layer(*layers).properties(height=80, title=title))


def _styled(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    # Screen readers get the chart's title as its text alternative (the figures are in the tables and lists of
    # the page); single marks are hidden from them (aria=False), as each would need a text of its own.
    if isinstance(chart.title, str):
        chart = chart.properties(description=chart.title)
    return (
        chart.configure_bar(aria=False)
        .configure_tick(aria=False)
        .configure_point(aria=False)
        .configure_rule(aria=False)
        .configure_axis(labelFont=FONT, titleFont=FONT)
        .configure_title(font=FONT)
        .configure_legend(labelFont=FONT, titleFont=FONT, orient="bottom", columns=2)  # two legends side by side fit
        .configure_text(font=FONT, aria=False)
    )


def _works(rated: pd.DataFrame, lang: str, registry: Registry) -> pd.DataFrame:
    """The rated features of the layers that track progress, in the registry's layer order (a meeting's works)."""
    layers = registry.progress_layers()
    part = rated[rated["layer"].isin(layers)] if len(rated) else rated
    if len(part):
        rank = {layer: i for i, layer in enumerate(layers)}
        part = part.iloc[part["layer"].map(rank).argsort(kind="stable")]
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
    out["progress_label"] = [display.progress_text(v, lang) for v in out["progress"]]
    out["start_label"] = [display.date_text(v, lang) for v in out["start_date"]]
    out["end_label"] = [display.date_text(v, lang) for v in out["end_date"]]
    return out


def _status_colour(lang: str) -> alt.Color:
    names = [label("status", s, lang) for s in schema.STATUSES]
    colours = [display.status_colour(s) for s in schema.STATUSES]
    return alt.Color("status_label:N", title=t("field.status", lang), scale=alt.Scale(domain=names, range=colours))


def _tooltip(lang: str) -> list[alt.Tooltip]:
    # Text fields, not raw numbers: a missing value reads "未上报"/"暂无数据", never "null" or an English date.
    return [
        alt.Tooltip("label:N", title=t("field.name", lang)),
        alt.Tooltip("status_label:N", title=t("field.status", lang)),
        alt.Tooltip("progress_label:N", title=t("field.progress", lang)),
        alt.Tooltip("expected:Q", title=t("chart.expected", lang), format=".0f"),
        alt.Tooltip("rating_label:N", title=t("field.rating", lang)),
        alt.Tooltip("start_label:N", title=t("field.start_date", lang)),
        alt.Tooltip("end_label:N", title=t("field.end_date", lang)),
    ]
