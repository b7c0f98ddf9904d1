"""The case detail as the console and the phone show it, and applying one action from a page form."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from zhili.assets.states import STATUS_LABELS as COMPONENT_STATUS_LABELS
from zhili.cases import repository
from zhili.cases.config import CaseConfig
from zhili.cases.models import CaseRecord
from zhili.cases.pages_common import (
    ACTION_FIELDS,
    ACTION_LABELS,
    COLOUR_LABELS,
    DANGER_ACTIONS,
    EVIDENCE_STAGES,
    SOURCE_LABELS,
    STAGE_LABELS,
    STATUS_LABELS,
    UNIT_LABELS,
    action_fields,
    area_names,
    class_names,
    departments,
    remaining_text,
    to_map_crs,
    tz_of,
)
from zhili.cases.schemas import StandardFilters
from zhili.cases.service import views, workflow
from zhili.core import clock, geo
from zhili.core.errors import Conflict, DomainError, NotFound
from zhili.core.web import client_ip, render, t
from zhili.org import service as org_service

if TYPE_CHECKING:
    from zhili.identity.models import User

# (stage, its due column, the column saying when it was done)
STAGES = (
    ("verify", "verify_due_at", "verified_at"),
    ("register", "register_due_at", "registered_at"),
    ("dispatch", "dispatch_due_at", "dispatched_at"),
    ("handle", "handle_due_at", "handled_at"),
    ("check", "check_due_at", "checked_at"),
)


MAIN_LINE = ("verify", "register", "dispatch", "accept", "handle", "check", "close")


def _action_order(action: str) -> tuple[int, int]:
    """The main line's step first (its form opens), then side flows, the reversing ones last."""
    if action in MAIN_LINE:
        return 0, MAIN_LINE.index(action)
    return (2 if action in DANGER_ACTIONS else 1), list(ACTION_FIELDS).index(action)


def visible_case(session: Session, user: User, number: str) -> CaseRecord:
    case = repository.get_visible(session, user, number)
    if case is None:
        raise NotFound(f"No case {number} that you may see.")
    return case


def _stages(
    request: Request, case: CaseRecord, clock_stage: str | None, now: datetime
) -> list[dict[str, Any]]:
    rows = []
    for stage, due_col, done_col in STAGES:
        due, done = getattr(case, due_col), getattr(case, done_col)
        running = stage == clock_stage
        if due is None and done is None and not running:
            continue
        if running and case.due_at is not None:
            due = case.due_at
        if done is not None and not running:
            state = "late" if due is not None and done > due else "on_time"
            remaining = ""
        elif running:
            state = "running"
            remaining = remaining_text(request, (due - now).total_seconds()) if due is not None else ""
        else:
            state, remaining = "waiting", ""
        rows.append({"stage": stage, "due": due, "done": None if running else done, "state": state,
                     "remaining": remaining})
    return rows


def detail_context(
    request: Request,
    session: Session,
    user: User,
    case: CaseRecord,
    cfg: CaseConfig,
    *,
    error: DomainError | None = None,
    failed_action: str | None = None,
    form_values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the detail templates show: the engine's read model plus names, map and form choices."""
    now = clock.now()
    detail = views.case_detail(session, user, case, cfg, now, "wgs84")
    names = area_names(session)
    location = org_service.area_index(session).locate(case.lon, case.lat)
    allowed = sorted((a.value for a in detail.allowed_actions), key=_action_order)
    depts = departments(session) if "dispatch" in allowed or case.department_id else []
    dept_names = {d.id: d.name for d in depts}
    if case.department_id and case.department_id not in dept_names:
        dept_names.update({d.id: d.name for d in departments(session)})
    wanted = StandardFilters.model_validate({"class_kind": case.class_kind, "class_code": case.class_code})
    standards = repository.list_standards(session, wanted) if "register" in allowed else []
    map_lon, map_lat = to_map_crs(request, case.lon, case.lat)
    settings = request.app.state.settings
    photos: dict[str, list[str]] = {}
    for ev in detail.evidence:
        photos.setdefault(ev.stage, []).append(ev.sha256)
    return {
        "case": case,
        "d": detail,
        "class_name": class_names(session).get(f"{case.class_kind}:{case.class_code}", ""),
        "street_name": names.get(case.street_code, case.street_code),
        "community_name": names.get(case.community_code, case.community_code),
        "inspector_name": location.inspector_name if location else None,
        "department_name": dept_names.get(case.department_id or 0),
        "departments": depts,
        "suggested_department_id": detail.suggested_department_id,
        "standards": standards,
        "allowed": allowed,
        "photos": photos,
        "stages": _stages(request, case, detail.clock.stage, now),
        "remaining": remaining_text(request, detail.clock.remaining_seconds),
        "tz": tz_of(request),
        "error": error,
        "failed_action": failed_action,
        "form_values": form_values or {},
        "status_labels": STATUS_LABELS,
        "action_labels": ACTION_LABELS,
        "action_fields": ACTION_FIELDS,
        "danger_actions": DANGER_ACTIONS,
        "source_labels": SOURCE_LABELS,
        "colour_labels": COLOUR_LABELS,
        "stage_labels": STAGE_LABELS,
        "unit_labels": UNIT_LABELS,
        "component_status_labels": COMPONENT_STATUS_LABELS,
        "evidence_stages": EVIDENCE_STAGES,
        "map_config": {
            "tileUrl": settings.tile_url or "",
            "tileCrs": settings.tile_crs or "wgs84",
            "tileAttribution": getattr(settings, "tile_attribution", "") or "",
            "point": [map_lon, map_lat],
            "gridUrl": f"/api/v1/grids/{case.grid_code}/geometry?crs={settings.tile_crs or 'wgs84'}",
            "zoom": 17,
        },
    }


def on_site_note(request: Request, case: CaseRecord, lon: str, lat: str) -> str:
    """The phone's GPS position (WGS-84) and its distance to the case, as a line for the timeline."""
    try:
        x, y = float(lon), float(lat)
    except ValueError:
        return ""
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        return ""
    d = float(geo.distance_m(x, y, case.lon, case.lat))
    return t(request, "On-site position %(lon)s, %(lat)s (WGS-84), %(d)s m from the case",
             lon=f"{x:.6f}", lat=f"{y:.6f}", d=f"{d:.0f}")


def apply_form_action(
    request: Request,
    session: Session,
    user: User,
    number: str,
    action: str,
    form: dict[str, Any],
    cfg: CaseConfig,
    *,
    template: str,
    success_url: str,
    note_suffix: str = "",
) -> Response:
    """Apply one action posted from a page: 303 to `success_url`, or the page again with a readable error.

    The attempt runs in a savepoint, so a refusal leaves nothing written; the page is drawn from the
    case's fresh state with the person's input kept in the failed form.
    """
    case = visible_case(session, user, number)
    if action not in ACTION_FIELDS:
        raise NotFound(f"Unknown case action {action!r}.")
    error: DomainError | None = None
    try:
        version = int(str(form.get("version") or "0"))
    except ValueError:
        version = 0
    try:
        if version != case.version:
            raise Conflict(t(request, "Case %(n)s was changed by someone else after you opened it. "
                                      "Below is its current state; your input is kept, check it and "
                                      "submit again if it still applies.", n=case.number),
                           current_version=case.version)
        typed = str(form.get("note") or "").strip()
        note = f"{typed}\n{note_suffix}".strip() if note_suffix else typed
        fields = action_fields({**form, "note": note}, tz_of(request))
        with session.begin_nested():
            workflow.perform_action(session, user, number, action, fields, cfg, version=version,
                                    client_ip=client_ip(request))
    except DomainError as exc:
        error = exc
    except StaleDataError:
        error = Conflict(t(request, "Case %(n)s was changed by someone else at the same moment; "
                                    "your input is kept, submit again if it still applies.", n=number))
    if error is None:
        return RedirectResponse(success_url, status_code=303)
    fresh = visible_case(session, user, number)
    session.refresh(fresh)
    ctx = detail_context(request, session, user, fresh, cfg, error=error, failed_action=action,
                         form_values=form)
    return render(request, template, ctx, status_code=error.status_code)
