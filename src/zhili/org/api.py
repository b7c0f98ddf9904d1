"""Org JSON API: areas and unit grids as GeoJSON in the caller's CRS, point location, departments, import."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from zhili.core import geo
from zhili.core.errors import NotFound, TooLarge
from zhili.core.web import client_ip
from zhili.identity.deps import DbSession, require
from zhili.identity.models import User
from zhili.org import importer, repository, service
from zhili.org.schemas import (
    AreaLevel,
    DepartmentRead,
    GridRead,
    ImportLevel,
    ImportReportRead,
    InspectorAssign,
    LocationRead,
    TeamRead,
)
from zhili.org.spatial import MAX_GRIDS_PER_REQUEST, bbox_from_text, grid_detail

router = APIRouter(tags=["org"])

MapViewer = Annotated[User, Depends(require("map:view"))]
CrsParam = Annotated[str, Query(description="CRS of coordinates in and out: wgs84, gcj02 or bd09")]
GEOJSON = "application/geo+json"
MAX_IMPORT_BYTES = 200 * 1024 * 1024


def _geojson(body: str) -> Response:
    return Response(body, media_type=GEOJSON, headers={"Cache-Control": "private, max-age=60"})


@router.get("/areas", response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def list_areas(session: DbSession, _user: MapViewer, level: AreaLevel = "street",
               crs: CrsParam = "wgs84") -> Response:
    """The district, its streets/towns or its communities as a GeoJSON FeatureCollection."""
    return _geojson(service.area_index(session).area_features(level, geo.parse_crs(crs)))


@router.get("/grids", response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def grids_in_view(session: DbSession, _user: MapViewer,
                  bbox: Annotated[str, Query(description="minlon,minlat,maxlon,maxlat in `crs`")],
                  crs: CrsParam = "wgs84") -> Response:
    """Unit grids intersecting a viewport (at most about 4 km × 4 km)."""
    crs_name = geo.parse_crs(crs)
    minx, miny, maxx, maxy = bbox_from_text(bbox)
    (wx0, wx1), (wy0, wy1) = geo.to_wgs84(np.array([minx, maxx]), np.array([miny, maxy]), crs_name)
    index = service.area_index(session)
    positions = index.grids_in_bbox((float(wx0), float(wy0), float(wx1), float(wy1)))[:MAX_GRIDS_PER_REQUEST]
    return _geojson(index.grid_features(positions, crs_name))


@router.get("/grids/{code}", response_model=GridRead)
def get_grid(code: str, session: DbSession, _user: MapViewer) -> GridRead:
    index = service.area_index(session)
    grid, loc = index.grid(code), index.location_of_grid(code)
    if grid is None or loc is None:
        raise NotFound(f"No unit grid with code {code!r} (unit grid codes have 15 digits).")
    return GridRead.model_validate(grid_detail(grid, loc))


@router.get("/grids/{code}/geometry", response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def get_grid_geometry(code: str, session: DbSession, _user: MapViewer, crs: CrsParam = "wgs84") -> Response:
    index = service.area_index(session)
    if index.grid(code) is None:
        raise NotFound(f"No unit grid with code {code!r} (unit grid codes have 15 digits).")
    return _geojson(index.grid_features(index.positions_of([code]), geo.parse_crs(crs)))


@router.get("/locate", response_model=LocationRead)
def locate(session: DbSession, _user: MapViewer, lon: float, lat: float, crs: CrsParam = "wgs84",
           ) -> LocationRead:
    """Which unit grid, community and street a point is in; 422 for a point outside the district."""
    return LocationRead.model_validate(service.locate(session, lon, lat, geo.parse_crs(crs)).as_dict())


@router.get("/departments", response_model=list[DepartmentRead])
def list_departments(session: DbSession, _user: Annotated[User, Depends(require("org:read"))],
                     ) -> list[DepartmentRead]:
    depts = repository.departments(session)
    teams = repository.teams_of(session, [d.id for d in depts])
    counts = repository.staff_counts_by_department(session)
    index = service.area_index(session)
    street_codes = {a.code for a in index.areas_at("street")}
    by_id = {}
    for d in depts:
        street_code = d.code.removeprefix("ST-") if d.code.removeprefix("ST-") in street_codes else None
        by_id[d.id] = DepartmentRead(code=d.code, name=d.name, kind=d.kind, handles_cases=d.handles_cases,
                                     street_code=street_code, teams=[], staff_count=counts.get(d.id, 0))
    for t in teams:
        by_id[t.department_id].teams.append(TeamRead.model_validate(t))
    return list(by_id.values())


@router.put("/responsibility-grids/{code}/inspector", status_code=204)
def assign_inspector(code: str, data: InspectorAssign, request: Request, session: DbSession,
                     user: Annotated[User, Depends(require("org:manage"))]) -> Response:
    """Bind the inspector (监督员) who patrols a responsibility grid (责任网格)."""
    service.assign_inspector(session, user.username, code, data.employee_no, client_ip=client_ip(request))
    return Response(status_code=204)


@router.post("/areas/import", response_model=ImportReportRead)
def import_areas(request: Request, session: DbSession, user: Annotated[User, Depends(require("org:manage"))],
                 file: Annotated[UploadFile, File(description="A GeoJSON FeatureCollection")],
                 crs: Annotated[str, Form(description="CRS of the file: wgs84, gcj02 or bd09")],
                 level: Annotated[ImportLevel, Form()],
                 dry_run: Annotated[bool, Form()] = False) -> ImportReportRead:
    """Import areas or unit grids, all rows or none; a dry run reports the row errors and writes nothing."""
    raw = file.file.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise TooLarge(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
    report = importer.import_areas_bytes(session, user.username, raw, crs=crs, level=level, dry_run=dry_run,
                                         client_ip=client_ip(request))
    return ImportReportRead.model_validate(report.as_dict())
