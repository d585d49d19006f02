"""The shareable view (language, filters, basemap ...) to and from URL query parameters, which are untrusted."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from urban_plan import basemaps, schema
from urban_plan.filters import AttributeFilter, Criteria
from urban_plan.i18n import DEFAULT_LANG, LANGS
from urban_plan.registry import ID_PATTERN, Registry

BASEMAPS: tuple[str, ...] = basemaps.BASEMAP_IDS
MAX_PARAM_LENGTH = 600
# Enum-field filters carry field names and values (any text, Chinese included) as JSON: a longer limit.
MAX_ATTRS_LENGTH = 4000
MAX_ATTR_FILTERS = 20
MAX_ATTR_VALUES = 50
PARAMETERS = (
    "asof",
    "compare",
    "colour",
    "extent",
    "view",
    "lang",
    "basemap",
    "status",
    "layers",
    "kinds",
    "progress",
    "end",
    "unreported",
    "undated",
    "approx",
    "placeholder",
    "attrs",
)
_KIND_PATTERN = re.compile(r"^[0-9A-Za-z_.\-\u3400-\u9fff]{1,40}$")


COLOUR_MODES: tuple[str, ...] = ("status", "rating")


@dataclass(frozen=True)
class Extent:
    """A map view: centre and zoom (kept in the URL so a shared link opens on the same place)."""

    lat: float
    lon: float
    zoom: float


@dataclass(frozen=True)
class ViewState:
    lang: str = DEFAULT_LANG
    criteria: Criteria = field(default_factory=Criteria)
    basemap: str = "none"
    as_of: dt.date | None = None  # None: the current data
    compare: dt.date | None = None  # highlight what changed since this date
    colour_by: str = "status"
    extent: Extent | None = None
    view: str | None = None  # the saved view being presented


def to_query(state: ViewState) -> dict[str, str]:
    """Only what differs from the defaults, so a plain link stays plain."""
    c, d = state.criteria, Criteria()
    out: dict[str, str] = {}
    if state.lang != DEFAULT_LANG:
        out["lang"] = state.lang
    if c.statuses != d.statuses:
        out["status"] = ",".join(s for s in schema.STATUSES if s in c.statuses)
    if (c.progress_min, c.progress_max) != (d.progress_min, d.progress_max):
        out["progress"] = f"{c.progress_min}-{c.progress_max}"
    if not c.include_unreported:
        out["unreported"] = "0"
    if c.end_from or c.end_to:
        out["end"] = f"{c.end_from.isoformat() if c.end_from else ''}..{c.end_to.isoformat() if c.end_to else ''}"
    if not c.include_undated:
        out["undated"] = "0"
    if c.layers is not None:
        out["layers"] = ",".join(sorted(c.layers))
    if c.kinds is not None:
        out["kinds"] = ",".join(sorted(c.kinds))
    if not c.show_approximate:
        out["approx"] = "0"
    if not c.show_placeholder:
        out["placeholder"] = "0"
    if c.attributes:
        chosen: dict[str, dict[str, list[str]]] = {}
        for layer, name, values in c.attributes:
            chosen.setdefault(layer, {})[name] = sorted(values)
        out["attrs"] = json.dumps(chosen, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if state.basemap != "none":
        out["basemap"] = state.basemap
    if state.as_of:
        out["asof"] = state.as_of.isoformat()
    if state.compare:
        out["compare"] = state.compare.isoformat()
    if state.colour_by != "status":
        out["colour"] = state.colour_by
    if state.extent:
        out["extent"] = f"{state.extent.lat:.5f},{state.extent.lon:.5f},{state.extent.zoom:g}"
    if state.view:
        out["view"] = state.view
    return out


def from_query(params: Mapping[str, Any], registry: Registry | None = None) -> tuple[ViewState, list[str]]:
    """Parse, clamp and allowlist; returns the state and the names of parameters that were ignored (wholly or in
    part). With `registry`, layers and enum-field filters are checked against it: a layer, field or value it does
    not have (archived, renamed, never there) is left out and its parameter named; without it, only their form."""
    ignored: list[str] = []
    values: dict[str, str] = {}
    for key, raw in params.items():
        if key not in PARAMETERS:
            continue  # other pages' parameters (e.g. history's layer) are theirs to read; unknown ones are ignored
        value = raw[-1] if isinstance(raw, list) and raw else raw
        limit = MAX_ATTRS_LENGTH if key == "attrs" else MAX_PARAM_LENGTH
        if not isinstance(value, str) or len(value) > limit:
            ignored.append(key)  # only our own names are ever echoed back to the user
            continue
        values[key] = value.strip()

    state = ViewState()
    criteria = Criteria()
    partly: list[str] = []  # what a parser left out (unknown layers, fields, values): its parameter is named
    parsers = {
        "lang": lambda v: {"lang": _one_of(v, LANGS)},
        "basemap": lambda v: {"basemap": _one_of(v, BASEMAPS)},
        "status": lambda v: {"statuses": _subset(v, schema.STATUSES)},
        "layers": lambda v: {"layers": _layers(v, registry, partly)},
        "attrs": lambda v: {"attributes": _attributes(v, registry, partly)},
        "kinds": lambda v: {"kinds": _kinds(v)},
        "progress": _progress,
        "end": _end_window,
        "unreported": lambda v: {"include_unreported": _flag(v)},
        "undated": lambda v: {"include_undated": _flag(v)},
        "approx": lambda v: {"show_approximate": _flag(v)},
        "placeholder": lambda v: {"show_placeholder": _flag(v)},
        "asof": lambda v: {"as_of": _date(v)},
        "compare": lambda v: {"compare": _date(v)},
        "colour": lambda v: {"colour_by": _one_of(v, COLOUR_MODES)},
        "extent": lambda v: {"extent": _extent(v)},
        "view": lambda v: {"view": _view_id(v)},
    }
    for key, value in values.items():
        partly.clear()
        try:
            update = parsers[key](value)
        except ValueError:
            ignored.append(key)
            continue
        if partly:
            ignored.append(key)
        for name, parsed in update.items():
            if name in VIEW_FIELDS:
                state = replace(state, **{name: parsed})
            else:
                criteria = replace(criteria, **{name: parsed})
    return replace(state, criteria=criteria), ignored


VIEW_FIELDS = ("lang", "basemap", "as_of", "compare", "colour_by", "extent", "view")


def _date(value: str) -> dt.date:
    parsed = dt.date.fromisoformat(value)  # ValueError for anything else
    if not dt.date(1990, 1, 1) <= parsed <= dt.date(2100, 12, 31):
        raise ValueError(value)
    return parsed


def _extent(value: str) -> Extent:
    lat, lon, zoom = (float(x) for x in value.split(","))
    if not (30 < lat < 45 and 110 < lon < 125 and 5 <= zoom <= 19):  # somewhere around Shandong
        raise ValueError(value)
    return Extent(round(lat, 5), round(lon, 5), zoom)


def _view_id(value: str) -> str:
    if not _KIND_PATTERN.match(value):
        raise ValueError(value)
    return value


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(value)
    return value


def _subset(value: str, allowed: tuple[str, ...]) -> frozenset[str]:
    items = {item.strip() for item in value.split(",") if item.strip()}
    if not items <= set(allowed):
        raise ValueError(value)
    return frozenset(items)


def _layers(value: str, registry: Registry | None, dropped: list[str]) -> frozenset[str]:
    """Overlay layer ids; with a registry, the ones it does not have as active overlays are left out."""
    items = {item.strip() for item in value.split(",") if item.strip()}
    if len(items) > 100 or not all(ID_PATTERN.fullmatch(item) for item in items):
        raise ValueError(value)
    if registry is not None and items:
        known = items & set(registry.overlays())
        dropped += sorted(items - known)
        if not known:  # nothing left of the choice: the default (every layer) rather than an empty map
            raise ValueError(value)
        items = known
    return frozenset(items)


def _attributes(value: str, registry: Registry | None, dropped: list[str]) -> tuple[AttributeFilter, ...]:
    """Enum-field filters, as JSON {layer: {field: [values]}}; with a registry, layers, fields (enum only) and
    values it does not have are left out."""
    data = json.loads(value)  # JSONDecodeError is a ValueError
    if not isinstance(data, dict):
        raise ValueError(value)
    out = []
    for layer, fields in data.items():
        if not ID_PATTERN.fullmatch(layer) or not isinstance(fields, dict):
            raise ValueError(value)
        for name, chosen in fields.items():
            if (
                not name
                or len(name) > 64
                or not isinstance(chosen, list)
                or len(chosen) > MAX_ATTR_VALUES
                or not all(isinstance(v, str) and 0 < len(v) <= 200 for v in chosen)
            ):
                raise ValueError(value)
            values = frozenset(chosen)
            if registry is not None:
                spec = registry[layer].field(name) if layer in registry.overlays() else None
                if spec is None or spec.type != "enum":
                    dropped.append(f"{layer}.{name}")
                    continue
                known = values & set(spec.option_values())
                if known != values:
                    dropped.append(f"{layer}.{name}")
                    if not known:  # none of the chosen values exists any more: no filter rather than no features
                        continue
                values = known
            out.append((layer, name, values))
    if len(out) > MAX_ATTR_FILTERS:
        raise ValueError(value)
    return tuple(sorted(out, key=lambda item: item[:2]))


def _kinds(value: str) -> frozenset[str]:
    items = {item.strip() for item in value.split(",") if item.strip()}
    if len(items) > 50 or not all(_KIND_PATTERN.match(item) for item in items):
        raise ValueError(value)
    return frozenset(items)


def _flag(value: str) -> bool:
    if value not in ("0", "1"):
        raise ValueError(value)
    return value == "1"


def _progress(value: str) -> dict[str, int]:
    m = re.fullmatch(r"(\d{1,3})-(\d{1,3})", value)
    if not m:
        raise ValueError(value)
    low, high = sorted((min(int(m.group(1)), 100), min(int(m.group(2)), 100)))
    return {"progress_min": low, "progress_max": high}


def _end_window(value: str) -> dict[str, dt.date | None]:
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})?\.\.(\d{4}-\d{2}-\d{2})?", value)
    if not m:
        raise ValueError(value)
    start = dt.date.fromisoformat(m.group(1)) if m.group(1) else None
    end = dt.date.fromisoformat(m.group(2)) if m.group(2) else None
    if start and end and start > end:
        start, end = end, start
    return {"end_from": start, "end_to": end}
