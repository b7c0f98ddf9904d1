"""The generated Baiyun geography: real codes, grids that tile their communities, readable numbering."""

from __future__ import annotations

import re
from collections import defaultdict
from statistics import mean

import pytest
import shapely

from zhili.core import geo
from zhili.org import geography


@pytest.fixture(scope="module")
def generated() -> geography.Geography:
    return geography.generate()


def test_the_24_streets_carry_their_official_codes_and_lie_inside_the_boundary(generated) -> None:
    codes = {s.code: s.name for s in generated.streets}
    assert len(codes) == 24
    assert codes["440111002"] == "三元里街道" and codes["440111108"] == "钟落潭镇"
    district = generated.district.geometry
    union = shapely.union_all([s.geometry for s in generated.streets])
    # The streets partition the district: same area, no gaps, no overlaps (to 0.1 %).
    assert union.area == pytest.approx(district.area, rel=1e-3)
    assert sum(s.geometry.area for s in generated.streets) == pytest.approx(district.area, rel=1e-3)


def test_unit_grid_codes_are_15_digits_built_from_their_community(generated) -> None:
    codes = [g.code for g in generated.grids]
    assert len(codes) == len(set(codes))
    for g in generated.grids:
        assert re.fullmatch(r"440111\d{9}", g.code)
        assert g.code[:12] == g.community_code
    towns = {s.code for s in generated.streets if s.level == "town"}
    villages = [c for c in generated.communities if c.parent_code in towns]
    assert villages and all(int(c.code[9:]) > 200 for c in villages), "villages (村) are numbered from 201"


def test_grids_tile_each_community_without_gaps_or_overlaps(generated) -> None:
    by_comm = defaultdict(list)
    for g in generated.grids:
        by_comm[g.community_code].append(g)
    for comm in generated.communities[::25]:
        cells = by_comm[comm.code]
        assert sum(c.area_m2 for c in cells) == pytest.approx(comm.area_m2, rel=1e-3)


def test_grid_sizes_are_realistic_for_streets_and_larger_in_towns(generated) -> None:
    kind = {s.code: s.level for s in generated.streets}
    street_sizes = [g.area_m2 for g in generated.grids if kind[g.code[:9]] == "street"]
    town_sizes = [g.area_m2 for g in generated.grids if kind[g.code[:9]] == "town"]
    assert 10_000 <= mean(street_sizes) <= 40_000
    assert mean(town_sizes) > 2 * mean(street_sizes)


def test_grids_are_numbered_west_to_east_then_north_to_south(generated) -> None:
    by_comm = defaultdict(list)
    for g in generated.grids:
        by_comm[g.community_code].append(g)
    checked = 0
    for cells in list(by_comm.values())[::10]:
        cells.sort(key=lambda g: g.code)
        assert [(g.row, g.col) for g in cells] == sorted((g.row, g.col) for g in cells)
        rows = defaultdict(list)
        for g in cells:
            rows[g.row].append(g)
        row_lat = [mean(g.geometry.centroid.y for g in rows[r]) for r in sorted(rows)]
        assert row_lat == sorted(row_lat, reverse=True), "row 1 is the northernmost"
        for r in rows.values():
            lons = [g.geometry.centroid.x for g in r]
            # Jittered cells: each cell's centre is east of the one two places before it.
            assert all(lons[i] < lons[i + 2] for i in range(len(lons) - 2))
            checked += 1
    assert checked > 50


def test_boundary_is_converted_from_gcj02_to_wgs84() -> None:
    boundary = geography.district_boundary_wgs84()
    # The shipped file's first vertex (GCJ-02) is a vertex of the stored WGS-84 boundary once converted,
    # about 500 m from where it would be if the datum were ignored.
    wlon, wlat = geo.gcj02_to_wgs84(113.21267, 23.141105)
    vertices = shapely.get_coordinates(boundary)
    nearest = ((vertices[:, 0] - wlon) ** 2 + (vertices[:, 1] - wlat) ** 2).min() ** 0.5
    assert nearest < 1e-7
    assert 300 < geo.distance_m(113.21267, 23.141105, wlon, wlat) < 800


def test_responsibility_grids_split_communities_into_even_patrols(generated) -> None:
    sizes: dict[str, int] = defaultdict(int)
    communities: dict[str, set[str]] = defaultdict(set)
    for g in generated.grids:
        sizes[g.responsibility_code] += 1
        communities[g.responsibility_code].add(g.community_code)
    assert max(sizes.values()) <= geography.GRIDS_PER_RESPONSIBILITY
    assert all(len(c) == 1 for c in communities.values()), "a patrol stays inside one community"
    by_comm: dict[str, list[int]] = defaultdict(list)
    for code, n in sizes.items():
        by_comm[next(iter(communities[code]))].append(n)
    assert all(max(v) - min(v) <= 1 for v in by_comm.values()), "patrols of one community are even"
