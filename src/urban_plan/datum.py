"""Vectorised conversions between WGS84, GCJ-02 (Gaode/Tencent), BD-09 (Baidu) and CGCS2000 GK (EPSG:4548)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray
    from pyproj import Transformer

__all__ = [
    "DATUMS",
    "convert",
    "convert_geometries",
    "convert_geometry",
    "convert_point",
    "from_gauss_kruger_4548",
    "gauss_kruger_4548",
    "in_china",
]

DATUMS = ("wgs84", "gcj02", "bd09")

# Constants of the published GCJ-02 algorithm: Krasovsky 1940 ellipsoid.
_A = 6378245.0
_EE = 0.00669342162296594323
# BD-09 uses its own "x_pi" (pi scaled by 3000/180), not a geodetic quantity.
_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

# Rough China bounding box used by eviltransform/prcoords; points outside pass through.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

# Precise inverses: stop when the update is below ~0.1 mm; they converge in 2-5 steps.
_INV_TOL_DEG = 1e-9
_INV_MAX_ITER = 30


def _check_datum(name: str) -> str:
    key = name.lower() if isinstance(name, str) else name
    if key not in DATUMS:
        raise ValueError(f"unknown datum {name!r}: expected one of {', '.join(DATUMS)}")
    return key


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return True where (lon, lat) lies in the rough China box; NaN gives False."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    return (lon_a >= _CHINA_LON[0]) & (lon_a <= _CHINA_LON[1]) & (lat_a >= _CHINA_LAT[0]) & (lat_a <= _CHINA_LAT[1])


# --- core transforms on 1-d float arrays, no China check (callers mask) -------


def _gcj_delta(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """GCJ-02 offset (degrees) to add to a WGS84 point: the published transformlat/transformlon."""
    x = lon - 105.0
    y = lat - 35.0
    px = np.pi * x
    py = np.pi * y
    # Trig dominates the cost, so sin(3t) = sin t * (3 - 4 sin^2 t) derives sin(6πx),
    # sin(πx) and sin(πy) from sines already needed (same values, 3 fewer sin calls).
    s2x = np.sin(2.0 * px)
    s6x = s2x * (3.0 - 4.0 * s2x * s2x)
    s3x = np.sin(px / 3.0)
    s1x = s3x * (3.0 - 4.0 * s3x * s3x)
    s3y = np.sin(py / 3.0)
    s1y = s3y * (3.0 - 4.0 * s3y * s3y)
    common = (20.0 * s6x + 20.0 * s2x) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    xy = x * y

    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * xy + 0.2 * sqrt_abs_x
    dlat += common
    dlat += (20.0 * s1y + 40.0 * s3y) * 2.0 / 3.0
    dlat += (160.0 * np.sin(py / 12.0) + 320.0 * np.sin(py / 30.0)) * 2.0 / 3.0

    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * xy + 0.1 * sqrt_abs_x
    dlon += common
    dlon += (20.0 * s1x + 40.0 * s3x) * 2.0 / 3.0
    dlon += (150.0 * np.sin(px / 12.0) + 300.0 * np.sin(px / 30.0)) * 2.0 / 3.0

    # Metres -> degrees on the Krasovsky ellipsoid (cos from sin: |lat| < 90 so cos > 0).
    sin_lat = np.sin(lat * (np.pi / 180.0))
    magic = 1.0 - _EE * sin_lat * sin_lat
    sqrtmagic = np.sqrt(magic)
    cos_lat = np.sqrt(1.0 - sin_lat * sin_lat)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * cos_lat * np.pi)
    return dlon, dlat


def _wgs_to_gcj(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_bd(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_to_gcj_approx(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    # Published closed form; only approximately inverts _gcj_to_bd (~1e-7 deg).
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Any,
    target_lon: NDArray[np.float64],
    target_lat: NDArray[np.float64],
    guess_lon: NDArray[np.float64],
    guess_lat: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Solve forward(p) == target by fixed-point iteration p += target - forward(p).

    Both forward maps are identity plus a slowly varying offset (Jacobian ~ I), so
    this is a contraction that converges geometrically. Only points that have not
    yet converged are recomputed.
    """
    lon = guess_lon.copy()
    lat = guess_lat.copy()
    active = np.arange(lon.size)
    for _ in range(_INV_MAX_ITER):
        if active.size == 0:
            break
        f_lon, f_lat = forward(lon[active], lat[active])
        step_lon = target_lon[active] - f_lon
        step_lat = target_lat[active] - f_lat
        lon[active] += step_lon
        lat[active] += step_lat
        active = active[np.maximum(np.abs(step_lon), np.abs(step_lat)) >= _INV_TOL_DEG]
    return lon, lat


def _gcj_to_wgs(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    dlon, dlat = _gcj_delta(lon, lat)
    # The classic one-step answer (lon - delta) is the starting guess; iterate to exact.
    return _invert(_wgs_to_gcj, lon, lat, lon - dlon, lat - dlat)


def _bd_to_gcj(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    g_lon, g_lat = _bd_to_gcj_approx(lon, lat)
    return _invert(_gcj_to_bd, lon, lat, g_lon, g_lat)


def _convert_flat(
    lon: NDArray[np.float64], lat: NDArray[np.float64], src: str, dst: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    # Route everything through GCJ-02, the hub both other datums are defined against.
    if src == "wgs84":
        lon, lat = _wgs_to_gcj(lon, lat)
    elif src == "bd09":
        lon, lat = _bd_to_gcj(lon, lat)
    if dst == "wgs84":
        lon, lat = _gcj_to_wgs(lon, lat)
    elif dst == "bd09":
        lon, lat = _gcj_to_bd(lon, lat)
    return lon, lat


def convert(lon: ArrayLike, lat: ArrayLike, src: str, dst: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert lon/lat (scalars or arrays, broadcast together) from datum ``src`` to ``dst``.

    Returns float64 arrays of the broadcast shape (0-d for scalars). Points outside
    the rough China box (see :func:`in_china`, tested on the input) and NaNs are
    returned unchanged, as every interoperating implementation does.
    """
    src = _check_datum(src)
    dst = _check_datum(dst)
    lon_b, lat_b = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    shape = lon_b.shape
    out_lon = lon_b.ravel().copy()
    out_lat = lat_b.ravel().copy()
    if src == dst or out_lon.size == 0:
        return out_lon.reshape(shape), out_lat.reshape(shape)

    # Convert only in-China points: keeps outside points exact and keeps NaN out of the maths.
    mask = in_china(out_lon, out_lat)
    if mask.all():
        # Common case (a Chinese dataset): skip the gather/scatter copies.
        out_lon, out_lat = _convert_flat(out_lon, out_lat, src, dst)
    elif mask.any():
        new_lon, new_lat = _convert_flat(out_lon[mask], out_lat[mask], src, dst)
        out_lon[mask] = new_lon
        out_lat[mask] = new_lat
    return out_lon.reshape(shape), out_lat.reshape(shape)


def convert_point(lon: float, lat: float, src: str, dst: str) -> tuple[float, float]:
    """Convert a single point; returns plain floats."""
    out_lon, out_lat = convert(lon, lat, src, dst)
    return float(out_lon), float(out_lat)


def _coords_converter(src: str, dst: str) -> Any:
    def transform(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.array(coords, dtype=np.float64, copy=True)
        # Only x/y change; a Z column (if present) is carried through untouched.
        out[:, 0], out[:, 1] = convert(coords[:, 0], coords[:, 1], src, dst)
        return out

    return transform


def convert_geometry(geom: shapely.Geometry, src: str, dst: str) -> shapely.Geometry:
    """Convert any shapely geometry (Multi*, collections, with or without Z)."""
    src = _check_datum(src)
    dst = _check_datum(dst)
    # include_z=None keeps each geometry's own dimensionality (2D stays 2D, 3D keeps Z).
    return shapely.transform(geom, _coords_converter(src, dst), include_z=None)


def convert_geometries(geoms: np.ndarray | list, src: str, dst: str) -> np.ndarray:
    """Convert an array/list of geometries in one vectorised pass; None stays None."""
    src = _check_datum(src)
    dst = _check_datum(dst)
    arr = np.asarray(geoms, dtype=object)
    return shapely.transform(arr, _coords_converter(src, dst), include_z=None)


# --- CGCS2000 / 3-degree Gauss-Kruger CM 117E (EPSG:4548) ---------------------
# EPSG:4490 (CGCS2000 geographic) and WGS84 agree to within a few decimetres, far
# below planning-map precision, so this module treats WGS84 lon/lat as CGCS2000.


@functools.cache
def _gk_transformers() -> tuple[Transformer, Transformer]:
    # Imported lazily: building pyproj transformers costs ~100 ms and most pages never need them.
    from pyproj import Transformer

    fwd = Transformer.from_crs("EPSG:4326", "EPSG:4548", always_xy=True)
    inv = Transformer.from_crs("EPSG:4548", "EPSG:4326", always_xy=True)
    return fwd, inv


def _run(transformer: Transformer, a: ArrayLike, b: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    a_b, b_b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    shape = a_b.shape
    out_a, out_b = transformer.transform(a_b.ravel(), b_b.ravel())
    return (
        np.asarray(out_a, dtype=np.float64).reshape(shape),
        np.asarray(out_b, dtype=np.float64).reshape(shape),
    )


def gauss_kruger_4548(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS84 (= CGCS2000) lon/lat -> EPSG:4548 (easting, northing) in metres."""
    return _run(_gk_transformers()[0], lon, lat)


def from_gauss_kruger_4548(x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """EPSG:4548 (easting, northing) in metres -> WGS84 (= CGCS2000) lon/lat."""
    return _run(_gk_transformers()[1], x, y)
