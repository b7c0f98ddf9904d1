"""Coordinate conversion, validation and measures in zhili.core.geo."""

from __future__ import annotations

import copy
import math

import h3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPolygon, Point, box

from zhili.core.errors import Invalid
from zhili.core.geo import (
    CRS_NAMES,
    bd09_to_gcj02,
    check_lonlat,
    distance_m,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    geodesic_area_m2,
    h3_cell,
    parse_crs,
    to_wgs84,
    transform_geojson_geometry,
    wgs84_to_gcj02,
)

# Baiyun and its neighbourhood, where nearly every coordinate the system sees lies.
baiyun_lon = st.floats(min_value=113.1, max_value=113.6)
baiyun_lat = st.floats(min_value=23.1, max_value=23.5)

# Reference values printed by the widely copied coordTransform_py for the point (128.543, 37.065).
REF_IN = (128.543, 37.065)
REF_WGS84_TO_GCJ02 = (128.54820547949757, 37.065651049489816)
REF_GCJ02_TO_BD09 = (128.54944656269413, 37.07113427883019)
REF_WGS84_TO_BD09 = (128.55468192918485, 37.07168344938498)
REF_BD09_TO_GCJ02_ONE_STEP = (128.5365893261212, 37.058754503281534)


def test_crs_names_and_parsing() -> None:
    assert CRS_NAMES == ("wgs84", "gcj02", "bd09")
    assert parse_crs(" GCJ02 ") == "gcj02"
    with pytest.raises(Invalid, match="unknown CRS 'epsg:4326': use wgs84, gcj02 or bd09"):
        parse_crs("epsg:4326")


def test_forward_formulas_match_the_published_reference_values() -> None:
    assert wgs84_to_gcj02(*REF_IN) == pytest.approx(REF_WGS84_TO_GCJ02, abs=1e-12)
    assert gcj02_to_bd09(*REF_IN) == pytest.approx(REF_GCJ02_TO_BD09, abs=1e-12)
    assert from_wgs84(*REF_IN, "bd09") == pytest.approx(REF_WGS84_TO_BD09, abs=1e-12)


def test_exact_bd09_inverse_differs_from_the_one_step_formula_only_by_decimetres() -> None:
    # The one-step reverse formula is an approximation; ours inverts gcj02_to_bd09 exactly.
    exact = bd09_to_gcj02(*REF_IN)
    assert exact == pytest.approx(REF_BD09_TO_GCJ02_ONE_STEP, abs=2e-6)
    assert gcj02_to_bd09(*exact) == pytest.approx(REF_IN, abs=1e-9)


def test_gcj02_shift_in_guangzhou_has_the_known_size_and_direction() -> None:
    # Around 113.27E 23.13N (Yuexiu/Tianhe/Baiyun) Mars coordinates sit ~+0.0054° lon, ~-0.0027° lat
    # from GPS: roughly 550 m east and 300 m south.
    for lon, lat in [(113.27, 23.13), (113.33, 23.14), (113.27, 23.17), (113.30, 23.25)]:
        glon, glat = wgs84_to_gcj02(lon, lat)
        assert 0.0045 < glon - lon < 0.0060
        assert -0.0032 < glat - lat < -0.0022


@settings(max_examples=300, deadline=None)
@given(baiyun_lon, baiyun_lat)
def test_gcj02_round_trip_is_exact_to_1e_8_degrees(lon: float, lat: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert abs(back[0] - lon) < 1e-8 and abs(back[1] - lat) < 1e-8
    # And the other way: treat the point as GCJ-02 input from a map click.
    again = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert abs(again[0] - lon) < 1e-8 and abs(again[1] - lat) < 1e-8


@settings(max_examples=300, deadline=None)
@given(baiyun_lon, baiyun_lat)
def test_bd09_round_trips_are_exact_to_1e_8_degrees(lon: float, lat: float) -> None:
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert abs(back[0] - lon) < 1e-8 and abs(back[1] - lat) < 1e-8
    wgs = to_wgs84(*from_wgs84(lon, lat, "bd09"), "bd09")
    assert abs(wgs[0] - lon) < 1e-8 and abs(wgs[1] - lat) < 1e-8


def test_the_classic_one_step_gcj02_inverse_would_not_be_good_enough() -> None:
    # Guards the reason for iterating: the one-step inverse is off by more than our tolerance.
    lon, lat = 113.27, 23.13
    glon, glat = wgs84_to_gcj02(lon, lat)
    one_step = 2 * glon - wgs84_to_gcj02(glon, glat)[0]
    assert abs(one_step - lon) > 1e-8
    assert abs(gcj02_to_wgs84(glon, glat)[0] - lon) < 1e-10


@pytest.mark.parametrize("point", [(2.3522, 48.8566), (151.2093, -33.8688), (-74.006, 40.7128), (0.0, 0.0)])
def test_gcj02_is_wgs84_outside_china(point: tuple[float, float]) -> None:
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


def test_vectorised_conversion_equals_scalar_conversion() -> None:
    rng = np.random.default_rng(7)
    lon = rng.uniform(113.1, 113.6, 500)
    lat = rng.uniform(23.1, 23.5, 500)
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02):
        vlon, vlat = fn(lon, lat)
        assert isinstance(vlon, np.ndarray) and vlon.shape == (500,)
        for i in range(0, 500, 37):
            slon, slat = fn(float(lon[i]), float(lat[i]))
            assert isinstance(slon, float)
            assert slon == pytest.approx(vlon[i], abs=1e-12) and slat == pytest.approx(vlat[i], abs=1e-12)


@pytest.mark.parametrize("crs", CRS_NAMES)
def test_dispatch_round_trips_every_crs(crs: str) -> None:
    lon = np.array([113.26, 113.31, 113.45])
    lat = np.array([23.16, 23.28, 23.41])
    back_lon, back_lat = to_wgs84(*from_wgs84(lon, lat, crs), crs)
    np.testing.assert_allclose(back_lon, lon, atol=1e-9)
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)


def test_mismatched_array_shapes_are_refused() -> None:
    with pytest.raises(Invalid, match="shape"):
        wgs84_to_gcj02(np.array([113.2, 113.3]), np.array([23.1, 23.2, 23.3]))


def _square_ring(lon: float, lat: float, d: float) -> list[list[float]]:
    return [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]


def test_polygon_transform_keeps_rings_closed_and_input_untouched() -> None:
    geom = {
        "type": "Polygon",
        "coordinates": [_square_ring(113.2, 23.2, 0.05), _square_ring(113.21, 23.21, 0.01)],
        "bbox": [113.2, 23.2, 113.25, 23.25],
    }
    before = copy.deepcopy(geom)
    out = transform_geojson_geometry(geom, "wgs84", "gcj02")
    assert geom == before
    assert "bbox" not in out  # it would describe the old CRS
    for ring_in, ring_out in zip(geom["coordinates"], out["coordinates"], strict=True):
        assert len(ring_out) == len(ring_in)
        assert ring_out[0] == ring_out[-1]
        for (x, y), (gx, gy) in zip(ring_in, ring_out, strict=True):
            assert (gx, gy) == pytest.approx(wgs84_to_gcj02(x, y), abs=1e-12)
    back = transform_geojson_geometry(out, "gcj02", "wgs84")
    np.testing.assert_allclose(np.array(back["coordinates"][0]), np.array(geom["coordinates"][0]), atol=1e-9)


def test_every_geometry_type_is_transformed_and_altitude_kept() -> None:
    collection = {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "Point", "coordinates": [113.3, 23.2, 12.5]},
            {"type": "MultiPoint", "coordinates": [[113.3, 23.2], [113.4, 23.3]]},
            {"type": "LineString", "coordinates": [[113.3, 23.2], [113.4, 23.3]]},
            {"type": "MultiLineString", "coordinates": [[[113.3, 23.2], [113.4, 23.3]]]},
            {"type": "MultiPolygon", "coordinates": [[_square_ring(113.3, 23.3, 0.02)]]},
            {"type": "MultiPolygon", "coordinates": []},
        ],
    }
    out = transform_geojson_geometry(collection, "wgs84", "bd09")
    point = out["geometries"][0]["coordinates"]
    assert point[:2] == pytest.approx(from_wgs84(113.3, 23.2, "bd09"), abs=1e-12)
    assert point[2] == 12.5
    assert [g["type"] for g in out["geometries"]] == [g["type"] for g in collection["geometries"]]
    assert out["geometries"][4]["coordinates"][0][0][0] == out["geometries"][4]["coordinates"][0][0][-1]
    assert out["geometries"][5]["coordinates"] == []


def test_same_crs_transform_validates_and_copies() -> None:
    geom = {"type": "LineString", "coordinates": [[113.3, 23.2], [113.4, 23.3]]}
    out = transform_geojson_geometry(geom, "wgs84", "wgs84")
    assert out == geom and out["coordinates"] is not geom["coordinates"]


@pytest.mark.parametrize(
    ("geom", "message"),
    [
        ({"type": "Circle", "coordinates": [113.3, 23.2]}, "unknown geometry type 'Circle'"),
        ({"coordinates": [113.3, 23.2]}, "unknown geometry type None"),
        ({"type": "Point"}, "has no coordinates"),
        ({"type": "Point", "coordinates": [113.3]}, r"geometry.coordinates is not a position"),
        ({"type": "Point", "coordinates": ["113.3", 23.2]}, "not a position"),
        ({"type": "Point", "coordinates": [True, 23.2]}, "not a position"),
        ({"type": "Point", "coordinates": [213.3, 23.2]}, "longitude 213.3"),
        ({"type": "LineString", "coordinates": [[113.3, 23.2]]}, "at least 2"),
        ({"type": "LineString", "coordinates": [[113.3, 23.2], [113.4, 95.0]]}, "latitude 95.0"),
        (
            {"type": "Polygon", "coordinates": [_square_ring(113.3, 23.2, 0.1)[:4]]},
            r"\[0\] is not a closed ring",
        ),
        ({"type": "Polygon", "coordinates": [[[113.3, 23.2], [113.4, 23.2], [113.3, 23.2]]]}, "at least 4"),
        ({"type": "MultiPolygon", "coordinates": [[[1, 2]]]}, r"\.coordinates\[0\]\[0\]\[0\] is not a pos"),
        ({"type": "GeometryCollection", "geometries": [{"type": "Nope"}]}, r"geometries\[0\] has unknown"),
        ({"type": "GeometryCollection"}, "must be an array of geometries"),
    ],
)
def test_malformed_geometry_is_refused_naming_the_problem(geom: dict, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        transform_geojson_geometry(geom, "gcj02", "wgs84")


def test_not_a_geometry_and_unknown_crs_are_refused() -> None:
    with pytest.raises(Invalid, match="must be a GeoJSON geometry object"):
        transform_geojson_geometry([113.3, 23.2], "wgs84", "gcj02")  # type: ignore[arg-type]
    with pytest.raises(Invalid, match="unknown CRS 'mars'"):
        transform_geojson_geometry({"type": "Point", "coordinates": [113.3, 23.2]}, "mars", "wgs84")


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        (180.5, 23.0, "longitude 180.5"),
        (-181, 23.0, "longitude -181.0"),
        (113.0, 90.01, "latitude 90.01"),
        (float("nan"), 23.0, "longitude nan"),
        (113.0, float("inf"), "latitude inf"),
        ("113.0", 23.0, "longitude must be a number, got '113.0'"),
        (None, 23.0, "longitude must be a number"),
        (np.array([113.0, 200.0]), np.array([23.0, 23.0]), "longitude 200.0"),
    ],
)
def test_check_lonlat_refuses_bad_values_naming_them(lon: object, lat: object, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        check_lonlat(lon, lat)


def test_check_lonlat_accepts_the_edges() -> None:
    check_lonlat(180, -90)
    check_lonlat(-180.0, 90.0)
    check_lonlat(np.array([113.2, 113.3]), np.array([23.2, 23.3]))


def _ellipsoid_quadrangle_area(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Exact area of a lon/lat quadrangle on the WGS-84 ellipsoid.

    The area element is M(φ)·N(φ)·cos φ dφ dλ = b² cos φ / (1 - e² sin² φ)² dφ dλ, whose integral in φ is
    (b²/2)·[sin φ / (1 - e² sin² φ) + ln((1 + e sin φ) / (1 - e sin φ)) / (2e)].
    """
    a = 6378137.0
    f = 1 / 298.257223563
    e2 = f * (2 - f)
    e = math.sqrt(e2)
    b = a * (1 - f)

    def q(lat: float) -> float:
        s = math.sin(math.radians(lat))
        return s / (1 - e2 * s * s) + math.log((1 + e * s) / (1 - e * s)) / (2 * e)

    return b * b / 2 * math.radians(lon2 - lon1) * (q(lat2) - q(lat1))


def test_area_of_a_small_square_matches_the_ellipsoid() -> None:
    # A 0.01° × 0.01° cell at 23.2°N. On the WGS-84 ellipsoid a degree of latitude there is
    # M·π/180 = 110.745 km and a degree of longitude N·cos φ·π/180 = 102.37 km, so the cell is about
    # 1107.45 m × 1023.7 m = 1.1337e6 m². (The rough 1113.2 × 1023.4 figure takes the *equatorial*
    # length of a degree for latitude and is 0.49 % too big.) The exact integral gives 1,133,683 m².
    expected = _ellipsoid_quadrangle_area(113.3, 23.2, 113.31, 23.21)
    assert expected == pytest.approx(1_133_683, abs=1)
    assert geodesic_area_m2(box(113.3, 23.2, 113.31, 23.21)) == pytest.approx(expected, rel=1e-5)
    assert expected == pytest.approx(1113.2 * 1023.4, rel=0.005)


def test_area_of_a_district_sized_shape_is_well_within_one_percent() -> None:
    # Baiyun spans about 0.45° × 0.45°: the local projection's error grows with size, so check there.
    expected = _ellipsoid_quadrangle_area(113.15, 23.1, 113.6, 23.55)
    assert geodesic_area_m2(box(113.15, 23.1, 113.6, 23.55)) == pytest.approx(expected, rel=1e-4)


def test_area_sums_over_parts_and_is_zero_for_lines_and_points() -> None:
    parts = [box(113.3, 23.2, 113.31, 23.21), box(113.4, 23.3, 113.42, 23.31)]
    total = geodesic_area_m2(MultiPolygon(parts))
    assert total == pytest.approx(sum(geodesic_area_m2(p) for p in parts), rel=1e-4)
    assert geodesic_area_m2(LineString([(113.3, 23.2), (113.4, 23.3)])) == 0.0
    assert geodesic_area_m2(Point(113.3, 23.2)) == 0.0
    assert geodesic_area_m2(Point()) == 0.0


def test_distance_along_a_meridian_and_a_parallel() -> None:
    # One degree of arc on the 6,371,008.8 m mean-radius sphere is 111,195 m.
    assert distance_m(113.3, 23.0, 113.3, 24.0) == pytest.approx(111_195.08, abs=0.01)
    # Along a parallel the great circle is a hair shorter than the parallel, R·cos φ·Δλ = 102,203.3 m.
    d = distance_m(113.0, 23.2, 114.0, 23.2)
    assert 102_202 < d < 102_203.3
    assert distance_m(113.3, 23.2, 113.3, 23.2) == 0.0


def test_distance_is_vectorised() -> None:
    lon = np.array([113.3, 113.4])
    lat = np.array([23.2, 23.3])
    d = distance_m(lon, lat, np.array([113.3, 113.5]), np.array([24.2, 23.3]))
    assert isinstance(d, np.ndarray) and d.shape == (2,)
    assert d[0] == pytest.approx(distance_m(113.3, 23.2, 113.3, 24.2))
    assert d[1] == pytest.approx(distance_m(113.4, 23.3, 113.5, 23.3))


def test_h3_cell_takes_lon_lat_in_our_order() -> None:
    cell = h3_cell(113.27, 23.13, 9)
    assert h3.is_valid_cell(cell) and h3.get_resolution(cell) == 9
    lat, lon = h3.cell_to_latlng(cell)
    assert distance_m(lon, lat, 113.27, 23.13) < 400  # a res-9 cell is ~0.1 km² (edge ~200 m)


@pytest.mark.parametrize("res", [-1, 16, 9.0, True])
def test_h3_cell_refuses_bad_resolutions(res: object) -> None:
    with pytest.raises(Invalid, match="resolution"):
        h3_cell(113.27, 23.13, res)  # type: ignore[arg-type]


def test_h3_cell_refuses_bad_coordinates() -> None:
    with pytest.raises(Invalid, match=r"latitude 123\.0"):
        h3_cell(23.13, 123.0, 9)
