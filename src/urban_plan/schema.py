"""Layer definitions, feature fields, status and confidence codes, and the rules every stored feature follows."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from urban_plan import fieldtypes

if TYPE_CHECKING:
    from urban_plan.registry import LayerDef

STATUSES: tuple[str, ...] = ("planned", "in_progress", "completed")
CONFIDENCES: tuple[str, ...] = ("surveyed", "approximate", "placeholder")
# The colour-free cue for each status (legend, tooltip, details): empty, half and full, like the work itself.
STATUS_SYMBOLS: dict[str, str] = {"planned": "○", "in_progress": "◐", "completed": "●"}

# Canonical feature properties, in display order: the fields every layer has, with a fixed meaning. A layer's own
# extra columns are open attributes declared in the registry (registry.py). id and name_zh are always required,
# status too in layers that track progress (LayerDef.required_fields).
FIELDS: tuple[str, ...] = (
    "id",
    "name_zh",
    "name_en",
    "kind",
    "status",
    "progress",
    "start_date",
    "end_date",
    "investment_yi",
    "source",
    "confidence",
    "note",
)
_FIELD_SET = frozenset(FIELDS)
TEXT_FIELDS: tuple[str, ...] = ("id", "name_zh", "name_en", "kind", "source", "note")
DATE_FIELDS: tuple[str, ...] = ("start_date", "end_date")

# Ids appear in URLs, file names and the map's click hook: keep them to a safe, readable alphabet (CJK allowed).
ID_PATTERN = re.compile(r"^[0-9A-Za-z_.\-\u3400-\u9fff]{1,64}$")
MAX_TEXT_LENGTH = 2000

GEOMETRY_FAMILIES: dict[str, str] = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "MultiLineString": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
}


# The article's one fixed money figure: the five projects together. The split between them is not public.
FIVE_PROJECTS_TOTAL_YI = 135.8
ARTICLE_SOURCE = "济阳区 2023 年工作部署报道(2023-01-11)/ January 2023 article on Jiyang's 2023 plan"

# Words planners' data uses for status, mapped to the canonical codes (matched case-insensitively, trimmed).
STATUS_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        ["planned", "plan", "proposed", "not started", "规划", "前期", "拟建", "计划", "未开工", "待建", "筹建"],
        "planned",
    ),
    **dict.fromkeys(
        [
            "in_progress",
            "in progress",
            "under construction",
            "ongoing",
            "started",
            "construction",
            "在建",
            "施工中",
            "推进中",
            "建设中",
            "实施中",
            "已开工",
            "续建",
        ],
        "in_progress",
    ),
    **dict.fromkeys(
        ["completed", "complete", "done", "finished", "已完工", "竣工", "建成", "完工", "已建成", "已竣工", "通车"],
        "completed",
    ),
}

CONFIDENCE_ALIASES: dict[str, str] = {
    **dict.fromkeys(["surveyed", "survey", "实测", "测绘", "已测"], "surveyed"),
    **dict.fromkeys(["approximate", "approx", "sketch", "示意", "近似", "概略"], "approximate"),
    **dict.fromkeys(["placeholder", "待核实", "占位", "未核实", "unverified"], "placeholder"),
}

# Field names seen in Chinese GIS exports, mapped to canonical fields (matched after trimming, case-insensitively).
FIELD_ALIASES: dict[str, str] = {
    **dict.fromkeys(["id", "编号", "项目编号", "代码", "标识", "code"], "id"),
    **dict.fromkeys(["name_zh", "名称", "项目名称", "中文名", "中文名称", "名字", "name", "道路名称"], "name_zh"),
    **dict.fromkeys(["name_en", "英文名", "英文名称", "english name", "name_english"], "name_en"),
    **dict.fromkeys(["kind", "类型", "类别", "种类", "type", "category"], "kind"),
    **dict.fromkeys(["status", "状态", "建设状态", "进展状态", "项目状态"], "status"),
    **dict.fromkeys(["progress", "进度", "完成进度", "形象进度", "进度(%)", "进度（%）", "完成率"], "progress"),
    **dict.fromkeys(["start_date", "开工日期", "开工时间", "开始日期", "start"], "start_date"),
    **dict.fromkeys(
        ["end_date", "计划完工日期", "计划竣工日期", "完工日期", "竣工日期", "计划完成日期", "end", "planned_end"],
        "end_date",
    ),
    **dict.fromkeys(
        [
            "investment_yi",
            "投资(亿元)",
            "投资（亿元）",
            "总投资(亿元)",
            "总投资（亿元）",
            "投资额(亿元)",
            "投资",
            "总投资",
        ],
        "investment_yi",
    ),
    **dict.fromkeys(["source", "来源", "数据来源", "资料来源", "出处"], "source"),
    **dict.fromkeys(["confidence", "可信度", "置信度", "精度", "位置精度"], "confidence"),
    **dict.fromkeys(["note", "备注", "说明", "notes", "remark", "remarks"], "note"),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one feature: which feature, which field, what was found, what was expected.

    `code` names a message in the locale files (problem.<code>); `params` fill it in either language.
    """

    code: str
    feature: str  # feature id, or "#<row>" (1-based) when the id itself is missing
    field: str
    found: str
    params: tuple[tuple[str, str], ...] = ()
    severity: str = "error"  # "error" blocks publishing; "warning" is shown and allowed


def canonical_field(name: str) -> str | None:
    """The canonical field a source field name maps to, or None. Shapefile names cut to 10 bytes by the .dbf
    format (计划完工日期 -> 计划完工日 in GBK) are recognised too."""
    key = _norm(name)
    return FIELD_ALIASES.get(key) or _truncated_aliases().get(key)


@functools.cache
def _truncated_aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for alias, target in FIELD_ALIASES.items():
        for encoding in ("gb18030", "utf-8"):
            raw = alias.encode(encoding)
            if len(raw) > 10:
                cut = raw[:10].decode(encoding, errors="ignore")
                if len(cut) >= 2 and cut not in FIELD_ALIASES:
                    out.setdefault(cut, target)
    return out


def parse_status(value: Any) -> str | None:
    """A status code from a canonical code, a Chinese or an English status word; None if not recognised."""
    if value is None:
        return None
    return STATUS_ALIASES.get(_norm(str(value)).replace("-", " ").replace("_", " ")) or STATUS_ALIASES.get(
        _norm(str(value))
    )


def parse_confidence(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return CONFIDENCE_ALIASES.get(_norm(str(value)))


def parse_date(value: Any) -> dt.date | None:
    """A date from ISO text (2026-09-30, 2026/9/30, 2026.9.30, 2026年9月30日), or a date; raises ValueError."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?", text)
    if not m:
        raise ValueError(text)
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def is_blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def validate_properties(props: dict[str, Any], row: int, layer: LayerDef) -> list[Problem]:
    """Check one feature's properties (as stored) against its layer: the canonical fields' rules, then each open
    attribute against its declared type. An attribute the registry does not declare is refused: the registry must
    know every column (an import declares new ones before it publishes). Returns the problems, empty when valid."""
    fid = props.get("id")
    who = str(fid) if isinstance(fid, str) and fid else f"#{row}"
    problems: list[Problem] = []
    for name in layer.required_fields:
        if is_blank(props.get(name)):
            problems.append(Problem("missing_required", who, name, ""))
    declared = {f.name: f for f in layer.fields}
    for name, value in props.items():
        if name in _FIELD_SET:
            continue
        spec = declared.get(name)
        if spec is None:
            problems.append(Problem("undeclared_field", who, name, str(value)[:80]))
        elif spec.required and is_blank(value):
            problems.append(Problem("missing_required", who, name, ""))
        elif not fieldtypes.fits(value, spec.type, spec.option_values()):
            problems.append(Problem("bad_attribute", who, name, str(value)[:80], (("type", spec.type),)))
    for spec in declared.values():
        if spec.required and spec.name not in props:
            problems.append(Problem("missing_required", who, spec.name, ""))
    if isinstance(fid, str) and fid and not ID_PATTERN.match(fid):
        problems.append(Problem("bad_id", who, "id", fid))
    status = props.get("status")
    if not is_blank(status) and status not in STATUSES:
        problems.append(Problem("bad_status", who, "status", str(status)))
    conf = props.get("confidence")
    if not is_blank(conf) and conf not in CONFIDENCES:
        problems.append(Problem("bad_confidence", who, "confidence", str(conf)))
    progress = props.get("progress")
    if progress is not None and not (_is_number(progress) and 0 <= float(progress) <= 100):
        problems.append(Problem("bad_progress", who, "progress", str(progress)))
    inv = props.get("investment_yi")
    if inv is not None and not (_is_number(inv) and float(inv) >= 0):
        problems.append(Problem("bad_investment", who, "investment_yi", str(inv)))
    dates: dict[str, dt.date | None] = {}
    for name in DATE_FIELDS:
        value = props.get(name)
        if value is None:
            continue
        if not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
            problems.append(Problem("bad_date", who, name, str(value)))
            continue
        try:
            dates[name] = dt.date.fromisoformat(value)
        except ValueError:
            problems.append(Problem("bad_date", who, name, str(value)))
    if dates.get("start_date") and dates.get("end_date") and dates["start_date"] > dates["end_date"]:
        problems.append(
            Problem("dates_out_of_order", who, "end_date", str(props["end_date"]), (("start", props["start_date"]),))
        )
    for name in TEXT_FIELDS:
        value = props.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(Problem("not_text", who, name, str(value)[:80]))
        elif isinstance(value, str) and len(value) > MAX_TEXT_LENGTH:
            problems.append(Problem("text_too_long", who, name, f"{len(value)}", (("max", str(MAX_TEXT_LENGTH)),)))
    return problems


def validate_collection(fc: dict[str, Any], layer: LayerDef) -> list[Problem]:
    """Check a canonical FeatureCollection for a layer: structure, every feature's properties, a readable
    geometry of the layer's family with finite coordinates, unique ids."""
    spec = layer
    features = fc.get("features") if isinstance(fc, dict) else None
    if not isinstance(features, list):
        return [Problem("not_geojson", "*", "features", type(features).__name__)]
    problems: list[Problem] = []
    seen: set[str] = set()
    to_parse: list[tuple[str, str]] = []  # (feature label, geometry JSON) checked together below
    for row, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            problems.append(Problem("not_a_feature", f"#{row}", "", type(feature).__name__))
            continue
        props = feature.get("properties")
        if props is not None and not isinstance(props, dict):
            problems.append(Problem("bad_properties", f"#{row}", "properties", type(props).__name__))
            continue
        props = props or {}
        problems += validate_properties(props, row, layer)
        fid = props.get("id")
        who = str(fid) if isinstance(fid, str) and fid else f"#{row}"
        if isinstance(fid, str):
            if fid in seen:
                problems.append(Problem("duplicate_id", fid, "id", fid))
            seen.add(fid)
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict):
            problems.append(Problem("missing_geometry", who, "geometry", type(geometry).__name__))
            continue
        family = GEOMETRY_FAMILIES.get(str(geometry.get("type", "")))
        if family is None or family not in spec.families:
            allowed = "/".join(sorted(spec.families))
            found = str(geometry.get("type"))[:40]
            problems.append(Problem("wrong_geometry", who, "geometry", found, (("allowed", allowed),)))
            continue
        try:
            to_parse.append((who, json.dumps(geometry, allow_nan=False)))
        except (ValueError, TypeError):
            problems.append(Problem("coordinates_not_finite", who, "geometry", "NaN/Inf"))
    return problems + _geometry_problems(to_parse)


def _geometry_problems(items: list[tuple[str, str]]) -> list[Problem]:
    """Parse all geometries in one vectorised call: unreadable, empty or non-finite ones are problems."""
    if not items:
        return []
    texts = np.array([text for _, text in items], dtype=object)
    try:
        shapes = shapely.from_geojson(texts, on_invalid="ignore")
    except shapely.errors.GEOSException:  # a member GEOS rejects outright: find it one by one
        shapes = np.array([_parse_one(text) for text in texts], dtype=object)
    problems = []
    missing = shapely.is_missing(shapes) | shapely.is_empty(shapes)
    coords, owner = shapely.get_coordinates(shapes[~missing], return_index=True)
    bad = set(np.flatnonzero(~missing)[np.unique(owner[~np.isfinite(coords).all(axis=1)])].tolist())
    for index, (who, _) in enumerate(items):
        if missing[index]:
            problems.append(Problem("missing_geometry", who, "geometry", "empty or unreadable"))
        elif index in bad:
            problems.append(Problem("coordinates_not_finite", who, "geometry", "NaN/Inf"))
    return problems


def _parse_one(text: str) -> Any:
    try:
        return shapely.from_geojson(text, on_invalid="ignore")
    except shapely.errors.GEOSException:
        return None


def empty_properties() -> dict[str, Any]:
    return dict.fromkeys(FIELDS)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())
