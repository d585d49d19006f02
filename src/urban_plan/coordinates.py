"""Read a point as planners paste it (decimal or 度分秒, lon/lat in either order, Gauss-Krüger metres) and show it
in WGS84, GCJ-02, BD-09 and CGCS2000 Gauss-Krüger EPSG:4548."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from urban_plan import datum

SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09", "gk4548")
MAX_INPUT = 200


class CoordinateError(ValueError):
    """The text is not a point we can read; `code` names a message (coords.<code>)."""

    def __init__(self, code: str, found: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.found = found


@dataclass(frozen=True)
class Point:
    """A point in WGS84, and what was understood while reading it (for the user to check)."""

    lon: float
    lat: float
    swapped: bool = False  # the text gave latitude first


def parse(text: str, system: str) -> Point:
    """The WGS84 point for `text` read in `system` (one of SYSTEMS). Raises CoordinateError with a reason."""
    if system not in SYSTEMS:
        raise CoordinateError("unknown_system", system)
    cleaned = text.strip()[:MAX_INPUT]
    numbers = _numbers(cleaned)
    if len(numbers) != 2:
        raise CoordinateError("two_numbers", cleaned)
    a, b = numbers
    if system == "gk4548":
        return _from_gauss_kruger(a, b)
    lon, lat, swapped = _order(a, b)
    if not datum.in_china(lon, lat):
        raise CoordinateError("outside_china", f"{lon:.6f}, {lat:.6f}")
    if system != "wgs84":
        lon, lat = datum.convert_point(lon, lat, system, "wgs84")
    return Point(lon, lat, swapped)


def represent(point: Point) -> dict[str, tuple[str, str]]:
    """The point in every system, as the two strings planners copy: (lon, lat) or (easting, northing)."""
    out: dict[str, tuple[str, str]] = {"wgs84": (f"{point.lon:.6f}", f"{point.lat:.6f}")}
    for system in ("gcj02", "bd09"):
        lon, lat = datum.convert_point(point.lon, point.lat, "wgs84", system)
        out[system] = (f"{lon:.6f}", f"{lat:.6f}")
    x, y = datum.gauss_kruger_4548(point.lon, point.lat)
    out["gk4548"] = (f"{float(x):.2f}", f"{float(y):.2f}")
    return out


def dms(value: float, positive: str, negative: str) -> str:
    """117.170000 -> 117°10'12.00"E (for reading out loud; copying uses decimals)."""
    hemisphere = positive if value >= 0 else negative
    value = abs(value)
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = (minutes_full - minutes) * 60
    return f"{degrees}°{minutes:02d}'{seconds:05.2f}\"{hemisphere}"


_DMS = re.compile(
    r"(\d+(?:\.\d+)?)\s*[°度]\s*(?:(\d+(?:\.\d+)?)\s*['′分])?\s*(?:(\d+(?:\.\d+)?)\s*[\"″秒])?\s*([NSEW东西南北])?",
    re.IGNORECASE,
)


def _numbers(text: str) -> list[float]:
    """Two numbers from decimal text ("117.17, 36.98", "117.17 36.98", "36.98，117.17") or 度分秒."""
    if re.search(r"[°度]", text):
        values = []
        for match in _DMS.finditer(text):
            degrees, minutes, seconds, hemisphere = match.groups()
            value = float(degrees) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
            if hemisphere and hemisphere.upper() in ("S", "W", "西", "南"):
                value = -value
            values.append(value)
        return values
    parts = [p for p in re.split(r"[\s,，;；/]+", text) if p]
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError as exc:
            raise CoordinateError("not_a_number", part[:40]) from exc
        if not math.isfinite(value):
            raise CoordinateError("not_a_number", part[:40])
        values.append(value)
    return values


def _order(a: float, b: float) -> tuple[float, float, bool]:
    """(lon, lat, swapped): in China longitude (73-135) is always larger than latitude (3-54)."""
    return (b, a, True) if a < b else (a, b, False)


def _from_gauss_kruger(x: float, y: float) -> Point:
    def easting(v: float) -> bool:
        return 250_000 < v < 750_000 or 39_250_000 < v < 39_750_000  # with or without the zone-39 prefix

    def northing(v: float) -> bool:
        return 3_000_000 < v < 6_000_000

    swapped = False
    if northing(x) and easting(y):  # northing pasted first
        x, y, swapped = y, x, True
    if not (easting(x) and northing(y)):
        raise CoordinateError("not_gauss_kruger", f"{x:.2f}, {y:.2f}")
    lon, lat = datum.from_gauss_kruger_4548(x % 1_000_000 if x > 1_000_000 else x, y)  # drop the 39 zone prefix
    return Point(float(lon), float(lat), swapped)
