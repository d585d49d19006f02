"""Every format planners have comes in whole: GeoPackage, zipped File Geodatabase, KML/KMZ, a bare JSON array of
Features, ECharts-encoded GeoJSON; multi-layer files ask which layer; CRS names are short; GDAL stays quiet.

Every file is made here (pyogrio/GDAL writers, hand-written KML, zipfile): no third-party data is shipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from tests.unit.corpus import shapefile_parts, zip_of, zipped
from urban_plan import datum, formats, i18n, ingest, problems
from urban_plan.ingest import Options
from urban_plan.schema import Problem

SCHOOL = (117.17, 36.98)  # central Jiyang
CLINIC = (117.18, 36.99)
ROWS = [
    {"编号": "s1", "名称": "济阳一中", "状态": "在建", "建设单位": "济阳区教育和体育局", "用地面积": 12.5},
    {"编号": "s2", "名称": "实验小学", "状态": "规划", "建设单位": "济阳区住房和城乡建设局", "用地面积": 3.0},
]
ROOT = Path(__file__).resolve().parents[2]


# --- file builders ---------------------------------------------------------------------------------------------------


def frame(rows: list[dict[str, Any]] = ROWS, points: list[tuple[float, float]] | None = None) -> gpd.GeoDataFrame:
    points = points or [SCHOOL, CLINIC][: len(rows)]
    return gpd.GeoDataFrame(rows, geometry=[shapely.Point(p) for p in points], crs="EPSG:4326")


def written(suffix: str, layers: dict[str, gpd.GeoDataFrame], driver: str | None = None) -> dict[str, bytes]:
    """Files GDAL writes for `layers` into one dataset (a GeoPackage file, a .gdb folder): relative name -> bytes."""
    import pyogrio

    with tempfile.TemporaryDirectory(prefix="formats-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = Path(tmp) / f"项目{suffix}"
        for name, layer in layers.items():
            pyogrio.write_dataframe(layer, target, layer=name, driver=driver)
        if target.is_dir():
            return {f"{target.name}/{p.name}": p.read_bytes() for p in sorted(target.iterdir())}
        return {target.name: target.read_bytes()}


def gpkg(**layers: gpd.GeoDataFrame) -> bytes:
    return next(iter(written(".gpkg", layers or {"学校": frame()}).values()))


def gdb_zip(folder: bool = True, **layers: gpd.GeoDataFrame) -> bytes:
    files = written(".gdb", layers or {"学校": frame()}, driver="OpenFileGDB")
    return zip_of((name if folder else name.split("/", 1)[1], data) for name, data in files.items())


def placemark(row: dict[str, Any], xy: tuple[float, float]) -> str:
    data = "".join(
        f'<Data name="{k}"><value>{v}</value></Data>' for k, v in row.items() if k not in ("名称", "description")
    )
    description = f"<description>{row['description']}</description>" if "description" in row else ""
    return (
        f"<Placemark><name>{row['名称']}</name>{description}<styleUrl>#s</styleUrl>"
        f"<ExtendedData>{data}</ExtendedData><Point><coordinates>{xy[0]},{xy[1]},0</coordinates></Point></Placemark>"
    )


def kml(folders: dict[str, list[dict[str, Any]]] | None = None) -> bytes:
    """KML as Google Earth and 奥维互动地图 save it: placemarks in folders, untyped ExtendedData with Chinese names."""
    folders = folders or {"学校": ROWS}
    body = ""
    for name, rows in folders.items():
        marks = "".join(placemark(r, xy) for r, xy in zip(rows, [SCHOOL, CLINIC], strict=False))
        body += f"<Folder><name>{name}</name>{marks}</Folder>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f'<name>济阳.kml</name><Style id="s"><IconStyle><scale>1.2</scale></IconStyle></Style>{body}</Document></kml>'
    ).encode()


def read(name: str, data: bytes, layer: str = "projects", **options: Any) -> ingest.Result:
    return ingest.read_upload(name, data, Options(layer, **options))


def codes(result: ingest.Result, severity: str = "error") -> list[str]:
    return [p.code for p in result.problems if p.severity == severity]


def problem(result: ingest.Result, code: str) -> Problem:
    return next(p for p in result.problems if p.code == code)


def by_id(result: ingest.Result) -> dict[str, dict[str, Any]]:
    assert result.collection is not None, result.problems
    return {f["properties"]["id"]: f for f in result.collection["features"]}


def assert_schools_read(result: ingest.Result) -> None:
    """Both schools, their canonical fields mapped and their Chinese columns kept under their own names."""
    assert result.ok, result.problems
    features = by_id(result)
    assert set(features) == {"s1", "s2"}
    s1 = features["s1"]["properties"]
    assert s1["name_zh"] == "济阳一中" and s1["status"] == "in_progress"
    assert s1["建设单位"] == "济阳区教育和体育局" and float(s1["用地面积"]) == 12.5
    assert features["s2"]["properties"]["建设单位"] == "济阳区住房和城乡建设局"
    assert features["s1"]["geometry"]["coordinates"][:2] == pytest.approx(list(SCHOOL), abs=1e-6)


# --- GeoPackage ------------------------------------------------------------------------------------------------------


def test_geopackage_is_read_with_its_chinese_columns() -> None:
    result = read("学校.gpkg", gpkg())
    assert_schools_read(result)
    assert result.detected["format"] == "GeoPackage" and result.detected["encoding"] == "UTF-8"
    assert "建设单位" in result.source_fields


def test_geopackage_in_cgcs2000_gauss_kruger_is_converted_and_its_crs_named_shortly() -> None:
    result = read("学校.gpkg", gpkg(学校=frame().to_crs(4548)))
    assert_schools_read(result)
    assert result.detected["crs"] == "CGCS2000 / 3-degree Gauss-Kruger CM 117E, EPSG:4548 (declared)"
    assert len(result.detected["crs"]) < 80


def test_geopackage_with_several_layers_asks_which_one_and_reads_the_one_chosen() -> None:
    roads = gpd.GeoDataFrame(
        [{"编号": "r1", "名称": "济阳大道", "状态": "在建"}],
        geometry=[shapely.LineString([SCHOOL, CLINIC])],
        crs="EPSG:4326",
    )
    data = gpkg(学校=frame(), 道路=roads)
    assert ingest.list_layers("规划.gpkg", data) == ["学校", "道路"]

    unchosen = read("规划.gpkg", data)
    assert codes(unchosen) == ["choose_layer"] and unchosen.collection is None
    choose = problem(unchosen, "choose_layer")
    assert choose.found == "学校, 道路" and dict(choose.params)["count"] == "2"
    for lang in ("zh", "en"):
        text = problems.message(choose, lang)
        assert "学校, 道路" in text and "2" in text and not text.startswith("problem.")

    picked = read("规划.gpkg", data, source_layer="学校")
    assert_schools_read(picked)
    assert picked.detected["source_layer"] == "学校"
    roads_read = read("规划.gpkg", data, layer="roads", source_layer="道路")
    assert roads_read.ok and set(by_id(roads_read)) == {"r1"}

    unknown = read("规划.gpkg", data, source_layer="医院")
    assert codes(unknown) == ["unknown_source_layer"]
    found = problem(unknown, "unknown_source_layer")
    assert found.found == "学校, 道路" and dict(found.params)["layer"] == "医院"
    assert "医院" in problems.message(found, "zh") and "学校, 道路" in problems.message(found, "en")


def test_tables_without_geometry_are_not_offered_as_layers() -> None:
    import pandas as pd
    import pyogrio

    with tempfile.TemporaryDirectory(prefix="formats-") as tmp:
        path = Path(tmp) / "a.gpkg"
        pyogrio.write_dataframe(frame(), path, layer="学校")
        pyogrio.write_dataframe(pd.DataFrame({"批复文号": ["济发改 2024-1"]}), path, layer="批复")
        data = path.read_bytes()
    assert ingest.list_layers("a.gpkg", data) == ["学校"]
    assert_schools_read(read("a.gpkg", data))  # one map layer: no choice needed

    with tempfile.TemporaryDirectory(prefix="formats-") as tmp:
        path = Path(tmp) / "b.gpkg"
        pyogrio.write_dataframe(pd.DataFrame({"批复文号": ["济发改 2024-1"]}), path, layer="批复")
        tables_only = read("b.gpkg", path.read_bytes())
    assert codes(tables_only) == ["no_map_layers"]


def test_single_layer_formats_and_broken_files_list_no_layers() -> None:
    assert ingest.list_layers("a.geojson", json.dumps({"type": "FeatureCollection", "features": []}).encode()) == []
    assert ingest.list_layers("roads.zip", zipped(shapefile_parts(ROWS, [shapely.Point(SCHOOL)] * 2))) == []
    assert ingest.list_layers("a.gpkg", b"SQLite format 3\x00" + b"\x00" * 200) == []
    assert ingest.list_layers("a.gpkg", b"not a database") == []


def test_a_file_that_only_claims_to_be_a_geopackage_is_refused_in_words() -> None:
    for data in (b"PK\x03\x04 a zip really", b"SQLite format 3\x00" + bytes(2000)):
        result = read("a.gpkg", data)
        assert codes(result) == ["unreadable_file"], result.problems
        assert dict(problem(result, "unreadable_file").params)["format"] == "GeoPackage"
        for lang in ("zh", "en"):
            assert "GeoPackage" in problems.message(problem(result, "unreadable_file"), lang)
        assert "upload-" not in problem(result, "unreadable_file").found  # no temporary path shown


# --- File Geodatabase ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", [True, False], ids=["zipped-folder", "zipped-contents"])
def test_zipped_file_geodatabase_is_read_with_its_chinese_columns(folder: bool) -> None:
    result = read("项目.gdb.zip", gdb_zip(folder=folder, 学校=frame().to_crs(4548)))
    assert_schools_read(result)
    assert result.detected["format"] == "File Geodatabase"
    assert result.detected["crs"].endswith(", EPSG:4548 (declared)")


def test_geodatabase_with_several_feature_classes_asks_which_one() -> None:
    data = gdb_zip(学校=frame(), 诊所=frame(ROWS[:1], [CLINIC]))
    assert ingest.list_layers("项目.zip", data) == ["学校", "诊所"]
    assert codes(read("项目.zip", data)) == ["choose_layer"]
    one = read("项目.zip", data, source_layer="诊所")
    assert one.ok and set(by_id(one)) == {"s1"}


def test_archive_with_two_geodatabases_is_refused() -> None:
    first = written(".gdb", {"学校": frame()}, driver="OpenFileGDB")
    entries = [*first.items(), *((name.replace("项目.gdb", "副本.gdb"), d) for name, d in first.items())]
    result = read("两个.zip", zip_of(entries))
    assert codes(result) == ["zip_several_geodatabases"]
    assert "项目.gdb" in problem(result, "zip_several_geodatabases").found


def test_zip_holding_one_geopackage_is_read_as_the_geopackage() -> None:
    assert_schools_read(read("打包.zip", zip_of([("data/学校.gpkg", gpkg())])))


# --- KML and KMZ -----------------------------------------------------------------------------------------------------


def test_kml_keeps_name_description_and_every_chinese_extended_data_column() -> None:
    rows = [{**ROWS[0], "description": "新校区,含体育馆"}, ROWS[1]]
    result = read("学校.kml", kml({"学校": rows}))
    assert_schools_read(result)
    s1 = by_id(result)["s1"]["properties"]
    assert s1["description"] == "新校区,含体育馆"
    # Google Earth's drawing instructions are not data and do not become columns
    assert not {"tessellate", "extrude", "visibility", "drawOrder", "icon", "altitudeMode"} & set(s1)
    assert {"建设单位", "用地面积", "description"} <= set(result.source_fields)
    assert result.detected["format"] == "KML"


def test_kml_reminds_that_chinese_apps_write_gcj02_and_a_declared_gcj02_is_converted() -> None:
    data = kml()
    as_wgs84 = read("学校.kml", data)
    assert "kml_datum_notice" in codes(as_wgs84, "warning")
    for lang in ("zh", "en"):
        assert "GCJ-02" in problems.message(problem(as_wgs84, "kml_datum_notice"), lang)
    as_gcj02 = read("学校.kml", data, datum="gcj02")
    assert as_gcj02.ok and "kml_datum_notice" not in codes(as_gcj02, "warning")
    moved = by_id(as_gcj02)["s1"]["geometry"]["coordinates"]
    assert moved[:2] == pytest.approx(list(datum.convert_point(*SCHOOL, "gcj02", "wgs84")), abs=1e-6)
    distance = np.hypot(moved[0] - SCHOOL[0], moved[1] - SCHOOL[1]) * 111_000
    assert 200 < distance < 900, distance  # GCJ-02 -> WGS84 moves central Jiyang by a few hundred metres


def test_kml_with_several_folders_asks_which_folder() -> None:
    data = kml({"学校": ROWS, "医院": [{**ROWS[0], "编号": "h1", "名称": "人民医院"}]})
    assert ingest.list_layers("a.kml", data) == ["学校", "医院"]
    assert codes(read("a.kml", data)) == ["choose_layer"]
    hospitals = read("a.kml", data, source_layer="医院")
    assert hospitals.ok and set(by_id(hospitals)) == {"h1"}


def test_kmz_is_read_from_its_doc_kml_beside_its_images() -> None:
    data = zip_of([("files/icon.png", b"\x89PNG\r\n\x1a\n" + bytes(64)), ("doc.kml", kml())])
    result = read("学校.kmz", data)
    assert_schools_read(result)
    assert ingest.list_layers("学校.kmz", data) == ["学校"]


def test_kmz_without_a_kml_document_says_so() -> None:
    result = read("学校.kmz", zip_of([("files/icon.png", b"\x89PNG")]))
    assert codes(result) == ["kmz_without_kml"]
    for lang in ("zh", "en"):
        assert "KMZ" in problems.message(problem(result, "kmz_without_kml"), lang)


def test_text_that_is_not_kml_is_refused_without_a_traceback() -> None:
    for data in (b"hello", b'<?xml version="1.0"?><kml><Document><Placemark>', b"\xff\xfe\x00garbage"):
        result = read("a.kml", data)
        assert codes(result) == ["unreadable_file"], (data, result.problems)


def test_kml_with_entity_declarations_is_refused() -> None:
    data = (
        b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&x;</name>'
        b"<Point><coordinates>117.17,36.98</coordinates></Point></Placemark></Document></kml>"
    )
    result = read("a.kml", data, layer="context")
    assert not result.ok and codes(result) == ["unreadable_file"]
    assert "root:" not in json.dumps([p.found for p in result.problems])


# --- GeoJSON variants ------------------------------------------------------------------------------------------------


def feature(fid: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"编号": fid, "名称": fid, "状态": "在建", **props}, "geometry": geometry}


def test_bare_json_array_of_features_is_read_as_a_collection_with_a_notice() -> None:
    array = [feature("s1", {"type": "Point", "coordinates": list(SCHOOL)}, 建设单位="教育局")]
    result = read("datav.json", json.dumps(array, ensure_ascii=False).encode())
    assert result.ok and by_id(result)["s1"]["properties"]["建设单位"] == "教育局"
    notice = problem(result, "json_array_read")
    assert notice.severity == "warning" and notice.found == "1"
    for lang in ("zh", "en"):
        assert "1" in problems.message(notice, lang)
    assert codes(read("a.json", b"[1, 2, 3]")) == ["not_geojson"]
    assert codes(read("a.json", b"[]")) == ["not_geojson"]


def echarts_encode(ring: list[tuple[float, float]], scale: int = 1024) -> tuple[str, list[int]]:
    """ECharts' encoder (the inverse of parseGeoJson's decode): quantise, difference, zig-zag, +64 per character."""
    q = np.round(np.asarray(ring) * scale).astype(int)
    offsets = q[0].tolist()
    deltas = np.diff(np.vstack([q[:1], q]), axis=0)
    zigzag = (deltas << 1) ^ (deltas >> 31)
    return "".join(chr(int(v) + 64) for v in zigzag.ravel()), offsets


SQUARE = [(117.15, 36.96), (117.19, 36.96), (117.19, 37.00), (117.15, 37.00), (117.15, 36.96)]
TRIANGLE = [(117.20, 36.95), (117.24, 36.95), (117.22, 36.99), (117.20, 36.95)]


def test_echarts_encoded_coordinates_are_decoded_with_a_notice_on_precision_and_datum() -> None:
    ring, offsets = echarts_encode(SQUARE)
    tri, tri_offsets = echarts_encode(TRIANGLE)
    doc = {
        "type": "FeatureCollection",
        "UTF8Encoding": True,
        "features": [
            feature("a1", {"type": "Polygon", "coordinates": [ring], "encodeOffsets": [offsets]}),
            feature(
                "a2",
                {"type": "MultiPolygon", "coordinates": [[ring], [tri]], "encodeOffsets": [[offsets], [tri_offsets]]},
            ),
        ],
    }
    result = read("echarts.json", json.dumps(doc).encode(), layer="projects")
    assert result.ok, result.problems
    square = np.asarray(by_id(result)["a1"]["geometry"]["coordinates"][0])
    assert square == pytest.approx(np.asarray(SQUARE), abs=1 / 1024)
    parts = by_id(result)["a2"]["geometry"]["coordinates"]
    assert len(parts) == 2 and np.asarray(parts[1][0]) == pytest.approx(np.asarray(TRIANGLE), abs=1 / 1024)
    notice = problem(result, "echarts_decoded")
    assert notice.severity == "warning" and dict(notice.params)["metres"] == "108"
    for lang in ("zh", "en"):
        text = problems.message(notice, lang)
        assert "ECharts" in text and "108" in text and "GCJ-02" in text


def test_echarts_decoding_matches_the_reference_algorithm_for_negative_steps_and_astral_characters() -> None:
    # Large steps give characters beyond the BMP; JavaScript's charCodeAt reads them as two UTF-16 units.
    ring = [(117.0, 36.0), (117.5, 36.0), (117.5, 36.5), (117.0, 36.0)]
    text, offsets = echarts_encode(ring)
    decoded = formats.decode_echarts({"type": "LineString", "coordinates": text, "encodeOffsets": offsets}, 1024.0)
    assert np.asarray(decoded["coordinates"]) == pytest.approx(np.asarray(ring), abs=1 / 1024)


def test_malformed_echarts_file_says_what_it_is_and_how_to_get_a_plain_one() -> None:
    doc = {
        "type": "FeatureCollection",
        "UTF8Encoding": True,
        "features": [feature("a1", {"type": "Polygon", "coordinates": ["@@A"], "encodeOffsets": []})],
    }
    result = read("echarts.json", json.dumps(doc).encode(), layer="projects")
    assert codes(result) == ["echarts_bad"]
    for lang in ("zh", "en"):
        text = problems.message(problem(result, "echarts_bad"), lang)
        assert "ECharts" in text and "GeoJSON" in text and "()" not in text


# --- coordinate reference systems ------------------------------------------------------------------------------------

ESRI_CGCS2000 = (
    'PROJCS["CGCS2000_3_Degree_GK_CM_117E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
    'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],'
    'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
ESRI_BEIJING_1954 = (
    'PROJCS["Beijing_1954_3_Degree_GK_CM_117E",GEOGCS["GCS_Beijing_1954",DATUM["D_Beijing_1954",'
    'SPHEROID["Krasovsky_1940",6378245.0,298.3]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],'
    'UNIT["Meter",1.0]]'
)
ESRI_XIAN_1980 = (
    'PROJCS["Xian_1980_3_Degree_GK_Zone_39",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",'
    'SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",39500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],'
    'UNIT["Meter",1.0]]'
)
LOCAL_CAD = (
    'LOCAL_CS["Jiyang CAD drawing",LOCAL_DATUM["Unknown",32767],UNIT["Meter",1.0],AXIS["X",EAST],AXIS["Y",NORTH]]'
)


def shapefile_with_prj(prj: str, epsg: int | None, *, encoding: str = "GBK") -> bytes:
    """The two schools as a zipped shapefile whose coordinates are in `epsg` and whose .prj is `prj` as ArcGIS
    writes it (ESRI WKT, no EPSG code), or in metres of nowhere when `epsg` is None (a CAD drawing). GBK, and no
    .cpg to say so, as Chinese desktop GIS writes it (UTF-8 would cut 建设单位 to 10 bytes)."""
    if epsg is None:
        points = [shapely.Point(500_000 + i * 100, 4_090_000) for i in range(len(ROWS))]
    else:
        to = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
        points = [shapely.Point(*to.transform(*xy)) for xy in (SCHOOL, CLINIC)]
    parts = shapefile_parts(ROWS, points, crs=None, encoding=encoding, stem="学校")
    parts[".prj"] = prj.encode()
    parts.pop(".cpg", None)
    return zipped(parts, stem="学校")


def test_prj_is_reported_by_its_short_name_never_its_wkt() -> None:
    result = read("学校.zip", shapefile_with_prj(ESRI_CGCS2000, 4548))
    assert_schools_read(result)
    shown = result.detected["crs"]
    assert shown == "CGCS2000 / 3-degree Gauss-Kruger CM 117E, EPSG:4548 (declared)"
    assert "PROJCS" not in shown and "PARAMETER" not in shown and len(shown) < 80
    assert "approximate_datum" not in codes(result, "warning")  # CGCS2000 is WGS84 within centimetres


@pytest.mark.parametrize(
    ("prj", "epsg", "name"),
    [(ESRI_BEIJING_1954, 2436, "Beijing 1954"), (ESRI_XIAN_1980, 2363, "Xian 1980")],
    ids=["beijing-1954", "xian-1980"],
)
def test_beijing_1954_and_xian_1980_gauss_kruger_shapefiles_are_read_with_an_approximation_notice(
    prj: str, epsg: int, name: str
) -> None:
    result = read("学校.zip", shapefile_with_prj(prj, epsg))
    assert_schools_read(result)  # GBK without .cpg: the Chinese columns still read right
    assert result.detected["encoding"] == "GBK/GB18030"
    assert f", EPSG:{epsg} (declared)" in result.detected["crs"] and name in result.detected["crs"]
    notice = problem(result, "approximate_datum")
    assert notice.severity == "warning" and dict(notice.params)["datum"] == name
    for lang in ("zh", "en"):
        text = problems.message(notice, lang)
        assert name in text and "100" in text and "EPSG:" in text and len(text) < 300


def test_a_local_cad_system_is_refused_by_its_short_name() -> None:
    result = read("学校.zip", shapefile_with_prj(LOCAL_CAD, None))
    assert codes(result) == ["unknown_crs"], result.problems
    found = problem(result, "unknown_crs").found
    assert "Jiyang CAD drawing" in found and "LOCAL_CS" not in found and len(found) <= 80


def test_crs_labels_are_short_for_codes_wkt_and_unknown_names() -> None:
    assert formats.crs_label("EPSG:4548") == "CGCS2000 / 3-degree Gauss-Kruger CM 117E (EPSG:4548)"
    assert formats.crs_label(ESRI_BEIJING_1954) == "Beijing 1954 / 3-degree Gauss-Kruger CM 117E (EPSG:2436)"
    assert formats.crs_label("EPSG:4326") == "WGS 84 (EPSG:4326)"
    assert len(formats.crs_label("urn:ogc:def:crs:FOO::" + "x" * 300)) <= 80


# --- GDAL stays quiet ------------------------------------------------------------------------------------------------


def test_gdal_warnings_never_reach_stderr_and_are_kept_in_the_result(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "a.gpkg"
    path.write_bytes(gpkg())
    with sqlite3.connect(path) as db:  # GDAL warns about a GeoPackage that does not say it is one
        db.execute("PRAGMA application_id = 0")
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from urban_plan import ingest\n"
        "r = ingest.read_upload('a.gpkg', Path(sys.argv[1]).read_bytes(), ingest.Options('projects'))\n"
        "layers = ingest.list_layers('a.gpkg', Path(sys.argv[1]).read_bytes())\n"
        "print(json.dumps({'ok': r.ok, 'gdal': r.detected.get('gdal', ''), 'layers': layers}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    out = json.loads(done.stdout)
    assert out["ok"] and out["layers"] == ["学校"]
    assert "application_id" in out["gdal"] and "upload-" not in out["gdal"]


# --- the uploader's formats and the messages -------------------------------------------------------------------------


def test_supported_suffixes_name_every_format_and_others_are_refused_with_the_list() -> None:
    assert {".geojson", ".json", ".zip", ".gdb.zip", ".gpkg", ".kml", ".kmz"} <= set(ingest.SUPPORTED_SUFFIXES)
    result = read("drawing.dxf", b"0\nSECTION\n")
    assert codes(result) == ["unsupported_file"]
    for lang in ("zh", "en"):
        text = problems.message(problem(result, "unsupported_file"), lang)
        assert ".dxf" in text and ".gpkg" in text and ".kmz" in text and ".gdb.zip" in text


def test_every_new_problem_has_a_message_in_both_languages() -> None:
    new = (
        "unsupported_file",
        "unreadable_file",
        "no_map_layers",
        "choose_layer",
        "unknown_source_layer",
        "kmz_without_kml",
        "zip_several_geodatabases",
        "kml_datum_notice",
        "approximate_datum",
        "json_array_read",
        "echarts_decoded",
        "echarts_bad",
    )
    for code in new:
        for lang in ("zh", "en"):
            assert i18n.has(f"problem.{code}", lang), (code, lang)
            text = problems.message(Problem(code, "*", "", "X"), lang)
            assert not text.startswith("problem.") and len(text) > 20, (code, lang)


def test_wkb_sizes_count_what_shapely_counts() -> None:
    geometries = [
        shapely.Point(1, 2),
        shapely.Point(1, 2, 3),
        shapely.LineString([(0, 0), (1, 1), (2, 0)]),
        shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 0)], [[(0.2, 0.1), (0.8, 0.1), (0.8, 0.7), (0.2, 0.1)]]),
        shapely.MultiPoint([(0, 0), (1, 1), (2, 2)]),
        shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3), (4, 4)]]),
        shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
        shapely.GeometryCollection([shapely.Point(0, 0), shapely.LineString([(0, 0), (1, 1)])]),
        shapely.LineString([(0, 0, 1), (1, 1, 2)]),
    ]
    expected_parts = [1, 1, 1, 2, 3, 2, 2, 2, 1]
    for flavour in ("iso", "extended"):
        wkb = np.array(
            [shapely.to_wkb(g, flavor=flavour, include_srid=False) for g in geometries] + [None, b"\x01\x02"],
            dtype=object,
        )
        vertices, parts = formats.wkb_sizes(wkb, max_parts=100)
        assert vertices.tolist() == [*shapely.get_num_coordinates(geometries).tolist(), 0, 0], flavour
        assert parts.tolist() == [*expected_parts, 0, 0], flavour
    _, parts = formats.wkb_sizes(np.array([shapely.to_wkb(geometries[4])], dtype=object), max_parts=2)
    assert parts.tolist() == [3]  # over the limit: the count that crossed it, the rest not walked
