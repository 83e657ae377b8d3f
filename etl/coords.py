"""Coordinate conversions for points captured on Chinese web maps.

Maps served in mainland China do not show WGS-84: Gaode/Amap, Tencent and
Google's China tiles use GCJ-02 (the state "Mars coordinates" obfuscation) and
Baidu adds its own BD-09 shift on top. Both move a point by hundreds of metres,
enough to put a camera or an incident in the wrong village or grid cell, so
points picked from those maps are converted to WGS-84 before they are loaded.

Every function is vectorised over numpy arrays (scalars work too) and returns a
``(lon, lat)`` tuple of float arrays in degrees. Points outside mainland China's
rough bounding box are returned unchanged, as the published implementations do
for GCJ-02; here the same rule holds for BD-09. The inverses are exact: they
iterate the forward transform to a fixed point (error < 1e-10 degrees, about
0.01 mm) instead of subtracting the offset once (error up to about 1 m).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridwatch.errors import InputError

Source = Literal["wgs84", "gcj02", "bd09"]
SOURCES: tuple[Source, ...] = get_args(Source)

Floats = NDArray[np.float64]
Pair = tuple[Floats, Floats]

# Krasovsky 1940 ellipsoid, as used by GCJ-02.
_A = 6378245.0
_EE = 0.00669342162296594323
# Baidu's BD-09 constants.
_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006
# Mainland China's rough bounding box (the published one).
_LON_MIN, _LON_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271
# Stopping rule for the exact inverses.
_TOLERANCE_DEG = 1e-10
_MAX_ITERATIONS = 10


# --- raw transforms on 1-D float arrays, no bounding-box check ---------------------------


def _transform_lat(x: Floats, y: Floats) -> Floats:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: Floats, y: Floats) -> Floats:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_offset(lon: Floats, lat: Floats) -> Pair:
    """GCJ-02 minus WGS-84 at a WGS-84 point, in degrees."""
    x, y = lon - 105.0, lat - 35.0
    rad_lat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = _transform_lat(x, y) * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = _transform_lon(x, y) * 180.0 / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _wgs_to_gcj(lon: Floats, lat: Floats) -> Pair:
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_wgs_approx(lon: Floats, lat: Floats) -> Pair:
    dlon, dlat = _gcj_offset(lon, lat)
    return lon - dlon, lat - dlat


def _gcj_to_bd(lon: Floats, lat: Floats) -> Pair:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_to_gcj_approx(lon: Floats, lat: Floats) -> Pair:
    x, y = lon - _BD_DLON, lat - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _wgs_to_bd(lon: Floats, lat: Floats) -> Pair:
    return _gcj_to_bd(*_wgs_to_gcj(lon, lat))


def _bd_to_wgs_approx(lon: Floats, lat: Floats) -> Pair:
    return _gcj_to_wgs_approx(*_bd_to_gcj_approx(lon, lat))


RawTransform = Callable[[Floats, Floats], Pair]


def _exact_inverse(forward: RawTransform, guess: RawTransform) -> RawTransform:
    """Invert ``forward`` by fixed-point iteration from ``guess``."""

    def inverse(lon: Floats, lat: Floats) -> Pair:
        x, y = guess(lon, lat)
        for _ in range(_MAX_ITERATIONS):
            fx, fy = forward(x, y)
            dx, dy = fx - lon, fy - lat
            x, y = x - dx, y - dy
            if dx.size == 0 or max(np.abs(dx).max(), np.abs(dy).max()) < _TOLERANCE_DEG:
                break
        return x, y

    return inverse


_gcj_to_wgs = _exact_inverse(_wgs_to_gcj, _gcj_to_wgs_approx)
_bd_to_gcj = _exact_inverse(_gcj_to_bd, _bd_to_gcj_approx)
_bd_to_wgs = _exact_inverse(_wgs_to_bd, _bd_to_wgs_approx)


def _in_china(lon: Floats, lat: Floats) -> NDArray[np.bool_]:
    return (lon >= _LON_MIN) & (lon <= _LON_MAX) & (lat >= _LAT_MIN) & (lat <= _LAT_MAX)


def _apply(raw: RawTransform, lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Run ``raw`` on the points inside China; copy the others unchanged."""
    lon_in, lat_in = np.broadcast_arrays(np.asarray(lon, np.float64), np.asarray(lat, np.float64))
    lon_out, lat_out = lon_in.copy(), lat_in.copy()
    mask = _in_china(lon_in, lat_in)
    if mask.any():
        lon_out[mask], lat_out[mask] = raw(lon_in[mask], lat_in[mask])
    return lon_out, lat_out


# --- public API ----------------------------------------------------------------------


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """WGS-84 to GCJ-02 (Amap/Gaode, Tencent, Google China)."""
    return _apply(_wgs_to_gcj, lon, lat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """GCJ-02 to WGS-84, exact (iterated) inverse of :func:`wgs84_to_gcj02`."""
    return _apply(_gcj_to_wgs, lon, lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """GCJ-02 to BD-09 (Baidu)."""
    return _apply(_gcj_to_bd, lon, lat)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """BD-09 to GCJ-02, exact (iterated) inverse of :func:`gcj02_to_bd09`."""
    return _apply(_bd_to_gcj, lon, lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """WGS-84 to BD-09 (Baidu)."""
    return _apply(_wgs_to_bd, lon, lat)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """BD-09 to WGS-84, exact (iterated) inverse of :func:`wgs84_to_bd09`."""
    return _apply(_bd_to_wgs, lon, lat)


def _same(lon: Floats, lat: Floats) -> Pair:
    return lon, lat


_TO_WGS84: dict[str, RawTransform] = {
    "wgs84": _same,
    "gcj02": _gcj_to_wgs,
    "bd09": _bd_to_wgs,
}


def to_wgs84(lon: ArrayLike, lat: ArrayLike, source: str) -> Pair:
    """Convert points given in ``source`` (one of :data:`SOURCES`) to WGS-84."""
    try:
        raw = _TO_WGS84[source]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown coordinate source {source!r}; expected one of: {', '.join(SOURCES)}"
        ) from None
    return _apply(raw, lon, lat)
