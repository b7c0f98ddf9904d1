"""Coordinates: WGS-84 in storage, GCJ-02/BD-09 converted at the edge; validation, areas, distances, H3."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast, get_args

import h3
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from zhili.core.errors import Invalid

CRS = Literal["wgs84", "gcj02", "bd09"]
CRS_NAMES: tuple[CRS, ...] = get_args(CRS)

FloatArray = npt.NDArray[np.float64]
# A coordinate is either a Python float or a numpy array of them; functions hand back the same kind.
C = TypeVar("C", float, FloatArray)

# The published GCJ-02 ("Mars coordinates") constants: the Krasovsky 1940 ellipsoid the obfuscation
# was defined on, not WGS-84's. They must stay bit-identical to the formula every Chinese map uses.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

# The usual bounding box outside which map vendors leave coordinates unshifted (GCJ-02 == WGS-84).
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

# Inverse transforms iterate until the forward image matches to this many degrees (~0.1 mm);
# each step shrinks the error ~200-fold, so 4 or 5 steps suffice and the cap only guards NaN edge cases.
_INVERSE_TOL_DEG = 1e-9
_INVERSE_MAX_STEPS = 30

# WGS-84 ellipsoid, for areas, and the IUGG mean Earth radius, for haversine distances.
_WGS84_A = 6378137.0
_WGS84_F = 1 / 298.257223563
_WGS84_E2 = _WGS84_F * (2 - _WGS84_F)
_MEAN_EARTH_RADIUS_M = 6371008.8


def parse_crs(value: str) -> CRS:
    """The CRS named by `value` (case and surrounding spaces ignored)."""
    name = value.strip().lower() if isinstance(value, str) else value
    if name not in CRS_NAMES:
        raise Invalid(f"unknown CRS {value!r}: use wgs84, gcj02 or bd09")
    return cast(CRS, name)


# --- array plumbing -------------------------------------------------------------------------------


def _arrays(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray, bool]:
    """Both inputs as float64 arrays of one shape, and whether the caller passed scalars."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    scalar = lon_a.ndim == 0 and lat_a.ndim == 0
    try:
        lon_b, lat_b = np.broadcast_arrays(lon_a, lat_a)
    except ValueError as exc:
        raise Invalid(f"longitude shape {lon_a.shape} does not match latitude shape {lat_a.shape}") from exc
    return lon_b, lat_b, scalar


def _result(lon: FloatArray, lat: FloatArray, scalar: bool) -> tuple[Any, Any]:
    if scalar:
        return float(lon), float(lat)
    return lon, lat


# --- GCJ-02 ---------------------------------------------------------------------------------------


def _outside_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    return (lon < _CHINA_LON[0]) | (lon > _CHINA_LON[1]) | (lat < _CHINA_LAT[0]) | (lat > _CHINA_LAT[1])


def _gcj02_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The published GCJ-02 shift (degrees) of WGS-84 points; zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    # The term shared by both components, computed once.
    wave_x = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat = dlat + wave_x
    dlat = dlat + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon = dlon + wave_x
    dlon = dlon + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrtmagic * np.cos(radlat) * pi)
    outside = _outside_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _wgs_to_gcj(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    lon: FloatArray,
    lat: FloatArray,
    guess: tuple[FloatArray, FloatArray],
) -> tuple[FloatArray, FloatArray]:
    """Solve forward(x) == (lon, lat) by fixed-point steps x -= forward(x) - target.

    The shifts are smooth and change by well under 1 % of themselves per degree, so the step is a
    contraction. The one-step inverses found online stop after the first step: up to ~5e-5° (metres)
    off for GCJ-02 and ~1e-6° for BD-09, too much for a point that round-trips through a web map.
    """
    # Each point stops as soon as it has converged, so its answer never depends on its neighbours in
    # the array (vectorised == scalar) and the late steps only touch the stragglers.
    shape = lon.shape
    tx, ty = lon.ravel(), lat.ravel()
    x = np.array(guess[0], dtype=np.float64).ravel()
    y = np.array(guess[1], dtype=np.float64).ravel()
    active = np.arange(x.size)
    for _ in range(_INVERSE_MAX_STEPS):
        if active.size == 0:
            break
        fx, fy = forward(x[active], y[active])
        rx = fx - tx[active]
        ry = fy - ty[active]
        x[active] -= rx
        y[active] -= ry
        # NaN residuals compare False, so a NaN input counts as done instead of spinning to the cap.
        active = active[(np.abs(rx) >= _INVERSE_TOL_DEG) | (np.abs(ry) >= _INVERSE_TOL_DEG)]
    return x.reshape(shape), y.reshape(shape)


def _gcj_to_wgs(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _invert(_wgs_to_gcj, lon, lat, (lon, lat))


def wgs84_to_gcj02(lon: C, lat: C) -> tuple[C, C]:
    """WGS-84 to GCJ-02 by the published formula; unchanged outside China."""
    lon_a, lat_a, scalar = _arrays(lon, lat)
    return _result(*_wgs_to_gcj(lon_a, lat_a), scalar)


def gcj02_to_wgs84(lon: C, lat: C) -> tuple[C, C]:
    """GCJ-02 to WGS-84, iterated to the exact inverse of `wgs84_to_gcj02` (< 1e-9 degrees)."""
    lon_a, lat_a, scalar = _arrays(lon, lat)
    return _result(*_gcj_to_wgs(lon_a, lat_a), scalar)


# --- BD-09 ----------------------------------------------------------------------------------------


def _gcj_to_bd(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj_one_step(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _bd_to_gcj(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    # Baidu defines BD-09 by the forward formula; the published reverse formula is only a first
    # approximation (~1e-6 degrees off), so it seeds the iteration instead of being the answer.
    return _invert(_gcj_to_bd, lon, lat, _bd_to_gcj_one_step(lon, lat))


def gcj02_to_bd09(lon: C, lat: C) -> tuple[C, C]:
    """GCJ-02 to BD-09 (Baidu) by the published formula."""
    lon_a, lat_a, scalar = _arrays(lon, lat)
    return _result(*_gcj_to_bd(lon_a, lat_a), scalar)


def bd09_to_gcj02(lon: C, lat: C) -> tuple[C, C]:
    """BD-09 to GCJ-02, iterated to the exact inverse of `gcj02_to_bd09` (< 1e-9 degrees)."""
    lon_a, lat_a, scalar = _arrays(lon, lat)
    return _result(*_bd_to_gcj(lon_a, lat_a), scalar)


# --- dispatch -------------------------------------------------------------------------------------


def _to_wgs(lon: FloatArray, lat: FloatArray, crs: CRS) -> tuple[FloatArray, FloatArray]:
    if crs == "gcj02":
        return _gcj_to_wgs(lon, lat)
    if crs == "bd09":
        return _gcj_to_wgs(*_bd_to_gcj(lon, lat))
    return lon.copy(), lat.copy()


def _from_wgs(lon: FloatArray, lat: FloatArray, crs: CRS) -> tuple[FloatArray, FloatArray]:
    if crs == "gcj02":
        return _wgs_to_gcj(lon, lat)
    if crs == "bd09":
        return _gcj_to_bd(*_wgs_to_gcj(lon, lat))
    return lon.copy(), lat.copy()


def to_wgs84(lon: C, lat: C, crs: CRS | str) -> tuple[C, C]:
    """Coordinates given in `crs` as WGS-84, the storage CRS (pure maths: validate with check_lonlat)."""
    lon_a, lat_a, scalar = _arrays(lon, lat)
    return _result(*_to_wgs(lon_a, lat_a, parse_crs(crs)), scalar)


def from_wgs84(lon: C, lat: C, crs: CRS | str) -> tuple[C, C]:
    """WGS-84 coordinates as `crs`, for a map that draws in it."""
    lon_a, lat_a, scalar = _arrays(lon, lat)
    return _result(*_from_wgs(lon_a, lat_a, parse_crs(crs)), scalar)


# --- validation -----------------------------------------------------------------------------------


def _numbers(value: Any, name: str) -> FloatArray:
    if isinstance(value, bool | str | bytes) or value is None:
        raise Invalid(f"{name} must be a number, got {value!r}")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise Invalid(f"{name} must be a number, got {value!r}") from exc


def check_lonlat(lon: Any, lat: Any) -> None:
    """Refuse a longitude outside [-180, 180], a latitude outside [-90, 90] or a non-finite value.

    Accepts scalars or arrays; the error names the first offending value.
    """
    for name, value, limit in (("longitude", lon, 180.0), ("latitude", lat, 90.0)):
        arr = _numbers(value, name)
        bad = ~(np.isfinite(arr) & (np.abs(arr) <= limit))
        if bad.any():
            first = float(arr.flat[int(np.flatnonzero(bad)[0])])
            raise Invalid(f"{name} {first!r} is not a finite number within [-{limit:g}, {limit:g}]")


# --- GeoJSON --------------------------------------------------------------------------------------

# How deeply positions nest in each geometry type's "coordinates".
_NESTING = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _positions(seq: Any, where: str, kind: str) -> tuple[FloatArray, list[list[Any]]]:
    """A list of positions as an (n, 2) array, plus what follows lon/lat in each (altitude) to keep."""
    if not isinstance(seq, list | tuple):
        raise Invalid(f"{where} must be an array of positions, got {seq!r}")
    xy = np.empty((len(seq), 2), dtype=np.float64)
    extras: list[list[Any]] = []
    for i, pos in enumerate(seq):
        if not isinstance(pos, list | tuple) or len(pos) < 2 or not all(_is_number(v) for v in pos):
            at = where if kind == "single" else f"{where}[{i}]"
            raise Invalid(f"{at} is not a position [lon, lat(, alt)] of numbers: {pos!r}")
        xy[i] = pos[0], pos[1]
        extras.append(list(pos[2:]))
    try:
        check_lonlat(xy[:, 0], xy[:, 1])
    except Invalid as exc:
        raise Invalid(f"{where}: {exc.detail}") from exc
    return xy, extras


def _transform_run(seq: Any, where: str, src: CRS, dst: CRS, kind: str) -> list[list[Any]]:
    """Transform one run of positions (a point list, a line or a ring) in one vectorised call."""
    xy, extras = _positions(seq, where, kind)
    n = len(xy)
    if kind == "line" and n < 2:
        raise Invalid(f"{where} is a line with {n} position(s): at least 2 are needed")
    if kind == "ring":
        if n < 4:
            raise Invalid(f"{where} is a ring with {n} position(s): at least 4 are needed")
        if list(seq[0]) != list(seq[-1]):
            raise Invalid(f"{where} is not a closed ring: its first and last positions differ")
    lon, lat = xy[:, 0], xy[:, 1]
    if src != dst:
        lon, lat = _from_wgs(*_to_wgs(lon, lat, src), dst)
    out = [[float(x), float(y), *extra] for x, y, extra in zip(lon, lat, extras, strict=True)]
    if kind == "ring":
        # A closed ring must stay bit-for-bit closed; do not rely on SIMD math giving the first
        # and last element the same rounding.
        out[-1] = list(out[0])
    return out


def _transform_coordinates(coords: Any, depth: int, gtype: str, where: str, src: CRS, dst: CRS) -> Any:
    if depth == 0:
        return _transform_run([coords], where, src, dst, "single")[0]
    if not isinstance(coords, list | tuple):
        raise Invalid(f"{where} must be an array, got {coords!r}")
    leaf = {"MultiPoint": "point", "LineString": "line", "MultiLineString": "line"}.get(gtype, "ring")
    if depth == 1:
        return _transform_run(coords, where, src, dst, leaf)
    return [
        _transform_coordinates(part, depth - 1, gtype, f"{where}[{i}]", src, dst)
        for i, part in enumerate(coords)
    ]


def _transform_geometry(geom: Any, src: CRS, dst: CRS, where: str) -> dict[str, Any]:
    if not isinstance(geom, dict):
        raise Invalid(f"{where} must be a GeoJSON geometry object, got {type(geom).__name__}")
    gtype = geom.get("type")
    # bbox would describe the old CRS; dropping it is honest, recomputing it is the caller's choice.
    out = {k: copy.deepcopy(v) for k, v in geom.items() if k not in ("coordinates", "geometries", "bbox")}
    if gtype == "GeometryCollection":
        parts = geom.get("geometries")
        if not isinstance(parts, list):
            raise Invalid(f"{where}.geometries must be an array of geometries")
        out["geometries"] = [
            _transform_geometry(part, src, dst, f"{where}.geometries[{i}]") for i, part in enumerate(parts)
        ]
        return out
    if not isinstance(gtype, str) or gtype not in _NESTING:
        raise Invalid(f"{where} has unknown geometry type {gtype!r}")
    if "coordinates" not in geom:
        raise Invalid(f"{where} ({gtype}) has no coordinates")
    coords = geom["coordinates"]
    if gtype == "Point" or coords != []:  # RFC 7946 allows empty multi/line/polygon geometries
        coords = _transform_coordinates(coords, _NESTING[gtype], gtype, f"{where}.coordinates", src, dst)
    out["coordinates"] = coords
    return out


def transform_geojson_geometry(
    geom: dict[str, Any], from_crs: CRS | str, to_crs: CRS | str
) -> dict[str, Any]:
    """A new GeoJSON geometry with every position converted; the input is left untouched.

    Validates as it goes (types, nesting, position shape, ranges, ring closure) and raises `Invalid`
    naming the path of the first problem, e.g. ``geometry.coordinates[0][3]``.
    """
    return _transform_geometry(geom, parse_crs(from_crs), parse_crs(to_crs), "geometry")


# --- measures -------------------------------------------------------------------------------------


def geodesic_area_m2(geom: BaseGeometry) -> float:
    """Area in m² of a WGS-84 lon/lat geometry, by a local equal-area projection.

    Vertices are projected about the centroid (lon0, lat0) with the ellipsoid's radii there:
    x = N(lat0)·cos(lat)·(lon - lon0), y = M(lat0)·(lat - lat0) (sinusoidal-style, so the cos(lat)
    shrinking of longitude is exact per vertex). The only error left is the change of N·M away from
    lat0, which cancels to first order about the centroid: about 5e-6 relative for a box the size of
    Baiyun (0.45°), 1e-3 for a 6° one. Not for province-sized shapes; pyproj is deliberately not a
    dependency.
    """
    if geom.is_empty:
        return 0.0
    centroid = geom.centroid
    lon0, lat0 = centroid.x, centroid.y
    check_lonlat(lon0, lat0)
    sin0 = math.sin(math.radians(lat0))
    w = 1.0 - _WGS84_E2 * sin0 * sin0
    n0 = _WGS84_A / math.sqrt(w)  # prime-vertical radius of curvature
    m0 = _WGS84_A * (1.0 - _WGS84_E2) / w**1.5  # meridional radius of curvature

    def project(coords: FloatArray) -> FloatArray:
        lon = np.radians(coords[:, 0] - lon0)
        lat = np.radians(coords[:, 1])
        return np.column_stack((n0 * np.cos(lat) * lon, m0 * (lat - math.radians(lat0))))

    return float(shapely.transform(geom, project).area)


def distance_m(lon1: C, lat1: C, lon2: C, lat2: C) -> C:
    """Great-circle (haversine) distance in metres on the mean-radius sphere; error under 0.5 %."""
    a1, b1, scalar1 = _arrays(lon1, lat1)
    a2, b2, scalar2 = _arrays(lon2, lat2)
    lam1, phi1, lam2, phi2 = np.radians(a1), np.radians(b1), np.radians(a2), np.radians(b2)
    h = np.sin((phi2 - phi1) / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) / 2) ** 2
    d = 2 * _MEAN_EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return cast(C, float(d) if scalar1 and scalar2 else d)


def h3_cell(lon: float, lat: float, res: int) -> str:
    """The H3 cell (hex string) containing a WGS-84 point at resolution 0–15."""
    check_lonlat(lon, lat)
    if isinstance(res, bool) or not isinstance(res, int | np.integer) or not 0 <= res <= 15:
        raise Invalid(f"H3 resolution must be an integer from 0 to 15, got {res!r}")
    return str(h3.latlng_to_cell(float(lat), float(lon), int(res)))  # h3 takes latitude first


__all__ = [
    "CRS",
    "CRS_NAMES",
    "bd09_to_gcj02",
    "check_lonlat",
    "distance_m",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "geodesic_area_m2",
    "h3_cell",
    "parse_crs",
    "to_wgs84",
    "transform_geojson_geometry",
    "wgs84_to_gcj02",
]
