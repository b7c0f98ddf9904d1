"""Assets JSON API: the component inventory, its history, the map's viewport data, import and export."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from pydantic import ValidationError
from starlette.background import BackgroundTask

from zhili.assets import extensions, formats, service
from zhili.assets.schemas import (
    ClassLayer,
    ComponentChange,
    ComponentCreate,
    ComponentFilters,
    ComponentPage,
    ComponentRead,
    ImportReportRead,
    VersionRead,
)
from zhili.core import clock, geo
from zhili.core.errors import Invalid, TooLarge, invalid_from
from zhili.core.web import PydanticJSONResponse, client_ip
from zhili.identity.deps import DbSession, require
from zhili.identity.models import User

router = APIRouter(tags=["assets"])

Reader = Annotated[User, Depends(require("assets:read"))]
Manager = Annotated[User, Depends(require("assets:manage"))]
Code = Annotated[str, PathParam(pattern=r"^\d{17}$", description="The 17-digit component ID")]
CrsParam = Annotated[str, Query(description="CRS of coordinates in and out: wgs84, gcj02 or bd09")]
MAX_IMPORT_BYTES = 512 * 1024 * 1024


def parse_bbox(text: str, crs: str) -> tuple[float, float, float, float]:
    """'minlon,minlat,maxlon,maxlat' in `crs`, as a WGS-84 box."""
    parts = text.split(",")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError as exc:
        raise Invalid("bbox must be four numbers: minlon,minlat,maxlon,maxlat") from exc
    geo.check_lonlat([minx, maxx], [miny, maxy])
    if not (minx < maxx and miny < maxy):
        raise Invalid("bbox must have minlon < maxlon and minlat < maxlat")
    (x0, x1), (y0, y1) = geo.to_wgs84(np.array([minx, maxx]), np.array([miny, maxy]), crs)
    return float(x0), float(y0), float(x1), float(y1)


def filters_from_query(
    q: Annotated[str | None, Query(max_length=100, description="ID (prefix), name or address")] = None,
    class_code: Annotated[list[str] | None, Query(description="5-digit class; repeat for several")] = None,
    major_code: Annotated[list[str] | None, Query(description="2-digit major class; repeat")] = None,
    status: Annotated[
        list[str] | None, Query(description="intact | damaged | missing | abandoned | removed")
    ] = None,
    street_code: Annotated[list[str] | None, Query()] = None,
    department: Annotated[str | None, Query(max_length=40, description="department code, e.g. BY-HW")] = None,
    grid_code: Annotated[str | None, Query(pattern=r"^\d{15}$")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat in `crs`")] = None,
    crs: CrsParam = "wgs84",
) -> ComponentFilters:
    raw = {
        "q": q,
        "class_codes": class_code or [],
        "major_codes": major_code or [],
        "statuses": status or [],
        "street_codes": street_code or [],
        "department": department,
        "grid_code": grid_code,
        "bbox": parse_bbox(bbox, geo.parse_crs(crs)) if bbox else None,
    }
    try:
        return ComponentFilters.model_validate(raw)
    except ValidationError as exc:  # the model's own rules (class codes of 5 digits …): a 422, not a 500
        raise invalid_from(exc) from exc


Filters = Annotated[ComponentFilters, Depends(filters_from_query)]


def parse_at(value: str | None, tz: str) -> datetime | None:
    """?at=2026-06-01 means by the end of that local day; a full ISO time with offset is taken as given."""
    if not value:
        return None
    try:
        if len(value) == 10:
            return service.end_of_day(date.fromisoformat(value), tz)
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(f"at={value!r} is not a date (YYYY-MM-DD) or an ISO date-time with offset") from exc
    if moment.tzinfo is None:
        raise Invalid("at= needs a time-zone offset when it carries a time, e.g. 2026-06-01T12:00+08:00")
    return moment


@router.get("/components", response_model=ComponentPage)
def list_components(
    session: DbSession,
    user: Reader,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    crs: CrsParam = "wgs84",
) -> ComponentPage:
    """Components you may see (your streets), filtered; `q` matches an ID prefix, a name or an address."""
    return service.list_components(session, user, filters, limit=limit, offset=offset, crs=crs)


@router.get("/components/map")
def map_viewport(
    session: DbSession,
    user: Reader,
    bbox: Annotated[str, Query(description="minlon,minlat,maxlon,maxlat in `crs`")],
    zoom: Annotated[int, Query(ge=0, le=22)],
    crs: CrsParam = "wgs84",
    class_code: Annotated[list[str] | None, Query()] = None,
    major_code: Annotated[list[str] | None, Query()] = None,
    status: Annotated[list[str] | None, Query()] = None,
) -> JSONResponse:
    """What the map draws for a viewport: `points` [code, class, status, lon, lat] when few enough,
    else `cells` [h3 cell, count, damaged+missing, mean lon, mean lat]."""
    crs_name = geo.parse_crs(crs)
    parts = bbox.split(",")
    try:
        box = tuple(float(p) for p in parts)
    except ValueError as exc:
        raise Invalid("bbox must be four numbers: minlon,minlat,maxlon,maxlat") from exc
    if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
        raise Invalid("bbox must be minlon,minlat,maxlon,maxlat with min < max")
    geo.check_lonlat([box[0], box[2]], [box[1], box[3]])
    ComponentFilters(class_codes=class_code or [], major_codes=major_code or [])  # validates the codes
    body = service.viewport(
        session,
        user,
        bbox=box,
        zoom=zoom,
        crs=crs_name,  # type: ignore[arg-type]
        classes=class_code,
        majors=major_code,
        statuses=status,
    )
    return PydanticJSONResponse(body, headers={"Cache-Control": "private, max-age=30"})


@router.get("/components/classes", response_model=list[ClassLayer])
def class_layers(session: DbSession, user: Reader) -> list[ClassLayer]:
    """Every component class with the number of components you may see (the map's layers and legend)."""
    return service.class_layers(session, user)


@router.get("/components/types")
def extension_types(_user: Reader) -> dict[str, Any]:
    """The JSON Schema of the extra attributes of each class that has them (compression stations, …)."""
    return extensions.json_schemas()


@router.get(
    "/components/export",
    response_class=FileResponse,
    responses={200: {"content": {t: {} for t in formats.MEDIA_TYPES.values()}}},
)
def export_components(
    session: DbSession,
    user: Reader,
    filters: Filters,
    format: Annotated[str, Query(description="geojson | shp | gpkg | csv | xlsx")] = "geojson",
    crs: CrsParam = "wgs84",
) -> FileResponse:
    """Download the components matching the filters (those you may see) in a file the import reads back."""
    fmt = formats.detect_format(Path("x"), format)
    tmp = Path(tempfile.mkdtemp(prefix="zhili-export-"))
    path = tmp / f"components{formats.EXTENSIONS[fmt]}"
    try:
        service.export_components(session, user, filters, path, fmt=fmt, crs=crs)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return FileResponse(
        path,
        media_type=formats.MEDIA_TYPES[fmt],
        filename=f"components-{stamp}-{geo.parse_crs(crs)}{formats.EXTENSIONS[fmt]}",
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )


@router.post("/components/import", response_model=ImportReportRead)
def import_components(
    request: Request,
    session: DbSession,
    user: Manager,
    file: Annotated[
        UploadFile, File(description="GeoJSON, zipped Shapefile, GeoPackage, CSV or Excel (.xlsx)")
    ],
    crs: Annotated[str, Form(description="CRS of the file's coordinates: wgs84, gcj02, bd09")],
    format: Annotated[str | None, Form(description="geojson | shp | gpkg | csv | xlsx")] = None,
    dry_run: Annotated[bool, Form()] = False,
) -> ImportReportRead:
    """Import components, all rows or none; a dry run reports every row's problems and writes nothing."""
    name = Path(file.filename or "upload").name
    fmt = formats.detect_format(Path(name), format)
    with tempfile.TemporaryDirectory(prefix="zhili-import-") as tmp:
        path = Path(tmp) / f"upload{formats.EXTENSIONS[fmt]}"
        with path.open("wb") as out:
            copied = 0
            while piece := file.file.read(1 << 20):
                copied += len(piece)
                if copied > MAX_IMPORT_BYTES:
                    raise TooLarge(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
                out.write(piece)
        report = service.import_components(
            session, user, path, crs=crs, fmt=fmt, dry_run=dry_run, client_ip=client_ip(request)
        )
    return ImportReportRead.model_validate(report.as_dict())


@router.post("/components", response_model=ComponentRead, status_code=201)
def register_component(
    data: ComponentCreate,
    request: Request,
    session: DbSession,
    user: Manager,
) -> ComponentRead:
    """Record a component; the 17-digit ID is assigned when `code` is empty."""
    c = service.register_component(session, user, data, client_ip=client_ip(request))
    return service.read_component(session, user, c.code, crs=data.crs)


@router.get("/components/{code}", response_model=ComponentRead)
def get_component(
    code: Code,
    request: Request,
    session: DbSession,
    user: Reader,
    crs: CrsParam = "wgs84",
    at: Annotated[str | None, Query(description="YYYY-MM-DD (end of that day) or ISO time")] = None,
) -> ComponentRead:
    """The component now, or as it stood at `at` (from its history)."""
    when = parse_at(at, request.app.state.settings.timezone)
    return service.read_component(session, user, code, crs=crs, at=when)


@router.patch("/components/{code}", response_model=ComponentRead)
def change_component(
    code: Code,
    data: ComponentChange,
    request: Request,
    session: DbSession,
    user: Manager,
) -> ComponentRead:
    """Change a component (send the `version` you read); every change becomes a version in its history."""
    c = service.change_component(session, user, code, data, client_ip=client_ip(request))
    return service.read_component(session, user, c.code, crs=data.crs)


@router.get("/components/{code}/history", response_model=list[VersionRead])
def component_history(code: Code, session: DbSession, user: Reader) -> list[VersionRead]:
    """Every version, newest first: who, when, what changed (and the case that changed it)."""
    return service.history(session, user, code)
