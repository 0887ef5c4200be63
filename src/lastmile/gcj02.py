"""GCJ-02 <-> WGS84: the datum of Chinese web maps (Amap, Tencent, Aliyun DataV).

GCJ-02 ("Mars coordinates") is the obfuscated datum that Chinese web maps publish in. It is not a
pyproj CRS: :func:`wgs84_to_gcj02` implements the public forward formula and
:func:`gcj02_to_wgs84` inverts it by fixed-point iteration. Near Suichang the offset is about
0.6 km. Nothing else in lastmile depends on Amap specifics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "GCJ02",
    "gcj02_to_wgs84",
    "geometry_gcj02_to_wgs84",
    "geometry_wgs84_to_gcj02",
    "is_gcj02",
    "wgs84_to_gcj02",
]

#: The value of ``crs=`` that marks coordinates as GCJ-02 lon/lat (case-insensitive, "-" optional).
GCJ02 = "gcj02"

# Krasovsky 1940 ellipsoid, as used by the public GCJ-02 formula.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_GCJ_MAX_ITER = 30
_GCJ_TOL_DEG = 1e-12


def _as_float_array(values: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64)


def _outside_china(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
    """The rough bounding box outside which the GCJ-02 offset is not applied."""
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj_offset(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """GCJ-02 minus WGS84 (degrees) at WGS84 ``lon``/``lat``; zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrtmagic * np.cos(radlat) * pi)
    outside = _outside_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert WGS84 lon/lat (degrees) to GCJ-02 with the public forward formula.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees (scalars or arrays of one shape).

    Returns
    -------
    tuple of ndarray
        GCJ-02 longitudes and latitudes. Points outside China are returned unchanged.
    """
    lon_a, lat_a = np.broadcast_arrays(_as_float_array(lon), _as_float_array(lat))
    dlon, dlat = _gcj_offset(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert GCJ-02 lon/lat (degrees) to WGS84 by fixed-point inversion of the forward formula.

    Solves ``w + offset(w) = g`` with ``w <- g - offset(w)`` until the largest change is below
    1e-12° (a few iterations; the offset varies slowly), so the round trip
    ``wgs84_to_gcj02(*gcj02_to_wgs84(g))`` reproduces ``g`` to about 1e-12°.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitudes and latitudes in degrees (scalars or arrays of one shape).

    Returns
    -------
    tuple of ndarray
        WGS84 longitudes and latitudes. Points outside China are returned unchanged.
    """
    g_lon, g_lat = np.broadcast_arrays(_as_float_array(lon), _as_float_array(lat))
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    if w_lon.size == 0:
        return w_lon, w_lat
    for _ in range(_GCJ_MAX_ITER):
        dlon, dlat = _gcj_offset(w_lon, w_lat)
        n_lon, n_lat = g_lon - dlon, g_lat - dlat
        change = max(
            np.nanmax(np.abs(n_lon - w_lon), initial=0.0),
            np.nanmax(np.abs(n_lat - w_lat), initial=0.0),
        )
        w_lon, w_lat = n_lon, n_lat
        if change < _GCJ_TOL_DEG:
            break
    return w_lon, w_lat


def _coords_fn(
    convert: Callable[[ArrayLike, ArrayLike], tuple[NDArray[np.float64], NDArray[np.float64]]],
) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    def fn(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = convert(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return fn


def geometry_gcj02_to_wgs84(geom: Any) -> Any:
    """Convert a shapely geometry (or array of geometries) from GCJ-02 lon/lat to WGS84.

    Every vertex is converted with :func:`gcj02_to_wgs84` through :func:`shapely.transform`;
    the result has the same type and structure (2-D).
    """
    return shapely.transform(geom, _coords_fn(gcj02_to_wgs84))


def geometry_wgs84_to_gcj02(geom: Any) -> Any:
    """Convert a shapely geometry (or array of geometries) from WGS84 to GCJ-02 lon/lat."""
    return shapely.transform(geom, _coords_fn(wgs84_to_gcj02))


def is_gcj02(crs: Any) -> bool:
    """Whether ``crs`` is the marker for GCJ-02 lon/lat (``"gcj02"``, ``"GCJ-02"``, ``"gcj"``)."""
    return isinstance(crs, str) and crs.strip().lower().replace("-", "").replace("_", "") in {
        "gcj02",
        "gcj",
    }
