"""What the component map asks for: points or cell aggregates for a viewport, and the class layers.

The answer never scans components per request at low zoom: it reads the `component_cell` summary for
the H3 cells covering the viewport (a few hundred rows), and switches to the components themselves
only when the view holds few enough of them to draw one by one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from shapely.geometry import shape
from sqlalchemy.orm import Session

from zhili.assets import cells, repository
from zhili.assets.schemas import ClassLayer
from zhili.assets.service.common import reference, stored
from zhili.assets.service.inventory import streets_of
from zhili.assets.states import STATUSES
from zhili.core import geo
from zhili.core.errors import Invalid
from zhili.org import service as org_service
from zhili.org.spatial import AreaIndex

if TYPE_CHECKING:
    from zhili.identity.models import User

# At most this many components are drawn one by one; a view holding more is answered with cells.
POINT_LIMIT = 2000
# Points are drawn from this zoom on (below it a view holds too much of the district to click anything).
POINT_MIN_ZOOM = 15


def viewport(
    session: Session,
    user: User | None,
    *,
    bbox: tuple[float, float, float, float],
    zoom: int,
    crs: str,
    classes: list[str] | None = None,
    majors: list[str] | None = None,
    statuses: list[str] | None = None,
) -> dict[str, Any]:
    """Points or cell aggregates for a viewport given in `crs`; coordinates out in the same CRS."""
    crs_name = geo.parse_crs(crs)
    if not 0 <= zoom <= 22:
        raise Invalid(f"zoom must be 0–22, got {zoom}")
    for s in statuses or []:
        if s not in STATUSES:
            raise Invalid(f"unknown status {s!r}; use {', '.join(STATUSES)}")
    minx, miny, maxx, maxy = bbox
    (wx0, wx1), (wy0, wy1) = geo.to_wgs84(np.array([minx, maxx]), np.array([miny, maxy]), crs_name)
    # Only the part of the view over the district can hold components.
    dminx, dminy, dmaxx, dmaxy = _district_bounds(org_service.area_index(session))
    box = (max(float(wx0), dminx), max(float(wy0), dminy), min(float(wx1), dmaxx), min(float(wy1), dmaxy))
    selected = _selected_classes(session, classes, majors)
    streets = streets_of(user)
    status_list = list(statuses or [])
    empty: dict[str, Any] = {
        "mode": "cells",
        "res": None,
        "total": 0,
        "crs": crs_name,
        "cells": [],
        "points": [],
    }
    if box[0] >= box[2] or box[1] >= box[3] or (selected is not None and not selected):
        return empty
    res = cells.res_for_zoom(zoom)
    while res > cells.RESOLUTIONS[0] and cells.estimated_cover(box, res) > cells.MAX_COVER_CELLS:
        res -= 1
    summary = repository.cell_summary(session, res, cells.cover(box, res), selected, status_list, streets)
    total = sum(r[1] for r in summary)
    if zoom >= POINT_MIN_ZOOM and total <= POINT_LIMIT:
        cover9 = cells.cover(box, cells.POINT_CELL_RES)
        pts = repository.points(session, cover9, box, selected, status_list, streets, POINT_LIMIT)
        if len(pts) <= POINT_LIMIT:
            return {
                **empty,
                "mode": "points",
                "res": res,
                "total": len(pts),
                "points": _points_out(pts, crs_name),
            }
    return {**empty, "res": res, "total": total, "cells": _cells_out(summary, crs_name)}


@lru_cache(maxsize=8)
def _district_bounds(index: AreaIndex) -> tuple[float, float, float, float]:
    """The district's WGS-84 bounding box (once per area index, i.e. per geography revision)."""
    if index.district is None:
        raise Invalid("There is no district yet: load the district boundary (or the demo) first.")
    minx, miny, maxx, maxy = shape(index.district.geometry).bounds
    return float(minx), float(miny), float(maxx), float(maxy)


def _selected_classes(
    session: Session, classes: list[str] | None, majors: list[str] | None
) -> list[str] | None:
    """None = every class; otherwise the union of the classes and the majors' classes named."""
    if not classes and not majors:
        return None
    chosen = set(classes or [])
    if majors:
        chosen.update(reference(session).classes_of_majors(list(majors)))
    return sorted(chosen)


def _points_out(pts: list[tuple[str, str, str, float, float]], crs: geo.CRS) -> list[list[Any]]:
    if not pts:
        return []
    lons, lats = geo.from_wgs84(np.array([p[3] for p in pts]), np.array([p[4] for p in pts]), crs)
    return [
        [p[0], p[1], p[2], stored(x), stored(y)]
        for p, x, y in zip(pts, lons.tolist(), lats.tolist(), strict=True)
    ]


def _cells_out(summary: list[tuple[str, int, int, float, float]], crs: geo.CRS) -> list[list[Any]]:
    if not summary:
        return []
    lons, lats = geo.from_wgs84(np.array([r[3] for r in summary]), np.array([r[4] for r in summary]), crs)
    return [
        [r[0], r[1], r[2], round(float(x), 6), round(float(y), 6)]
        for r, x, y in zip(summary, lons.tolist(), lats.tolist(), strict=True)
    ]


def class_layers(session: Session, user: User | None, statuses: list[str] | None = None) -> list[ClassLayer]:
    """Every component class with how many components of it the user may see (the map's legend)."""
    ref = reference(session)
    counts = repository.class_counts(session, streets_of(user), statuses or ())
    return [
        ClassLayer(
            code=c.code,
            name=c.name,
            major_code=c.major_code,
            major_name=c.major_name,
            is_local=c.is_local,
            count=counts.get(c.code, 0),
        )
        for c in sorted(ref.classes.values(), key=lambda c: c.code)
    ]
