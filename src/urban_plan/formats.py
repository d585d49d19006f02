"""GIS files read through GDAL (GeoPackage, File Geodatabase, KML), ECharts-encoded GeoJSON, and short CRS names."""

# `ingest` owns the limits, the zip checks and the problems users see; this module does the reading that needs GDAL
# or pyproj, never builds a geometry (it hands over WKB and counts its vertices from the headers) and raises `Refused`
# with the problem to show. Nothing here writes outside the temporary folder `ingest` gives it.

from __future__ import annotations

import contextlib
import re
import struct
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from urban_plan.schema import Problem

# What each GDAL-read kind is called in messages and `detected["format"]`.
KIND_NAMES: dict[str, str] = {"gpkg": "GeoPackage", "gdb": "File Geodatabase", "kml": "KML"}
# LIBKML's own columns that say how Google Earth draws a placemark, not what it is: never data.
KML_DRAWING_COLUMNS = frozenset({"altitudeMode", "tessellate", "extrude", "visibility", "drawOrder", "icon"})
# LIBKML columns that are data when a file fills them (a TimeSpan, a placemark id), noise when every row is empty.
KML_OPTIONAL_COLUMNS = frozenset({"id", "timestamp", "begin", "end", "snippet"})
# Datums without a published grid to WGS84 in PROJ: the conversion is a ballpark one (tens to ~100 m off).
APPROXIMATE_DATUMS = ("Beijing 1954", "Xian 1980", "New Beijing")
MAX_WKB_DEPTH = 8


class Refused(Exception):
    """Stop reading: the file as a whole cannot be used (the problem says why)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


def refuse(code: str, found: str, **params: str) -> Refused:
    return Refused(Problem(code, "*", "", found, tuple(params.items())))


@dataclass
class RawLayer:
    """One layer as GDAL gave it: attribute rows, WKB per feature (None: no geometry) and the declared CRS."""

    records: list[dict[str, Any]]
    wkb: np.ndarray
    fields: list[str]
    crs: str | None = None  # "EPSG:n" when pyproj recognises it, else the CRS as GDAL wrote it (WKT)
    notes: dict[str, str] = field(default_factory=dict)


def _configure() -> None:
    """LIBKML turns every character outside [A-Za-z0-9_] of an ExtendedData name into "_" unless told not to: two
    Chinese columns (建设单位, 用地面积) would both become "____________" and one would overwrite the other."""
    import pyogrio

    pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": "NO"})


@contextlib.contextmanager
def gdal_messages() -> Iterator[list[str]]:
    """Collect the warnings GDAL (through pyogrio), pyproj and shapely raise while a file is read, instead of letting
    Python print them to stderr (the CLI's --json output must be JSON only). Yields the list of messages, each once."""
    collected: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield collected
        finally:
            for item in caught:
                text = _gdal_text(str(item.message))[:200]
                if text and text not in collected:
                    collected.append(text)


# --- GDAL formats --------------------------------------------------------------------------------------------------


def layer_names(path: Path) -> list[str]:
    """The layers with geometry in a GeoPackage, geodatabase or KML, in the file's order (tables without geometry
    are not map layers). Refused when GDAL cannot open the file."""
    import pyogrio

    _configure()
    try:
        listed = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio's DataSourceError and GDAL's other errors: the file is not what it says
        raise refuse("unreadable_file", _gdal_text(exc), format=_kind_of(path)) from exc
    return [str(name) for name, geometry_type in listed if geometry_type is not None]


def pick_layer(names: list[str], wanted: str | None) -> str:
    """The layer to read: the one asked for, or the only one. Several and none asked: the uploader must choose."""
    if not names:
        raise refuse("no_map_layers", "")
    listing = ", ".join(names)[:400]
    if wanted is not None:
        if wanted not in names:
            raise refuse("unknown_source_layer", listing, layer=str(wanted)[:80], count=str(len(names)))
        return wanted
    if len(names) > 1:
        raise refuse("choose_layer", listing, count=str(len(names)))
    return names[0]


def layer_info(path: Path, layer: str) -> tuple[int, list[str]]:
    """(features, fields) of one layer without reading its features."""
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer=layer, force_feature_count=True)
    except Exception as exc:
        raise refuse("unreadable_file", _gdal_text(exc), format=_kind_of(path)) from exc
    return int(info["features"]), [str(name) for name in info["fields"]]


def read_layer(path: Path, layer: str, kind: str) -> RawLayer:
    """Attributes and WKB of one layer; geometries are built by the caller once the limits are checked."""
    import pandas as pd
    import pyogrio.raw

    _configure()
    try:
        meta, _, wkb, columns = pyogrio.raw.read(path, layer=layer)
    except Exception as exc:
        raise refuse("unreadable_file", _gdal_text(exc), format=KIND_NAMES.get(kind, kind)) from exc
    names = [str(name) for name in meta["fields"]]
    frame = pd.DataFrame({name: column for name, column in zip(names, columns, strict=True)}, index=None)
    if kind == "kml":
        frame = _kml_columns(frame)
    names = list(frame.columns)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records") if names else [{} for _ in wkb]
    geometries = np.asarray(wkb, dtype=object) if wkb is not None else np.full(len(records), None, dtype=object)
    crs = meta.get("crs")
    return RawLayer(records, geometries, names, crs_identifier(crs) if crs else None)


def _kml_columns(frame: Any) -> Any:
    """Name, description and ExtendedData stay; drawing instructions go; id/time columns go when nothing fills them."""
    drop = [c for c in frame.columns if c in KML_DRAWING_COLUMNS]
    drop += [c for c in frame.columns if c in KML_OPTIONAL_COLUMNS and not frame[c].notna().any()]
    return frame.drop(columns=drop)


def _kind_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return KIND_NAMES.get(suffix, suffix.upper())


def _gdal_text(message: Exception | str) -> str:
    """GDAL's message without the temporary path it names (the user never saw that path)."""
    text = " ".join(str(message).split())
    text = re.sub(r"/[^\s:'\"]*upload-[^\s:'\"]*", "…", text)
    return text[:160]


def kml_prescan(data: bytes, max_features: int, max_vertices: int) -> None:
    """Count placemarks and coordinate tuples in the raw KML before GDAL builds its document tree (which costs many
    times the file's size): files certainly over the limits are refused unread. Exact counts follow from the WKB."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"<kml" not in data[:65536] and not head.startswith(b"<?xml"):
        raise refuse("unreadable_file", "no <kml> element", format="KML")
    placemarks = data.count(b"<Placemark")
    if placemarks > max_features:
        raise refuse("too_many_features", str(placemarks), limit=str(max_features))
    # A tuple is "x,y" or "x,y,z": at least half the commas inside <coordinates> are tuples; gx:coord is one each.
    # All the file's commas bound that from above, counted in milliseconds: the exact scan only when it may matter.
    tracks = data.count(b"<gx:coord>")
    if data.count(b",") // 2 + tracks <= max_vertices:
        return
    commas = sum(m.group(1).count(b",") for m in re.finditer(rb"<coordinates>([^<]*)</coordinates>", data))
    tuples = commas // 2 + tracks
    if tuples > max_vertices:
        raise refuse("too_many_vertices", f"≥ {tuples}", limit=str(max_vertices))


# --- WKB sizes -----------------------------------------------------------------------------------------------------


def wkb_sizes(wkb: np.ndarray, max_parts: int) -> tuple[np.ndarray, np.ndarray]:
    """(vertices, parts) per feature read from the WKB headers, as ingest counts them for GeoJSON and shapefiles:
    a point is one part, a line one, a polygon one per ring. Coordinates are skipped, never decoded. A count over
    `max_parts` stops the walk (the feature is refused for its parts); unreadable WKB counts as empty (it is then
    reported as a geometry that cannot be read)."""
    vertices = np.zeros(len(wkb), dtype=np.int64)
    parts = np.zeros(len(wkb), dtype=np.int64)
    for index, blob in enumerate(wkb):
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            continue
        try:
            vertices[index], parts[index], _ = _wkb_walk(bytes(blob), 0, 0, max_parts)
        except _TooManyParts as over:
            parts[index] = over.parts
        except (struct.error, IndexError, ValueError, KeyError):
            pass
    return vertices, parts


class _TooManyParts(Exception):
    def __init__(self, parts: int) -> None:
        super().__init__(parts)
        self.parts = parts


def _wkb_walk(data: bytes, pos: int, depth: int, max_parts: int) -> tuple[int, int, int]:
    """(vertices, parts, end offset) of the WKB geometry at `pos`: OGC/ISO type codes (Z=1000s, M=2000s, ZM=3000s)
    and the EWKB flags GDAL writes for 2.5-D (0x80000000 Z, 0x40000000 M, 0x20000000 SRID)."""
    if depth > MAX_WKB_DEPTH:
        raise ValueError("nested too deeply")
    order = "<" if data[pos] == 1 else ">"
    (code,) = struct.unpack_from(order + "I", data, pos + 1)
    pos += 5
    dims = 2 + bool(code & 0x80000000) + bool(code & 0x40000000)
    if code & 0x20000000:
        pos += 4
    base = code & 0x0FFFFFFF
    if base >= 1000:
        dims = 2 + {1: 1, 2: 1, 3: 2}[base // 1000]
        base %= 1000
    size = 8 * dims
    if base == 1:  # Point
        return 1, 1, pos + size
    (count,) = struct.unpack_from(order + "I", data, pos)
    pos += 4
    if base in (2, 8):  # LineString, CircularString
        if pos + count * size > len(data):
            raise ValueError("truncated")
        return count, 1, pos + count * size
    if count > max_parts:
        raise _TooManyParts(count)
    if base in (3, 17):  # Polygon, Triangle: rings of points
        total = 0
        for _ in range(count):
            (points,) = struct.unpack_from(order + "I", data, pos)
            pos += 4 + points * size
            total += points
        if pos > len(data):
            raise ValueError("truncated")
        return total, count, pos
    if base not in (4, 5, 6, 7, 9, 10, 11, 12, 15, 16):
        raise ValueError(f"geometry type {base}")
    vertices = parts = 0
    for _ in range(count):  # multi-geometries and collections: each member is a whole WKB geometry
        v, p, pos = _wkb_walk(data, pos, depth + 1, max_parts)
        vertices += v
        parts += p
        if parts > max_parts:
            raise _TooManyParts(parts)
    return vertices, (1 if base == 9 else parts), pos  # a CompoundCurve is one line made of pieces


# --- coordinate reference systems ----------------------------------------------------------------------------------


def crs_identifier(crs: Any) -> str | None:
    """How a declared CRS is passed on: "EPSG:n" when pyproj recognises it (an ESRI .prj for CGCS2000 GK CM 117E is
    EPSG:4548), else the text as given. Refused when it cannot be converted to WGS84 at all (a CAD drawing's local
    system): the user is told its short name, not its WKT."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        parsed = crs if isinstance(crs, CRS) else CRS.from_user_input(crs)
    except CRSError:
        return str(crs)  # ingest reports a CRS pyproj does not know, by its (short) name
    epsg = parsed.to_epsg(min_confidence=70)
    if epsg:
        return f"EPSG:{epsg}"
    text = parsed.to_wkt()
    if _to_wgs84(text) is None:
        raise refuse("unknown_crs", crs_label(text))
    return text


@cache
def _to_wgs84(crs: str) -> Any:
    from pyproj import Transformer
    from pyproj.exceptions import ProjError

    try:
        return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    except ProjError:  # CRSError is one too
        return None


@cache
def crs_label(crs: str) -> str:
    """A CRS as people read it: "CGCS2000 / 3-degree Gauss-Kruger CM 117E (EPSG:4548)" for EPSG:4548, a .prj's WKT
    or a legacy GeoJSON name. Never hundreds of characters of WKT: what pyproj cannot name is cut short."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if crs == "EPSG:4326+swap":
        return "WGS 84 (EPSG:4326), lat/lon"
    try:
        parsed = CRS.from_user_input(crs)
    except CRSError:
        text = " ".join(crs.split())
        return text if len(text) <= 80 else text[:77] + "…"
    epsg = parsed.to_epsg(min_confidence=70)
    if epsg:
        return f"{CRS.from_epsg(epsg).name} (EPSG:{epsg})"
    return parsed.name[:80] or "?"


def approximate_datum(crs: str) -> str | None:
    """The datum's name when converting `crs` to WGS84 is only approximate (Beijing-1954, Xian-1980), else None."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        parsed = CRS.from_user_input(crs)
    except CRSError:
        return None
    names = [parsed.name, getattr(parsed.datum, "name", "") or ""]
    return next((d for d in APPROXIMATE_DATUMS if any(d.lower() in n.lower() for n in names)), None)


# --- ECharts / DataV encoded GeoJSON -------------------------------------------------------------------------------


def is_echarts_encoded(doc: Mapping[str, Any], features: list[Any]) -> bool:
    """ECharts' compressed GeoJSON (`"UTF8Encoding": true`, rings as strings with `encodeOffsets`), as the map files
    shipped for ECharts and some DataV copies are."""
    if doc.get("UTF8Encoding"):
        return True
    for feature in features[:20]:
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if isinstance(geometry, dict) and "encodeOffsets" in geometry:
            return True
    return False


def echarts_size(geometry: Any) -> tuple[int, int] | None:
    """(vertices, parts) of an encoded geometry from its strings' lengths (two UTF-16 units per vertex, as decoded);
    None when the geometry is not encoded (its plain coordinates are counted as any GeoJSON's)."""
    if not isinstance(geometry, dict) or "encodeOffsets" not in geometry:
        return None
    rings = _encoded_rings(geometry.get("type"), geometry.get("coordinates"))
    if not rings:
        return None
    return sum(len(r.encode("utf-16-le", "surrogatepass")) // 4 for r in rings), len(rings)


def _encoded_rings(kind: Any, coordinates: Any) -> list[str]:
    if isinstance(coordinates, str):
        return [coordinates]
    if not isinstance(coordinates, list):
        return []
    if kind == "MultiPolygon":
        return [r for polygon in coordinates if isinstance(polygon, list) for r in polygon if isinstance(r, str)]
    return [r for r in coordinates if isinstance(r, str)]


def decode_echarts(geometry: Any, scale: float) -> Any:
    """A plain GeoJSON geometry from an encoded one (ECharts' parseGeoJson: per ring, each character pair is a
    zig-zag encoded difference from the previous point, starting at the ring's encodeOffsets, in 1/scale degrees).
    Geometries that are not encoded come back as they are; a malformed one is refused."""
    if echarts_size(geometry) is None:
        return geometry
    kind, coordinates, offsets = geometry.get("type"), geometry.get("coordinates"), geometry.get("encodeOffsets")
    try:
        if kind == "LineString":
            decoded: Any = _decode_ring(coordinates, offsets, scale)
        elif kind in ("Polygon", "MultiLineString"):
            decoded = [_decode_ring(r, o, scale) for r, o in zip(coordinates, offsets, strict=True)]
        elif kind == "MultiPolygon":
            decoded = [
                [_decode_ring(r, o, scale) for r, o in zip(rings, ring_offsets, strict=True)]
                for rings, ring_offsets in zip(coordinates, offsets, strict=True)
            ]
        else:
            raise ValueError(str(kind))
    except (TypeError, ValueError) as exc:
        raise refuse("echarts_bad", str(kind)[:40]) from exc
    return {"type": kind, "coordinates": decoded}


def _decode_ring(text: Any, offset: Any, scale: float) -> list[list[float]]:
    if not isinstance(text, str) or not isinstance(offset, list) or len(offset) != 2:
        raise ValueError("ring")
    # JavaScript's charCodeAt counts UTF-16 code units: decode the same units, astral characters included.
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype="<u2").astype(np.int64) - 64
    if len(units) % 2:
        raise ValueError("odd length")
    zigzag = (units >> 1) ^ -(units & 1)
    start = np.asarray([float(offset[0]), float(offset[1])])
    points = (np.cumsum(zigzag.reshape(-1, 2), axis=0) + start) / scale
    return points.tolist()
