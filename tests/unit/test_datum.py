"""Tests for urban_plan.datum: WGS84 / GCJ-02 / BD-09 conversions and EPSG:4548 GK."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
import shapely
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiLineString,
    MultiPolygon,
    Point,
    Polygon,
)

from urban_plan.datum import (
    DATUMS,
    convert,
    convert_geometries,
    convert_geometry,
    convert_point,
    from_gauss_kruger_4548,
    gauss_kruger_4548,
    in_china,
)

JIYANG = (117.17, 36.98)
ALL_PAIRS = [(s, d) for s in DATUMS for d in DATUMS if s != d]


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    r = 6371008.8
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


# --- published reference vectors ---------------------------------------------
# Each row: (src point, published dst point, tolerance in degrees); the source is
# cited next to each row. Files read at these commits:
#   wandergis/coordtransform 242324636adb54f9d1ef571035dc61f0ac8f0e8c
#   hujiulong/gcoord         42ea29df479c739f9b39f9c8e939fb7ae39e5a3e
#   Glatzel/pyxis            62cd047d23dbf6817517ca8c3565b025830e73e9
# gcoord prints 7-8 decimals; pyxis' vector is only asserted to rel=1e-6 upstream
# and differs from the reference algorithm by ~8e-8 deg, so it gets 1e-6.

WGS84_TO_GCJ02 = [
    pytest.param(
        (116.404, 39.915),
        (116.41024449916938, 39.91640428150164),
        1e-9,
        id="wandergis-coordtransform",  # wandergis/coordtransform test/app.js: wgs84togcj02(116.404, 39.915)
    ),
    pytest.param(
        (123.0, 45.0),
        (123.00607541, 45.00197815),
        1e-7,
        id="gcoord",  # hujiulong/gcoord test/unit/crs/WGS84.spec.ts: "WGS84 to GCJ02"
    ),
    pytest.param(
        (121.0917077, 30.6107779),
        (121.09626935575027, 30.608604331756705),
        1e-6,
        id="pyxis",  # Glatzel/pyxis python/tests/test_crypto.py: wgs84 -> gcj02
    ),
]

GCJ02_TO_BD09 = [
    pytest.param(
        (116.404, 39.915),
        (116.41036949371029, 39.92133699351021),
        1e-9,
        id="wandergis-coordtransform",  # wandergis/coordtransform test/app.js: gcj02tobd09(116.404, 39.915)
    ),
    pytest.param(
        (123.0, 45.0),
        (123.00636499, 45.00636899),
        1e-7,
        id="gcoord",  # hujiulong/gcoord test/unit/crs/GCJ02.spec.ts: "GCJ02 to BD09"
    ),
    pytest.param(
        (121.09626935575027, 30.608604331756705),
        (121.10271732371203, 30.61484572185035),
        1e-9,
        id="pyxis",  # Glatzel/pyxis python/tests/test_crypto.py: gcj02 -> bd09
    ),
]

WGS84_TO_BD09 = [
    pytest.param(
        (123.0, 45.0),
        (123.0124491, 45.0083293),
        1e-6,
        id="gcoord",  # hujiulong/gcoord test/unit/crs/WGS84.spec.ts: "WGS84 to BD09"
    ),
    pytest.param(
        (121.0917077, 30.6107779),
        (121.10271732371203, 30.61484572185035),
        1e-6,
        id="pyxis",  # Glatzel/pyxis python/tests/test_crypto.py: wgs84 -> bd09
    ),
]

# Published *one-step* inverses (the classic approximation, off by up to ~1e-6 deg).
# Rows: (src datum, dst datum, input, published approximate output, source).
PUBLISHED_APPROX_INVERSES = [
    pytest.param(
        "gcj02",
        "wgs84",
        (116.404, 39.915),
        (116.39775550083061, 39.91359571849836),
        id="wandergis-gcj02towgs84",  # wandergis/coordtransform test/app.js
    ),
    pytest.param(
        "bd09",
        "gcj02",
        (116.404, 39.915),
        (116.39762729119315, 39.90865673957631),
        id="wandergis-bd09togcj02",  # wandergis/coordtransform test/app.js
    ),
    pytest.param(
        "gcj02",
        "wgs84",
        (123.0, 45.0),
        (122.99395597, 44.99804071),
        id="gcoord-gcj02-to-wgs84",  # hujiulong/gcoord test/unit/crs/GCJ02.spec.ts
    ),
]


def _assert_close_deg(actual, expected, tol) -> None:
    assert abs(actual[0] - expected[0]) <= tol, actual
    assert abs(actual[1] - expected[1]) <= tol, actual


@pytest.mark.parametrize(("wgs", "gcj", "tol"), WGS84_TO_GCJ02)
def test_wgs84_to_gcj02_matches_published_vector(wgs, gcj, tol):
    _assert_close_deg(convert_point(*wgs, "wgs84", "gcj02"), gcj, tol)


@pytest.mark.parametrize(("gcj", "bd", "tol"), GCJ02_TO_BD09)
def test_gcj02_to_bd09_matches_published_vector(gcj, bd, tol):
    _assert_close_deg(convert_point(*gcj, "gcj02", "bd09"), bd, tol)


@pytest.mark.parametrize(("wgs", "bd", "tol"), WGS84_TO_BD09)
def test_wgs84_to_bd09_matches_published_vector(wgs, bd, tol):
    _assert_close_deg(convert_point(*wgs, "wgs84", "bd09"), bd, tol)


@pytest.mark.parametrize(("wgs", "gcj", "tol"), WGS84_TO_GCJ02)
def test_gcj02_to_wgs84_recovers_the_published_wgs84_input(wgs, gcj, tol):
    _assert_close_deg(convert_point(*gcj, "gcj02", "wgs84"), wgs, tol)


@pytest.mark.parametrize(("gcj", "bd", "tol"), GCJ02_TO_BD09)
def test_bd09_to_gcj02_recovers_the_published_gcj02_input(gcj, bd, tol):
    _assert_close_deg(convert_point(*bd, "bd09", "gcj02"), gcj, tol)


@pytest.mark.parametrize(("wgs", "bd", "tol"), WGS84_TO_BD09)
def test_bd09_to_wgs84_recovers_the_published_wgs84_input(wgs, bd, tol):
    _assert_close_deg(convert_point(*bd, "bd09", "wgs84"), wgs, tol)


@pytest.mark.parametrize(("src", "dst", "point", "approx"), PUBLISHED_APPROX_INVERSES)
def test_precise_inverse_is_near_but_better_than_the_published_one_step_inverse(src, dst, point, approx):
    ours = convert_point(*point, src, dst)
    _assert_close_deg(ours, approx, 1e-6)
    # Pushing each answer forward again: ours must land back on the input, the approximation need not.
    ours_back = convert_point(*ours, dst, src)
    approx_back = convert_point(*approx, dst, src)
    ours_err = haversine_m(*point, *ours_back)
    approx_err = haversine_m(*point, *approx_back)
    assert ours_err < 0.001
    assert ours_err < approx_err


# --- round trips and magnitude ----------------------------------------------

CHINA_POINTS = [
    pytest.param((117.17, 36.98), id="Jiyang"),
    pytest.param((116.3975, 39.9087), id="Beijing"),
    pytest.param((121.4737, 31.2304), id="Shanghai"),
    pytest.param((87.6168, 43.8256), id="Urumqi"),
    pytest.param((91.1409, 29.6456), id="Lhasa"),
    pytest.param((126.535, 45.8038), id="Harbin"),
    pytest.param((109.5119, 18.2528), id="Sanya"),
    pytest.param((75.99, 39.47), id="Kashgar"),
    pytest.param((122.53, 52.97), id="Mohe"),
]


@pytest.mark.parametrize("point", CHINA_POINTS)
@pytest.mark.parametrize(("src", "dst"), ALL_PAIRS)
def test_round_trip_returns_within_one_centimetre(point, src, dst):
    there = convert_point(*point, src, dst)
    back = convert_point(*there, dst, src)
    assert haversine_m(*point, *back) < 0.01


def test_round_trip_of_an_array_returns_within_one_centimetre_everywhere():
    rng = np.random.default_rng(42)
    lon = rng.uniform(75.0, 134.0, 5000)
    lat = rng.uniform(18.0, 53.0, 5000)
    for src, dst in ALL_PAIRS:
        back = convert(*convert(lon, lat, src, dst), dst, src)
        assert haversine_m(lon, lat, *back).max() < 0.01, (src, dst)


@pytest.mark.parametrize("offset", [(0, 0), (-0.1, -0.1), (0.1, 0.1), (-0.15, 0.08), (0.2, -0.1)])
def test_gcj02_offset_around_jiyang_is_400_to_700_metres(offset):
    lon, lat = JIYANG[0] + offset[0], JIYANG[1] + offset[1]
    gcj = convert_point(lon, lat, "wgs84", "gcj02")
    assert 400.0 < haversine_m(lon, lat, *gcj) < 700.0


def test_conversion_actually_moves_points_in_china():
    for src, dst in ALL_PAIRS:
        moved = convert_point(*JIYANG, src, dst)
        assert haversine_m(*JIYANG, *moved) > 100.0, (src, dst)


# --- pass-through behaviour ---------------------------------------------------

OUTSIDE_CHINA = [
    pytest.param((-0.1276, 51.5072), id="London"),
    pytest.param((151.2093, -33.8688), id="Sydney"),
    pytest.param((183.0, 45.0), id="gcoord-not-in-China-case"),
]


@pytest.mark.parametrize("point", OUTSIDE_CHINA)
@pytest.mark.parametrize(("src", "dst"), ALL_PAIRS)
def test_points_outside_china_are_returned_unchanged(point, src, dst):
    assert convert_point(*point, src, dst) == point


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (117.17, 36.98, True),
        (72.004, 0.8293, True),  # box corners are inside
        (137.8347, 55.8271, True),
        (71.9, 30.0, False),
        (138.0, 30.0, False),
        (100.0, 0.5, False),
        (100.0, 56.0, False),
        (-0.1276, 51.5072, False),
        (np.nan, 36.98, False),
    ],
)
def test_in_china_uses_the_rough_bounding_box(lon, lat, expected):
    assert bool(in_china(lon, lat)) is expected


def test_in_china_is_vectorised():
    result = in_china([117.0, -0.1, np.nan], [37.0, 51.5, 37.0])
    assert result.dtype == np.bool_
    assert result.tolist() == [True, False, False]


@pytest.mark.parametrize(("src", "dst"), ALL_PAIRS)
def test_nan_passes_through_without_warnings(src, dst):
    lon = np.array([np.nan, 117.17, np.nan, 117.2])
    lat = np.array([36.98, np.nan, np.nan, 36.9])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out_lon, out_lat = convert(lon, lat, src, dst)
    assert np.array_equal(np.isnan(out_lon), np.isnan(lon))
    assert np.array_equal(np.isnan(out_lat), np.isnan(lat))
    assert np.isfinite([out_lon[3], out_lat[3]]).all()
    assert (out_lon[3], out_lat[3]) == convert_point(117.2, 36.9, src, dst)


@pytest.mark.parametrize(("src", "dst"), [("xyz", "wgs84"), ("wgs84", "xyz"), ("bd09", "")])
def test_unknown_datum_raises_value_error_naming_it(src, dst):
    bad = src if src not in DATUMS else dst
    with pytest.raises(ValueError, match=f"unknown datum '{bad}': expected one of wgs84, gcj02, bd09"):
        convert(117.17, 36.98, src, dst)


def test_unknown_datum_is_rejected_by_geometry_functions_too():
    with pytest.raises(ValueError, match="unknown datum 'utm'"):
        convert_geometry(Point(117.17, 36.98), "utm", "wgs84")
    with pytest.raises(ValueError, match="unknown datum 'utm'"):
        convert_geometries([Point(117.17, 36.98)], "wgs84", "utm")


@pytest.mark.parametrize("datum", DATUMS)
def test_same_datum_is_an_identity_copy(datum):
    lon = np.array([117.17, 117.2])
    out_lon, _ = convert(lon, [36.98, 36.9], datum, datum)
    assert np.array_equal(out_lon, lon)
    assert out_lon is not lon


# --- shapes, types, speed -------------------------------------------------------


def test_scalars_give_zero_dimensional_float64_arrays():
    lon, lat = convert(117.17, 36.98, "wgs84", "gcj02")
    assert isinstance(lon, np.ndarray) and isinstance(lat, np.ndarray)
    assert lon.shape == () and lat.shape == ()
    assert lon.dtype == np.float64 and lat.dtype == np.float64


def test_convert_point_returns_plain_floats():
    lon, lat = convert_point(117.17, 36.98, "wgs84", "bd09")
    assert type(lon) is float and type(lat) is float


def test_integer_and_list_inputs_are_accepted():
    lon, lat = convert([117, 118], [37, 36], "wgs84", "gcj02")
    assert lon.dtype == np.float64 and lon.shape == (2,)
    assert (lon[0], lat[0]) == convert_point(117.0, 37.0, "wgs84", "gcj02")


def test_scalar_and_array_arguments_broadcast_together():
    lon, lat = convert(117.17, [36.9, 37.0, 37.1], "wgs84", "gcj02")
    assert lon.shape == lat.shape == (3,)


def test_empty_arrays_come_back_empty():
    lon, lat = convert(np.empty((0,)), np.empty((0,)), "wgs84", "bd09")
    assert lon.shape == lat.shape == (0,)


def test_inputs_are_not_modified():
    lon = np.array([117.17, 117.2])
    lat = np.array([36.98, 36.9])
    convert(lon, lat, "bd09", "wgs84")
    assert lon.tolist() == [117.17, 117.2] and lat.tolist() == [36.98, 36.9]


@pytest.mark.parametrize(("src", "dst"), ALL_PAIRS)
def test_fifty_thousand_points_convert_fast_and_keep_their_shape(src, dst):
    rng = np.random.default_rng(0)
    lon = rng.uniform(116.8, 117.6, (250, 200))
    lat = rng.uniform(36.7, 37.2, (250, 200))
    start = time.perf_counter()
    out_lon, out_lat = convert(lon, lat, src, dst)
    elapsed = time.perf_counter() - start
    assert out_lon.shape == out_lat.shape == (250, 200)
    # Generous bound for slow CI; typically 7-80 ms depending on the pair.
    assert elapsed < 1.0
    assert (out_lon[17, 33], out_lat[17, 33]) == convert_point(lon[17, 33], lat[17, 33], src, dst)


def test_mixed_inside_and_outside_points_are_each_handled():
    lon, lat = convert([117.17, -0.1276], [36.98, 51.5072], "wgs84", "gcj02")
    assert (lon[0], lat[0]) == convert_point(117.17, 36.98, "wgs84", "gcj02")
    assert (lon[1], lat[1]) == (-0.1276, 51.5072)


# --- geometries -------------------------------------------------------------------

GEOMETRIES = [
    pytest.param(
        Polygon(
            [(117.1, 36.9), (117.2, 36.9), (117.2, 37.0), (117.1, 37.0)],
            [[(117.14, 36.94), (117.16, 36.94), (117.16, 36.96)]],
        ),
        id="Polygon-with-hole",
    ),
    pytest.param(
        MultiLineString(
            [
                [(117.1, 36.9), (117.2, 37.0)],
                [(117.3, 36.8), (117.25, 36.85), (117.2, 36.9)],
            ]
        ),
        id="MultiLineString",
    ),
    pytest.param(Point(117.17, 36.98, 23.5), id="Point-Z"),
    pytest.param(LineString([(117.1, 36.9, 10.0), (117.2, 37.0, 20.0)]), id="LineString-Z"),
    pytest.param(
        MultiPolygon(
            [
                Polygon([(117.1, 36.9), (117.2, 36.9), (117.2, 37.0)]),
                Polygon([(117.3, 36.9), (117.4, 36.9), (117.4, 37.0)]),
            ]
        ),
        id="MultiPolygon",
    ),
    pytest.param(
        GeometryCollection([Point(117.17, 36.98), LineString([(117.1, 36.9), (117.2, 37.0)])]),
        id="GeometryCollection",
    ),
    pytest.param(Polygon(), id="empty-Polygon"),
]


@pytest.mark.parametrize("geom", GEOMETRIES)
@pytest.mark.parametrize(("src", "dst"), [("wgs84", "gcj02"), ("bd09", "wgs84")])
def test_convert_geometry_keeps_type_and_z_and_moves_every_vertex(geom, src, dst):
    out = convert_geometry(geom, src, dst)
    assert out.geom_type == geom.geom_type
    assert shapely.has_z(out) == shapely.has_z(geom)
    before = shapely.get_coordinates(geom, include_z=True)
    after = shapely.get_coordinates(out, include_z=True)
    assert after.shape == before.shape
    exp_lon, exp_lat = convert(before[:, 0], before[:, 1], src, dst)
    np.testing.assert_array_equal(after[:, 0], exp_lon)
    np.testing.assert_array_equal(after[:, 1], exp_lat)
    if shapely.has_z(geom):
        np.testing.assert_array_equal(after[:, 2], before[:, 2])


def test_convert_geometry_round_trips_a_polygon_within_one_centimetre():
    poly = Polygon([(117.1, 36.9), (117.2, 36.9), (117.2, 37.0), (117.1, 37.0)])
    back = convert_geometry(convert_geometry(poly, "wgs84", "bd09"), "bd09", "wgs84")
    a = shapely.get_coordinates(poly)
    b = shapely.get_coordinates(back)
    assert haversine_m(a[:, 0], a[:, 1], b[:, 0], b[:, 1]).max() < 0.01


def test_convert_geometries_matches_per_geometry_conversion_and_keeps_none():
    geoms = [
        Point(117.17, 36.98),
        None,
        Point(117.0, 37.0, 5.0),
        LineString([(117.1, 36.9), (117.2, 37.0)]),
    ]
    out = convert_geometries(geoms, "wgs84", "gcj02")
    assert isinstance(out, np.ndarray) and out.shape == (4,)
    assert out[1] is None
    for g, o in zip(geoms, out, strict=True):
        if g is not None:
            assert shapely.equals_exact(o, convert_geometry(g, "wgs84", "gcj02"), tolerance=0)
            assert shapely.has_z(o) == shapely.has_z(g)


def test_convert_geometries_accepts_a_numpy_array():
    arr = shapely.points(np.full(1000, 117.17), np.linspace(36.9, 37.1, 1000))
    out = convert_geometries(arr, "gcj02", "wgs84")
    assert out.shape == (1000,)
    np.testing.assert_array_equal(
        shapely.get_x(out),
        convert(shapely.get_x(arr), shapely.get_y(arr), "gcj02", "wgs84")[0],
    )


# --- EPSG:4548 Gauss-Kruger ------------------------------------------------------------


@pytest.mark.parametrize("point", [JIYANG, (117.05, 36.95), (117.3, 37.1), (116.95, 37.15)])
def test_gauss_kruger_4548_puts_jiyang_in_the_expected_metre_range(point):
    x, y = gauss_kruger_4548(*point)
    assert 489_000 < float(x) < 540_000
    assert 4_090_000 < float(y) < 4_125_000


def test_gauss_kruger_4548_has_false_easting_500km_on_the_central_meridian():
    x, _ = gauss_kruger_4548(117.0, 37.0)
    assert float(x) == pytest.approx(500_000.0, abs=1e-6)


def test_gauss_kruger_4548_round_trips_within_one_millimetre():
    rng = np.random.default_rng(7)
    lon = rng.uniform(116.9, 117.5, (40, 25))
    lat = rng.uniform(36.8, 37.2, (40, 25))
    x, y = gauss_kruger_4548(lon, lat)
    assert x.shape == y.shape == (40, 25)
    back_lon, back_lat = from_gauss_kruger_4548(x, y)
    x2, y2 = gauss_kruger_4548(back_lon, back_lat)
    assert np.hypot(x2 - x, y2 - y).max() < 0.001
    assert haversine_m(lon, lat, back_lon, back_lat).max() < 0.001


def test_gauss_kruger_4548_scalars_give_zero_dimensional_arrays():
    x, y = gauss_kruger_4548(*JIYANG)
    assert isinstance(x, np.ndarray) and x.shape == () and x.dtype == np.float64
    lon, _ = from_gauss_kruger_4548(x, y)
    assert lon.shape == () and float(lon) == pytest.approx(JIYANG[0], abs=1e-9)
