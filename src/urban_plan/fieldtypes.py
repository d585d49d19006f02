"""Open attribute types: what an extra column of a layer may hold, how a value is checked, read from an upload,
and how a column's type is guessed from its values the first time it appears.

The canonical fields (schema.FIELDS) keep their own rules; these are for every other column a bureau's file has
(建设单位, 用地面积, 批复文号 …), which are kept under their original names.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from typing import Any

TYPES: tuple[str, ...] = ("text", "number", "date", "enum", "boolean", "json")
MAX_TEXT_LENGTH = 2000
MAX_JSON_LENGTH = 20_000  # one nested value, as JSON text
MAX_ENUM_OPTIONS = 50
ENUM_MAX_DISTINCT = 12  # a text column with at most this many distinct values, each repeated, is proposed as enum
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LEADING_ZERO = re.compile(r"0\d+")
_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?")


def is_blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
        or type(value).__name__ == "NaTType"  # pandas' missing date, as GDAL's date columns arrive in a frame
    )


def fits(value: Any, type_: str, options: Iterable[str] = ()) -> bool:
    """Whether a stored value fits a declared type (None always fits: required-ness is checked apart)."""
    if value is None:
        return True
    if type_ == "text":
        return isinstance(value, str) and len(value) <= MAX_TEXT_LENGTH
    if type_ == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if type_ == "date":
        return isinstance(value, str) and bool(ISO_DATE.fullmatch(value)) and _valid_iso(value)
    if type_ == "enum":
        return isinstance(value, str) and value in set(options)
    if type_ == "boolean":
        return isinstance(value, bool)
    if type_ == "json":
        try:
            return len(json.dumps(value, ensure_ascii=False, allow_nan=False)) <= MAX_JSON_LENGTH
        except (TypeError, ValueError):
            return False
    return False


def coerce(value: Any, type_: str) -> tuple[Any, bool]:
    """An upload's value as the declared type would store it: (value, ok). Blank becomes None; a number written as
    text ("12.5") becomes a number, a date object or 2026/9/30 an ISO date, 是/否 a boolean. Not ok: kept as found,
    for the problem report."""
    if is_blank(value):
        return None, True
    if isinstance(value, str):
        value = value.strip()
    if type_ == "text":
        if isinstance(value, (dict, list)):
            return value, False
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = value if isinstance(value, str) else _plain_text(value)
        return text, len(text) <= MAX_TEXT_LENGTH
    if type_ == "enum":
        return (value if isinstance(value, str) else _plain_text(value)), True  # membership is checked by the caller
    if type_ == "number":
        if isinstance(value, bool):
            return value, False
        if isinstance(value, (int, float)):
            return (_tidy_number(value), True) if math.isfinite(value) else (value, False)
        number = _number_text(value) if isinstance(value, str) else None
        return (number, True) if number is not None else (value, False)
    if type_ == "date":
        iso = date_text(value)
        return (iso, True) if iso else (value, False)
    if type_ == "boolean":
        if isinstance(value, bool):
            return value, True
        word = str(value).strip().lower()
        if word in _TRUE_WORDS:
            return True, True
        if word in _FALSE_WORDS:
            return False, True
        return value, False
    if type_ == "json":
        return value, fits(value, "json")
    return value, False


def infer(values: Iterable[Any]) -> tuple[str, tuple[str, ...]]:
    """The type a column's values suggest, and for an enum its values in first-seen order. Cautious: a column is a
    number, date or boolean only when every non-blank value reads as one; text with a few repeated values is an enum
    (it then becomes a filter on the map; an editor can change the type later)."""
    present = [v.strip() if isinstance(v, str) else v for v in values if not is_blank(v)]
    if not present:
        return "text", ()
    if any(isinstance(v, (dict, list)) for v in present):
        return "json", ()
    if all(isinstance(v, bool) for v in present):
        return "boolean", ()
    if all(not isinstance(v, bool) and (isinstance(v, (int, float)) or _number_text(v) is not None) for v in present):
        if all(not isinstance(v, str) for v in present) or any("." in str(v) for v in present):
            return "number", ()
        # digits with a leading zero ("0101", "007") are codes: as numbers they would lose the zero
        if not any(isinstance(v, str) and _LEADING_ZERO.fullmatch(v.lstrip("+-")) for v in present):
            return "number", ()
        return "text", ()
    if all(date_text(v) for v in present):  # a datetime with a time of day is not a date: kept as text
        return "date", ()
    texts = [v if isinstance(v, str) else _plain_text(v) for v in present]
    distinct = list(dict.fromkeys(texts))
    if len(distinct) <= ENUM_MAX_DISTINCT and len(texts) >= 2 * len(distinct) and all(len(t) <= 40 for t in distinct):
        return "enum", tuple(distinct)
    return "text", ()


def date_text(value: Any) -> str | None:
    """ISO date text for a date, a datetime at midnight or text such as 2026/9/30 or 2026年9月30日; else None."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else None
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return date_text(value.to_pydatetime())
    if not isinstance(value, str):
        return None
    m = _DATE_TEXT.fullmatch(value.strip())
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


_TRUE_WORDS = {"true", "yes", "y", "1", "是", "有", "√"}
_FALSE_WORDS = {"false", "no", "n", "0", "否", "无", "×"}


def _valid_iso(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _number_text(text: Any) -> float | int | None:
    if not isinstance(text, str):
        return None
    cleaned = text.replace(",", "").replace(",", "").strip()
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", cleaned):
        return None
    number = float(cleaned)
    return _tidy_number(number) if math.isfinite(number) else None


def _tidy_number(number: float | int) -> float | int:
    """Whole numbers stay integers, so 12 does not come back as 12.0 after a round trip."""
    if isinstance(number, float) and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def _plain_text(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
