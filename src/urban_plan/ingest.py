"""Read an uploaded layer as planners' GIS exports it, check it against the layer's rules, and normalise it.

Pure functions used by the upload page and the CLI alike. Every problem is reported per feature and field in the
user's language (see `problems.py`); a malformed, hostile or huge file produces problems, never an exception.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import orjson
import shapely

from urban_plan import datum, district, fieldtypes, formats, registry, schema
from urban_plan.registry import FieldDef, LayerDef
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

# What the uploader accepts (a .gdb.zip is a zipped File Geodatabase folder; any .zip may hold one, or a shapefile).
SUPPORTED_SUFFIXES: tuple[str, ...] = (".geojson", ".json", ".zip", ".gdb.zip", ".gpkg", ".kml", ".kmz")
SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml", ".qmd"}
# Files a zip may carry instead of a shapefile or a geodatabase: read as if uploaded on their own.
ZIPPED_SINGLE_FILES = (".gpkg", ".kml", ".geojson", ".json")
# A geodatabase folder's files (a00000001.gdbtable, gdb, timestamps …): nothing else of the zip is extracted.
GDB_FILE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
BOUNDARY_FILE = Path(__file__).resolve().parents[2] / "geodata" / "sources" / "jiyang_boundary.geojson"
NULL_WORDS = {"", "-", "—", "/", "null", "none", "n/a", "na", "未报告", "无", "不详", "未知", "待定"}


@dataclass(frozen=True)
class Options:
    """What the uploader decided: target layer, declared datum, field mapping, constants, ids, repair, filtering."""

    layer: str
    datum: str = "wgs84"  # wgs84 | gcj02 | bd09: what the coordinates were picked in
    # source column -> canonical field, None (kept as an attribute under its own name, trimmed) or "-" (left out,
    # only by explicit choice); columns not in it are mapped automatically (known aliases, else kept as attributes)
    field_map: dict[str, str | None] | None = None
    repair: bool = False
    source_name: str = ""  # shown in the default `source` of features that name none
    set_values: tuple[tuple[str, str], ...] = ()  # (field, value) given to every feature: status = 规划
    id_from: str | None = None  # the column the id comes from, or "row" (row order; stable for the same file)
    inside_only: bool = False  # keep only the features inside the district, list the others (city-wide files)
    source_layer: str | None = None  # which layer of a multi-layer file (GeoPackage, geodatabase, KML)
    layer_def: LayerDef | None = None  # the target layer's definition; None: looked up in the shipped registry


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
    # Attributes the target layer does not declare yet (types inferred), and declared enums with the values this
    # file adds: publishing declares them in the registry first.
    new_fields: tuple[FieldDef, ...] = ()

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


_Reject = formats.Refused  # stop reading: the file as a whole cannot be used (the problem says why)


def read_upload(name: str, data: bytes, options: Options) -> Result:
    """Read, check and normalise an upload. Never raises for bad input: problems are in the result."""
    result = Result()
    if _target_layer(options) is None:
        result.problems.append(_file_problem("unknown_layer", str(options.layer)[:40]))
        return result
    if options.datum not in datum.DATUMS:
        result.problems.append(_file_problem("unknown_datum", options.datum))
        return result
    table: _Table | None = None
    with formats.gdal_messages() as gdal:  # GDAL's warnings go into the result, never to stderr
        try:
            with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
                kind, where = _materialise(name, data, Path(tmp))
                table = _read_materialised(kind, where, options, result)
            _check_counts(table)
            _normalise(table, options, result)
        except _Reject as reject:
            result.problems.append(reject.problem)
        except (MemoryError, RecursionError):
            result.problems.append(_file_problem("too_complex", name[:80]))
    if gdal:
        result.detected["gdal"] = " | ".join(gdal)[:400]
    if table is not None:
        _name_crs(table, result)
    return result


def list_layers(name: str, data: bytes) -> list[str]:
    """The layers of a GeoPackage, geodatabase or KML (its folders) to choose from, in the file's order; [] for
    single-layer formats (GeoJSON, shapefile) and for a file that cannot be read (reading it says why)."""
    try:
        with formats.gdal_messages(), tempfile.TemporaryDirectory(prefix="upload-") as tmp:
            kind, where = _materialise(name, data, Path(tmp))
            return formats.layer_names(where) if kind in formats.KIND_NAMES else []
    except (_Reject, MemoryError, RecursionError, OSError):
        return []


# --- reading ---------------------------------------------------------------------------------------------------


@dataclass
class _Table:
    """Features as read: properties as found, geometries (shapely, may be None), and what the file said of its CRS."""

    properties: list[dict[str, Any]]
    geometries: np.ndarray
    crs: str | None = None  # as declared by the file (legacy GeoJSON crs member, .prj)
    fields: list[str] = field(default_factory=list)
    parsed: list[Any] | None = None  # GeoJSON only: the geometry members as parsed, reused when unchanged


def _materialise(name: str, data: bytes, tmp: Path, inner: bool = False) -> tuple[str, Any]:
    """(kind, what to read): the bytes of a GeoJSON, else a file or folder written into `tmp` once the archive and
    the file passed their checks (a GDAL driver reads paths). `inner`: a file found inside a zip (never a zip)."""
    if len(data) > MAX_BYTES:
        raise _Reject(_file_problem("file_too_large", f"{len(data) / 1e6:.1f} MB", limit=f"{MAX_BYTES // 10**6} MB"))
    suffix = Path(name).suffix.lower()
    if suffix in (".geojson", ".json"):
        return "geojson", data
    if suffix == ".gpkg":
        if not data.startswith(b"SQLite format 3\x00"):  # a GeoPackage is an SQLite database
            raise _Reject(_file_problem("unreadable_file", "not an SQLite database", format="GeoPackage"))
        path = tmp / "upload.gpkg"
        path.write_bytes(data)
        return "gpkg", path
    if suffix == ".kml":
        formats.kml_prescan(data, MAX_FEATURES, MAX_VERTICES)
        path = tmp / "upload.kml"
        path.write_bytes(data)
        return "kml", path
    if suffix in (".zip", ".kmz") and not inner:
        return _unzip(data, suffix, tmp)
    raise _Reject(_file_problem("unsupported_file", suffix or name[:40], formats=" ".join(SUPPORTED_SUFFIXES)))


def _read_materialised(kind: str, where: Any, options: Options, result: Result) -> _Table:
    if kind == "geojson":
        return _read_geojson(where, result)
    if kind == "shapefile":
        return _read_shapefile(where, result)
    return _read_gdal(where, kind, options, result)


def _read_gdal(path: Path, kind: str, options: Options, result: Result) -> _Table:
    """One layer of a GeoPackage, geodatabase or KML: the layer chosen, then its counts from GDAL's layer info and its
    vertices from the WKB headers, all before a geometry is built."""
    names = formats.layer_names(path)
    layer = formats.pick_layer(names, options.source_layer)
    result.detected["format"] = formats.KIND_NAMES[kind]
    if len(names) > 1:
        result.detected["source_layer"] = layer
    limit = min(MAX_PROPERTIES, MAX_FIELDS)
    if kind != "kml":  # a KML was counted before GDAL parsed it, and each parse of a big one takes seconds
        features, fields = formats.layer_info(path, layer)
        if features > MAX_FEATURES:
            raise _Reject(_file_problem("too_many_features", str(features), limit=str(MAX_FEATURES)))
        if len(fields) > limit:
            raise _Reject(_file_problem("too_many_properties", str(len(fields)), limit=str(limit)))
    raw = formats.read_layer(path, layer, kind)
    if len(raw.fields) > limit:
        raise _Reject(_file_problem("too_many_properties", str(len(raw.fields)), limit=str(limit)))
    vertices, parts = formats.wkb_sizes(raw.wkb, MAX_PARTS)
    over = np.flatnonzero((vertices > MAX_FEATURE_VERTICES) | (parts > MAX_PARTS))
    if len(over):  # the first feature over a limit is named
        first = int(over[0])
        record = raw.records[first]
        _check_feature_size(int(vertices[first]), int(parts[first]), lambda: _early_label(record, first + 1))
    if int(vertices.sum()) > MAX_VERTICES:
        raise _Reject(_file_problem("too_many_vertices", str(int(vertices.sum())), limit=str(MAX_VERTICES)))
    geometries = shapely.from_wkb(raw.wkb, on_invalid="ignore")  # unreadable WKB: None, reported per feature
    result.detected.setdefault("encoding", "UTF-8")  # GeoPackage, geodatabase and KML text is Unicode by definition
    if kind == "kml" and options.datum == "wgs84":
        # Google Earth writes WGS84, but 奥维互动地图 and other Chinese apps often write GCJ-02 (shapes ~500 m off).
        result.problems.append(Problem("kml_datum_notice", "*", "", "", severity="warning"))
    return _Table(raw.records, np.asarray(geometries, dtype=object), raw.crs, raw.fields)


def _name_crs(table: _Table, result: Result) -> None:
    """Show the CRS by its short name (never the WKT of a .prj), and say when the conversion is approximate."""
    shown = result.detected.get("crs")
    if not shown:
        return
    source = table.crs or shown.split(" (")[0]
    label = formats.crs_label(source)
    code = f" ({source})"
    # "CGCS2000 / 3-degree Gauss-Kruger CM 117E, EPSG:4548 (declared)"; a WKT becomes its name
    named = f"{label.removesuffix(code)}, {source}" if label.endswith(code) else label
    result.detected["crs"] = shown.replace(source, named, 1)
    approximate = formats.approximate_datum(source)
    if approximate:
        result.problems.append(
            Problem("approximate_datum", "*", "", label, (("datum", approximate),), severity="warning")
        )


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
    if isinstance(doc, list) and doc and all(isinstance(f, dict) and f.get("type") == "Feature" for f in doc):
        # Several DataV copies are a bare array of Features: the collection it obviously is, with a notice.
        result.problems.append(Problem("json_array_read", "*", "", str(len(doc)), severity="warning"))
        doc = {"type": "FeatureCollection", "features": doc}
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
    encoded = formats.is_echarts_encoded(doc, features)  # ECharts' compressed coordinates: decoded after counting
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
        size = (formats.echarts_size(geometry) if encoded else None) or _geojson_size(geometry)
        vertices += _check_feature_size(*size, lambda p=props, r=row: _early_label(p, r))
        properties.append(props)
        parsed.append(geometry)
    if vertices > MAX_VERTICES:  # counted on the parsed lists: nothing has been built yet
        raise _Reject(_file_problem("too_many_vertices", str(vertices), limit=str(MAX_VERTICES)))
    if encoded:
        parsed = _decode_echarts(doc, parsed, result)
    geometries = _fast_polygons(parsed)
    if geometries is None:  # anything but simple polygons: let GEOS parse each geometry's GeoJSON
        geometries = _parse_geometries([json.dumps(g) if isinstance(g, dict) else None for g in parsed])
    return _Table(properties, geometries, crs, list(fields), parsed)


def _decode_echarts(doc: dict[str, Any], parsed: list[Any], result: Result) -> list[Any]:
    """Plain coordinates from ECharts' encoded ones (1/1024 degree steps unless the file says otherwise)."""
    scale = doc.get("UTF8Scale", 1024)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise _Reject(_file_problem("echarts_bad", f"UTF8Scale {str(scale)[:20]}"))
    decoded = [formats.decode_echarts(geometry, float(scale)) for geometry in parsed]
    metres = f"{111_000 / scale:.0f}"  # one step in latitude
    result.problems.append(
        Problem("echarts_decoded", "*", "", str(len(decoded)), (("metres", metres),), severity="warning")
    )
    return decoded


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


def _checked_zip(data: bytes) -> tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    """The archive and its files, once its directory passed every check (entries, sizes, ratios, paths, links,
    encryption) and before anything is extracted. Folders, macOS resource forks and hidden files are left out."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise _Reject(_file_problem("bad_zip", str(exc)[:80])) from exc
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _Reject(_file_problem("zip_too_many_entries", str(len(entries)), limit=str(MAX_ZIP_ENTRIES)))
    total = 0
    files: dict[str, zipfile.ZipInfo] = {}
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
        files[name] = entry
    return archive, files


def _unzip(data: bytes, suffix: str, tmp: Path) -> tuple[str, Any]:
    """What a checked archive holds, extracted into `tmp`: the KML of a .kmz, a File Geodatabase folder, one
    shapefile, or one GeoPackage / KML / GeoJSON zipped on its own."""
    archive, files = _checked_zip(data)
    if suffix == ".kmz":
        kmls = [n for n in files if n.lower().endswith(".kml")]
        if not kmls:
            raise _Reject(_file_problem("kmz_without_kml", str(len(files))))
        # The KMZ convention: doc.kml at the root, else the first KML at the root, else the first one.
        at_root = [n for n in kmls if "/" not in n]
        chosen = next((n for n in kmls if n.lower() == "doc.kml"), (at_root or kmls)[0])
        if files[chosen].file_size > MAX_BYTES:  # the document GDAL parses: as large as a KML uploaded alone
            size = f"{files[chosen].file_size / 1e6:.1f} MB"
            raise _Reject(_file_problem("file_too_large", size, limit=f"{MAX_BYTES // 10**6} MB"))
        path = tmp / "upload.kml"
        _extract_limited(archive, files[chosen], path)
        formats.kml_prescan(path.read_bytes(), MAX_FEATURES, MAX_VERTICES)
        return "kml", path
    # A geodatabase is the folder that holds .gdbtable files (zipped with its folder or as its contents).
    gdb_folders = {PurePosixPath(n.replace("\\", "/")).parent for n in files if n.lower().endswith(".gdbtable")}
    if len(gdb_folders) > 1:
        raise _Reject(_file_problem("zip_several_geodatabases", ", ".join(sorted(map(str, gdb_folders)))[:200]))
    if gdb_folders:
        folder = gdb_folders.pop()
        target = tmp / "upload.gdb"
        target.mkdir()
        for name, entry in files.items():
            path = PurePosixPath(name.replace("\\", "/"))
            if path.parent == folder and GDB_FILE_NAME.match(path.name):
                _extract_limited(archive, entry, target / path.name)
        return "gdb", target
    wanted = {n: e for n, e in files.items() if Path(n).suffix.lower() in SHAPEFILE_PARTS}
    shps = [n for n in wanted if n.lower().endswith(".shp")]
    singles = [n for n in files if Path(n).suffix.lower() in ZIPPED_SINGLE_FILES]
    if not shps and len(singles) == 1:
        entry = files[singles[0]]
        if entry.file_size > MAX_BYTES:
            size = f"{entry.file_size / 1e6:.1f} MB"
            raise _Reject(_file_problem("file_too_large", size, limit=f"{MAX_BYTES // 10**6} MB"))
        inner = tmp / "inner"
        _extract_limited(archive, entry, inner)
        return _materialise(singles[0], inner.read_bytes(), tmp, inner=True)
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
    for part_suffix, entry in parts.items():
        _extract_limited(archive, entry, tmp / f"layer{part_suffix}")
    return "shapefile", tmp / "layer.shp"


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
        crs = formats.crs_identifier(frame.crs) if frame.crs is not None else None  # "EPSG:4548", not the .prj WKT
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

LEAVE_OUT = "-"  # field_map value: leave this column out (only by the uploader's explicit choice)
ROW_ID_PREFIX = "R"  # ids from row order: R000001, R000002 … (the same file gives the same ids)
ROW = "row"  # Options.id_from value: ids from row order


def _target_layer(options: Options) -> LayerDef | None:
    """The layer the upload goes to: the caller's definition (the store's, or a new layer's), else the shipped one."""
    if options.layer_def is not None:
        return options.layer_def
    return registry.builtin().get(options.layer) if isinstance(options.layer, str) else None


def _district() -> tuple[Any, Any]:
    """The district and its margin (kept here for callers that warm the cache before measuring)."""
    return district.boundary_and_margin()


@dataclass
class _Columns:
    """Where each stored value comes from."""

    field_map: dict[str, str | None]  # as applied: canonical field, None (attribute) or LEAVE_OUT
    canonical: dict[str, str]  # canonical field -> source column
    attributes: dict[str, str | None]  # attribute name (trimmed) -> source column (None: a constant only)
    constants: dict[str, Any]  # canonical field or attribute name -> the value every feature gets
    row_ids: bool = False


def _normalise(table: _Table, options: Options, result: Result) -> None:
    layer = _target_layer(options)
    if layer is None:  # read_upload refuses an unknown layer before reading; kept for direct callers
        raise _Reject(_file_problem("unknown_layer", str(options.layer)[:40]))
    result.source_fields = table.fields
    result.feature_count = len(table.properties)
    columns = _plan_columns(table.fields, options, layer, bool(table.properties), result)
    result.field_map = columns.field_map
    if not table.properties:  # said plainly, not as unmapped fields; publishing it empties a layer (confirmed)
        result.problems.append(Problem("no_features", "*", "", "", severity="warning"))
        if not result.errors:
            result.collection = {"type": "FeatureCollection", "features": []}
        return
    count = len(table.properties)
    row_ids = [f"{ROW_ID_PREFIX}{row:06d}" for row in range(1, count + 1)] if columns.row_ids else None
    keys = row_ids or [_feature_label(props, columns, row) for row, props in enumerate(table.properties, start=1)]
    geometries, kept = _normalise_geometries(table, options, layer, keys, result)
    keep = np.flatnonzero(kept)
    rows = table.properties
    if len(keep) < count:  # features left out by the uploader's "inside the district only"
        rows = [rows[i] for i in keep]
        keys = [keys[i] for i in keep]
        row_ids = [row_ids[i] for i in keep] if row_ids else None
    properties = _normalise_properties(rows, columns, keys, row_ids, options, layer, result)
    if result.errors:
        return
    out_geometries = _geometry_members(table, geometries, keep)
    features = [
        {"type": "Feature", "properties": props, "geometry": geometry}
        for props, geometry in zip(properties, out_geometries, strict=True)
    ]
    # The store checks the schema again when this is published (belt and braces, and the CLI path too).
    result.collection = {"type": "FeatureCollection", "features": features}


def _geometry_members(table: _Table, geometries: np.ndarray, keep: np.ndarray) -> list[Any]:
    """GeoJSON geometry members for the kept features. Where nothing changed (WGS84 in, at most 7 decimals, no Z,
    no repair) the parsed input is reused: re-parsing tens of thousands of geometries costs more than reading them."""
    out: list[Any] = [None] * len(keep)
    same = np.zeros(len(keep), dtype=bool)
    chosen = geometries[keep]
    if table.parsed is not None:
        original = table.geometries[keep]
        comparable = ~shapely.is_missing(original) & ~shapely.has_z(original) & ~shapely.is_missing(chosen)
        same[comparable] = shapely.equals_exact(original[comparable], chosen[comparable], tolerance=1e-9) & (
            shapely.get_type_id(original[comparable]) == shapely.get_type_id(chosen[comparable])
        )
        for index in np.flatnonzero(same):
            member = table.parsed[keep[index]]
            out[index] = {"type": member["type"], "coordinates": member["coordinates"]}
    changed = np.flatnonzero(~same)
    if len(changed):
        texts = shapely.to_geojson(chosen[changed])
        for index, geometry in zip(changed, json.loads("[" + ",".join(texts) + "]"), strict=True):
            out[index] = geometry
    return out


def _feature_label(props: dict[str, Any], columns: _Columns, row: int) -> str:
    """How problems name a feature: its id as the file gives it, else its row number (#3)."""
    if "id" in columns.constants and not schema.is_blank(columns.constants["id"]):
        return str(columns.constants["id"])[:64]
    source = columns.canonical.get("id")
    if source is not None and not schema.is_blank(props.get(source)):
        return str(props[source])[:64]
    return f"#{row}"


def _plan_columns(fields: list[str], options: Options, layer: LayerDef, has_features: bool, result: Result) -> _Columns:
    """Decide for every source column where its values go, then the constants and the id; report what cannot be
    done. Nothing is dropped unless the uploader chose to leave a column out."""
    explicit = options.field_map or {}
    id_column = options.id_from if options.id_from not in (None, "", ROW) else None
    row_ids = options.id_from == ROW
    if id_column is not None and id_column not in fields:
        found = ", ".join(fields[:30])
        result.problems.append(Problem("id_from_missing", "*", "id", str(id_column)[:64], (("columns", found),)))
        id_column = None
    applied: dict[str, str | None] = {}
    left_out: list[str] = []
    replaced_ids: list[str] = []
    for name in fields:
        if name == id_column:
            target: str | None = "id"
        elif name in explicit:
            target = explicit[name]
            if target not in (None, LEAVE_OUT) and target not in schema.FIELDS:
                result.problems.append(Problem("unknown_map_target", "*", name, str(target)[:64]))
                target = None
            elif target == LEAVE_OUT:
                left_out.append(name)
        else:
            target = schema.canonical_field(name)
        if target == "id" and name != id_column and (id_column is not None or row_ids):
            # The uploader chose where ids come from: another id column is kept as an attribute when its name
            # allows (编号), else it is replaced (a column literally named "id"), and the notice says so.
            target = None if _attribute_name_problem(name.strip()) is None else LEAVE_OUT
            if target == LEAVE_OUT:
                replaced_ids.append(name)
        applied[name] = target
    if left_out:
        result.problems.append(Problem("fields_left_out", "*", "", ", ".join(left_out[:30]), severity="warning"))
    for name in replaced_ids:
        result.problems.append(Problem("id_column_replaced", "*", name, name[:64], severity="warning"))

    canonical: dict[str, list[str]] = {}
    attributes: dict[str, str | None] = {}
    for name, target in applied.items():
        if target == LEAVE_OUT:
            continue
        if target is not None:
            canonical.setdefault(target, []).append(name)
            continue
        stored = name.strip()
        if stored in attributes:
            found = f"{attributes[stored]!r}, {name!r}"
            result.problems.append(Problem("attribute_name_twice", "*", stored, found))
            continue
        problem = None if layer.field(stored) else _attribute_name_problem(stored)
        if problem is not None:
            result.problems.append(Problem(problem, "*", stored, name[:64]))
            continue
        attributes[stored] = name
    for target, sources in canonical.items():
        if len(sources) > 1:
            result.problems.append(Problem("field_mapped_twice", "*", target, ", ".join(sources[:5])))

    constants = _constants(options, layer, canonical, attributes, result)
    for name in constants:
        if name not in schema.FIELDS and name not in attributes:
            attributes[name] = None  # a constant for a declared attribute the file does not have
    new_names = [name for name in attributes if layer.field(name) is None]
    if new_names and len(layer.fields) + len(new_names) > registry.MAX_FIELDS:
        limit = (("limit", str(registry.MAX_FIELDS)), ("declared", str(len(layer.fields))))
        result.problems.append(Problem("layer_field_limit", "*", "", str(len(new_names)), limit))

    if has_features:  # an empty file has nothing to map: it is said once, as no_features
        ids_chosen = options.id_from not in (None, "")  # a missing id column is reported once, as id_from_missing
        given = set(canonical) | set(constants) | ({"id"} if ids_chosen else set())
        for required in layer.required_fields:
            if required not in given:
                result.problems.append(Problem("required_field_unmapped", "*", required, ", ".join(fields[:20])))
        for spec in layer.fields:
            if spec.required and spec.name not in attributes:
                result.problems.append(Problem("required_field_unmapped", "*", spec.name, ", ".join(fields[:20])))
    return _Columns(applied, {t: s[0] for t, s in canonical.items()}, attributes, constants, row_ids)


def _attribute_name_problem(name: str) -> str | None:
    """Why a column cannot be kept under its own name (a problem code), or None when it can."""
    try:
        registry.check_field(registry.FieldDef(name, name, name))
    except registry.RegistryError as exc:
        return {
            "field_is_canonical": "attribute_name_canonical",
            "field_reserved": "attribute_name_reserved",
        }.get(exc.code, "attribute_name_bad")
    return None


def _constants(
    options: Options,
    layer: LayerDef,
    canonical: dict[str, list[str]],
    attributes: dict[str, str | None],
    result: Result,
) -> dict[str, Any]:
    """The uploader's "every feature gets FIELD = VALUE": a canonical field (by its name or a known alias), an
    attribute of the layer or a column of the file. A constant wins over the file's own column, with a notice."""
    out: dict[str, Any] = {}
    for field_name, value in options.set_values:
        name = str(field_name).strip()
        if name in schema.FIELDS:
            target: str | None = name
        elif layer.field(name) is not None or name in attributes:
            target = name
        else:
            target = schema.canonical_field(name)
        if target is None:
            known = ", ".join([*schema.FIELDS, *layer.field_names(), *attributes][:40])
            problem = Problem("unknown_constant_field", "*", name[:64], str(value)[:80], (("known", known),))
            result.problems.append(problem)
            continue
        if target in out:
            result.problems.append(Problem("constant_set_twice", "*", target, str(value)[:80]))
            continue
        out[target] = value
        source = (canonical.get(target) or [None])[0] if target in schema.FIELDS else attributes.get(target)
        if source is not None:
            result.problems.append(Problem("constant_replaces_column", "*", target, source[:64], severity="warning"))
    return out


def _normalise_geometries(
    table: _Table, options: Options, layer: LayerDef, keys: list[str], result: Result
) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 geometries, checked; and which features are kept (all, unless the uploader keeps only those inside)."""
    geoms = table.geometries.copy()
    kept = np.ones(len(geoms), dtype=bool)
    present = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    for index in np.flatnonzero(~present):
        result.problems.append(Problem("missing_geometry", keys[index], "geometry", ""))
    if not present.any():
        return geoms, kept
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
        return geoms, kept
    coords = shapely.get_coordinates(geoms[present])
    source_crs = table.crs or _guess_crs(coords, result)
    if source_crs is None:
        (x0, y0), (x1, y1) = coords.min(axis=0), coords.max(axis=0)
        raise _Reject(_file_problem("unknown_coordinates", f"x {x0:.6g}…{x1:.6g}, y {y0:.6g}…{y1:.6g}"))
    result.detected.setdefault("crs", f"{source_crs} ({'declared' if table.crs else 'recognised'})")
    geoms[present] = _to_wgs84(geoms[present], source_crs)
    if options.datum != "wgs84":
        geoms[present] = datum.convert_geometries(geoms[present], options.datum, "wgs84")
        result.detected["datum"] = f"{options.datum} -> wgs84"
    # Where first: features a city-wide file has outside the district are left out (inside_only) before their
    # types and validity are judged, so they cannot block the ones that are kept.
    checked = np.where(present, geoms, None)
    problems, refused = district.check(checked, keys, inside_only=options.inside_only)
    result.problems += problems
    present &= ~refused
    if options.inside_only:
        kept &= ~refused
    _check_types_and_validity(geoms, present, options, layer, keys, result)
    geoms[present] = shapely.set_precision(geoms[present], 10**-COORDINATE_DECIMALS, mode="pointwise")
    return geoms, kept


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
        # A WKT definition is named by its title, not echoed in full (hundreds of characters)
        title = re.match(r'\s*[A-Z_0-9]+\[\s*"([^"]{1,120})"', crs)
        raise _Reject(_file_problem("unknown_crs", title.group(1) if title else crs[:120]))

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
    geoms: np.ndarray, present: np.ndarray, options: Options, spec: LayerDef, keys: list[str], result: Result
) -> None:
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


Issue = tuple[str, str, tuple[tuple[str, str], ...]] | None  # (problem code, what was found, message params)


def _normalise_properties(
    rows: list[dict[str, Any]],
    columns: _Columns,
    keys: list[str],
    row_ids: list[str] | None,
    options: Options,
    layer: LayerDef,
    result: Result,
) -> list[dict[str, Any]]:
    """Stored properties for every row: the canonical fields first, each read by a pure parser once per distinct
    value, then the open attributes in file order, each as its declared (or inferred) type."""
    count = len(rows)

    def raw_values(name: str, source: str | None) -> list[Any]:
        if name in columns.constants:
            return [columns.constants[name]] * count
        if name == "id" and row_ids is not None:
            return list(row_ids)
        return [row.get(source) for row in rows] if source is not None else [None] * count

    progress_raw = raw_values("progress", columns.canonical.get("progress"))
    scale = _progress_scale(progress_raw, result)
    parsers: dict[str, Any] = {
        "status": _memo(_status),
        "confidence": _memo(_confidence),
        "progress": _memo(lambda v: _progress(v, scale)),
        "investment_yi": _memo(_investment),
        **{name: _memo(_date) for name in schema.DATE_FIELDS},
    }
    values_by_field: dict[str, list[Any]] = {}
    for name in schema.FIELDS:
        raw = progress_raw if name == "progress" else raw_values(name, columns.canonical.get(name))
        parse = parsers.get(name) or (lambda v, n=name: _text(v, n))
        values = values_by_field[name] = [None] * len(raw)
        for index, value in enumerate(raw):
            if name not in parsers and type(value) is str and len(value) <= schema.MAX_TEXT_LENGTH:
                values[index] = value.strip() or None  # the common case, without a call
                continue
            values[index], issue = parse(value)
            if issue:
                result.problems.append(Problem(issue[0], keys[index], name, issue[1], issue[2]))
    default_source = f"upload: {options.source_name}" if options.source_name else "upload"
    values_by_field["source"] = [value or default_source for value in values_by_field["source"]]
    # A required field with no column at all is one file-level problem (required_field_unmapped), not one per row.
    given = set(columns.canonical) | set(columns.constants) | ({"id"} if row_ids is not None else set())
    for name in (n for n in layer.required_fields if n in given):
        already = {p.feature for p in result.problems if p.field == name}
        for index in (i for i, v in enumerate(values_by_field[name]) if v is None and keys[i] not in already):
            result.problems.append(Problem("missing_required", keys[index], name, ""))
    seen: set[str] = set()
    for index, fid in enumerate(values_by_field["id"]):
        if fid is None:
            continue
        if not schema.ID_PATTERN.match(fid):
            result.problems.append(Problem("bad_id", keys[index], "id", fid[:80]))
        elif fid in seen:
            result.problems.append(Problem("duplicate_id", keys[index], "id", fid))
        seen.add(fid)
    out = [dict(zip(schema.FIELDS, values, strict=True)) for values in zip(*values_by_field.values(), strict=True)]
    for key, props in zip(keys, out, strict=True):
        if props["start_date"] and props["end_date"] and props["start_date"] > props["end_date"]:
            result.problems.append(
                Problem("dates_out_of_order", key, "end_date", props["end_date"], (("start", props["start_date"]),))
            )
        _consistency(props, key, result)
    attributes = {name: raw_values(name, source) for name, source in columns.attributes.items()}
    for props, extra in zip(out, _normalise_attributes(attributes, keys, layer, result), strict=True):
        props.update(extra)
    return out


def _normalise_attributes(
    columns: dict[str, list[Any]], keys: list[str], layer: LayerDef, result: Result
) -> list[dict[str, Any]]:
    """Each open attribute's values as its type stores them (blank ones omitted). A column the layer does not
    declare gets a type from its values and goes to `result.new_fields`; a new value of a declared enum is
    accepted, added to the field there, and named in a notice. A value that does not fit is an error."""
    out: list[dict[str, Any]] = [{} for _ in keys]
    new_fields: list[FieldDef] = []
    for name, raw in columns.items():
        declared = layer.field(name)
        spec = declared or registry.propose_fields([name], {name: raw})[0]
        coerce = _memo(lambda v, t=spec.type: fieldtypes.coerce(v, t))
        known = set(spec.option_values())
        extra: dict[str, None] = {}
        for index, value in enumerate(raw):
            stored, ok = coerce(value)
            if not ok:
                result.problems.append(_attribute_problem(keys[index], name, spec.type, value))
            elif stored is None:
                if spec.required:
                    result.problems.append(Problem("missing_required", keys[index], name, ""))
            else:
                if spec.type == "enum" and stored not in known:
                    extra[stored] = None
                out[index][name] = stored
        if extra:
            spec = dataclasses.replace(spec, options=spec.options + tuple((v, v, v) for v in extra))
            try:
                registry.check_field(spec)
            except registry.RegistryError:
                found = str(len(spec.options))
                limit = (("limit", str(fieldtypes.MAX_ENUM_OPTIONS)),)
                result.problems.append(Problem("enum_too_many_values", "*", name, found, limit))
                continue
            if declared is not None:
                shown = ", ".join(list(extra)[:10])
                result.problems.append(Problem("enum_value_added", "*", name, shown, severity="warning"))
        if declared is None or extra:
            new_fields.append(spec)
    result.new_fields = tuple(new_fields)
    return out


def _attribute_problem(key: str, name: str, type_: str, value: Any) -> Problem:
    """A value that does not fit its attribute's type: what was found, the type expected (in the code: each type
    has its own message saying what to write instead, or to change the field's type)."""
    if isinstance(value, (dict, list)):
        found = json.dumps(value, ensure_ascii=False, default=str)[:80]
    else:
        found = str(value)[:80]
    if type_ == "text" and not isinstance(value, (dict, list)):
        return Problem("text_too_long", key, name, str(len(str(value))), (("max", str(fieldtypes.MAX_TEXT_LENGTH)),))
    if type_ == "json":
        return Problem("attribute_json_too_long", key, name, found, (("max", str(fieldtypes.MAX_JSON_LENGTH)),))
    return Problem(f"attribute_not_{type_}", key, name, found)


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
