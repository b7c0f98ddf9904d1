"""H3 cells for the component map: which cells a point falls in, which cover a viewport, zoom → resolution.

Pure functions over the h3 library. A component is counted in one cell per resolution 6–10 (the
summary table `component_cell`) and stored with its resolution-9 cell, which the point query uses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

import h3

RESOLUTIONS = (6, 7, 8, 9, 10)
POINT_CELL_RES = 9  # component.cell
# Summary resolution by map zoom: cells about 40–100 px across on screen at that zoom.
_ZOOM_RES = {11: 6, 12: 7, 13: 8, 14: 8, 15: 9, 16: 10}
# A viewport is answered with at most this many cells; a larger one drops to a coarser resolution.
MAX_COVER_CELLS = 1500
_KM_PER_DEG = 111.32


def res_for_zoom(zoom: int) -> int:
    if zoom <= 11:
        return 6
    return _ZOOM_RES.get(zoom, 10)


def point_cells(lons: Iterable[float], lats: Iterable[float]) -> list[dict[int, str]]:
    """For each point, its cell at every summary resolution."""
    out = []
    finest_res = RESOLUTIONS[-1]
    for lon, lat in zip(lons, lats, strict=True):
        out.append(_ladder(h3.latlng_to_cell(lat, lon, finest_res)))
    return out


@lru_cache(maxsize=32_768)
def _ladder(finest: str) -> dict[int, str]:
    """A finest-resolution cell and its parents (shared by every point in that cell: do not mutate)."""
    return {r: (finest if r == RESOLUTIONS[-1] else str(h3.cell_to_parent(finest, r))) for r in RESOLUTIONS}


def cover(bbox: tuple[float, float, float, float], res: int) -> list[str]:
    """Cells at `res` that may hold a point of the WGS-84 box: those whose centre lies in the box
    grown by one cell edge (a hexagon reaches at most one edge length beyond its centre)."""
    minx, miny, maxx, maxy = bbox
    edge_km = h3.average_hexagon_edge_length(res, "km") * 1.2
    pad_lat = edge_km / _KM_PER_DEG
    pad_lon = edge_km / (_KM_PER_DEG * max(0.1, math.cos(math.radians((miny + maxy) / 2))))
    x0, y0, x1, y1 = minx - pad_lon, miny - pad_lat, maxx + pad_lon, maxy + pad_lat
    poly = h3.LatLngPoly([(y0, x0), (y0, x1), (y1, x1), (y1, x0)])
    return [str(c) for c in h3.h3shape_to_cells(poly, res)]


def estimated_cover(bbox: tuple[float, float, float, float], res: int) -> float:
    """About how many cells `cover` would return, without computing them."""
    minx, miny, maxx, maxy = bbox
    km_x = (maxx - minx) * _KM_PER_DEG * math.cos(math.radians((miny + maxy) / 2))
    km_y = (maxy - miny) * _KM_PER_DEG
    edge = h3.average_hexagon_edge_length(res, "km") * 2.4
    return (km_x + edge) * (km_y + edge) / h3.average_hexagon_area(res, "km^2")
