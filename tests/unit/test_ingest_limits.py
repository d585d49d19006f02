"""Hostile sizes are refused while reading, before the expensive work, and the map never sends one browser more
vertices than its budget (issue 9 part 7)."""

from __future__ import annotations

import io
import stat
import tempfile
import tracemalloc
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pytest
import shapely

from tests.unit.corpus import zip_info, zip_of, zipped
from urban_plan import frame, ingest, mapping
from urban_plan.ingest import Options

CENTRE = (117.17, 36.98)  # central Jiyang


# --- helpers ------------------------------------------------------------------------------------------------------


class Built:
    """How many geometries and vertices shapely built while a file was read."""

    def __init__(self) -> None:
        self.geometries = 0
        self.vertices = 0

    def add(self, made: Any) -> None:
        made = np.atleast_1d(np.asarray(made, dtype=object))
        present = made[~shapely.is_missing(made)]
        self.geometries += len(present)
        self.vertices += int(shapely.get_num_coordinates(present).sum())


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Iterator[Built]:
    """Counts what shapely constructs from an upload (the district boundary is built before counting starts)."""
    ingest._district()
    counter = Built()
    for name in ("from_geojson", "from_ragged_array", "from_wkb"):
        original = getattr(shapely, name)

        def counting(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            made = _original(*args, **kwargs)
            counter.add(made)
            return made

        monkeypatch.setattr(shapely, name, counting)
    yield counter


@pytest.fixture
def shapefile_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Calls of pyogrio.read_dataframe: the step that builds every geometry and attribute of a shapefile."""
    import pyogrio

    calls: list[str] = []
    original = pyogrio.read_dataframe

    def counting(path: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(str(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(pyogrio, "read_dataframe", counting)
    return calls


def shapefile_zip(ids: list[str], geometries: Any) -> bytes:
    """A zipped shapefile written by pyogrio (GDAL's shapefile writer), as desktop GIS exports it."""
    import pyogrio

    data = gpd.GeoDataFrame({"编号": ids, "状态": ["在建"] * len(ids)}, geometry=geometries, crs="EPSG:4326")
    with tempfile.TemporaryDirectory(prefix="limits-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pyogrio.write_dataframe(data, Path(tmp) / "layer.shp", encoding="UTF-8")
        parts = {p.suffix: p.read_bytes() for p in sorted(Path(tmp).iterdir())}
    return zipped(parts, stem="layer")


def spiral(n: int, turns: float = 40.0) -> np.ndarray:
    """n points on a spiral around the centre (a few km across): distinct, inside the district."""
    t = np.linspace(0.0, 1.0, n)
    angle = 2 * np.pi * turns * t
    radius = 0.002 + 0.03 * t
    return np.column_stack([CENTRE[0] + radius * np.cos(angle), CENTRE[1] + radius * np.sin(angle)])


def multipoint_geojson(n: int) -> bytes:
    coords = np.round(spiral(n), 6).tolist()
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "p1", "name_zh": "点群", "status": "在建"},
                "geometry": {"type": "MultiPoint", "coordinates": coords},
            }
        ],
    }
    return orjson.dumps(doc)


def codes(result: ingest.Result) -> list[str]:
    return [p.code for p in result.errors]


def problem(result: ingest.Result, code: str) -> Any:
    return next(p for p in result.errors if p.code == code)


# --- zipped shapefiles: counted from the headers, refused before GDAL reads the features ---------------------------


def test_shapefile_with_more_points_than_the_feature_limit_is_refused_before_any_geometry_is_read(
    shapefile_reads: list[str],
) -> None:
    n = ingest.MAX_FEATURES + 50_000
    data = shapefile_zip([f"p{i}" for i in range(n)], shapely.points(spiral(n)))
    tracemalloc.start()
    try:
        result = ingest.read_upload("points.zip", data, Options("projects"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert codes(result) == ["too_many_features"]
    too_many = problem(result, "too_many_features")
    assert too_many.found == str(n) and dict(too_many.params)["limit"] == str(ingest.MAX_FEATURES)
    assert shapefile_reads == []  # no feature was read, so no frame of 150,000 rows was built
    assert peak < 16 * 1024 * 1024, f"{peak / 1e6:.1f} MB traced while refusing"


def test_shapefile_feature_with_too_many_vertices_is_refused_by_name_before_it_is_read(
    shapefile_reads: list[str],
) -> None:
    n = ingest.MAX_FEATURE_VERTICES + 1_000
    big = shapely.linestrings(spiral(n))
    small = shapely.linestrings(spiral(10))
    result = ingest.read_upload("roads.zip", shapefile_zip(["r1", "r2"], [small, big]), Options("roads"))
    assert codes(result) == ["feature_too_many_vertices"]
    found = problem(result, "feature_too_many_vertices")
    assert found.feature == "#2" and found.found == str(n)
    assert dict(found.params)["limit"] == str(ingest.MAX_FEATURE_VERTICES)
    assert shapefile_reads == []


def test_shapefile_multi_line_with_too_many_parts_is_refused_before_it_is_read(shapefile_reads: list[str]) -> None:
    lines = spiral(2 * (ingest.MAX_PARTS + 1)).reshape(-1, 2, 2)
    many = shapely.multilinestrings(shapely.linestrings(lines))
    result = ingest.read_upload("roads.zip", shapefile_zip(["r1"], [many]), Options("roads"))
    assert codes(result) == ["feature_too_many_parts"]
    found = problem(result, "feature_too_many_parts")
    assert found.feature == "#1" and found.found == str(ingest.MAX_PARTS + 1)
    assert shapefile_reads == []


def test_shapefile_over_the_total_vertex_limit_is_refused_before_it_is_read(
    shapefile_reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_VERTICES", 1_000)
    lines = [shapely.linestrings(spiral(300) + np.array([0.0, i / 1000])) for i in range(4)]
    result = ingest.read_upload("roads.zip", shapefile_zip([f"r{i}" for i in range(4)], lines), Options("roads"))
    assert codes(result) == ["too_many_vertices"]
    assert problem(result, "too_many_vertices").found == "1200"
    assert shapefile_reads == []


def test_shapefile_within_every_limit_is_still_read() -> None:
    lines = [shapely.linestrings(spiral(50) + np.array([0.0, i / 1000])) for i in range(3)]
    data = shapefile_zip([f"r{i}" for i in range(3)], gpd.GeoSeries(lines).set_crs(4326))
    result = ingest.read_upload("roads.zip", data, Options("roads"))
    assert not [c for c in codes(result) if "too_many" in c], result.problems
    assert result.feature_count == 3


# --- GeoJSON: counted on the parsed lists, refused before shapely builds anything ---------------------------------


@pytest.fixture(scope="module")
def huge_multipoint() -> bytes:
    """The review's file: one MultiPoint feature of 1.8 million points (~36 MB)."""
    return multipoint_geojson(1_800_000)


def test_geojson_multipoint_of_1_8_million_points_is_refused_without_building_it(
    huge_multipoint: bytes, built: Built
) -> None:
    assert len(huge_multipoint) < ingest.MAX_BYTES  # under the size limit: only the vertex limits can stop it
    result = ingest.read_upload("points.geojson", huge_multipoint, Options("projects"))
    assert codes(result) == ["feature_too_many_vertices"]
    found = problem(result, "feature_too_many_vertices")
    assert found.feature == "p1" and found.found == "1800000"
    assert dict(found.params)["limit"] == str(ingest.MAX_FEATURE_VERTICES)
    assert built.vertices == 0, f"{built.vertices} vertices built before refusing"


def test_geojson_multi_polygon_with_too_many_parts_is_refused_without_building_it(built: Built) -> None:
    corners = spiral(ingest.MAX_PARTS + 1)
    square = np.array([[0, 0], [1e-5, 0], [1e-5, 1e-5], [0, 1e-5], [0, 0]])
    polygons = [[np.round(square + c, 7).tolist()] for c in corners]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"id": "p1", "status": "在建"}, "geometry": None},
            {
                "type": "Feature",
                "properties": {"id": "p2", "status": "在建"},
                "geometry": {"type": "MultiPolygon", "coordinates": polygons},
            },
        ],
    }
    result = ingest.read_upload("parts.geojson", orjson.dumps(doc), Options("projects"))
    assert codes(result) == ["feature_too_many_parts"]
    found = problem(result, "feature_too_many_parts")
    assert found.feature == "p2" and found.found == str(ingest.MAX_PARTS + 1)
    assert built.geometries == 0


def test_geojson_over_the_total_vertex_limit_is_refused_without_building_it(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_VERTICES", 1_000)
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"r{i}", "status": "在建"},
            "geometry": {"type": "LineString", "coordinates": np.round(spiral(100), 6).tolist()},
        }
        for i in range(11)
    ]
    data = orjson.dumps({"type": "FeatureCollection", "features": features})
    result = ingest.read_upload("roads.geojson", data, Options("roads"))
    assert codes(result) == ["too_many_vertices"]
    assert problem(result, "too_many_vertices").found == "1100"
    assert built.geometries == 0


def test_geojson_with_very_many_distinct_field_names_is_refused_at_the_feature_that_crosses_the_limit(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapped: list[int] = []
    plan_columns = ingest._plan_columns  # where every field name becomes a column, a mapping row, a form field
    monkeypatch.setattr(
        ingest, "_plan_columns", lambda fields, *a: mapped.append(len(fields)) or plan_columns(fields, *a)
    )
    # 150 new names per feature: each feature is within the per-feature limit, the file has 300,000 names.
    features = [
        {
            "type": "Feature",
            "properties": {f"f{row}_{k}": 1 for k in range(150)},
            "geometry": {"type": "Point", "coordinates": list(CENTRE)},
        }
        for row in range(2_000)
    ]
    data = orjson.dumps({"type": "FeatureCollection", "features": features})
    result = ingest.read_upload("fields.geojson", data, Options("projects"))
    assert codes(result) == ["too_many_fields"]
    found = problem(result, "too_many_fields")
    assert found.feature == "#2" and found.found == "300"
    assert dict(found.params)["limit"] == str(ingest.MAX_FIELDS)
    assert built.geometries == 0 and mapped == []


def test_every_limit_problem_has_a_message_in_both_languages_naming_the_limit() -> None:
    from urban_plan import problems
    from urban_plan.schema import Problem

    for code in ("feature_too_many_vertices", "feature_too_many_parts", "too_many_fields"):
        p = Problem(code, "p7", "", "123456", (("limit", "200000"),))
        for lang in ("zh", "en"):
            text = problems.message(p, lang)
            assert "p7" in text and "123456" in text and "200000" in text, (lang, text)
            assert not text.startswith("problem."), text


def test_limits_are_defined_once_in_ingest() -> None:
    limits = ingest.limits()
    assert limits["MAX_FEATURES"] == 100_000 and limits["MAX_VERTICES"] == 5_000_000
    assert limits["MAX_BYTES"] == 50 * 1024 * 1024
    assert limits["MAX_FEATURE_VERTICES"] == 200_000 and limits["MAX_PARTS"] == 10_000
    assert limits["MAX_FIELDS"] == 200


# --- GeoPackage, geodatabase, KML: counted from GDAL's layer info and the WKB headers, before any geometry ---------


@pytest.fixture
def gdal_reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Calls of the GDAL steps that open a dataset (layer_names) and read a layer's features (read_layer)."""
    from urban_plan import formats

    calls = {"layer_names": 0, "read_layer": 0}
    for name in calls:
        original = getattr(formats, name)

        def counting(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(formats, name, counting)
    return calls


def lines_frame(lengths: list[int], **columns: list[Any]) -> gpd.GeoDataFrame:
    lines = [shapely.linestrings(spiral(n) + np.array([0.0, i / 1000])) for i, n in enumerate(lengths)]
    rows = {"编号": [f"r{i + 1}" for i in range(len(lengths))], "状态": ["在建"] * len(lengths), **columns}
    return gpd.GeoDataFrame(rows, geometry=lines, crs="EPSG:4326")


def gdal_file(layer: gpd.GeoDataFrame, suffix: str) -> bytes:
    """A GeoPackage (.gpkg) or a zipped File Geodatabase (.gdb.zip) holding `layer`, as GDAL writes them."""
    import pyogrio

    with tempfile.TemporaryDirectory(prefix="limits-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if suffix == ".gpkg":
            pyogrio.write_dataframe(layer, Path(tmp) / "a.gpkg", layer="道路")
            return (Path(tmp) / "a.gpkg").read_bytes()
        pyogrio.write_dataframe(layer, Path(tmp) / "a.gdb", layer="道路", driver="OpenFileGDB")
        return zip_of((f"a.gdb/{p.name}", p.read_bytes()) for p in sorted((Path(tmp) / "a.gdb").iterdir()))


def kml_lines(lengths: list[int]) -> bytes:
    marks = "".join(
        f"<Placemark><name>路{i}</name><LineString><coordinates>"
        + " ".join(f"{x:.6f},{y:.6f},0" for x, y in spiral(n) + np.array([0.0, i / 1000]))
        + "</coordinates></LineString></Placemark>"
        for i, n in enumerate(lengths)
    )
    return f'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{marks}</Document></kml>'.encode()


@pytest.mark.parametrize("suffix", [".gpkg", ".gdb.zip"])
def test_gdal_file_with_more_features_than_the_limit_is_refused_before_its_features_are_read(
    suffix: str, gdal_reads: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = gdal_file(lines_frame([5] * 8), suffix)
    monkeypatch.setattr(ingest, "MAX_FEATURES", 5)
    result = ingest.read_upload(f"a{suffix}", data, Options("roads"))
    assert codes(result) == ["too_many_features"] and problem(result, "too_many_features").found == "8"
    assert gdal_reads["read_layer"] == 0


@pytest.mark.parametrize("suffix", [".gpkg", ".gdb.zip"])
def test_gdal_file_feature_with_too_many_vertices_is_refused_by_name_without_building_a_geometry(
    suffix: str, built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = gdal_file(lines_frame([20, 150, 30]), suffix)
    monkeypatch.setattr(ingest, "MAX_FEATURE_VERTICES", 100)
    result = ingest.read_upload(f"a{suffix}", data, Options("roads"))
    assert codes(result) == ["feature_too_many_vertices"]
    found = problem(result, "feature_too_many_vertices")
    assert found.feature == "r2" and found.found == "150" and dict(found.params)["limit"] == "100"
    assert built.geometries == 0


def test_gdal_file_over_the_total_vertex_limit_is_refused_with_the_exact_count(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = gdal_file(lines_frame([300] * 4), ".gdb.zip")
    monkeypatch.setattr(ingest, "MAX_VERTICES", 1_000)
    result = ingest.read_upload("a.gdb.zip", data, Options("roads"))
    assert codes(result) == ["too_many_vertices"] and problem(result, "too_many_vertices").found == "1200"
    assert built.geometries == 0


def test_gdal_file_multi_line_with_too_many_parts_is_refused(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    many = shapely.multilinestrings(shapely.linestrings(spiral(2 * 12).reshape(-1, 2, 2)))
    layer = gpd.GeoDataFrame({"编号": ["r1"], "状态": ["在建"]}, geometry=[many], crs="EPSG:4326")
    monkeypatch.setattr(ingest, "MAX_PARTS", 10)
    result = ingest.read_upload("a.gpkg", gdal_file(layer, ".gpkg"), Options("roads"))
    assert codes(result) == ["feature_too_many_parts"] and problem(result, "feature_too_many_parts").found == "12"
    assert built.geometries == 0


def test_gdal_file_with_too_many_fields_is_refused_before_its_features_are_read(
    gdal_reads: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    columns = {f"字段{k}": [k] for k in range(12)}
    data = gdal_file(lines_frame([5], **columns), ".gpkg")
    monkeypatch.setattr(ingest, "MAX_PROPERTIES", 10)
    result = ingest.read_upload("a.gpkg", data, Options("roads"))
    assert codes(result) == ["too_many_properties"] and problem(result, "too_many_properties").found == "14"
    assert gdal_reads["read_layer"] == 0


def test_geopackage_over_the_byte_limit_is_refused_unopened(
    gdal_reads: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = gdal_file(lines_frame([5]), ".gpkg")
    monkeypatch.setattr(ingest, "MAX_BYTES", len(data) - 1)
    assert codes(ingest.read_upload("a.gpkg", data, Options("roads"))) == ["file_too_large"]
    assert gdal_reads == {"layer_names": 0, "read_layer": 0}


@pytest.mark.parametrize(
    ("limit", "value", "code"), [("MAX_FEATURES", 5, "too_many_features"), ("MAX_VERTICES", 100, "too_many_vertices")]
)
def test_kml_certainly_over_a_limit_is_refused_before_gdal_parses_it(
    limit: str, value: int, code: str, gdal_reads: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, limit, value)
    data = kml_lines([30] * 8)
    for name, upload in (("a.kml", data), ("a.kmz", zip_of([("doc.kml", data)]))):
        result = ingest.read_upload(name, upload, Options("roads"))
        assert codes(result) == [code], (name, result.problems)
    assert gdal_reads["layer_names"] == 0


def test_kml_feature_with_too_many_vertices_is_refused_without_building_a_geometry(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_FEATURE_VERTICES", 100)
    result = ingest.read_upload("a.kml", kml_lines([20, 150]), Options("roads"))
    assert codes(result) == ["feature_too_many_vertices"]
    assert problem(result, "feature_too_many_vertices").found == "150"
    assert built.geometries == 0


def test_kml_inside_a_kmz_is_held_to_the_upload_byte_limit(
    gdal_reads: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    document = kml_lines([30] * 4)
    kmz = zip_of([("doc.kml", document)])
    monkeypatch.setattr(ingest, "MAX_BYTES", len(document) - 1)  # the KMZ itself is far smaller
    assert len(kmz) < ingest.MAX_BYTES
    assert codes(ingest.read_upload("a.kmz", kmz, Options("roads"))) == ["file_too_large"]
    assert gdal_reads["layer_names"] == 0


def test_an_echarts_flag_does_not_let_plain_coordinates_past_the_vertex_limits(built: Built) -> None:
    doc = orjson.loads(multipoint_geojson(ingest.MAX_FEATURE_VERTICES + 10))
    doc["UTF8Encoding"] = True  # claims compression; its coordinates are plain lists
    result = ingest.read_upload("points.json", orjson.dumps(doc), Options("projects"))
    assert codes(result) == ["feature_too_many_vertices"]
    assert built.vertices == 0


# --- hostile archives for the new formats: checked before anything is extracted ----------------------------------


def gdb_entries() -> list[tuple[str, bytes]]:
    data = gdal_file(lines_frame([5]), ".gdb.zip")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ([("a.gdb/../../../tmp/evil.gdbtable", b"x")], "zip_bad_path"),
        ([("/etc/a.gdb/a00000009.gdbtable", b"x")], "zip_bad_path"),
        ([("C:\\a.gdb\\a00000009.gdbtable", b"x")], "zip_bad_path"),
        ([(zip_info("a.gdb/a00000010.gdbtable", mode=stat.S_IFLNK | 0o777), b"/etc/passwd")], "zip_symlink"),
        ([(f"a.gdb/extra{i:02}.txt", b"n") for i in range(60)], "zip_too_many_entries"),
        ([("a.gdb/a00000011.gdbtable", bytes(4 * 1024 * 1024))], "zip_ratio"),
    ],
    ids=["traversal", "absolute", "drive", "symlink", "too-many-entries", "ratio-bomb"],
)
@pytest.mark.parametrize("suffix", [".gdb.zip", ".kmz"])
def test_hostile_geodatabase_and_kmz_archives_are_refused_before_extraction(
    extra: list[tuple[Any, bytes]], code: str, suffix: str, gdal_reads: dict[str, int]
) -> None:
    entries = gdb_entries() if suffix == ".gdb.zip" else [("doc.kml", kml_lines([5]))]
    result = ingest.read_upload(f"a{suffix}", zip_of([*entries, *extra]), Options("roads"))
    assert codes(result) == [code], result.problems
    assert gdal_reads == {"layer_names": 0, "read_layer": 0}
    assert not (Path(tempfile.gettempdir()) / "evil.gdbtable").exists()


# --- the map's vertex budget ---------------------------------------------------------------------------------------


def one_feature_frame(geometry: Any) -> gpd.GeoDataFrame:
    """A stored projects feature (as the store gives it) with `geometry`."""
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "p1", "name_zh": "点群", "status": "in_progress", "confidence": "approximate"},
                "geometry": {"type": "Point", "coordinates": list(CENTRE)},
            }
        ],
    }
    part = frame.collection_frame(fc, "projects")
    return part.set_geometry(gpd.GeoSeries([geometry], index=part.index, crs=part.crs))


def sent_vertices(collections: list[dict[str, Any]]) -> int:
    geoms = [shapely.geometry.shape(f["geometry"]) for c in collections for f in c["features"] if f["geometry"]]
    return mapping.display_cost(np.array(geoms, dtype=object)) if geoms else 0


@pytest.mark.parametrize("kind", ["multipoint", "polygon"])
def test_prepared_map_data_for_a_1_8_million_vertex_feature_stays_under_the_budget_and_says_simplified(
    kind: str,
) -> None:
    coords = spiral(1_800_000)
    geometry = shapely.multipoints(coords) if kind == "multipoint" else shapely.Polygon(coords)
    part = one_feature_frame(geometry)
    before = shapely.get_coordinates(part.geometry.values).copy()
    prepared = mapping.prepare_layers({"projects": part}, mapping.MapOptions())["projects"]
    assert prepared.simplified
    assert 0 < prepared.cost <= mapping.MAP_VERTEX_BUDGET
    shown = orjson.loads(prepared.collection())
    assert 0 < sent_vertices([shown]) <= mapping.MAP_VERTEX_BUDGET
    assert len(prepared.collection()) < 10 * 1024 * 1024  # it was 37.6 MB for the multipoint
    np.testing.assert_array_equal(shapely.get_coordinates(part.geometry.values), before)  # stored data unchanged


def test_small_layers_are_sent_unsimplified() -> None:
    part = one_feature_frame(shapely.linestrings(spiral(500)))
    prepared = mapping.prepare_layers({"projects": part}, mapping.MapOptions())["projects"]
    assert not prepared.simplified and prepared.cost == 500


def test_budget_is_shared_between_layers_so_one_browser_gets_at_most_the_map_budget() -> None:
    shares = mapping.budget_shares({"a": 10, "b": 2_000_000, "c": 3_000_000}, 1_000_000)
    assert shares["a"] == 10 and sum(shares.values()) <= 1_000_000 and shares["b"] >= 400_000


def test_html_export_obeys_the_same_budget_and_says_the_view_is_simplified() -> None:
    part = one_feature_frame(shapely.multipoints(spiral(1_800_000)))
    html = mapping.full_map(frame.empty_frame(), part, mapping.MapOptions(lang="en")).get_root().render()
    assert sent_vertices(mapping.embedded_collections(html)) <= mapping.MAP_VERTEX_BUDGET
    assert len(html) < 15 * 1024 * 1024  # it was a 37 MB export
    assert "simplified" in html.lower()


def test_the_page_notice_says_why_in_both_languages_and_only_when_something_was_simplified() -> None:
    options = mapping.MapOptions()
    plain = mapping.prepare_layers({"roads": one_feature_frame(shapely.linestrings(spiral(500)))}, options)
    assert mapping.simplified_notice(plain.values(), "zh") is None
    heavy = mapping.prepare_layers({"projects": one_feature_frame(shapely.multipoints(spiral(200_000)))}, options)
    total = 500 + 200_000 * mapping.POINT_COST
    for lang in ("zh", "en"):
        text = mapping.simplified_notice([*plain.values(), *heavy.values()], lang)
        assert text and f"{mapping.MAP_VERTEX_BUDGET:,}" in text and f"{total:,}" in text, text
        assert not text.startswith("map."), text
