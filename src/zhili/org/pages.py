"""Org pages: the district map (areas, unit grids, who patrols them) and the organisation page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhili.core.web import client_ip, render
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


DEPARTMENT_KINDS = {
    "command_centre": "Command centre", "sanitation": "Sanitation", "greening": "Greening",
    "municipal": "Municipal works", "enforcement": "Enforcement", "gas": "Gas safety",
    "street_office": "Street office", "other": "Other",
}


@router.get("/org", response_class=HTMLResponse)
def organisation_page(request: Request, session: DbSession,
                      user: Annotated[User, Depends(require("org:read"))],
                      street: str = "", bound: str = "") -> HTMLResponse:
    """Departments with their teams and staff, and one street's responsibility grids and inspectors."""
    index = service.area_index(session)
    streets = index.areas_at("street")
    chosen = street if any(s.code == street for s in streets) else (streets[0].code if streets else "")
    depts = repository.departments(session)
    teams = repository.teams_of(session, [d.id for d in depts])
    team_names: dict[int, list[str]] = {}
    for t in teams:
        team_names.setdefault(t.department_id, []).append(t.name)
    staff = repository.staff_counts_by_department(session)
    return render(request, "org/organisation.html", {
        "departments": [(d, team_names.get(d.id, []), staff.get(d.id, 0)) for d in depts],
        "kinds": DEPARTMENT_KINDS,
        "streets": streets,
        "street": chosen,
        "rgrids": repository.responsibility_grids_of_street(session, chosen) if chosen else [],
        "can_manage": user.has("org:manage"),
        "bound": bound,
    })


@router.post("/org/responsibility-grids/{code}/inspector", response_class=HTMLResponse)
def bind_inspector_form(code: str, request: Request, session: DbSession,
                        user: Annotated[User, Depends(require("org:manage"))],
                        employee_no: Annotated[str, Form(max_length=40)] = "",
                        street: Annotated[str, Form(max_length=9)] = "") -> Response:
    service.assign_inspector(session, user.username, code, employee_no.strip() or None,
                             client_ip=client_ip(request))
    query = urlencode({"street": street, "bound": code})
    return RedirectResponse(f"/org?{query}#rg-{code}", status_code=303)
