"""Read an uploaded layer as planners' GIS exports it, check it against the layer's rules, and normalise it.

Pure functions used by the upload page and the CLI alike. Every problem is reported per feature and field in the
user's language (see `problems.py`); a malformed, hostile or huge file produces problems, never an exception.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import math
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely

from urban_plan import datum, schema
from urban_plan.schema import Problem

# Limits, each checked before the work it protects: sizes and counts come from the zip directory, the shapefile's
# headers or the parsed GeoJSON lists, never from geometries already built. The one place they are defined.
MAX_BYTES = 50 * 1024 * 1024
MAX_FEATURES = 100_000
MAX_VERTICES = 5_000_000  # the whole file
MAX_FEATURE_VERTICES = 200_000  # one feature: far beyond any parcel, road or rail line a planner draws
MAX_PARTS = 10_000  # rings, lines or points of one feature (a MultiPoint's points are its parts)
MAX_PROPERTIES = 200  # fields of one feature
MAX_FIELDS = 200  # distinct field names in the whole file
MAX_ZIP_ENTRIES = 50
MAX_ZIP_TOTAL = 300 * 1024 * 1024
MAX_ZIP_RATIO = 200  # uncompressed / compressed, per entry
DISTRICT_MARGIN_DEG = 0.03  # about 3 km around the boundary
COORDINATE_DECIMALS = 7  # RFC 7946's recommendation: about 1 cm
PLAUSIBLE_YEARS = (1990, 2060)

SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml", ".qmd"}
BOUNDARY_FILE = Path(__file__).resolve().parents[2] / "geodata" / "sources" / "jiyang_boundary.geojson"
NULL_WORDS = {"", "-", "—", "/", "null", "none", "n/a", "na", "未报告", "无", "不详", "未知", "待定"}


@dataclass(frozen=True)
class Options:
    """What the uploader decided: target layer, declared datum, field mapping, whether to repair geometry."""

    layer: str
    datum: str = "wgs84"  # wgs84 | gcj02 | bd09: what the coordinates were picked in
    field_map: dict[str, str | None] | None = None  # source field -> canonical field (None: drop); None = automatic
    repair: bool = False
    source_name: str = ""  # shown in the default `source` of features that name none


@dataclass
class Result:
    """The outcome of reading an upload. `collection` is set when there are no errors."""

    collection: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)
    source_fields: list[str] = field(default_factory=list)
    field_map: dict[str, str | None] = field(default_factory=dict)  # what was applied
    detected: dict[str, str] = field(default_factory=dict)  # encoding, crs, datum, axis order, z, repairs ...
    feature_count: int = 0
    invalid_geometry: int = 0  # invalid shapes that a repair could fix

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.collection is not None and not self.errors


def limits() -> dict[str, int]:
    """The limits in force, by name (read when called: tests lower them), for help texts and checks."""
    return {name: value for name, value in globals().items() if name.startswith("MAX_") and isinstance(value, int)}


class _Reject(Exception):
    """Stop reading: the file as a whole cannot be used (the problem says why)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


def read_upload(name: str, data: bytes, options: Options) -> Result:
    """Read, check and normalise an upload. Never raises for bad input: problems are in the result."""
    result = Result()
    if options.layer not in schema.LAYERS:
        result.problems.append(_file_problem("unknown_layer", options.layer))
        return result
    if options.datum not in datum.DATUMS:
        result.problems.append(_file_problem("unknown_datum", options.datum))
        return result
    try:
        if len(data) > MAX_BYTES:
            raise _Reject(
                _file_problem("file_too_large", f"{len(data) / 1e6:.1f} MB", limit=f"{MAX_BYTES // 10**6} MB")
            )
        suffix = Path(name).suffix.lower()
        if suffix in (".geojson", ".json"):
            table = _read_geojson(data, result)
        elif suffix == ".zip":
            table = _read_zipped_shapefile(data, result)
        else:
            raise _Reject(_file_problem("unsupported_file", suffix or name[:40]))
        _check_counts(table)
        _normalise(table, options, result)
    except _Reject as reject:
        result.problems.append(reject.problem)
    except (MemoryError, RecursionError):
        result.problems.append(_file_problem("too_complex", name[:80]))
    return result


# --- reading ---------------------------------------------------------------------------------------------------


@dataclass
class _Table:
    """Features as read: properties as found, geometries (shapely, may be None), and what the file said of its CRS."""

    properties: list[dict[str, Any]]
    geometries: np.ndarray
    crs: str | None = None  # as declared by the file (legacy GeoJSON crs member, .prj)
    fields: list[str] = field(default_factory=list)
    parsed: list[Any] | None = None  # GeoJSON only: the geometry members as parsed, reused when unchanged


def _read_geojson(data: bytes, result: Result) -> _Table:
    text = _decode(data, result)
    try:
        with _no_cycle_collection():
            doc = orjson.loads(text)  # ~1.6x faster than json on big layers; strict: no NaN, no 1e999
    except orjson.JSONDecodeError:
        doc = None  # the standard parser below names the problem as users are told it
    try:
        if doc is None:
            with _no_cycle_collection():  # 1e999 -> inf is caught where numbers are used
                doc = json.loads(text, parse_constant=_reject_constant)
    except _Reject:
        raise
    except ValueError as exc:  # JSONDecodeError, huge integers
        raise _Reject(_file_problem("not_json", str(exc)[:120])) from exc
    if not isinstance(doc, dict):
        raise _Reject(_file_problem("not_geojson", type(doc).__name__))
    if doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise _Reject(_file_problem("not_geojson", str(doc.get("type"))[:40]))
    features = doc["features"]
    if len(features) > MAX_FEATURES:
        raise _Reject(_file_problem("too_many_features", str(len(features)), limit=str(MAX_FEATURES)))
    crs = _legacy_crs(doc.get("crs"))
    properties: list[dict[str, Any]] = []
    parsed: list[Any] = []
    fields: dict[str, None] = {}
    vertices = 0
    for row, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise _Reject(Problem("not_a_feature", f"#{row}", "", str(type(feature).__name__)))
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise _Reject(Problem("bad_properties", f"#{row}", "properties", type(props).__name__))
        if len(props) > MAX_PROPERTIES:
            raise _Reject(
                Problem("too_many_properties", f"#{row}", "", str(len(props)), (("limit", str(MAX_PROPERTIES)),))
            )
        if isinstance(feature.get("id"), (str, int)) and not any(schema.canonical_field(k) == "id" for k in props):
            props = {"id": feature["id"], **props}  # GeoJSON's own feature id counts when no column is the id
        fields.update(dict.fromkeys(props))
        if len(fields) > MAX_FIELDS:  # each name would become a column, a mapping row and a form field
            raise _Reject(Problem("too_many_fields", f"#{row}", "", str(len(fields)), (("limit", str(MAX_FIELDS)),)))
        geometry = feature.get("geometry")
        vertices += _check_feature_size(*_geojson_size(geometry), lambda p=props, r=row: _early_label(p, r))
        properties.append(props)
        parsed.append(geometry)
    if vertices > MAX_VERTICES:  # counted on the parsed lists: nothing has been built yet
        raise _Reject(_file_problem("too_many_vertices", str(vertices), limit=str(MAX_VERTICES)))
    geometries = _fast_polygons(parsed)
    if geometries is None:  # anything but simple polygons: let GEOS parse each geometry's GeoJSON
        geometries = _parse_geometries([json.dumps(g) if isinstance(g, dict) else None for g in parsed])
    return _Table(properties, geometries, crs, list(fields), parsed)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Parsing makes millions of lists and dicts, none in a cycle; Python's cycle collector would walk the growing
    heap again and again meanwhile (a 1.8-million-point file parsed 3x slower with it on)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _geojson_size(geometry: Any, depth: int = 0) -> tuple[int, int]:
    """(vertices, parts) of a parsed GeoJSON geometry, from list lengths only: O(parts), not O(vertices).
    Anything malformed counts as empty here; GEOS reports it when the geometry is read."""
    if depth > 8:  # collections of collections: nothing a GIS exports, and not counted cheaply
        raise _Reject(_file_problem("too_complex", "GeometryCollection"))
    if not isinstance(geometry, dict):
        return 0, 0
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list):
            return 0, 0
        if len(members) > MAX_PARTS:
            return 0, len(members)
        sizes = [_geojson_size(g, depth + 1) for g in members]
        return sum(v for v, _ in sizes), sum(p for _, p in sizes)
    coords = geometry.get("coordinates")
    if not isinstance(coords, list):
        return 0, 0
    if kind == "Point":
        return 1, 1
    if kind in ("MultiPoint", "LineString"):
        return len(coords), len(coords) if kind == "MultiPoint" else 1
    if kind in ("MultiLineString", "Polygon"):
        if len(coords) > MAX_PARTS:
            return 0, len(coords)  # refused for its parts: no need to count further
        return sum(len(c) for c in coords if isinstance(c, list)), len(coords)
    if kind == "MultiPolygon":
        rings = [r for polygon in coords if isinstance(polygon, list) for r in polygon[: MAX_PARTS + 1]]
        if len(rings) > MAX_PARTS:
            return 0, len(rings)
        return sum(len(r) for r in rings if isinstance(r, list)), len(rings)
    return 0, 0


def _check_feature_size(vertices: int, parts: int, label: Any) -> int:
    """Refuse one feature over the per-feature limits (named by `label()`, built only then); its vertices."""
    if vertices > MAX_FEATURE_VERTICES:
        limit = (("limit", str(MAX_FEATURE_VERTICES)),)
        raise _Reject(Problem("feature_too_many_vertices", label(), "geometry", str(vertices), limit))
    if parts > MAX_PARTS:
        raise _Reject(Problem("feature_too_many_parts", label(), "geometry", str(parts), (("limit", str(MAX_PARTS)),)))
    return vertices


def _early_label(props: dict[str, Any], row: int) -> str:
    """A feature's id as the file gives it (before fields are mapped), else its row number."""
    for key, value in props.items():
        if schema.canonical_field(key) == "id" and not schema.is_blank(value) and isinstance(value, (str, int, float)):
            return str(value)[:64]
    return f"#{row}"


def _fast_polygons(members: list[Any]) -> np.ndarray | None:
    """Shapely polygons straight from parsed coordinates when every member is a plain 2-D Polygon with finite
    numbers (land parcels): one vectorised call instead of dumping and re-parsing each geometry. None otherwise."""
    if not members:
        return np.empty(0, dtype=object)
    rings: list[Any] = []
    ring_counts: list[int] = []
    for member in members:
        if not isinstance(member, dict) or member.get("type") != "Polygon":
            return None
        coordinates = member.get("coordinates")
        if not isinstance(coordinates, list) or not coordinates:
            return None
        rings.extend(coordinates)
        ring_counts.append(len(coordinates))
    try:
        arrays = [np.asarray(ring, dtype=float) for ring in rings]
    except (TypeError, ValueError):
        return None
    if not all(a.ndim == 2 and a.shape[1] == 2 and len(a) >= 4 for a in arrays):
        return None  # Z values, short rings, ragged pairs: the general path reports them properly
    coords = np.concatenate(arrays)
    if not np.isfinite(coords).all():
        return None
    ring_offsets = np.concatenate([[0], np.cumsum([len(a) for a in arrays])])
    polygon_offsets = np.concatenate([[0], np.cumsum(ring_counts)])
    return shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, (ring_offsets, polygon_offsets))


def _parse_geometries(texts: list[str | None]) -> np.ndarray:
    """Vectorised parse; a geometry GEOS cannot read becomes None and is reported as missing or unreadable."""
    try:
        return shapely.from_geojson(np.array(texts, dtype=object), on_invalid="ignore")
    except shapely.errors.GEOSException:  # one bad member spoils the batch: parse one by one to find it
        out = np.empty(len(texts), dtype=object)
        for i, text in enumerate(texts):
            try:
                out[i] = shapely.from_geojson(text, on_invalid="ignore") if text else None
            except shapely.errors.GEOSException:
                out[i] = None
        return out


def _decode(data: bytes, result: Result) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK), as Chinese desktop GIS writes."""
    if data.startswith(b"\xef\xbb\xbf"):
        result.detected["encoding"] = "UTF-8 (BOM)"
        data = data[3:]
    try:
        text = data.decode("utf-8")
        result.detected.setdefault("encoding", "UTF-8")
        return text
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise _Reject(_file_problem("unknown_encoding", f"byte {exc.start}")) from exc
    if "\x00" in text:  # binary data happens to decode as GB18030; it is not text
        raise _Reject(_file_problem("unknown_encoding", "binary"))
    result.detected["encoding"] = "GBK/GB18030"
    return text


def _reject_constant(name: str) -> Any:
    raise _Reject(_file_problem("not_finite", name))


def _legacy_crs(member: Any) -> str | None:
    """The CRS named by a pre-RFC-7946 `crs` member (GDAL and many Chinese tools still write it)."""
    if not isinstance(member, dict):
        return None
    name = (member.get("properties") or {}).get("name") if isinstance(member.get("properties"), dict) else None
    if not isinstance(name, str):
        return None
    m = re.search(r"EPSG:{1,2}(?:[\d.]*:)?(\d{4,6})$", name.strip(), flags=re.I)
    if m:
        return f"EPSG:{m.group(1)}"
    if re.search(r"CRS84$", name.strip(), flags=re.I):
        return "EPSG:4326"
    return name[:200]


def _read_zipped_shapefile(data: bytes, result: Result) -> _Table:
    """Check the archive before GDAL sees it (entries, sizes, ratios, paths, links), then read it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise _Reject(_file_problem("bad_zip", str(exc)[:80])) from exc
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _Reject(_file_problem("zip_too_many_entries", str(len(entries)), limit=str(MAX_ZIP_ENTRIES)))
    total = 0
    wanted: dict[str, zipfile.ZipInfo] = {}
    for entry in entries:
        name = entry.filename
        if name.startswith(("/", "\\")) or ".." in Path(name.replace("\\", "/")).parts or ":" in name:
            raise _Reject(_file_problem("zip_bad_path", name[:80]))
        if stat.S_ISLNK(entry.external_attr >> 16):
            raise _Reject(_file_problem("zip_symlink", name[:80]))
        if entry.flag_bits & 0x1:
            raise _Reject(_file_problem("zip_encrypted", name[:80]))
        if entry.is_dir() or name.startswith("__MACOSX/") or Path(name).name.startswith("."):
            continue
        total += entry.file_size
        if total > MAX_ZIP_TOTAL:
            raise _Reject(_file_problem("zip_too_large", f"{total / 1e6:.0f} MB", limit=f"{MAX_ZIP_TOTAL // 10**6} MB"))
        if entry.compress_size and entry.file_size / entry.compress_size > MAX_ZIP_RATIO:
            raise _Reject(_file_problem("zip_ratio", name[:80], limit=str(MAX_ZIP_RATIO)))
        suffix = Path(name).suffix.lower()
        if suffix in SHAPEFILE_PARTS:
            wanted[name] = entry
    shps = [n for n in wanted if n.lower().endswith(".shp")]
    if len(shps) != 1:
        raise _Reject(_file_problem("zip_needs_one_shapefile", str(len(shps))))
    stem = shps[0][:-4]
    parts = {Path(n).suffix.lower(): e for n, e in wanted.items() if n[: len(stem)] == stem and len(n) - len(stem) <= 4}
    for required in (".shx", ".dbf"):
        if required not in parts:
            raise _Reject(_file_problem("zip_missing_part", required))
    # The index holds one 8-byte entry per feature after a 100-byte header: the feature count before extracting.
    indexed = max(0, parts[".shx"].file_size - 100) // 8
    if indexed > MAX_FEATURES:
        raise _Reject(_file_problem("too_many_features", str(indexed), limit=str(MAX_FEATURES)))
    with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
        for suffix, entry in parts.items():
            _extract_limited(archive, entry, Path(tmp) / f"layer{suffix}")
        return _read_shapefile(Path(tmp) / "layer.shp", result)


def _extract_limited(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, target: Path) -> None:
    """Stream one entry out, stopping at its declared size: a header that lies cannot fill the disk."""
    written = 0
    try:
        with archive.open(entry) as source, target.open("wb") as out:
            while chunk := source.read(1 << 20):
                written += len(chunk)
                if written > entry.file_size or written > MAX_ZIP_TOTAL:
                    raise _Reject(_file_problem("zip_ratio", entry.filename[:80], limit=str(MAX_ZIP_RATIO)))
                out.write(chunk)
    # Corrupt streams, encrypted or unsupported entries, lying offsets: all mean "not a usable archive".
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, ValueError, zlib.error) as exc:
        raise _Reject(_file_problem("bad_zip", str(exc)[:80])) from exc


def _read_shapefile(path: Path, result: Result) -> _Table:
    import pyogrio

    names = _dbf_field_names(path.with_suffix(".dbf"))
    if len(names) > MAX_PROPERTIES:
        raise _Reject(_file_problem("too_many_properties", str(len(names)), limit=str(MAX_PROPERTIES)))
    _check_shapefile_counts(path)  # from the headers: GDAL builds nothing of a file that is refused
    cpg = path.with_suffix(".cpg")
    declared = cpg.read_text(errors="replace").strip().upper() if cpg.exists() else ""
    if declared in ("936", "CP936", "GBK", "GB2312", "GB18030", "CP_936"):
        encodings = ["GB18030"]
    elif declared.replace("-", "") in ("UTF8", "65001"):
        encodings = ["UTF-8"]
    else:
        encodings = ["UTF-8", "GB18030"]  # no .cpg, as Chinese desktop GIS often writes: try UTF-8, then GBK
    last_error: Exception | None = None
    for encoding in encodings:
        try:
            frame = pyogrio.read_dataframe(path, encoding=encoding)
        except UnicodeDecodeError as exc:
            last_error = exc
            if encoding == "UTF-8" and _trim_dbf_field_names(path.with_suffix(".dbf"), names):
                # GDAL cuts long UTF-8 names at 10 bytes, mid-character (开工日期 is 12): trimmed, try again
                try:
                    frame = pyogrio.read_dataframe(path, encoding=encoding)
                except UnicodeDecodeError:
                    _write_dbf_field_names(path.with_suffix(".dbf"), names)  # as it was, for the next encoding
                    continue
            else:
                continue
        except Exception as exc:  # GDAL's own errors (DataSourceError, FieldError ...) for a broken shapefile
            raise _Reject(_file_problem("bad_shapefile", str(exc)[:120])) from exc
        result.detected["encoding"] = "GBK/GB18030" if encoding == "GB18030" else "UTF-8"
        if len(frame) > MAX_FEATURES:
            raise _Reject(_file_problem("too_many_features", str(len(frame)), limit=str(MAX_FEATURES)))
        crs = frame.crs.to_string() if frame.crs is not None else None
        if crs and (m := re.fullmatch(r"EPSG:(\d+)", crs)):
            crs = f"EPSG:{m.group(1)}"
        elif frame.crs is not None and (epsg := frame.crs.to_epsg(min_confidence=70)):
            crs = f"EPSG:{epsg}"
        fields = [c for c in frame.columns if c != "geometry"]
        records = frame[fields].astype(object).where(frame[fields].notna(), None).to_dict("records")
        return _Table(records, np.asarray(frame.geometry.values, dtype=object), crs, fields)
    raise _Reject(_file_problem("unknown_encoding", str(last_error)[:80]))


def _check_shapefile_counts(path: Path) -> None:
    """Features, then each record's parts and points from its header in the .shp, at the offsets the .shx gives
    (the ones GDAL reads from): the limits hold before any feature is read. The count is the .shx's, as GDAL's
    own (pyogrio.read_info) is: read_info itself decodes the field names and fails on names cut mid-character,
    which reading repairs later (see _trim_dbf_field_names)."""
    vertices, parts = _shapefile_record_sizes(path)
    if len(vertices) > MAX_FEATURES:
        raise _Reject(_file_problem("too_many_features", str(len(vertices)), limit=str(MAX_FEATURES)))
    over = np.flatnonzero((vertices > MAX_FEATURE_VERTICES) | (parts > MAX_PARTS))
    if len(over):  # the first feature over a limit is named
        first = int(over[0])
        _check_feature_size(int(vertices[first]), int(parts[first]), lambda: f"#{first + 1}")
    total = int(vertices.sum())
    if total > MAX_VERTICES:
        raise _Reject(_file_problem("too_many_vertices", str(total), limit=str(MAX_VERTICES)))


def _shapefile_record_sizes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(points, parts) per record, read from the record headers (ESRI shapefile technical description, 1998):
    a record is an 8-byte header, then its shape type; multipoints give the number of points after a 32-byte box,
    polylines, polygons and multipatches the number of parts and then of points. Records past the end of the file
    count as empty (GDAL cannot read them either)."""
    shx = np.fromfile(path.with_suffix(".shx"), dtype=">i4", offset=100)
    offsets = shx[: len(shx) // 2 * 2 : 2].astype(np.int64) * 2  # in 16-bit words
    size = path.stat().st_size
    if not len(offsets) or size < 8:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    shp = np.memmap(path, dtype=np.uint8, mode="r")

    def int32_at(where: np.ndarray) -> np.ndarray:
        inside = (where >= 0) & (where + 4 <= size)
        out = np.zeros(len(where), dtype=np.int64)
        if inside.any():
            raw = shp[where[inside, None] + np.arange(4)]
            out[inside] = np.ascontiguousarray(raw).view("<i4").ravel()
        return out

    kind = int32_at(offsets + 8)
    vertices = np.zeros(len(offsets), dtype=np.int64)
    parts = np.zeros(len(offsets), dtype=np.int64)
    points = np.isin(kind, (1, 11, 21))
    vertices[points] = parts[points] = 1
    multi = np.isin(kind, (8, 18, 28))
    vertices[multi] = parts[multi] = int32_at(offsets[multi] + 44)
    shaped = np.isin(kind, (3, 5, 13, 15, 23, 25, 31))
    parts[shaped] = int32_at(offsets[shaped] + 44)
    vertices[shaped] = int32_at(offsets[shaped] + 48)
    return np.maximum(vertices, 0), np.maximum(parts, 0)


def _dbf_field_names(dbf: Path) -> list[bytes]:
    """The raw field names of a .dbf header (32-byte descriptors after a 32-byte header, ended by 0x0D)."""
    with dbf.open("rb") as fh:
        header = fh.read(32)
        if len(header) < 32:
            raise _Reject(_file_problem("bad_shapefile", "dbf header"))
        header_length = int.from_bytes(header[8:10], "little")
        descriptors = fh.read(max(0, min(header_length, 1 << 20) - 32))
    names = []
    for offset in range(0, len(descriptors) - 31, 32):
        if descriptors[offset] == 0x0D:
            break
        names.append(descriptors[offset : offset + 11].split(b"\0", 1)[0])
    return names


def _trim_dbf_field_names(dbf: Path, names: list[bytes]) -> bool:
    """Drop a trailing incomplete UTF-8 sequence from each field name (our temp copy). True if any changed."""
    trimmed = [name.decode("utf-8", errors="ignore").encode("utf-8") if _utf8_cut(name) else name for name in names]
    if trimmed == names:
        return False
    _write_dbf_field_names(dbf, trimmed)
    return True


def _utf8_cut(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data"  # only a cut at the end, not a different encoding
    return False


def _write_dbf_field_names(dbf: Path, names: list[bytes]) -> None:
    with dbf.open("r+b") as fh:
        for index, name in enumerate(names):
            fh.seek(32 + 32 * index)
            fh.write(name[:11].ljust(11, b"\0"))


def _check_counts(table: _Table) -> None:
    valid = np.array([g is not None for g in table.geometries], dtype=bool)
    vertices = int(shapely.get_num_coordinates(table.geometries[valid]).sum()) if valid.any() else 0
    if vertices > MAX_VERTICES:
        raise _Reject(_file_problem("too_many_vertices", str(vertices), limit=str(MAX_VERTICES)))


# --- normalising -----------------------------------------------------------------------------------------------


def _normalise(table: _Table, options: Options, result: Result) -> None:
    result.source_fields = table.fields
    result.feature_count = len(table.properties)
    mapping = _field_mapping(table.fields, options, result)
    result.field_map = mapping
    keys = [_feature_label(props, mapping, row) for row, props in enumerate(table.properties, start=1)]
    geometries = _normalise_geometries(table, options, keys, result)
    properties = _normalise_properties(table.properties, mapping, keys, options, result)
    if result.errors:
        return
    out_geometries = _geometry_members(table, geometries)
    features = [
        {"type": "Feature", "properties": props, "geometry": geometry}
        for props, geometry in zip(properties, out_geometries, strict=True)
    ]
    # The store checks the schema again when this is published (belt and braces, and the CLI path too).
    result.collection = {"type": "FeatureCollection", "features": features}


def _geometry_members(table: _Table, geometries: np.ndarray) -> list[Any]:
    """GeoJSON geometry members for the output. Where nothing changed (WGS84 in, at most 7 decimals, no Z, no
    repair) the parsed input is reused: re-parsing tens of thousands of geometries costs more than reading them."""
    out: list[Any] = [None] * len(geometries)
    same = np.zeros(len(geometries), dtype=bool)
    if table.parsed is not None:
        original = table.geometries
        comparable = ~shapely.is_missing(original) & ~shapely.has_z(original) & ~shapely.is_missing(geometries)
        same[comparable] = shapely.equals_exact(original[comparable], geometries[comparable], tolerance=1e-9) & (
            shapely.get_type_id(original[comparable]) == shapely.get_type_id(geometries[comparable])
        )
        for index in np.flatnonzero(same):
            member = table.parsed[index]
            out[index] = {"type": member["type"], "coordinates": member["coordinates"]}
    changed = np.flatnonzero(~same)
    if len(changed):
        texts = shapely.to_geojson(geometries[changed])
        for index, geometry in zip(changed, json.loads("[" + ",".join(texts) + "]"), strict=True):
            out[index] = geometry
    return out


def _feature_label(props: dict[str, Any], mapping: dict[str, str | None], row: int) -> str:
    for source, target in mapping.items():
        if target == "id" and not schema.is_blank(props.get(source)):
            return str(props[source])[:64]
    return f"#{row}"


def _field_mapping(fields: list[str], options: Options, result: Result) -> dict[str, str | None]:
    """Source field -> canonical field: the uploader's choices first, else the known Chinese/English names."""
    mapping: dict[str, str | None] = {}
    for name in fields:
        if options.field_map is not None and name in options.field_map:
            target = options.field_map[name]
            mapping[name] = target if target in schema.FIELDS else None
        else:
            mapping[name] = schema.canonical_field(name)
    targets: dict[str, list[str]] = {}
    for name, target in mapping.items():
        if target:
            targets.setdefault(target, []).append(name)
    for target, sources in targets.items():
        if len(sources) > 1:
            result.problems.append(Problem("field_mapped_twice", "*", target, ", ".join(sources[:5])))
    dropped = [name for name, target in mapping.items() if target is None]
    if dropped:
        result.problems.append(Problem("fields_dropped", "*", "", ", ".join(dropped[:20]), severity="warning"))
    for required in schema.REQUIRED_FIELDS if fields else ():  # an empty collection has no fields to map
        if required not in targets:
            result.problems.append(Problem("required_field_unmapped", "*", required, ", ".join(fields[:20])))
    return mapping


def _normalise_geometries(table: _Table, options: Options, keys: list[str], result: Result) -> np.ndarray:
    geoms = table.geometries.copy()
    present = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    for index in np.flatnonzero(~present):
        result.problems.append(Problem("missing_geometry", keys[index], "geometry", ""))
    if not present.any():
        return geoms
    # Drop Z (and M): the map is 2-D and GeoJSON's third number would be mistaken for height everywhere.
    has_z = shapely.has_z(geoms[present])
    if has_z.any():
        geoms[present] = shapely.force_2d(geoms[present])
        result.detected["z"] = str(int(has_z.sum()))
    coords, owner = shapely.get_coordinates(geoms[present], return_index=True)
    not_finite = np.unique(owner[~np.isfinite(coords).all(axis=1)])
    for index in np.flatnonzero(present)[not_finite]:
        result.problems.append(Problem("coordinates_not_finite", keys[index], "geometry", "NaN/Inf"))
    present[np.flatnonzero(present)[not_finite]] = False
    if not present.any():
        return geoms
    coords = shapely.get_coordinates(geoms[present])
    source_crs = table.crs or _guess_crs(coords, result)
    if source_crs is None:
        (x0, y0), (x1, y1) = coords.min(axis=0), coords.max(axis=0)
        raise _Reject(_file_problem("unknown_coordinates", f"x {x0:.6g}…{x1:.6g}, y {y0:.6g}…{y1:.6g}"))
    result.detected["crs"] = f"{source_crs} ({'declared' if table.crs else 'recognised'})"
    geoms[present] = _to_wgs84(geoms[present], source_crs)
    if options.datum != "wgs84":
        geoms[present] = datum.convert_geometries(geoms[present], options.datum, "wgs84")
        result.detected["datum"] = f"{options.datum} -> wgs84"
    _check_types_and_validity(geoms, present, options, keys, result)
    _check_district(geoms, present, keys, result)
    geoms[present] = shapely.set_precision(geoms[present], 10**-COORDINATE_DECIMALS, mode="pointwise")
    return geoms


def _guess_crs(coords: np.ndarray, result: Result) -> str | None:
    """Recognise the systems Jiyang's data comes in from the numbers alone (GDAL would call them all 4326)."""
    x, y = coords[:, 0], coords[:, 1]
    if ((y > 115) & (y < 119)).all() and ((x > 35.5) & (x < 38.5)).all():
        result.detected["axis"] = "lat/lon swapped"  # latitude first, as some spreadsheets and tools write
        return "EPSG:4326+swap"
    if (np.abs(x) <= 180).all() and (np.abs(y) <= 90).all():
        return "EPSG:4326"
    if ((x > 39_300_000) & (x < 39_700_000)).all() and ((y > 3_800_000) & (y < 4_400_000)).all():
        return "EPSG:4527"  # CGCS2000 3-degree GK zone 39, easting with the zone prefix
    if ((x > 300_000) & (x < 700_000)).all() and ((y > 3_800_000) & (y < 4_400_000)).all():
        return "EPSG:4548"  # CGCS2000 3-degree GK CM 117E
    if ((x > 12_700_000) & (x < 13_300_000)).all() and ((y > 4_200_000) & (y < 4_700_000)).all():
        return "EPSG:3857"  # Web Mercator, as web maps export
    return None


def _to_wgs84(geoms: np.ndarray, crs: str) -> np.ndarray:
    if crs == "EPSG:4326":
        return geoms
    if crs == "EPSG:4326+swap":
        return shapely.transform(geoms, lambda c: c[:, ::-1])
    transformer = _transformer(crs)
    if transformer is None:
        raise _Reject(_file_problem("unknown_crs", crs[:120]))

    def project(c: np.ndarray) -> np.ndarray:
        lon, lat = transformer.transform(c[:, 0], c[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, project)


@cache
def _transformer(crs: str) -> Any:
    """A cached transformer to WGS84 lon/lat, or None for a CRS pyproj does not know."""
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        return Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
    except CRSError:
        return None


def _check_types_and_validity(
    geoms: np.ndarray, present: np.ndarray, options: Options, keys: list[str], result: Result
) -> None:
    spec = schema.LAYERS[options.layer]
    allowed = "/".join(sorted(spec.families))
    for index in np.flatnonzero(present):
        geom = geoms[index]
        family = schema.GEOMETRY_FAMILIES.get(geom.geom_type)
        if family not in spec.families:
            result.problems.append(
                Problem("wrong_geometry", keys[index], "geometry", geom.geom_type, (("allowed", allowed),))
            )
            present[index] = False
    valid = shapely.is_valid(geoms[present])
    for index in np.flatnonzero(present)[~valid]:
        reason = shapely.is_valid_reason(geoms[index])
        if options.repair:
            repaired = _repair(geoms[index])
            if repaired is not None and schema.GEOMETRY_FAMILIES.get(repaired.geom_type) in spec.families:
                geoms[index] = repaired
                result.problems.append(
                    Problem("geometry_repaired", keys[index], "geometry", reason, severity="warning")
                )
                continue
        result.invalid_geometry += 1
        result.problems.append(Problem("invalid_geometry", keys[index], "geometry", reason))


def _repair(geom: Any) -> Any:
    """make_valid keeps every part; keep only the parts of the original family (a bow-tie stays an area)."""
    fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    if fixed.is_empty:
        return None  # nothing left to keep: a collapsed shape stays reported as invalid
    family = schema.GEOMETRY_FAMILIES.get(geom.geom_type)
    if schema.GEOMETRY_FAMILIES.get(fixed.geom_type) == family:
        return fixed
    parts = [p for p in getattr(fixed, "geoms", [fixed]) if schema.GEOMETRY_FAMILIES.get(p.geom_type) == family]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    usable = not merged.is_empty and merged.is_valid and schema.GEOMETRY_FAMILIES.get(merged.geom_type) == family
    return merged if usable else None


@cache
def _district() -> tuple[Any, Any]:
    """The district and the margin around it that uploads must fall in (the shipped boundary, not the store)."""
    data = json.loads(BOUNDARY_FILE.read_text(encoding="utf-8"))
    boundary = shapely.from_geojson(json.dumps(data["features"][0]["geometry"]))
    margin = boundary.buffer(DISTRICT_MARGIN_DEG)
    shapely.prepare(margin)
    return boundary, margin


def _check_district(geoms: np.ndarray, present: np.ndarray, keys: list[str], result: Result) -> None:
    _, margin = _district()
    idx = np.flatnonzero(present & ~shapely.is_empty(geoms))
    if not len(idx):
        return
    touches = shapely.intersects(margin, geoms[idx])
    inside = shapely.contains(margin, geoms[idx])
    flagged = ~touches | ~inside
    centres = shapely.get_coordinates(shapely.centroid(geoms[idx[flagged]]))  # only for what is reported
    for index, hit, centre in zip(idx[flagged], touches[flagged], centres, strict=True):
        where = f"{centre[0]:.5f}, {centre[1]:.5f}"
        if not hit:
            result.problems.append(Problem("outside_district", keys[index], "geometry", where))
            present[index] = False
        else:
            result.problems.append(
                Problem("partly_outside_district", keys[index], "geometry", where, severity="warning")
            )


Issue = tuple[str, str, tuple[tuple[str, str], ...]] | None  # (problem code, what was found, message params)


def _normalise_properties(
    rows: list[dict[str, Any]], mapping: dict[str, str | None], keys: list[str], options: Options, result: Result
) -> list[dict[str, Any]]:
    """Canonical properties for every row, column by column: each value is read by a pure parser, once per
    distinct value where values repeat (statuses, dates), and problems are reported per row."""
    progress_source = next((s for s, t in mapping.items() if t == "progress"), None)
    scale = _progress_scale([row.get(progress_source) for row in rows] if progress_source else [], result)
    parsers: dict[str, Any] = {
        "status": _memo(_status),
        "confidence": _memo(_confidence),
        "progress": _memo(lambda v: _progress(v, scale)),
        "investment_yi": _memo(_investment),
        **{name: _memo(_date) for name in schema.DATE_FIELDS},
    }
    columns: dict[str, list[Any]] = {}
    for name in schema.FIELDS:
        source = next((s for s, t in mapping.items() if t == name), None)
        raw = [row.get(source) for row in rows] if source is not None else [None] * len(rows)
        parse = parsers.get(name) or (lambda v, n=name: _text(v, n))
        values = columns[name] = [None] * len(raw)
        for index, value in enumerate(raw):
            if name not in parsers and type(value) is str and len(value) <= schema.MAX_TEXT_LENGTH:
                values[index] = value.strip() or None  # the common case, without a call
                continue
            values[index], issue = parse(value)
            if issue:
                result.problems.append(Problem(issue[0], keys[index], name, issue[1], issue[2]))
    default_source = f"upload: {options.source_name}" if options.source_name else "upload"
    columns["source"] = [value or default_source for value in columns["source"]]
    # A required field with no column at all is one file-level problem (required_field_unmapped), not one per row.
    for name in (n for n in schema.REQUIRED_FIELDS if n in mapping.values()):
        already = {p.feature for p in result.problems if p.field == name}
        for index in (i for i, v in enumerate(columns[name]) if v is None and keys[i] not in already):
            result.problems.append(Problem("missing_required", keys[index], name, ""))
    seen: set[str] = set()
    for index, fid in enumerate(columns["id"]):
        if fid is None:
            continue
        if not schema.ID_PATTERN.match(fid):
            result.problems.append(Problem("bad_id", keys[index], "id", fid[:80]))
        elif fid in seen:
            result.problems.append(Problem("duplicate_id", keys[index], "id", fid))
        seen.add(fid)
    out = [dict(zip(schema.FIELDS, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    for key, props in zip(keys, out, strict=True):
        if props["start_date"] and props["end_date"] and props["start_date"] > props["end_date"]:
            result.problems.append(
                Problem("dates_out_of_order", key, "end_date", props["end_date"], (("start", props["start_date"]),))
            )
        _consistency(props, key, result)
    return out


def _memo(parse: Any) -> Any:
    """`parse` once per distinct (hashable) value."""
    cache: dict[tuple[type, Any], Any] = {}

    def parsed(value: Any) -> Any:
        try:
            key = (type(value), value)
            hit = cache.get(key)
        except TypeError:  # lists and dicts: not hashable, parsed each time (they are errors anyway)
            return parse(value)
        if hit is None:
            hit = cache[key] = parse(value)
        return hit

    return parsed


def _text(value: Any, field_name: str) -> tuple[str | None, Issue]:
    del field_name
    if schema.is_blank(value):
        return None, None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # GIS tools write integer ids as 12.0
    if isinstance(value, (dict, list)):
        return None, ("not_text", json.dumps(value, ensure_ascii=False)[:80], ())
    text = str(value).strip()
    if len(text) > schema.MAX_TEXT_LENGTH:
        return None, ("text_too_long", str(len(text)), (("max", str(schema.MAX_TEXT_LENGTH)),))
    return text, None


def _status(value: Any) -> tuple[str | None, Issue]:
    if schema.is_blank(value):
        return None, None  # reported as a missing required value below
    code = schema.parse_status(value)
    return code, (None if code else ("bad_status", str(value)[:80], ()))


def _confidence(value: Any) -> tuple[str, Issue]:
    if schema.is_blank(value):
        return "approximate", None  # an upload that says nothing is not claimed as survey data
    code = schema.parse_confidence(value)
    return (code, None) if code else ("approximate", ("bad_confidence", str(value)[:80], ()))


def _progress_scale(values: list[Any], result: Result) -> str:
    """Percent, unless every reported value of the file is a fraction in 0-1 with at least one strictly between:
    `0.45` then means 45%. A file mixing 45 and 0.45 is ambiguous and each fraction is reported."""
    numbers, marked = [], False
    for value in set(v for v in values if _hashable(v)):
        number = _number(value)
        if number is None:
            continue
        if _has_percent_sign(value):
            marked = True  # "45%" is a percentage whatever its size
        else:
            numbers.append(number)
    fractions = any(0 < n < 1 for n in numbers)
    if not marked and numbers and all(0 <= n <= 1 for n in numbers) and fractions:
        result.detected["progress"] = "fractions x100"
        return "fraction"
    if fractions and (marked or any(n > 1 for n in numbers)):
        return "ambiguous"
    return "percent"


def _hashable(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _has_percent_sign(value: Any) -> bool:
    return isinstance(value, str) and value.strip().endswith(("%", "％"))


def _progress(value: Any, scale: str) -> tuple[float | None, Issue]:
    if schema.is_blank(value) or (isinstance(value, str) and value.strip().lower() in NULL_WORDS):
        return None, None
    number = _number(value)
    found = str(value)[:80]
    if number is None:
        return None, ("bad_progress", found, ())
    if scale == "fraction":
        number *= 100
    elif scale == "ambiguous" and 0 < number < 1 and not _has_percent_sign(value):
        return None, ("ambiguous_progress", found, ())
    if not 0 <= number <= 100:
        return None, ("bad_progress", found, ())
    return round(number, 1), None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "").rstrip("%％").strip()
        text = re.sub(r"\s*(亿元|亿)$", "", text)
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _investment(value: Any) -> tuple[float | None, Issue]:
    if schema.is_blank(value) or (isinstance(value, str) and value.strip().lower() in NULL_WORDS):
        return None, None
    number = _number(value)
    if number is None or number < 0:
        return None, ("bad_investment", str(value)[:80], ())
    return number, None


def _date(value: Any) -> tuple[str | None, Issue]:
    if schema.is_blank(value) or (isinstance(value, str) and value.strip().lower() in NULL_WORDS):
        return None, None
    try:
        parsed = schema.parse_date(value)
    except (ValueError, TypeError, OverflowError):
        parsed = None
    if parsed is None or not PLAUSIBLE_YEARS[0] <= parsed.year <= PLAUSIBLE_YEARS[1]:
        return None, ("bad_date", str(value)[:80], ())
    return parsed.isoformat(), None


def _consistency(props: dict[str, Any], key: str, result: Result) -> None:
    progress, status = props.get("progress"), props.get("status")
    if progress is None or status is None:
        return
    if status == "completed" and progress < 100:
        result.problems.append(Problem("completed_below_100", key, "progress", f"{progress:g}", severity="warning"))
    if status == "planned" and progress > 0:
        result.problems.append(Problem("planned_with_progress", key, "progress", f"{progress:g}", severity="warning"))


def _file_problem(code: str, found: str, **params: str) -> Problem:
    return Problem(code, "*", "", found, tuple(params.items()))
