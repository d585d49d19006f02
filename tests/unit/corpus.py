"""The upload corpus: bad, hostile and awkward files, each built in code, with the outcome ingest must give it.

Nothing binary is committed: every file is made here, deterministically, when a test asks for it (`build`).
GeoJSON comes from `json.dumps`, shapefiles from `pyogrio.write_dataframe` into a temporary folder, zips from
`zipfile` with crafted entries (symlinks, escaping paths, ratio bombs), projected numbers from `pyproj`.

A case whose `bug` is set documents a defect of `urban_plan.ingest` found while building the corpus: its outcome is
what ingest *should* give, and the tests mark it as a strict expected failure until the code is fixed.
"""

from __future__ import annotations

import io
import json
import random
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from urban_plan import datum
from urban_plan.ingest import Options

# --- geography --------------------------------------------------------------------------------------------------

POINT = (117.17, 36.98)  # central Jiyang
LINE = ((117.10, 36.885), (117.145, 36.955))
AREA = ((117.15, 36.96), (117.19, 36.96), (117.19, 37.00), (117.15, 37.00), (117.15, 36.96))
BOW_TIE = ((117.10, 36.90), (117.20, 37.00), (117.20, 36.90), (117.10, 37.00), (117.10, 36.90))
BEIJING = (116.40, 39.90)
HALF_OUTSIDE = ((117.17, 36.98), (116.50, 36.98))  # Jiyang to far west of the district edge (~116.87)

XSS = ("<img src=x onerror=alert(1)>", "${alert(1)}", "</script><script>alert(1)</script>")
ZIP_TIME = (2024, 1, 1, 0, 0, 0)


# --- what a case expects -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """A problem that must appear. `code` may list alternatives ("a|b"); None fields are not checked."""

    code: str
    feature: str | None = None
    field: str | None = None
    found: tuple[str, ...] = ()  # substrings of Problem.found
    severity: str = "error"


@dataclass(frozen=True)
class Outcome:
    """What reading a case must give."""

    ok: bool
    problems: tuple[Expect, ...] = ()
    exact_errors: bool = True  # every error must be one of `problems` (no surprise errors)
    feature_count: int | None = None
    detected: Mapping[str, str] = field(default_factory=dict)  # key -> substring of result.detected[key]
    field_map: Mapping[str, str | None] = field(default_factory=dict)  # subset of result.field_map
    properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # feature id -> stored values
    coordinates: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)  # id -> WGS84, 1 m
    geometry_types: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # id -> allowed stored types
    invalid_geometry: int | None = None


@dataclass(frozen=True)
class Case:
    id: str
    filename: str
    make: Callable[[], bytes]
    options: Options
    outcome: Outcome
    limits: Mapping[str, int] = field(default_factory=dict)  # ingest constants to lower while reading
    bug: str = ""  # a known defect of ingest: the outcome is what it should be
    raises: bool = False  # ... and today read_upload raises on this file


_BUILT: dict[str, bytes] = {}


def build(case: Case) -> bytes:
    """The case's file, built once per test session."""
    if case.id not in _BUILT:
        _BUILT[case.id] = case.make()
    return _BUILT[case.id]


# --- GeoJSON builders --------------------------------------------------------------------------------------------


def props(fid: str | None = "p1", **more: Any) -> dict[str, Any]:
    """Valid canonical properties for one feature; `more` adds or overrides (a value of ... removes the key)."""
    out: dict[str, Any] = {"id": fid, "name_zh": "济阳测试项目", "status": "在建"}
    if fid is None:
        del out["id"]
    out.update(more)
    return {k: v for k, v in out.items() if v is not ...}


def point(xy: Iterable[float] = POINT) -> dict[str, Any]:
    return {"type": "Point", "coordinates": list(xy)}


def line(coords: Iterable[Iterable[float]] = LINE) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(c) for c in coords]}


def polygon(ring: Iterable[Iterable[float]] = AREA) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(c) for c in ring]]}


def feature(properties: dict[str, Any] | None, geometry: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    return {"type": "Feature", **extra, "properties": properties, "geometry": geometry}


def collection(*features: dict[str, Any], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **members, "features": list(features)}


def legacy_crs(name: str) -> dict[str, Any]:
    return {"type": "name", "properties": {"name": name}}


def to_bytes(doc: Any, *, encoding: str = "utf-8", bom: bool = False) -> bytes:
    data = json.dumps(doc, ensure_ascii=False).encode(encoding)
    return b"\xef\xbb\xbf" + data if bom else data


def geojson(doc: Any, **kwargs: Any) -> Callable[[], bytes]:
    return lambda: to_bytes(doc, **kwargs)


def raw(data: bytes) -> Callable[[], bytes]:
    return lambda: data


@cache
def _transformer(epsg: int) -> Any:
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)


def projected(coords: Iterable[Iterable[float]], epsg: int) -> list[list[float]]:
    """WGS84 lon/lat -> the numbers a GIS exports in `epsg`."""
    return [list(_transformer(epsg).transform(x, y)) for x, y in coords]


def swapped(coords: Iterable[Iterable[float]]) -> list[list[float]]:
    return [[y, x] for x, y in coords]


def nested_lists(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


# --- shapefile and zip builders -----------------------------------------------------------------------------------


def shapefile_parts(
    rows: list[dict[str, Any]],
    geometries: list[Any],
    *,
    crs: str | None = "EPSG:4326",
    encoding: str | None = None,
    stem: str = "roads",
) -> dict[str, bytes]:
    """The files of one shapefile (suffix -> bytes) as pyogrio/GDAL writes them."""
    import geopandas
    import pyogrio

    frame = geopandas.GeoDataFrame(rows, geometry=geometries, crs=crs)
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL's "laundered field name" notes for long names
        path = Path(tmp) / f"{stem}.shp"
        pyogrio.write_dataframe(frame, path, **({"encoding": encoding} if encoding else {}))
        return {p.suffix: p.read_bytes() for p in sorted(Path(tmp).iterdir())}


def road_rows(**more: Any) -> list[dict[str, Any]]:
    return [{"编号": "r1", "名称": "济阳大道", "状态": "在建", "进度": 45.0, **more}]


def road_geometries(coords: Iterable[Iterable[float]] = LINE) -> list[Any]:
    from shapely.geometry import LineString

    return [LineString([tuple(c) for c in coords])]


def zip_info(name: str, *, mode: int = stat.S_IFREG | 0o644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def zip_of(entries: Iterable[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name if isinstance(name, zipfile.ZipInfo) else zip_info(name), data)
    return buffer.getvalue()


def zipped(parts: dict[str, bytes], *, stem: str = "roads", drop: Iterable[str] = (), folder: str = "") -> bytes:
    """A zip of shapefile parts named `<folder><stem><suffix>`, without the suffixes in `drop`."""
    dropped = set(drop)
    return zip_of((f"{folder}{stem}{suffix}", data) for suffix, data in parts.items() if suffix not in dropped)


def road_zip(**kwargs: Any) -> Callable[[], bytes]:
    """A zipped one-road shapefile; kwargs go to shapefile_parts (rows, geometries, crs, encoding)."""

    def make() -> bytes:
        options = dict(kwargs)
        rows = options.pop("rows", None) or road_rows()
        geometries = options.pop("geometries", None) or road_geometries()
        drop = options.pop("drop", ())
        return zipped(shapefile_parts(rows, geometries, **options), drop=drop)

    return make


def road_zip_plus(extra: Callable[[], Iterable[tuple[str | zipfile.ZipInfo, bytes]]]) -> Callable[[], bytes]:
    """A good one-road shapefile zip with more entries added after its own."""

    def make() -> bytes:
        parts = shapefile_parts(road_rows(), road_geometries())
        return zip_of([*((f"roads{s}", d) for s, d in parts.items()), *extra()])

    return make


def patch_zip(data: bytes, signature: bytes, offset: int, value: int, *, width: int = 2, mask: bool = False) -> bytes:
    """Overwrite (or OR in, with `mask`) a little-endian field at `offset` in every record with `signature`."""
    out = bytearray(data)
    at = out.find(signature)
    while at != -1:
        old = int.from_bytes(out[at + offset : at + offset + width], "little")
        out[at + offset : at + offset + width] = ((old | value) if mask else value).to_bytes(width, "little")
        at = out.find(signature, at + 4)
    return bytes(out)


LOCAL, CENTRAL, END = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"


def good_road_zip() -> bytes:
    return road_zip()()


def encrypted_zip() -> bytes:
    """Every entry flagged as encrypted (general purpose bit 0), as a password-protected archive is."""
    data = patch_zip(good_road_zip(), LOCAL, 6, 0x1, mask=True)
    return patch_zip(data, CENTRAL, 8, 0x1, mask=True)


def corrupt_deflate_zip() -> bytes:
    """The .dbf's deflated bytes overwritten: the headers are fine, the stream is not."""
    data = bytearray(good_road_zip())
    entry = next(e for e in zipfile.ZipFile(io.BytesIO(bytes(data))).infolist() if e.filename.endswith(".dbf"))
    start = entry.header_offset + 30 + len(entry.filename.encode())
    data[start : start + entry.compress_size] = b"\xff" * entry.compress_size
    return bytes(data)


def future_version_zip() -> bytes:
    """Central directory says 'version 24.9 needed to extract' (zipfile refuses to even list it)."""
    return patch_zip(good_road_zip(), CENTRAL, 6, 249)


def unknown_method_zip() -> bytes:
    """Compression method 99 (AES in WinZip's scheme) on every entry."""
    return patch_zip(patch_zip(good_road_zip(), LOCAL, 8, 99), CENTRAL, 10, 99)


def shifted_directory_zip() -> bytes:
    """End record points the central directory 256 MB further than it is: entry offsets come out negative."""
    data = bytearray(good_road_zip())
    end = data.rfind(END)
    offset = int.from_bytes(data[end + 16 : end + 20], "little")
    data[end + 16 : end + 20] = (offset + 0x10000000).to_bytes(4, "little")
    return bytes(data)


def ratio_bomb_zip() -> bytes:
    """A .dbf of 4 MB of zeros deflates to ~4 KB: a ratio near 1000."""
    parts = shapefile_parts(road_rows(), road_geometries())
    parts[".dbf"] = bytes(4 * 1024 * 1024)
    return zipped(parts)


# --- the corpus ---------------------------------------------------------------------------------------------------

P = Options("projects")
ROADS = Options("roads")
LINE_WGS84 = {"r1": LINE}


def _c(id: str, filename: str, make: Callable[[], bytes], options: Options, outcome: Outcome, **kw: Any) -> Case:
    return Case(id, filename, make, options, outcome, **kw)


def _fail(*problems: Expect, **kw: Any) -> Outcome:
    return Outcome(False, problems, **kw)


def _ok(*warnings_: Expect, **kw: Any) -> Outcome:
    return Outcome(True, warnings_, **kw)


def _warn(code: str, feature: str | None = None, field: str | None = None, *found: str) -> Expect:
    return Expect(code, feature, field, found, severity="warning")


def _file(code: str, *found: str) -> Expect:
    """A whole-file problem (feature "*")."""
    return Expect(code, "*", None, found)


def _one_feature_with(**more: Any) -> Callable[[], bytes]:
    return geojson(collection(feature(props("p1", **more), point())))


def _features(*props_list: dict[str, Any]) -> Callable[[], bytes]:
    return geojson(collection(*(feature(p, point()) for p in props_list)))


GBK_PROPERTIES = {
    "编号": "jy-001",
    "名称": "济阳黄河大桥",
    "状态": "在建",
    "进度": "45%",
    "开工日期": "2026/9/30",
    "计划完工日期": "2028年6月30日",
    "投资(亿元)": "12.5亿",
    "来源": "区住建局",
}
GBK_EXPECTED = {
    "id": "jy-001",
    "name_zh": "济阳黄河大桥",
    "status": "in_progress",
    "progress": 45.0,
    "start_date": "2026-09-30",
    "end_date": "2028-06-30",
    "investment_yi": 12.5,
    "source": "区住建局",
    "confidence": "approximate",
}

STATUS_WORDS = {
    "s01": ("规划", "planned"),
    "s02": ("拟建", "planned"),
    "s03": ("Planned", "planned"),
    "s04": ("not started", "planned"),
    "s05": ("在建", "in_progress"),
    "s06": ("施工中", "in_progress"),
    "s07": ("Under Construction", "in_progress"),
    "s08": ("in-progress", "in_progress"),
    "s09": ("已完工", "completed"),
    "s10": ("竣工", "completed"),
    "s11": ("Completed", "completed"),
    "s12": (" DONE ", "completed"),
}

DATE_FORMS = {"d1": "2026/9/30", "d2": "2026年9月30日", "d3": "2026-09-30", "d4": "2026.9.30", "d5": "2026-09-30 08:00"}


def _xss_file() -> bytes:
    """Every payload in every free-text field, one feature per payload rotation."""
    features = []
    for i in range(3):
        texts = {name: XSS[(i + j) % 3] for j, name in enumerate(("name_zh", "name_en", "kind", "source", "note"))}
        features.append(feature(props(f"x{i}", **texts), point()))
    return to_bytes(collection(*features))


XSS_EXPECTED = {
    f"x{i}": {name: XSS[(i + j) % 3] for j, name in enumerate(("name_zh", "name_en", "kind", "source", "note"))}
    for i in range(3)
}


def _geojson_cases() -> list[Case]:
    good = collection(feature(props("p1"), point()))
    return [
        # --- not GeoJSON at all
        _c(
            "malformed_json",
            "a.geojson",
            raw(b'{"type": "FeatureCollection", "features": ['),
            P,
            _fail(_file("not_json")),
        ),
        _c("json_list", "a.geojson", raw(b"[1, 2, 3]"), P, _fail(_file("not_geojson", "list"))),
        _c("json_number", "a.json", raw(b"42"), P, _fail(_file("not_geojson", "int"))),
        _c("json_string", "a.json", raw(b'"FeatureCollection"'), P, _fail(_file("not_geojson", "str"))),
        _c(
            "topojson",
            "a.json",
            geojson({"type": "Topology", "objects": {}, "arcs": []}),
            P,
            _fail(_file("not_geojson", "Topology")),
        ),
        _c("empty_file", "a.geojson", raw(b""), P, _fail(_file("not_json"))),
        _c(
            "features_not_a_list",
            "a.geojson",
            geojson({"type": "FeatureCollection", "features": {}}),
            P,
            _fail(_file("not_geojson")),
        ),
        _c(
            "feature_member_not_a_feature",
            "a.geojson",
            geojson(collection(feature(props(), point()), 7)),
            P,
            _fail(Expect("not_a_feature", "#2")),
        ),
        _c(
            "properties_not_an_object",
            "a.geojson",
            geojson(collection(feature([1, 2], point()))),
            P,
            _fail(Expect("bad_properties", "#1", "properties", ("list",))),
        ),
        _c(
            "huge_integer",
            "a.geojson",
            raw(
                b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"n":'
                + b"9" * 5000
                + b'},"geometry":null}]}'
            ),
            P,
            _fail(_file("not_json")),
        ),
        _c("random_bytes", "a.geojson", lambda: random_bytes(1, 4096), P, _fail(_file("unknown_encoding|not_json"))),
        _c(
            "utf16_notepad_unicode",
            "a.geojson",
            lambda: to_bytes(good).decode().encode("utf-16"),
            P,
            _fail(_file("unknown_encoding|not_json")),
        ),
        _c("deeply_nested_lists", "a.geojson", lambda: nested_lists(100_000), P, _fail(_file("too_complex|not_json"))),
        _c(
            "deeply_nested_objects",
            "a.geojson",
            lambda: nested_objects(100_000),
            P,
            _fail(_file("too_complex|not_json")),
        ),
        _c("unsupported_suffix", "a.dxf", geojson(good), P, _fail(_file("unsupported_file", ".dxf"))),
        _c("unknown_layer", "a.geojson", geojson(good), Options("parks"), _fail(_file("unknown_layer", "parks"))),
        _c(
            "unknown_datum",
            "a.geojson",
            geojson(good),
            Options("projects", datum="beijing54"),
            _fail(_file("unknown_datum", "beijing54")),
        ),
        # --- collections
        _c(
            "empty_collection",
            "a.geojson",
            geojson(collection()),
            P,
            _ok(feature_count=0),
        ),
        _c(
            "bare_feature",
            "a.geojson",
            geojson(feature(props("p1"), point())),
            P,
            _ok(feature_count=1, properties={"p1": {"status": "in_progress"}}, coordinates={"p1": (POINT,)}),
        ),
        _c(
            "mixed_geometries_in_projects",
            "a.geojson",
            geojson(
                collection(feature(props("pt"), point()), feature(props("ln"), line()), feature(props("ar"), polygon()))
            ),
            P,
            _ok(feature_count=3, geometry_types={"pt": ("Point",), "ln": ("LineString",), "ar": ("Polygon",)}),
        ),
        _c(
            "point_in_roads",
            "a.geojson",
            geojson(collection(feature(props("r1"), point()))),
            ROADS,
            _fail(Expect("wrong_geometry", "r1", "geometry", ("Point",))),
        ),
        _c(
            "polygon_in_rail",
            "a.geojson",
            geojson(collection(feature(props("k1"), polygon()))),
            Options("rail"),
            _fail(Expect("wrong_geometry", "k1", "geometry", ("Polygon",))),
        ),
        _c(
            "line_in_layout",
            "a.geojson",
            geojson(collection(feature(props("l1"), line()))),
            Options("layout"),
            _fail(Expect("wrong_geometry", "l1", "geometry", ("LineString",))),
        ),
        _c(
            "geometry_collection",
            "a.geojson",
            geojson(collection(feature(props("g1"), {"type": "GeometryCollection", "geometries": [point()]}))),
            P,
            _fail(Expect("wrong_geometry", "g1", "geometry", ("GeometryCollection",))),
        ),
        _c(
            "null_geometry",
            "a.geojson",
            geojson(collection(feature(props("n1"), None))),
            P,
            _fail(Expect("missing_geometry", "n1", "geometry")),
        ),
        _c(
            "bow_tie",
            "a.geojson",
            geojson(collection(feature(props("b1"), polygon(BOW_TIE)))),
            P,
            _fail(
                Expect("invalid_geometry", "b1", "geometry", ("Self-intersection", "117.15 36.95")), invalid_geometry=1
            ),
        ),
        _c(
            "bow_tie_repaired",
            "a.geojson",
            geojson(collection(feature(props("b1"), polygon(BOW_TIE)))),
            Options("projects", repair=True),
            _ok(
                _warn("geometry_repaired", "b1", "geometry", "Self-intersection"),
                invalid_geometry=0,
                geometry_types={"b1": ("Polygon", "MultiPolygon")},
            ),
        ),
        _c(
            "degenerate_polygon_repair",
            "a.geojson",
            geojson(collection(feature(props("z1"), polygon([POINT, POINT, POINT, POINT])))),
            Options("projects", repair=True),
            _fail(Expect("invalid_geometry", "z1", "geometry")),
            raises=True,
        ),
        # --- where it is
        _c(
            "outside_district_beijing",
            "a.geojson",
            geojson(collection(feature(props("bj"), point(BEIJING)))),
            P,
            _fail(Expect("outside_district", "bj", "geometry", ("116.4", "39.9"))),
        ),
        _c(
            "partly_outside_district",
            "a.geojson",
            geojson(collection(feature(props("r1"), line(HALF_OUTSIDE)))),
            ROADS,
            _ok(_warn("partly_inside_district", "r1", "geometry")),
        ),
        _c(
            "projected_gk_4548",
            "a.geojson",
            geojson(collection(feature(props("r1"), line(projected(LINE, 4548))))),
            ROADS,
            _ok(detected={"crs": "EPSG:4548"}, coordinates=LINE_WGS84),
        ),
        _c(
            "projected_gk_4527_zone_prefix",
            "a.geojson",
            geojson(collection(feature(props("r1"), line(projected(LINE, 4527))))),
            ROADS,
            _ok(detected={"crs": "EPSG:4527"}, coordinates=LINE_WGS84),
        ),
        _c(
            "projected_web_mercator",
            "a.geojson",
            geojson(collection(feature(props("r1"), line(projected(LINE, 3857))))),
            ROADS,
            _ok(detected={"crs": "EPSG:3857"}, coordinates=LINE_WGS84),
        ),
        _c(
            "legacy_crs_4548_honoured",
            "a.geojson",
            geojson(
                collection(
                    feature(props("r1"), line(projected(LINE, 4548))), crs=legacy_crs("urn:ogc:def:crs:EPSG::4548")
                )
            ),
            ROADS,
            _ok(detected={"crs": "EPSG:4548 (declared)"}, coordinates=LINE_WGS84),
        ),
        _c(
            "legacy_crs_cgcs2000_geographic",
            "a.geojson",
            geojson(collection(feature(props("r1"), line()), crs=legacy_crs("EPSG:4490"))),
            ROADS,
            _ok(detected={"crs": "EPSG:4490 (declared)"}, coordinates=LINE_WGS84),
        ),
        # CM 117E numbers labelled CM 120E: they land 3 degrees (~267 km) east, near Laizhou Bay
        _c(
            "wrongly_labelled_4549",
            "a.geojson",
            geojson(
                collection(
                    feature(props("r1"), line(projected(LINE, 4548))), crs=legacy_crs("urn:ogc:def:crs:EPSG::4549")
                )
            ),
            ROADS,
            _fail(Expect("outside_district", "r1", "geometry", ("120.1",))),
        ),
        _c(
            "legacy_crs_unknown_code",
            "a.geojson",
            geojson(collection(feature(props("r1"), line()), crs=legacy_crs("EPSG:999999"))),
            ROADS,
            _fail(_file("unknown_crs", "999999")),
        ),
        _c(
            "unrecognisable_projected_numbers",
            "a.geojson",
            geojson(collection(feature(props("r1"), line([(1000.0, 2000.0), (1500.0, 2600.0)])))),
            ROADS,
            _fail(_file("unknown_coordinates")),
        ),
        _c(
            "unlabelled_4549_numbers",
            "a.geojson",
            geojson(collection(feature(props("r1"), line(projected(LINE, 4549))))),
            ROADS,
            _fail(_file("unknown_coordinates")),
        ),
        _c(
            "lat_lon_swapped",
            "a.geojson",
            geojson(collection(feature(props("r1"), line(swapped(LINE))))),
            ROADS,
            _ok(detected={"axis": "swap"}, coordinates=LINE_WGS84),
        ),
        _c(
            "gcj02_datum",
            "a.geojson",
            geojson(collection(feature(props("p1"), point(datum.convert_point(*POINT, "wgs84", "gcj02"))))),
            Options("projects", datum="gcj02"),
            _ok(detected={"datum": "gcj02"}, coordinates={"p1": (POINT,)}),
        ),
        _c(
            "bd09_datum",
            "a.geojson",
            geojson(collection(feature(props("p1"), point(datum.convert_point(*POINT, "wgs84", "bd09"))))),
            Options("projects", datum="bd09"),
            _ok(detected={"datum": "bd09"}, coordinates={"p1": (POINT,)}),
        ),
        # --- numbers
        _c(
            "z_values_dropped",
            "a.geojson",
            geojson(collection(feature(props("r1"), line([(*LINE[0], 12.5), (*LINE[1], 13.0)])))),
            ROADS,
            _ok(detected={"z": "1"}, coordinates=LINE_WGS84),
        ),
        _c(
            "nan_coordinate",
            "a.geojson",
            raw(to_bytes(collection(feature(props("p1"), point((0, 0))))).replace(b"[0, 0]", b"[NaN, 36.98]")),
            P,
            _fail(_file("not_finite", "NaN")),
        ),
        _c(
            "infinite_coordinate",
            "a.geojson",
            raw(to_bytes(collection(feature(props("p1"), point((0, 0))))).replace(b"[0, 0]", b"[1e999, 36.98]")),
            P,
            # 1e999 parses as infinity: that geometry cannot be read, and the feature is named.
            _fail(Expect("missing_geometry", "p1", "geometry")),
        ),
        # --- encodings and field names
        _c(
            "gbk_chinese_field_names",
            "a.geojson",
            geojson(collection(feature(GBK_PROPERTIES, point())), encoding="gbk"),
            P,
            _ok(
                detected={"encoding": "GBK"},
                properties={"jy-001": GBK_EXPECTED},
                field_map={
                    "编号": "id",
                    "名称": "name_zh",
                    "状态": "status",
                    "进度": "progress",
                    "开工日期": "start_date",
                    "计划完工日期": "end_date",
                    "投资(亿元)": "investment_yi",
                    "来源": "source",
                },
            ),
        ),
        _c(
            "utf8_with_bom",
            "a.geojson",
            geojson(collection(feature(GBK_PROPERTIES, point())), bom=True),
            P,
            _ok(detected={"encoding": "BOM"}, properties={"jy-001": GBK_EXPECTED}),
        ),
        _c(
            "geojson_feature_id_used_as_id",
            "a.geojson",
            geojson(collection(feature({"名称": "东站", "状态": "规划"}, point(), id=7))),
            P,
            _ok(properties={"7": {"id": "7", "status": "planned"}}),
        ),
        _c(
            "geojson_feature_id_beside_an_id_column",
            "a.geojson",
            geojson(collection(feature({"编号": "jy-1", "名称": "东站", "状态": "规划"}, point(), id=0))),
            P,
            _ok(properties={"jy-1": {"id": "jy-1"}}),
        ),
        _c(
            "integer_id_written_as_float",
            "a.geojson",
            _one_feature_with(id=12.0),
            P,
            _ok(properties={"12": {"id": "12"}}),
        ),
        # --- status
        _c(
            "status_words_chinese_and_english",
            "a.geojson",
            _features(*(props(fid, status=word) for fid, (word, _) in STATUS_WORDS.items())),
            P,
            _ok(properties={fid: {"status": code} for fid, (_, code) in STATUS_WORDS.items()}),
        ),
        _c(
            "status_unknown_word",
            "a.geojson",
            _one_feature_with(status="烂尾"),
            P,
            _fail(Expect("bad_status", "p1", "status", ("烂尾",))),
        ),
        _c(
            "status_blank",
            "a.geojson",
            _one_feature_with(status="  "),
            P,
            _fail(Expect("missing_required", "p1", "status")),
        ),
        # --- progress
        _c(
            "progress_number_45",
            "a.geojson",
            _one_feature_with(progress=45),
            P,
            _ok(properties={"p1": {"progress": 45.0}}),
        ),
        _c(
            "progress_text_45_percent",
            "a.geojson",
            _one_feature_with(progress="45%"),
            P,
            _ok(properties={"p1": {"progress": 45.0}}),
        ),
        _c(
            "progress_all_fractions",
            "a.geojson",
            _features(props("p1", progress=0.45), props("p2", progress=0.3), props("p3", progress=1)),
            P,
            _ok(
                detected={"progress": "fraction"},
                properties={"p1": {"progress": 45.0}, "p2": {"progress": 30.0}, "p3": {"progress": 100.0}},
            ),
        ),
        _c(
            "progress_mixed_percent_and_fraction",
            "a.geojson",
            _features(props("p1", progress=45), props("p2", progress=0.45)),
            P,
            _fail(Expect("ambiguous_progress", "p2", "progress", ("0.45",))),
        ),
        _c(
            "progress_percent_sign_and_fraction",
            "a.geojson",
            _features(props("p1", progress="45%"), props("p2", progress=0.45)),
            P,
            _fail(Expect("ambiguous_progress", "p2", "progress", ("0.45",))),
        ),
        _c(
            "progress_over_100",
            "a.geojson",
            _one_feature_with(progress=120),
            P,
            _fail(Expect("bad_progress", "p1", "progress", ("120",))),
        ),
        _c(
            "progress_not_reported",
            "a.geojson",
            _one_feature_with(progress="未报告"),
            P,
            _ok(properties={"p1": {"progress": None}}),
        ),
        _c(
            "progress_words",
            "a.geojson",
            _one_feature_with(progress="一半"),
            P,
            _fail(Expect("bad_progress", "p1", "progress", ("一半",))),
        ),
        _c(
            "progress_against_status_warns",
            "a.geojson",
            _features(props("p1", status="规划", progress=30), props("p2", status="已完工", progress=80)),
            P,
            _ok(_warn("planned_with_progress", "p1", "progress"), _warn("completed_below_100", "p2", "progress")),
        ),
        # --- dates and money
        _c(
            "dates_common_forms",
            "a.geojson",
            _features(*(props(fid, start_date=text, end_date="2027-12-31") for fid, text in DATE_FORMS.items())),
            P,
            _ok(properties={fid: {"start_date": "2026-09-30", "end_date": "2027-12-31"} for fid in DATE_FORMS}),
        ),
        _c(
            "date_impossible",
            "a.geojson",
            _one_feature_with(start_date="2026-02-30"),
            P,
            _fail(Expect("bad_date", "p1", "start_date", ("2026-02-30",))),
        ),
        _c(
            "date_implausible_year",
            "a.geojson",
            _one_feature_with(end_date="2260-01-01"),
            P,
            _fail(Expect("bad_date", "p1", "end_date", ("2260",))),
        ),
        _c(
            "dates_out_of_order",
            "a.geojson",
            _one_feature_with(start_date="2027/1/1", end_date="2026年1月1日"),
            P,
            _fail(Expect("dates_out_of_order", "p1", "end_date", ("2026-01-01",))),
        ),
        _c(
            "investment_with_unit",
            "a.geojson",
            _one_feature_with(investment_yi="1,250.5 亿元"),
            P,
            _ok(properties={"p1": {"investment_yi": 1250.5}}),
        ),
        _c(
            "investment_negative",
            "a.geojson",
            _one_feature_with(investment_yi=-3),
            P,
            _fail(Expect("bad_investment", "p1", "investment_yi")),
        ),
        # --- ids and text
        _c(
            "duplicate_ids",
            "a.geojson",
            _features(props("p1"), props("p2"), props("p1")),
            P,
            _fail(Expect("duplicate_id", "p1", "id", ("p1",))),
        ),
        _c(
            "id_field_missing",
            "a.geojson",
            _features(props(None), props(None)),
            P,
            _fail(Expect("required_field_unmapped", "*", "id")),
        ),
        _c(
            "id_blank_in_one_feature",
            "a.geojson",
            _features(props("p1"), props(""), props("p3")),
            P,
            _fail(Expect("missing_required", "#2", "id")),
        ),
        _c(
            "id_with_slash",
            "a.geojson",
            _one_feature_with(id="jy/001"),
            P,
            _fail(Expect("bad_id", "jy/001", "id", ("jy/001",))),
        ),
        _c(
            "id_with_space",
            "a.geojson",
            _one_feature_with(id="jy 001"),
            P,
            _fail(Expect("bad_id", "jy 001", "id", ("jy 001",))),
        ),
        _c(
            "text_too_long",
            "a.geojson",
            _one_feature_with(note="很长" * 1001),
            P,
            _fail(Expect("text_too_long", "p1", "note", ("2002",))),
        ),
        _c("text_not_text", "a.geojson", _one_feature_with(kind={"a": 1}), P, _fail(Expect("not_text", "p1", "kind"))),
        _c("xss_in_every_text_field", "a.geojson", _xss_file, P, _ok(properties=XSS_EXPECTED)),
        _c("xss_as_id", "a.geojson", _one_feature_with(id=XSS[0]), P, _fail(Expect("bad_id", XSS[0], "id", (XSS[0],)))),
        _c(
            "xss_as_field_name",
            "a.geojson",
            _one_feature_with(**{XSS[2]: "x"}),
            P,
            _ok(properties={"p1": {XSS[2]: "x"}}),
        ),
        # --- field mapping
        _c(
            "unknown_name_field",
            "a.geojson",
            _features(props("p1", name_zh=..., 项目="济阳新区")),
            P,
            _fail(Expect("required_field_unmapped", "*", "name_zh")),
        ),
        _c(
            "unknown_name_field_mapped_by_hand",
            "a.geojson",
            _features(props("p1", name_zh=..., 项目="济阳新区")),
            Options("projects", field_map={"项目": "name_zh"}),
            _ok(properties={"p1": {"name_zh": "济阳新区"}}, field_map={"项目": "name_zh"}),
        ),
        _c(
            "two_fields_same_target_automatic",
            "a.geojson",
            _features(props("p1", 名称="别名")),
            P,
            _fail(Expect("field_mapped_twice", "*", "name_zh", ("name_zh", "名称"))),
        ),
        _c(
            "two_fields_same_target_by_hand",
            "a.geojson",
            _features(props("p1", 备注="备注")),
            Options("projects", field_map={"备注": "name_zh"}),
            _fail(Expect("field_mapped_twice", "*", "name_zh", ("name_zh", "备注"))),
        ),
        _c(
            "field_dropped_by_hand",
            "a.geojson",
            _features(props("p1", note="内部")),
            Options("projects", field_map={"note": "-"}),
            _ok(_warn("fields_left_out", "*", None, "note"), properties={"p1": {"note": None}}),
        ),
        _c(
            "source_defaults_to_upload_name",
            "a.geojson",
            _features(props("p1")),
            Options("projects", source_name="roads-2026.geojson"),
            _ok(properties={"p1": {"source": "upload: roads-2026.geojson"}}),
        ),
        # --- limits (lowered while the case is read)
        _c(
            "over_max_bytes",
            "a.geojson",
            lambda: to_bytes(good) + b" " * 2000,
            P,
            _fail(_file("file_too_large")),
            limits={"MAX_BYTES": 1000},
        ),
        _c(
            "over_max_features",
            "a.geojson",
            _features(*(props(f"p{i}") for i in range(4))),
            P,
            _fail(_file("too_many_features", "4")),
            limits={"MAX_FEATURES": 3},
        ),
        _c(
            "over_max_vertices",
            "a.geojson",
            geojson(collection(feature(props("r1"), line([(117.10 + i / 1000, 36.9) for i in range(11)])))),
            ROADS,
            _fail(_file("too_many_vertices", "11")),
            limits={"MAX_VERTICES": 10},
        ),
        _c(
            "over_max_properties",
            "a.geojson",
            _one_feature_with(a=1, b=2, c=3),
            P,
            _fail(Expect("too_many_properties", "#1", None, ("6",))),
            limits={"MAX_PROPERTIES": 5},
        ),
    ]


def _zip_cases() -> list[Case]:
    four_548 = road_geometries([tuple(c) for c in projected(LINE, 4548)])
    return [
        _c(
            "shapefile_utf8_with_cpg",
            "roads.zip",
            road_zip(),
            ROADS,
            _ok(
                detected={"encoding": "UTF-8", "crs": "EPSG:4326"},
                coordinates=LINE_WGS84,
                properties={"r1": {"name_zh": "济阳大道", "status": "in_progress", "progress": 45.0}},
            ),
        ),
        _c(
            "shapefile_gbk_without_cpg",
            "roads.zip",
            road_zip(encoding="GBK", drop=(".cpg",)),
            ROADS,
            _ok(detected={"encoding": "GBK"}, properties={"r1": {"name_zh": "济阳大道", "status": "in_progress"}}),
        ),
        _c(
            "shapefile_gbk_with_cpg",
            "roads.zip",
            road_zip(encoding="GBK"),
            ROADS,
            _ok(detected={"encoding": "GBK"}, properties={"r1": {"name_zh": "济阳大道"}}),
        ),
        _c(
            "shapefile_gk_4548_with_prj",
            "roads.zip",
            road_zip(geometries=four_548, crs="EPSG:4548"),
            ROADS,
            _ok(detected={"crs": "EPSG:4548 (declared)"}, coordinates=LINE_WGS84),
        ),
        _c(
            "shapefile_gk_4548_without_prj",
            "roads.zip",
            road_zip(geometries=four_548, crs="EPSG:4548", drop=(".prj",)),
            ROADS,
            _ok(detected={"crs": "EPSG:4548 (recognised)"}, coordinates=LINE_WGS84),
        ),
        _c(
            "shapefile_in_a_folder_with_mac_junk",
            "roads.zip",
            lambda: zip_of(
                [
                    *((f"济阳道路/roads{s}", d) for s, d in shapefile_parts(road_rows(), road_geometries()).items()),
                    ("__MACOSX/济阳道路/._roads.shp", b"\x00\x05\x16\x07"),
                    (".DS_Store", b"junk"),
                    ("济阳道路/", b""),
                ]
            ),
            ROADS,
            _ok(properties={"r1": {"name_zh": "济阳大道"}}),
        ),
        _c(
            "shapefile_text_date_and_fraction",
            "roads.zip",
            road_zip(rows=road_rows(进度=0.45, 开工="2026/09/30 00:00:00")),
            Options("roads", field_map={"开工": "start_date"}),
            _ok(detected={"progress": "fraction"}, properties={"r1": {"progress": 45.0, "start_date": "2026-09-30"}}),
        ),
        _c(
            "shapefile_utf8_name_cut_mid_character",
            "roads.zip",
            road_zip(rows=road_rows(开工日期="2026-01-01")),
            ROADS,
            _ok(properties={"r1": {"name_zh": "济阳大道", "status": "in_progress"}}),
        ),
        _c(
            "shapefile_gbk_truncated_field_name",
            "roads.zip",
            road_zip(rows=road_rows(计划完工日期="2027-06-30"), encoding="GBK"),
            ROADS,
            _ok(properties={"r1": {"end_date": "2027-06-30"}}),
        ),
        _c(
            "zip_two_shapefiles",
            "roads.zip",
            road_zip_plus(
                lambda: ((f"other{s}", d) for s, d in shapefile_parts(road_rows(), road_geometries()).items())
            ),
            ROADS,
            _fail(_file("zip_needs_one_shapefile", "2")),
        ),
        _c(
            "zip_no_shapefile",
            "roads.zip",
            lambda: zip_of([("readme.txt", b"no layers here")]),
            ROADS,
            _fail(_file("zip_needs_one_shapefile", "0")),
        ),
        _c("zip_missing_dbf", "roads.zip", road_zip(drop=(".dbf",)), ROADS, _fail(_file("zip_missing_part", ".dbf"))),
        _c("zip_missing_shx", "roads.zip", road_zip(drop=(".shx",)), ROADS, _fail(_file("zip_missing_part", ".shx"))),
        _c(
            "zip_parent_path",
            "roads.zip",
            road_zip_plus(lambda: [("../evil.shp", b"x")]),
            ROADS,
            _fail(_file("zip_bad_path", "../evil.shp")),
        ),
        _c(
            "zip_backslash_parent_path",
            "roads.zip",
            road_zip_plus(lambda: [("..\\..\\evil.dbf", b"x")]),
            ROADS,
            _fail(_file("zip_bad_path")),
        ),
        _c(
            "zip_absolute_path",
            "roads.zip",
            road_zip_plus(lambda: [("/etc/cron.d/evil", b"x")]),
            ROADS,
            _fail(_file("zip_bad_path")),
        ),
        _c(
            "zip_drive_path",
            "roads.zip",
            road_zip_plus(lambda: [("C:/Windows/evil.dbf", b"x")]),
            ROADS,
            _fail(_file("zip_bad_path")),
        ),
        _c(
            "zip_symlink",
            "roads.zip",
            lambda: zip_of(
                [
                    *(
                        (f"roads{s}", d)
                        for s, d in shapefile_parts(road_rows(), road_geometries()).items()
                        if s != ".dbf"
                    ),
                    (zip_info("roads.dbf", mode=stat.S_IFLNK | 0o777), b"/etc/passwd"),
                ]
            ),
            ROADS,
            _fail(_file("zip_symlink", "roads.dbf")),
        ),
        _c("zip_ratio_bomb", "roads.zip", ratio_bomb_zip, ROADS, _fail(_file("zip_ratio", "roads.dbf"))),
        _c(
            "zip_over_total_size",
            "roads.zip",
            good_road_zip,
            ROADS,
            _fail(_file("zip_too_large")),
            limits={"MAX_ZIP_TOTAL": 300},
        ),
        _c(
            "zip_too_many_entries",
            "roads.zip",
            road_zip_plus(lambda: [(f"docs/note{i:02}.txt", b"n") for i in range(50)]),
            ROADS,
            _fail(_file("zip_too_many_entries", "55")),
        ),
        _c(
            "zip_shapefile_over_max_features",
            "roads.zip",
            road_zip(rows=road_rows() * 3, geometries=road_geometries() * 3),
            ROADS,
            _fail(_file("too_many_features", "3")),
            limits={"MAX_FEATURES": 2},
        ),
        _c(
            "zip_shapefile_over_max_properties",
            "roads.zip",
            road_zip(rows=road_rows(a=1, b=2, c=3)),
            ROADS,
            _fail(Expect("too_many_properties")),
            limits={"MAX_PROPERTIES": 5},
        ),
        _c("not_a_zip", "roads.zip", raw(b"PK\x03\x04 this is a text file named .zip"), ROADS, _fail(_file("bad_zip"))),
        _c("zip_unknown_compression_method", "roads.zip", unknown_method_zip, ROADS, _fail(_file("bad_zip"))),
        _c(
            "zip_encrypted_entries",
            "roads.zip",
            encrypted_zip,
            ROADS,
            _fail(_file("zip_encrypted")),
            raises=True,
        ),
        _c(
            "zip_corrupt_deflate_stream",
            "roads.zip",
            corrupt_deflate_zip,
            ROADS,
            _fail(_file("bad_zip")),
            raises=True,
        ),
        _c(
            "zip_needs_future_version",
            "roads.zip",
            future_version_zip,
            ROADS,
            _fail(_file("bad_zip")),
            raises=True,
        ),
        _c(
            "zip_directory_offset_past_end",
            "roads.zip",
            shifted_directory_zip,
            ROADS,
            _fail(_file("bad_zip")),
            raises=True,
        ),
    ]


CASES: list[Case] = [*_geojson_cases(), *_zip_cases()]

assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"


# --- fuzz material ------------------------------------------------------------------------------------------------

FUZZ_SEED = 20260930
VALID_GEOJSON = to_bytes(
    collection(
        feature(GBK_PROPERTIES, point()),
        feature({**GBK_PROPERTIES, "编号": "jy-002", "进度": 0.45}, line()),
        feature({**GBK_PROPERTIES, "编号": "jy-003", "状态": "规划"}, polygon()),
    )
)
JSON_ALPHABET = b'{}[],:"0123456789.-+eE \n\\ntruefalsNaIfiy\xe6\xb5\x8e'
WEIRD_VALUES: tuple[Any, ...] = (
    None, True, 0, -1, 1e308, 10**30, "", "x", [], {}, [[]], [1], [1, 2, 3, 4], "NaN", "0.45", "１２", "2026-13-45",
    "99999-01-01", "未报告", "<img src=x onerror=alert(1)>", *XSS, 117.17, 36.98, list(POINT), [list(POINT)],
    {"type": "Point"}, {"type": "Point", "coordinates": []}, {"type": "LineString", "coordinates": [list(POINT)]},
    polygon([POINT, POINT, POINT, POINT]), {"type": "Polygon", "coordinates": []}, polygon(BOW_TIE),
    {"type": "MultiPoint", "coordinates": []}, {"type": "GeometryCollection", "geometries": []},
    legacy_crs("EPSG:4548"), legacy_crs("EPSG:999999"), legacy_crs("+proj=merc"), legacy_crs("EPSG:4978"),
    legacy_crs("+proj=pipeline +step +proj=axisswap +order=2,1"), {"type": "name", "properties": []},
)  # fmt: skip


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """A few random byte edits (replace, delete, insert) biased towards JSON's own characters."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(out) or 1)
        choice = rng.random()
        if choice < 0.4 and out:
            out[at] = rng.choice(JSON_ALPHABET)
        elif choice < 0.7:
            del out[at : at + rng.randint(1, 12)]
        else:
            out[at:at] = bytes(rng.choice(JSON_ALPHABET) for _ in range(rng.randint(1, 6)))
    return bytes(out)


def mutate_structure(doc: Any, rng: random.Random) -> Any:
    """The document with one to three values (anywhere, at any depth) replaced by something odd."""
    doc = json.loads(json.dumps(doc))
    for _ in range(rng.randint(1, 3)):
        paths = list(_paths(doc))
        path = rng.choice(paths)
        if not path:
            continue
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = json.loads(json.dumps(rng.choice(WEIRD_VALUES)))
    return doc


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterable[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)
