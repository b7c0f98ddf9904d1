"""Assets pages: the component map console (also the inspectors' phone view), a component's detail."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from zhili.assets import service
from zhili.assets.api import parse_at
from zhili.assets.schemas import ComponentChange, ComponentRead
from zhili.assets.states import STATUS_LABELS, STATUSES
from zhili.core.errors import invalid_from
from zhili.core.web import client_ip, render
from zhili.identity.deps import DbSession, require
from zhili.identity.models import User
from zhili.org import repository as org_repository

router = APIRouter(include_in_schema=False)

Reader = Annotated[User, Depends(require("assets:read"))]
Manager = Annotated[User, Depends(require("assets:manage"))]
Code = Annotated[str, PathParam(pattern=r"^\d{17}$")]
# Marker colours by status (the legend and the map script read the same table).
STATUS_COLOURS = {
    "intact": "#2e7d32",
    "damaged": "#e69500",
    "missing": "#c62828",
    "abandoned": "#6d4c41",
    "removed": "#8a96a3",
}


# English msgids for what the record shows (translated in the template).
FIELD_LABELS = {
    "name": "Name",
    "status": "Status",
    "lon": "Longitude",
    "lat": "Latitude",
    "department_code": "Department",
    "owner": "Owner",
    "maintainer": "Maintainer",
    "address": "Address",
    "grid_code": "Unit grid",
    "community_code": "Community",
    "street_code": "Street/town",
    "initial_date": "Initial date",
    "changed_date": "Change date",
    "data_source": "Data source",
    "accuracy": "Accuracy",
    "photos": "Photos",
    "attributes": "Attributes",
    "notes": "Notes",
    "legacy_code": "Legacy ID",
    "capacity_t_per_day": "Capacity (t/day)",
    "has_weighbridge": "Weighbridge",
    "weighbridge_id": "Weighbridge ID",
    "camera_count": "AI cameras",
    "bins": "Bins",
    "smart": "Smart bins",
    "device_id": "Device ID",
    "opening_hours": "Opening hours",
    "grade": "Grade",
    "accessible": "Barrier-free",
    "licence_no": "Licence number",
    "licence_expires": "Licence expires",
    "operator_name": "Operator",
    "cylinders_stored": "Cylinders stored",
    "species": "Species",
    "age_years": "Age (years)",
}
VALUE_LABELS = {
    "class_1": "Class 1",
    "class_2": "Class 2",
    "class_3": "Class 3",
    "level_1": "Grade I",
    "level_2": "Grade II",
    "level_3": "Grade III",
    "famous": "Famous tree",
    "kitchen": "Kitchen waste",
    "recyclable": "Recyclable",
    "hazardous": "Hazardous",
    "residual": "Residual waste",
    "24h": "Open 24 hours",
}
ACTION_LABELS = {
    "create": "Created",
    "change": "Changed",
    "import": "Imported",
    "case_outcome": "Case outcome",
}
SOURCE_LABELS = {
    "surveyed": "Surveyed",
    "topographic_map": "Topographic map",
    "base_geodata": "Base geodata",
    "other": "Other",
}


def _district(session: Any) -> dict[str, Any]:
    district = org_repository.district(session)
    return {
        "code": district.code if district else "",
        "name": district.name if district else "",
        "centroid_lon": district.centroid_lon if district else 113.3,
        "centroid_lat": district.centroid_lat if district else 23.25,
    }


@router.get("/components", response_class=HTMLResponse)
def components_map(
    request: Request,
    session: DbSession,
    user: Reader,
    mode: Annotated[str | None, Query(pattern="^(console|mobile)$")] = None,
    focus: Annotated[str | None, Query(pattern=r"^\d{17}$")] = None,
) -> HTMLResponse:
    """The component map: layers by class, aggregates when zoomed out, a click for the detail."""
    settings = request.app.state.settings
    return render(
        request,
        "assets/map.html",
        {
            "tile_url": settings.tile_url,
            "tile_crs": settings.tile_crs,
            "tile_attribution": settings.tile_attribution,
            "district": _district(session),
            "mode": mode or "auto",
            "focus": focus,
            "statuses": STATUSES,
            "status_labels": STATUS_LABELS,
            "status_colours": STATUS_COLOURS,
            "can_manage": user.has("assets:manage"),
        },
    )


def _detail_context(request: Request, session: Any, user: User, code: str, at: str | None) -> dict[str, Any]:
    when = parse_at(at, request.app.state.settings.timezone)
    component: ComponentRead = service.read_component(session, user, code, at=when)
    return {
        "c": component,
        "history": service.history(session, user, code)[:50],
        "at": at or "",
        "status_labels": STATUS_LABELS,
        "status_colours": STATUS_COLOURS,
        "statuses": STATUSES,
        "can_manage": user.has("assets:manage") and when is None,
        "can_report": user.has("cases:report"),
        "tz": ZoneInfo(request.app.state.settings.timezone),
        "field_labels": FIELD_LABELS,
        "value_labels": VALUE_LABELS,
        "action_labels": ACTION_LABELS,
        "source_labels": SOURCE_LABELS,
    }


@router.get("/components/{code}", response_class=HTMLResponse)
def component_page(
    code: Code,
    request: Request,
    session: DbSession,
    user: Reader,
    at: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """One component: attributes, photos, history (and its state at a past date), cases about it."""
    return render(request, "assets/detail.html", _detail_context(request, session, user, code, at))


@router.get("/components/{code}/panel", response_class=HTMLResponse)
def component_panel(code: Code, request: Request, session: DbSession, user: Reader) -> HTMLResponse:
    """The detail as a fragment for the map's side panel (htmx)."""
    return render(request, "assets/_panel.html", _detail_context(request, session, user, code, None))


@router.post("/components/{code}/status", response_class=HTMLResponse)
def change_status(
    code: Code,
    request: Request,
    session: DbSession,
    user: Manager,
    status: Annotated[str, Form()],
    version: Annotated[int, Form()],
    note: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    """Set a component's status from its panel (htmx); answers with the refreshed panel."""
    try:
        change = ComponentChange.model_validate({"version": version, "status": status, "note": note or None})
    except ValidationError as exc:
        raise invalid_from(exc) from exc
    service.change_component(session, user, code, change, client_ip=client_ip(request))
    session.flush()
    return render(request, "assets/_panel.html", _detail_context(request, session, user, code, None))
