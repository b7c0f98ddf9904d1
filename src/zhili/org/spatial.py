"""The in-memory area index: point → (unit grid, community, street) and the map's shapes, from one STRtree.

Built from the database once per geography revision (see repository.geography_revision) and shared
by every request of the process. Lookups are Shapely 2 STRtree queries against prepared polygons:
a single point costs a few microseconds, and `locate_many` answers arrays of points in one call.
GeoJSON for the map is rendered once per CRS and kept as text, so a viewport request only slices
and joins strings.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from zhili.core import geo
from zhili.core.errors import Invalid


@dataclass(frozen=True)
class Location:
    """Where a point is: the unit grid and the areas above it (codes are the stored, readable ones)."""

    grid_code: str
    community_code: str
    community_name: str
    street_code: str
    street_name: str
    responsibility_grid_code: str | None
    inspector_staff_id: int | None
    inspector_name: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "grid_code": self.grid_code, "community_code": self.community_code,
            "community_name": self.community_name, "street_code": self.street_code,
            "street_name": self.street_name, "responsibility_grid_code": self.responsibility_grid_code,
            "inspector_staff_id": self.inspector_staff_id, "inspector_name": self.inspector_name,
        }


@dataclass(frozen=True)
class AreaRow:
    code: str
    name: str
    level: str
    parent_code: str | None
    geometry: dict[str, Any]
    approximate: bool
    area_m2: float


@dataclass(frozen=True)
class GridRow:
    code: str
    community_code: str
    geometry: dict[str, Any]
    area_m2: float
    approximate: bool
    responsibility_grid_code: str | None
    inspector_staff_id: int | None
    inspector_name: str | None


# The largest viewport the grid layer answers: about 4 km × 4 km, a few hundred to a few thousand grids.
MAX_BBOX_DEG2 = 0.0016
MAX_GRIDS_PER_REQUEST = 3000


class AreaIndex:
    """Immutable once built; safe to share between threads."""

    def __init__(self, areas: list[AreaRow], grids: list[GridRow]) -> None:
        self.areas = {a.code: a for a in areas}
        self._areas_by_level: dict[str, list[AreaRow]] = {}
        for a in sorted(areas, key=lambda a: a.code):
            self._areas_by_level.setdefault("street" if a.level == "town" else a.level, []).append(a)
        self.grids = sorted(grids, key=lambda g: g.code)
        self._grid_pos = {g.code: i for i, g in enumerate(self.grids)}
        self._grid_geoms = np.array([shape(g.geometry) for g in self.grids], dtype=object)
        shapely.prepare(self._grid_geoms)
        self._tree = shapely.STRtree(self._grid_geoms)
        district = self._areas_by_level.get("district", [])
        self.district = district[0] if district else None
        self._district_geom = shape(self.district.geometry) if self.district else None
        if self._district_geom is not None:
            shapely.prepare(self._district_geom)
        self._locations = [self._location_of(g) for g in self.grids]
        self._lock = threading.Lock()
        self._raster_cache: _Raster | None = None
        self._grid_json: dict[str, list[str]] = {}
        self._area_json: dict[tuple[str, str], str] = {}

    # --- lookups -------------------------------------------------------------------------------

    def _location_of(self, g: GridRow) -> Location:
        community = self.areas.get(g.community_code)
        street = self.areas.get(community.parent_code) if community and community.parent_code else None
        return Location(
            grid_code=g.code,
            community_code=g.community_code,
            community_name=community.name if community else "",
            street_code=street.code if street else "",
            street_name=street.name if street else "",
            responsibility_grid_code=g.responsibility_grid_code,
            inspector_staff_id=g.inspector_staff_id,
            inspector_name=g.inspector_name,
        )

    def locate(self, lon: float, lat: float) -> Location | None:
        """The unit grid containing the WGS-84 point, or None (outside every grid)."""
        pos = self._raster().position(lon, lat)
        return self._locations[pos] if pos >= 0 else None

    def _raster(self) -> _Raster:
        raster = self._raster_cache
        if raster is None:
            with self._lock:
                if self._raster_cache is None:
                    self._raster_cache = _Raster.build(self._tree, self._grid_geoms)
                raster = self._raster_cache
        return raster

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Grid positions (index into .grids) for arrays of points; -1 where no grid contains one."""
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        pairs = self._tree.query(points, predicate="intersects")
        out = np.full(len(points), -1, dtype=np.int64)
        # A point on a shared edge matches two grids: keep the lower position, as locate() does.
        out[pairs[0][::-1]] = pairs[1][::-1]
        return out

    def location_at(self, position: int) -> Location:
        return self._locations[position]

    def require_location(self, lon: float, lat: float) -> Location:
        """Like locate(), but a point outside the district or between grids is refused clearly."""
        geo.check_lonlat(lon, lat)
        found = self.locate(lon, lat)
        if found is not None:
            return found
        name = self.district.name if self.district else "the district"
        if self._district_geom is not None and not shapely.contains_xy(self._district_geom, lon, lat):
            raise Invalid(f"The point ({lon:.6f}, {lat:.6f}) (WGS-84) is outside {name}; "
                          "only locations inside the district can be recorded.",
                          reason="outside_district")
        raise Invalid(f"The point ({lon:.6f}, {lat:.6f}) (WGS-84) is inside {name} but in no unit grid; "
                      "the grid layer has a gap here — ask an administrator to import the missing grids.")

    def grid(self, code: str) -> GridRow | None:
        pos = self._grid_pos.get(code)
        return self.grids[pos] if pos is not None else None

    def location_of_grid(self, code: str) -> Location | None:
        pos = self._grid_pos.get(code)
        return self._locations[pos] if pos is not None else None

    def positions_of(self, codes: list[str]) -> np.ndarray:
        return np.array([self._grid_pos[c] for c in codes if c in self._grid_pos], dtype=np.int64)

    def grids_in_bbox(self, bbox: tuple[float, float, float, float]) -> np.ndarray:
        """Positions of the grids that intersect a WGS-84 box, in code order."""
        minx, miny, maxx, maxy = bbox
        hits = self._tree.query(shapely.box(minx, miny, maxx, maxy), predicate="intersects")
        return np.sort(hits)

    def areas_at(self, level: str) -> list[AreaRow]:
        return self._areas_by_level.get("street" if level == "town" else level, [])

    def counts(self) -> dict[str, int]:
        return {"streets": len(self.areas_at("street")), "communities": len(self.areas_at("community")),
                "grids": len(self.grids)}

    # --- GeoJSON text for the map ---------------------------------------------------------------

    def grid_features(self, positions: np.ndarray, crs: geo.CRS) -> str:
        """A FeatureCollection of the grids at these positions, geometry in the requested CRS."""
        texts = self._grid_geojson(crs)
        parts = []
        for pos in positions.tolist():
            loc = self._locations[pos]
            props = json.dumps(_grid_props(self.grids[pos], loc), ensure_ascii=False)
            parts.append(f'{{"type":"Feature","geometry":{texts[pos]},"properties":{props}}}')
        return '{"type":"FeatureCollection","crs_name":"' + crs + '","features":[' + ",".join(parts) + "]}"

    def area_features(self, level: str, crs: geo.CRS) -> str:
        key = (level, crs)
        with self._lock:
            cached = self._area_json.get(key)
        if cached is not None:
            return cached
        rows = self.areas_at(level)
        geoms = _to_crs(np.array([shape(a.geometry) for a in rows], dtype=object), crs)
        texts = shapely.to_geojson(geoms)
        parts = []
        for a, text in zip(rows, texts, strict=True):
            props = json.dumps({"code": a.code, "name": a.name, "level": a.level,
                                "parent_code": a.parent_code, "approximate": a.approximate,
                                "area_m2": round(a.area_m2)}, ensure_ascii=False)
            parts.append(f'{{"type":"Feature","geometry":{text},"properties":{props}}}')
        body = '{"type":"FeatureCollection","crs_name":"' + crs + '","features":[' + ",".join(parts) + "]}"
        with self._lock:
            self._area_json[key] = body
        return body

    def _grid_geojson(self, crs: geo.CRS) -> list[str]:
        with self._lock:
            texts = self._grid_json.get(crs)
            if texts is None:
                texts = list(shapely.to_geojson(_to_crs(self._grid_geoms, crs)))
                self._grid_json[crs] = texts
        return texts


class _Raster:
    """A lattice over the grids' extent for one-point lookups without building a geometry per call.

    A cell that lies wholly inside one grid answers directly (most of the towns, a good share of the
    city); any other cell keeps the few grids that touch it, tested with contains_xy. Lowest position
    wins on a shared edge, as in locate_many.
    """

    CELL_DEG = 0.0005  # about 50 m × 55 m at Baiyun's latitude

    def __init__(self, origin: tuple[float, float], shape: tuple[int, int], direct: np.ndarray,
                 offsets: np.ndarray, candidates: np.ndarray, geoms: np.ndarray) -> None:
        self.x0, self.y0 = origin
        self.nx, self.ny = shape
        self.direct = direct.tolist()  # Python lists: faster than numpy for one element at a time
        self.offsets = offsets.tolist()
        self.candidates = candidates.tolist()
        self.geoms = geoms

    @classmethod
    def build(cls, tree: shapely.STRtree, geoms: np.ndarray) -> _Raster:
        if len(geoms) == 0:
            empty = np.empty(0, np.int64)
            return cls((0.0, 0.0), (0, 0), empty, np.zeros(1, np.int64), empty, geoms)
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        c = cls.CELL_DEG
        nx, ny = int((maxx - minx) / c) + 1, int((maxy - miny) / c) + 1
        xs, ys = np.meshgrid(minx + np.arange(nx) * c, miny + np.arange(ny) * c)
        boxes = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + c, ys.ravel() + c)
        direct = np.full(nx * ny, -1, dtype=np.int64)
        inside = tree.query(boxes, predicate="within")
        direct[inside[0][::-1]] = inside[1][::-1]  # overlapping grids: the lowest position wins
        rest = np.flatnonzero(direct < 0)
        touching = tree.query(boxes[rest], predicate="intersects")
        cells, grids = rest[touching[0]], touching[1]
        order = np.lexsort((grids, cells))
        cells, grids = cells[order], grids[order]
        offsets = np.zeros(nx * ny + 1, dtype=np.int64)
        np.add.at(offsets, cells + 1, 1)
        return cls((minx, miny), (nx, ny), direct, np.cumsum(offsets), grids, geoms)

    def position(self, lon: float, lat: float) -> int:
        i, j = int((lon - self.x0) / self.CELL_DEG), int((lat - self.y0) / self.CELL_DEG)
        if not (0 <= i < self.nx and 0 <= j < self.ny) or lon < self.x0 or lat < self.y0:
            return -1
        cell = j * self.nx + i
        pos: int = self.direct[cell]
        if pos >= 0:
            return pos
        for k in range(self.offsets[cell], self.offsets[cell + 1]):
            candidate: int = self.candidates[k]
            if shapely.intersects_xy(self.geoms[candidate], lon, lat):
                return candidate
        return -1


def _grid_props(g: GridRow, loc: Location) -> dict[str, Any]:
    return {
        "code": g.code, "community_code": loc.community_code, "community_name": loc.community_name,
        "street_code": loc.street_code, "street_name": loc.street_name,
        "responsibility_grid_code": g.responsibility_grid_code, "inspector_name": g.inspector_name,
        "area_m2": round(g.area_m2), "approximate": g.approximate,
    }


def grid_detail(g: GridRow, loc: Location) -> dict[str, Any]:
    return _grid_props(g, loc)


def _to_crs(geoms: np.ndarray, crs: geo.CRS) -> np.ndarray:
    """Vectorised: every coordinate of every geometry converted in one call, rounded to ~1 cm."""
    if crs != "wgs84":
        geoms = shapely.transform(geoms, lambda c: np.column_stack(geo.from_wgs84(c[:, 0], c[:, 1], crs)))
    return shapely.set_precision(geoms, 1e-7)


def bbox_from_text(text: str) -> tuple[float, float, float, float]:
    """Parse 'minlon,minlat,maxlon,maxlat' with a message that says what is wrong."""
    parts = text.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise Invalid(f"bbox must be four numbers 'minlon,minlat,maxlon,maxlat', got {text!r}")
    minx, miny, maxx, maxy = values
    for lon, lat in ((minx, miny), (maxx, maxy)):
        geo.check_lonlat(lon, lat)
    if minx >= maxx or miny >= maxy:
        raise Invalid("bbox must have minlon < maxlon and minlat < maxlat")
    if (maxx - minx) * (maxy - miny) > MAX_BBOX_DEG2:
        raise Invalid("The box is too large for unit grids (at most about 4 km × 4 km); zoom in.")
    return minx, miny, maxx, maxy


def geometry_of(area_or_grid: AreaRow | GridRow) -> BaseGeometry:
    return shape(area_or_grid.geometry)
