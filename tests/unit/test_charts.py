"""The dashboard charts read as a Chinese planning tool: no empty bars, every name and mark labelled, years on axes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from urban_plan import charts, progress, registry

LAYERS = registry.builtin()
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def works(progresses: list[float | None]) -> pd.DataFrame:
    """Rated works as the dashboard passes them: one per progress value, long Chinese names, dates across years."""
    n = len(progresses)
    return pd.DataFrame(
        {
            "layer": ["projects", "roads", "rail"] * (n // 3) + ["projects"] * (n % 3),
            "id": [f"w{i}" for i in range(n)],
            "name_zh": [f"济阳区第{i}号重点道路新改扩建工程(北段)" for i in range(n)],
            "name_en": [f"Key road work {i} (north section)" for i in range(n)],
            "status": ["in_progress", "planned", "completed"] * (n // 3) + ["in_progress"] * (n % 3),
            "progress": progresses,
            "expected": [40.0] * n,
            "start_date": ["2023-03-01"] * n,
            "end_date": ["2026-09-30"] * n,
            "rating": ["missing"] * n,
        }
    )


def spec(chart: Any) -> dict[str, Any]:
    return chart.to_dict()


def nodes(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from nodes(child)
    elif isinstance(value, list):
        for child in value:
            yield from nodes(child)


def marks(chart_spec: dict[str, Any]) -> list[str]:
    out = []
    for node in nodes(chart_spec):
        mark = node.get("mark")
        if mark is not None:
            out.append(mark if isinstance(mark, str) else mark["type"])
    return out


def words_shown(chart_spec: dict[str, Any]) -> list[str]:
    """Titles, axis and legend titles, and the text marks' data: what a reader sees in the chart."""
    out: list[str] = []
    for node in nodes(chart_spec):
        for key in ("title",):
            value = node.get(key)
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, dict) and isinstance(value.get("text"), str):
                out.append(value["text"])
    for rows in chart_spec.get("datasets", {}).values():
        for row in rows:
            out += [str(row[k]) for k in ("text", "progress_text", "status_label", "layer_label", "marker") if k in row]
    return out


def test_with_no_progress_reported_the_progress_chart_says_so_instead_of_drawing_bars() -> None:
    chart = spec(charts.progress_chart(works([None] * 9), "zh", LAYERS))
    assert "bar" not in marks(chart)
    shown = " ".join(words_shown(chart))
    assert "暂无上报进度" in shown and "9 项工程均未上报进度" in shown
    assert "未报告" not in shown  # not nine rows of the same word
    assert "No progress reported yet" in " ".join(
        words_shown(spec(charts.progress_chart(works([None] * 3), "en", LAYERS)))
    )


def test_the_progress_chart_names_every_work_on_its_own_row() -> None:
    chart = spec(charts.progress_chart(works([10.0, None, 55.0, None, 80.0, 5.0, None, 30.0, 20.0]), "zh", LAYERS))
    axes = [n["axis"] for n in nodes(chart) if n.get("field") == "label" and "axis" in n]
    assert axes and all(a.get("labelOverlap") is False and a.get("labelLimit") == 0 for a in axes)
    assert chart["height"] == {"step": charts.ROW}  # a fixed row per name: the chart grows, names are not dropped
    texts = [row["progress_text"] for rows in chart["datasets"].values() for row in rows if "progress_text" in row]
    assert texts.count("未上报") == 3 and "55%" in texts


def test_expected_progress_has_its_own_legend_entry() -> None:
    chart = spec(charts.progress_chart(works([10.0, 20.0, 30.0]), "zh", LAYERS))
    legends = [n["color"] for n in nodes(chart) if isinstance(n.get("color"), dict) and "field" in n["color"]]
    assert any(c["field"] == "expected_name" and c.get("title") == "参照" for c in legends)
    names = [row.get("expected_name") for rows in chart["datasets"].values() for row in rows]
    assert "序时进度(应完成)" in names


def test_the_status_chart_names_every_layer_that_tracks_progress() -> None:
    frame = pd.DataFrame(
        {
            "layer": ["layout", "projects", "rail", "roads", "roads"],
            "status": ["planned", "in_progress", "in_progress", "planned", "completed"],
        }
    )
    chart = spec(charts.status_chart(frame, "zh", LAYERS))
    axis = chart["encoding"]["y"]["axis"]
    assert axis["labelOverlap"] is False and axis["labelLimit"] == 0
    assert chart["height"]["step"] >= charts.ROW
    layers = {row["layer_label"] for rows in chart["datasets"].values() for row in rows}
    assert layers == {"五大项目", "高铁连接", "新改扩建道路"}  # 一城三区 has no construction status to count


def test_the_schedule_explains_its_diamonds_and_circles_in_a_legend() -> None:
    rated = works([10.0, None, 30.0])
    milestones = [progress.Milestone("projects", "w0", dt.date(2024, 5, 1), "首次纳入(在建)")]
    chart = spec(charts.gantt_chart(rated, milestones, dt.date(2025, 1, 1), "zh", LAYERS))
    shapes = [n["shape"] for n in nodes(chart) if isinstance(n.get("shape"), dict) and "field" in n["shape"]]
    assert len(shapes) == 2  # the diamonds and the circles both use the one legend
    for shape in shapes:
        assert shape["title"] == "标记"
        assert shape["scale"] == {"domain": ["计划完工", "里程碑"], "range": ["diamond", "circle"]}
    markers = {row["marker"] for rows in chart["datasets"].values() for row in rows if "marker" in row}
    assert markers == {"计划完工", "里程碑"}


@pytest.mark.parametrize(("lang", "fmt"), [("zh", "%Y年%-m月"), ("en", "%b %Y")])
def test_time_axes_show_the_year(lang: str, fmt: str) -> None:
    chart = spec(charts.gantt_chart(works([10.0, 20.0, 30.0]), [], dt.date(2025, 1, 1), lang, LAYERS))
    formats = {
        n["axis"]["format"] for n in nodes(chart) if n.get("type") == "temporal" and isinstance(n.get("axis"), dict)
    }
    assert formats == {fmt}
    tooltips = [n for n in nodes(chart) if n.get("type") == "temporal" and "format" in n and "axis" not in n]
    assert all(t["format"] == "%Y-%m-%d" for t in tooltips)  # never "May 1, 2024" in a Chinese tooltip


def test_chart_tooltips_say_not_reported_rather_than_null() -> None:
    chart = spec(charts.progress_chart(works([10.0, None, 30.0]), "zh", LAYERS))
    fields = {t["field"] for n in nodes(chart) for t in n.get("tooltip", []) if isinstance(n.get("tooltip"), list)}
    assert "progress_label" in fields and "progress" not in fields


@pytest.mark.parametrize("progresses", [[None] * 3, [10.0, None, 30.0]])
def test_chinese_charts_carry_no_english_words(progresses: list[float | None]) -> None:
    rated = works(progresses)
    milestones = [progress.Milestone("projects", "w0", dt.date(2024, 5, 1), "首次纳入(在建)")]
    frame = rated[["layer", "status"]]
    for chart in (
        charts.progress_chart(rated, "zh", LAYERS),
        charts.status_chart(frame, "zh", LAYERS),
        charts.gantt_chart(rated, milestones, dt.date(2025, 1, 1), "zh", LAYERS),
    ):
        shown = words_shown(spec(chart))
        assert shown and [w for w in shown if LATIN_WORD.search(w)] == []


def test_the_charts_follow_the_registry_a_new_progress_layer_in_and_a_layer_without_progress_out() -> None:
    layers = registry.add_layer(
        LAYERS, "parks", name_zh="公园绿地", name_en="Parks", role="overlay", tracks_progress=True
    )
    layers = registry.add_layer(layers, "schools", name_zh="学校", name_en="Schools", role="overlay")
    rated = works([10.0, 20.0, 30.0, 40.0]).assign(layer=["parks", "schools", "roads", "projects"])
    progress_rows = [r for rows in spec(charts.progress_chart(rated, "zh", layers))["datasets"].values() for r in rows]
    assert {r["layer"] for r in progress_rows} == {"parks", "roads", "projects"}
    # In the registry's order: the five projects, the roads, then the new parks.
    assert [r["layer"] for r in progress_rows if "progress_text" in r] == ["projects", "roads", "parks"]
    status = spec(charts.status_chart(rated[["layer", "status"]], "en", layers))
    assert {r["layer_label"] for rows in status["datasets"].values() for r in rows} == {
        "Parks",
        "Nine road works",
        "Five urban projects",
    }
    assert status["encoding"]["y"]["sort"] == [
        "Five urban projects",
        "High-speed rail link",
        "Nine road works",
        "Parks",
    ]
