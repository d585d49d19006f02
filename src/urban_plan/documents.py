"""Small versioned documents kept beside the layers: the dashboard's targets table (and saved views)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from urban_plan import registry, schema

ARTICLE = "济阳区2023年工作部署报道(2023-01-11)/ January 2023 article"
SRC_2023_END = "http://jinan.sdnews.com.cn/qx/202401/t20240117_4342483.htm"

TARGET_FIELDS = (
    "id",
    "label_zh",
    "label_en",
    "target",
    "unit_zh",
    "unit_en",
    "reported",
    "reported_as_of",
    "source",
    "note",
    "layer",  # optional: the layer (tracking progress) whose features the dashboard counts beside this target
)


def validate_targets(payload: Any) -> list[str]:
    """Problems with a targets table: rows with unique ids, non-negative numbers, ISO dates, bounded text."""
    if not isinstance(payload, dict) or not isinstance(payload.get("rows"), list):
        return ["targets: expected {'rows': [...]}"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, row in enumerate(payload["rows"], start=1):
        if not isinstance(row, dict):
            problems.append(f"row {index}: not an object")
            continue
        rid = row.get("id")
        if not (isinstance(rid, str) and schema.ID_PATTERN.match(rid)):
            problems.append(f"row {index}: bad id {rid!r}")
        elif rid in seen:
            problems.append(f"row {index}: duplicate id {rid}")
        seen.add(str(rid))
        for name in ("target", "reported"):
            value = row.get(name)
            if value is None and name == "reported":
                continue
            if not _non_negative_number(value):
                problems.append(f"{rid}.{name}: expected a number >= 0, found {value!r}")
        as_of = row.get("reported_as_of")
        if as_of is not None:
            try:
                dt.date.fromisoformat(str(as_of))
            except ValueError:
                problems.append(f"{rid}.reported_as_of: expected YYYY-MM-DD, found {as_of!r}")
        if row.get("reported") is not None and as_of is None:
            problems.append(f"{rid}.reported_as_of: a reported value needs the date it describes")
        for name in ("label_zh", "label_en", "unit_zh", "unit_en", "source", "note"):
            value = row.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > schema.MAX_TEXT_LENGTH):
                problems.append(f"{rid}.{name}: expected text up to {schema.MAX_TEXT_LENGTH} characters")
        layer = row.get("layer")
        if layer is not None and not (isinstance(layer, str) and registry.ID_PATTERN.fullmatch(layer)):
            problems.append(f"{rid}.layer: expected a layer id, found {layer!r}")
        unknown = set(row) - set(TARGET_FIELDS)
        if unknown:
            problems.append(f"{rid}: unknown fields {sorted(unknown)}")
    return problems


def seed_targets() -> list[tuple[str, dict[str, Any], str]]:
    """The article's 2023 targets, then what was reported at 2023 year-end: (as_of, payload, message)."""
    rows = [
        _row(
            "five_projects_investment",
            "五大项目总投资",
            "Five urban projects, total investment",
            135.8,
            "亿元",
            "yi yuan",
            "总额来自文章;各项目分项未公开 / the total is the article's; the split is not public",
            layer="projects",
        ),
        _row(
            "road_works",
            "新改扩建道路",
            "Road works (new, rebuilt, widened)",
            9,
            "条",
            "roads",
            "名称未公开 / names not public",
            layer="roads",
        ),
        _row(
            "resettlement_flats",
            "竣工安置房",
            "Resettlement flats completed",
            4600,
            "套",
            "flats",
            "2023年目标 / 2023 target",
        ),
        _row(
            "key_projects",
            "区级重点项目",
            "District key projects",
            87,
            "个",
            "projects",
            "2023年推动建成投产 / to be brought into operation in 2023",
        ),
        _row(
            "key_projects_investment",
            "重点项目年度投资",
            "Key projects, annual investment",
            94,
            "亿元",
            "yi yuan",
            "2023年度 / for 2023",
        ),
    ]
    first = {"rows": rows}
    year_end = {"rows": [dict(r) for r in rows]}
    for row in year_end["rows"]:
        if row["id"] == "resettlement_flats":
            row.update(
                reported=2156,
                reported_as_of="2023-12-31",
                source=SRC_2023_END,
                note="2023年末竣工2156套(47%);星河、仁风社区交付,更衣亭、丽景花园、凤凰社区在建 / 2,156 "
                "completed at 2023 year-end (47%)",
            )
    return [
        ("2023-01-11", first, "文章中的2023年目标 / the article's 2023 targets"),
        ("2023-12-31", year_end, f"2023年末安置房进展 / resettlement progress at 2023 year-end ({SRC_2023_END})"),
    ]


def _row(
    rid: str,
    label_zh: str,
    label_en: str,
    target: float,
    unit_zh: str,
    unit_en: str,
    note: str,
    layer: str | None = None,
) -> dict[str, Any]:
    return {
        "id": rid,
        "label_zh": label_zh,
        "label_en": label_en,
        "target": target,
        "unit_zh": unit_zh,
        "unit_en": unit_en,
        "reported": None,
        "reported_as_of": None,
        "source": ARTICLE,
        "note": note,
        "layer": layer,
    }


def _non_negative_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def validate_views(payload: Any) -> list[str]:
    """Saved presentation views (a title and the view's URL parameters) and saved meeting dates."""
    from urban_plan import viewstate  # viewstate imports filters; keep this module's import light

    if not isinstance(payload, dict) or not isinstance(payload.get("views"), list):
        return ["views: expected {'views': [...], 'meetings': [...]}"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, view in enumerate(payload["views"], start=1):
        if not isinstance(view, dict) or set(view) - {"id", "title_zh", "title_en", "query"}:
            problems.append(f"view {index}: expected id, title_zh, title_en, query")
            continue
        vid = view.get("id")
        if not (isinstance(vid, str) and schema.ID_PATTERN.match(vid)) or vid in seen:
            problems.append(f"view {index}: bad or duplicate id {vid!r}")
        seen.add(str(vid))
        for name in ("title_zh", "title_en"):
            if not isinstance(view.get(name), str) or len(view[name]) > 200:
                problems.append(f"{vid}.{name}: expected text up to 200 characters")
        query = view.get("query")
        if not isinstance(query, dict) or not all(isinstance(v, str) for v in query.values()):
            problems.append(f"{vid}.query: expected text parameters")
            continue
        unknown = set(query) - set(viewstate.PARAMETERS)
        _, ignored = viewstate.from_query(query)
        if unknown or ignored:
            problems.append(f"{vid}.query: invalid parameters {sorted(unknown | set(ignored))}")
    meetings = payload.get("meetings", [])
    if not isinstance(meetings, list):
        return [*problems, "meetings: expected a list of dates"]
    for value in meetings:
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            problems.append(f"meetings: {value!r} is not YYYY-MM-DD")
    if set(payload) - {"views", "meetings"}:
        problems.append(f"views: unknown members {sorted(set(payload) - {'views', 'meetings'})}")
    return problems


def empty_views() -> dict[str, Any]:
    return {"views": [], "meetings": []}


VALIDATORS = {"targets": validate_targets, "views": validate_views}
