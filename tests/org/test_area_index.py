"""Point → grid/community/street lookup against the seeded demo geography."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from zhili.core import geo
from zhili.core.errors import Invalid
from zhili.org import repository, service


def test_a_community_centre_is_located_in_that_community(session) -> None:
    index = service.area_index(session)
    community = index.areas_at("community")[10]
    point = shape(community.geometry).representative_point()
    loc = service.locate(session, point.x, point.y)
    assert loc.community_code == community.code
    assert loc.street_code == community.parent_code
    assert loc.grid_code.startswith(community.code) and len(loc.grid_code) == 15
    assert loc.inspector_name, "every demo responsibility grid has an inspector"


def test_gcj02_and_bd09_inputs_find_the_same_grid_as_wgs84(session) -> None:
    lon, lat = 113.2712, 23.1756
    expected = service.locate(session, lon, lat).grid_code
    glon, glat = geo.wgs84_to_gcj02(lon, lat)
    blon, blat = geo.gcj02_to_bd09(glon, glat)
    assert service.locate(session, glon, glat, "gcj02").grid_code == expected
    assert service.locate(session, blon, blat, "bd09").grid_code == expected
    # Reading GCJ-02 coordinates as if they were WGS-84 lands ~500 m away: a different grid.
    assert service.locate(session, glon, glat, "wgs84").grid_code != expected


def test_a_point_outside_the_district_is_refused_with_a_clear_message(session) -> None:
    with pytest.raises(Invalid, match="outside 白云区"):
        service.locate(session, 113.33, 23.12)  # Tianhe, south of Baiyun
    with pytest.raises(Invalid, match="longitude"):
        service.locate(session, 213.0, 23.2)


def test_bulk_lookup_agrees_with_single_lookups(session) -> None:
    index = service.area_index(session)
    minx, miny, maxx, maxy = shape(index.district.geometry).bounds
    rng = np.random.default_rng(3)
    lons, lats = rng.uniform(minx, maxx, 3000), rng.uniform(miny, maxy, 3000)
    bulk = index.locate_many(lons, lats)
    assert (bulk >= 0).sum() > 1000
    for pos, lon, lat in zip(bulk, lons, lats, strict=True):
        single = index.locate(lon, lat)
        from_bulk = index.location_at(pos).grid_code if pos >= 0 else None
        assert (single.grid_code if single else None) == from_bulk


def test_every_point_inside_the_district_has_a_grid(session) -> None:
    index = service.area_index(session)
    district = shape(index.district.geometry)
    minx, miny, maxx, maxy = district.bounds
    rng = np.random.default_rng(5)
    lons, lats = rng.uniform(minx, maxx, 5000), rng.uniform(miny, maxy, 5000)
    inside = shapely.contains_xy(district, lons, lats)
    # Shapes are stored rounded to 1e-7° (~1 cm): a point may fall in a hair-thin crack only in theory.
    found = index.locate_many(lons[inside], lats[inside])
    assert (found >= 0).mean() > 0.999


def test_the_index_is_rebuilt_when_the_geography_changes(session) -> None:
    first = service.area_index(session)
    assert service.area_index(session) is first, "unchanged geography reuses the index"
    repository.bump_geography_revision(session)
    assert service.area_index(session) is not first
