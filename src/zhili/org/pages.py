"""Org pages: the district map (areas, unit grids, who patrols them) and the departments list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from zhili.core.web import render
from zhili.identity.deps import DbSession, require
from zhili.identity.models import User
from zhili.org import repository, service
from zhili.org.spatial import MAX_BBOX_DEG2

router = APIRouter(include_in_schema=False)


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, session: DbSession,
             _user: Annotated[User, Depends(require("map:view"))]) -> HTMLResponse:
    settings = request.app.state.settings
    index = service.area_index(session)
    district = repository.district(session)
    return render(request, "org/map.html", {
        "tile_url": settings.tile_url,
        "tile_crs": settings.tile_crs,
        "tile_attribution": settings.tile_attribution,
        "district": {
            "code": district.code if district else "",
            "name": district.name if district else "",
            "centroid_lon": district.centroid_lon if district else 113.3,
            "centroid_lat": district.centroid_lat if district else 23.25,
        },
        "counts": index.counts(),
        "grid_max_box_deg2": MAX_BBOX_DEG2,
    })
