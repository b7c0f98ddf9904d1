"""Demo geography for Baiyun: street, community and unit-grid polygons generated inside the real boundary.

No public street-level boundaries exist for Baiyun, so the demo makes plausible ones and labels them
approximate: streets are Voronoi cells of the published (approximate) street centres clipped to the
district boundary; communities are Voronoi cells of seeded random points inside each street; unit
grids are Voronoi cells of a jittered square lattice inside each community, so that they look like
blocks rather than a chessboard and tile the community without slivers. All work happens in a local
metric plane (metres east/north of the district centre), so areas and sizes are in m² directly; the
results are returned in WGS-84. Everything is deterministic for a given seed.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from zhili.core import geo

DISTRICT_CODE = "440111"
DISTRICT_NAME = "白云区"

# Unit-grid sizes (m²): 10,000–40,000 in built-up streets, larger in the four towns (issue #2).
STREET_GRID_M2 = (12_000.0, 40_000.0)
TOWN_GRID_M2 = 150_000.0
# Community sizes (m²): an urban 社区 is typically under 1 km²; a village (村) several km².
STREET_COMMUNITY_M2 = 700_000.0
TOWN_COMMUNITY_M2 = 4_500_000.0
# Unit grids one inspector patrols (责任网格).
GRIDS_PER_RESPONSIBILITY = 40

_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0

_COMMUNITY_STEMS = (
    "新华", "东风", "南岗", "西湖", "北苑", "安华", "和平", "康乐", "龙岗", "凤凰", "翠园", "景泉", "松柏",
    "金桂", "明珠", "永兴", "嘉园", "长红", "同心", "宝华", "云景", "鹤边", "汇侨", "岭南", "柏丽", "春晖",
    "富力", "广园", "瑶台", "新村", "彩虹", "丰泽", "锦城", "万科", "泰和", "华庭", "荔园", "桃源", "花园",
)
_VILLAGE_STEMS = (
    "大田", "塘贝", "石湖", "沙田", "北村", "南村", "东华", "西岭", "高岗", "竹料", "马洞", "良田", "米岗",
    "汉塘", "秀水", "鸦湖", "蚌湖", "朱村", "夏良", "凤和", "大岭", "光明", "寮采", "新塘", "黄榜岭", "石马",
    "龙塘", "和龙", "头陂", "南岭", "草塘", "井岗", "东方", "鹤亭", "大窝", "水沥", "南浦", "营溪", "田心",
)


@dataclass
class Street:
    code: str  # 9 digits
    name: str
    kind: str  # street | town
    centre_wgs84: tuple[float, float]


@dataclass
class GeneratedArea:
    code: str
    name: str
    level: str  # district | street | town | community
    parent_code: str | None
    geometry: BaseGeometry  # WGS-84 lon/lat
    area_m2: float


@dataclass
class GeneratedGrid:
    code: str  # 15 digits
    community_code: str
    geometry: BaseGeometry  # WGS-84 lon/lat
    area_m2: float
    responsibility_code: str
    row: int  # lattice row inside the community, 0 = northernmost
    col: int  # lattice column, 0 = westernmost


@dataclass
class Geography:
    district: GeneratedArea
    streets: list[GeneratedArea] = field(default_factory=list)
    communities: list[GeneratedArea] = field(default_factory=list)
    grids: list[GeneratedGrid] = field(default_factory=list)


class _Plane:
    """A local equirectangular plane around the district: metres east and north of an origin."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = lon0, lat0
        self.kx = _M_PER_DEG_LON_EQ * math.cos(math.radians(lat0))

    def to_plane(self, g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda c: np.column_stack(
            ((c[:, 0] - self.lon0) * self.kx, (c[:, 1] - self.lat0) * _M_PER_DEG_LAT)))

    def to_lonlat(self, g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda c: np.column_stack(
            (c[:, 0] / self.kx + self.lon0, c[:, 1] / _M_PER_DEG_LAT + self.lat0)))


def _data_file(name: str) -> Any:
    return resources.files("zhili.org") / "data" / name


def district_boundary_wgs84() -> BaseGeometry:
    """The real Baiyun boundary (shipped in GCJ-02), converted to WGS-84."""
    with _data_file("baiyun-440111-boundary.gcj02.geojson").open("r", encoding="utf-8") as fh:
        collection = json.load(fh)
    geometry = collection["features"][0]["geometry"]
    return shapely.make_valid(shape(geo.transform_geojson_geometry(geometry, "gcj02", "wgs84")))


def baiyun_streets() -> list[Street]:
    """The 24 streets and towns with their official codes and approximate centres (WGS-84)."""
    with _data_file("baiyun-streets.csv").open("r", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    lons = np.array([float(r["approx_lon_gcj02"]) for r in rows])
    lats = np.array([float(r["approx_lat_gcj02"]) for r in rows])
    wlon, wlat = geo.gcj02_to_wgs84(lons, lats)
    return [Street(r["code"], r["name"], r["kind"], (float(x), float(y)))
            for r, x, y in zip(rows, wlon, wlat, strict=True)]


def _polygonal(g: BaseGeometry) -> BaseGeometry:
    """Keep only the areal parts of a clip result (clipping can leave stray lines or points)."""
    if isinstance(g, Polygon | MultiPolygon):
        return g
    parts = [p for p in getattr(g, "geoms", []) if isinstance(p, Polygon | MultiPolygon)]
    polys: list[Polygon] = []
    for p in parts:
        polys.extend(p.geoms if isinstance(p, MultiPolygon) else [p])
    return MultiPolygon(polys) if len(polys) > 1 else (polys[0] if polys else Polygon())


def _voronoi_clip(points: np.ndarray, region: BaseGeometry) -> list[BaseGeometry]:
    """Voronoi cells of the points (in input order), each clipped to the region."""
    if len(points) == 1:
        return [region]
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=region, ordered=True)
    clipped = shapely.intersection(np.asarray(cells.geoms), region)
    return [_polygonal(c) for c in clipped]


def _random_points_inside(region: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points spread over the region (rejection sampling, then a little Lloyd-style relaxation)."""
    minx, miny, maxx, maxy = region.bounds
    shapely.prepare(region)
    found: list[tuple[float, float]] = []
    while len(found) < n:
        xs = rng.uniform(minx, maxx, 4 * n)
        ys = rng.uniform(miny, maxy, 4 * n)
        inside = shapely.contains_xy(region, xs, ys)
        found.extend(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
    pts = np.array(found[:n])
    for _ in range(3):  # relax towards cell centroids so that sizes even out
        cells = _voronoi_clip(pts, region)
        cents = shapely.centroid(np.asarray(cells))
        ok = ~shapely.is_empty(cents)
        pts[ok] = shapely.get_coordinates(cents[ok])
    return pts


def _street_grid_size(street_area_m2: float) -> float:
    # Inner-city streets (a few km²) get the smallest grids; the larger outer streets coarser ones.
    lo, hi = STREET_GRID_M2
    return float(min(hi, max(lo, lo + (street_area_m2 - 3e6) * (hi - lo) / 40e6)))


def _lattice_cells(community: BaseGeometry, cell_m2: float, rng: np.random.Generator
                   ) -> list[tuple[int, int, BaseGeometry]]:
    """(row, col, polygon) of unit grids tiling the community; row 0 is the northernmost."""
    side = math.sqrt(cell_m2)
    minx, miny, maxx, maxy = community.bounds
    cols = np.arange(minx + side / 2, maxx + side, side)
    rows = np.arange(maxy - side / 2, miny - side, -side)
    cx, cy = np.meshgrid(cols, rows)
    jitter = rng.uniform(-0.25, 0.25, size=(2, *cx.shape)) * side
    px, py = (cx + jitter[0]).ravel(), (cy + jitter[1]).ravel()
    rr, cc = np.meshgrid(np.arange(len(rows)), np.arange(len(cols)), indexing="ij")
    inside = shapely.contains_xy(community, px, py)
    if not inside.any():
        return [(0, 0, community)]
    points = np.column_stack((px[inside], py[inside]))
    cells = _voronoi_clip(points, community)
    return [(int(r), int(c), g) for r, c, g in zip(rr.ravel()[inside], cc.ravel()[inside], cells, strict=True)
            if not g.is_empty]


def generate(seed: int = 440111) -> Geography:
    """The whole demo geography: district, 24 streets/towns, communities, unit grids."""
    rng = np.random.default_rng(seed)
    boundary_ll = district_boundary_wgs84()
    c = boundary_ll.centroid
    plane = _Plane(c.x, c.y)
    boundary = plane.to_plane(boundary_ll)
    streets = baiyun_streets()
    district = GeneratedArea(DISTRICT_CODE, DISTRICT_NAME, "district", None, boundary_ll, boundary.area)
    out = Geography(district=district)

    centres = np.array([shapely.get_coordinates(plane.to_plane(shapely.Point(s.centre_wgs84)))[0]
                        for s in streets])
    street_cells = _voronoi_clip(centres, boundary)
    for street, cell in zip(streets, street_cells, strict=True):
        out.streets.append(GeneratedArea(street.code, street.name, street.kind, DISTRICT_CODE,
                                         plane.to_lonlat(cell), cell.area))
        town = street.kind == "town"
        n_comm = max(2, round(cell.area / (TOWN_COMMUNITY_M2 if town else STREET_COMMUNITY_M2)))
        stems = _VILLAGE_STEMS if town else _COMMUNITY_STEMS
        comm_points = _random_points_inside(cell, n_comm, rng)
        # Number communities west→east, north→south too, so that codes read like a map.
        order = np.lexsort((comm_points[:, 0], -np.round(comm_points[:, 1] / 1500.0)))
        comm_cells = _voronoi_clip(comm_points, cell)
        grid_m2 = TOWN_GRID_M2 if town else _street_grid_size(cell.area)
        short = street.name.removesuffix("街道").removesuffix("镇")
        resp_serial = 0
        for k, idx in enumerate(order):
            comm = comm_cells[idx]
            if comm.is_empty:
                continue
            serial = (200 if town else 0) + k + 1  # villages (村委会) are numbered from 201
            comm_code = f"{street.code}{serial:03d}"
            stem = stems[k % len(stems)]
            suffix = "村" if town else "社区"
            repeat = "" if k < len(stems) else str(k // len(stems) + 1)
            name = f"{short}{stem}{repeat}{suffix}"
            out.communities.append(GeneratedArea(comm_code, name, "community", street.code,
                                                 plane.to_lonlat(comm), comm.area))
            cells = _lattice_cells(comm, grid_m2, rng)
            cells.sort(key=lambda t: (t[0], t[1]))  # north→south rows, west→east within a row
            if len(cells) > 999:
                raise ValueError(f"community {comm_code} would have {len(cells)} grids (max 999)")
            # Split the community into equal patrols of at most GRIDS_PER_RESPONSIBILITY unit grids.
            patrols = math.ceil(len(cells) / GRIDS_PER_RESPONSIBILITY)
            first_patrol = resp_serial + 1
            for n, (row, col, g) in enumerate(cells, start=1):
                resp_serial = first_patrol + (n - 1) * patrols // len(cells)
                out.grids.append(GeneratedGrid(
                    code=f"{comm_code[:6]}{comm_code[6:9]}{comm_code[9:12]}{n:03d}",
                    community_code=comm_code, geometry=plane.to_lonlat(g), area_m2=g.area,
                    responsibility_code=f"{street.code}R{resp_serial:03d}", row=row, col=col))
    return out


def footprint_fields(g: BaseGeometry) -> dict[str, Any]:
    """The Footprint columns of a WGS-84 shape except area: GeoJSON, box and a point inside it."""
    minx, miny, maxx, maxy = g.bounds
    c = g.centroid
    if not c.within(g):  # a crescent's centroid lies outside it; a label point must not
        c = g.representative_point()
    return {"geometry": geojson(g), "min_lon": minx, "min_lat": miny, "max_lon": maxx, "max_lat": maxy,
            "centroid_lon": round(c.x, 7), "centroid_lat": round(c.y, 7)}


def geojson(g: BaseGeometry) -> dict[str, Any]:
    """A GeoJSON geometry dict with coordinates rounded to 7 decimals (about 1 cm)."""
    return json.loads(json.dumps(mapping(shapely.set_precision(g, 1e-7))))
