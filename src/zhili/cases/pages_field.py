"""Field (H5) pages for inspectors and handlers: my tasks, one case on the phone, the quick report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.routing import Match

from zhili.cases import repository, visibility
from zhili.cases.config import CaseConfig
from zhili.cases.models import CaseRecord
from zhili.cases.pages_common import (
    SOURCE_LABELS,
    STATUS_LABELS,
    area_names,
    case_config,
    class_names,
    classes_by_kind,
    posted_action_form,
    remaining_text,
)
from zhili.cases.pages_detail import apply_form_action, detail_context, on_site_note, visible_case
from zhili.cases.schemas import CaseCreate, CaseFilters
from zhili.cases.service import deadlines, intake
from zhili.cases.states import CaseStatus
from zhili.core import clock
from zhili.core.errors import DomainError, Invalid, invalid_from
from zhili.core.web import client_ip, render, t
from zhili.identity.deps import DbSession, require
from zhili.identity.models import User

router = APIRouter(include_in_schema=False)

FieldUser = Annotated[User, Depends(require("map:view"))]
Reader = Annotated[User, Depends(require("cases:read"))]
Reporter = Annotated[User, Depends(require("cases:read", "cases:report"))]
Config = Annotated[CaseConfig, Depends(case_config)]
Number = Annotated[str, PathParam(pattern=r"^\d{14}$")]
FormStr = Annotated[str, Form()]
FormList = Annotated[list[str] | None, Form()]
LIST_LIMIT = 50


def _serves(request: Request, path: str) -> bool:
    scope = {"type": "http", "path": path, "method": "GET", "root_path": "", "headers": [],
             "query_string": b""}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes)


def _card(request: Request, case: CaseRecord | repository.CaseRow, names: dict[str, str],
          classes: dict[str, str], now: Any, kind: str) -> dict[str, Any]:
    remaining = (case.due_at - now).total_seconds() if case.due_at is not None else None
    return {
        "c": case,
        "kind": kind,
        "class_name": classes.get(f"{case.class_kind}:{case.class_code}", case.class_code),
        "place": names.get(case.community_code, names.get(case.street_code, "")),
        "colour": deadlines.colour(case, now),
        "remaining": remaining_text(request, remaining),
    }


@router.get("/m", response_class=HTMLResponse)
def field_home(request: Request, session: DbSession, user: FieldUser) -> HTMLResponse:
    """My tasks: verify/check tasks of an inspector, cases to accept and handle for a handler."""
    now = clock.now()
    groups: list[dict[str, Any]] = []
    if user.has("cases:read"):
        names, classes = area_names(session), class_names(session)
        if user.staff_id is not None and (user.has("cases:verify") or user.has("cases:check")):
            tasks = repository.open_tasks_for(session, user.staff_id, limit=LIST_LIMIT)
            numbers = [n for _, n in tasks]
            cases = {c.number: c for c in session.scalars(
                visibility.visible_to(user).where(CaseRecord.number.in_(numbers)))} if numbers else {}
            for kind, title in (("verify", "To verify on site"), ("check", "To check on site")):
                cards = [_card(request, cases[n], names, classes, now, kind)
                         for task, n in tasks if task.kind == kind and n in cases]
                groups.append({"kind": kind, "title": title, "cards": cards})
        if user.has("cases:handle"):
            for status, title in (("to_accept", "To accept"), ("handling", "To handle")):
                wanted = CaseFilters(status=[CaseStatus(status)], sort="due_at", page_size=LIST_LIMIT)
                rows, _more, _total = repository.list_cases(session, user, wanted, now=now)
                groups.append({"kind": status, "title": title,
                               "cards": [_card(request, c, names, classes, now, status) for c in rows]})
    return render(request, "cases/m_home.html", {
        "groups": groups,
        "workorders": _serves(request, "/m/workorders"),
        "can_report": user.has("cases:report") and user.has("cases:read") and user.staff_id is not None,
        "status_labels": STATUS_LABELS,
    })


@router.get("/m/report", response_class=HTMLResponse)
def field_report_page(request: Request, session: DbSession, user: Reporter) -> HTMLResponse:
    """An inspector's quick report, also self-handled (自行处置) with before and after photos."""
    return render(request, "cases/m_report.html", _report_context(session, {}))


def _report_context(session: Any, values: dict[str, Any], error: DomainError | None = None) -> dict[str, Any]:
    return {"v": values, "error": error, "classes": classes_by_kind(session), "source_labels": SOURCE_LABELS}


@router.post("/m/report", response_class=HTMLResponse)
def field_report_submit(
    request: Request,
    session: DbSession,
    user: Reporter,
    cfg: Config,
    cls: Annotated[str, Form(alias="class")] = "",
    lon: FormStr = "",
    lat: FormStr = "",
    address: FormStr = "",
    description: FormStr = "",
    self_handled: FormStr = "",
    result: FormStr = "",
    evidence: FormList = None,
    after_evidence: FormList = None,
) -> Response:
    """Open the case from the phone (position from the phone's GPS, WGS-84)."""
    kind, _, code = cls.partition(":")
    values = {"class": cls, "lon": lon, "lat": lat, "address": address, "description": description,
              "self_handled": self_handled, "result": result, "evidence": [e for e in evidence or [] if e],
              "after_evidence": [e for e in after_evidence or [] if e]}
    raw: dict[str, Any] = {
        "source": "self_handled" if self_handled else "inspector",
        "class_kind": kind, "class_code": code, "lon": lon or None, "lat": lat or None, "crs": "wgs84",
        "address": address.strip(), "description": description.strip(), "evidence": values["evidence"],
        "after_evidence": values["after_evidence"] if self_handled else [],
    }
    if self_handled and result.strip():
        raw["result"] = result.strip()
    try:
        if lon == "" or lat == "":
            raise Invalid(
                t(request, "The position is missing: allow location access or type the coordinates.")
            )
        try:
            data = CaseCreate.model_validate(raw)
        except ValidationError as exc:
            raise invalid_from(exc) from exc
        with session.begin_nested():
            case = intake.report_case(session, user, data, cfg, client_ip=client_ip(request))
    except DomainError as exc:
        return render(request, "cases/m_report.html", _report_context(session, values, exc),
                      status_code=exc.status_code)
    return RedirectResponse(f"/m/cases/{case.number}?done=report", status_code=303)


@router.get("/m/cases/{number}", response_class=HTMLResponse)
def field_case(
    number: Number, request: Request, session: DbSession, user: Reader, cfg: Config
) -> HTMLResponse:
    """One case on the phone: what and where, photos, and the task's form (photo, position, result)."""
    case = visible_case(session, user, number)
    ctx = detail_context(request, session, user, case, cfg)
    ctx["done"] = request.query_params.get("done", "")
    return render(request, "cases/m_case.html", ctx)


@router.post("/m/cases/{number}/actions/{action}", response_class=HTMLResponse)
def field_case_action(
    number: Number,
    action: str,
    request: Request,
    session: DbSession,
    user: Reader,
    cfg: Config,
    form: Annotated[dict[str, Any], Depends(posted_action_form)],
) -> Response:
    """The task's action from the phone; the GPS position (WGS-84) goes into the timeline's note."""
    case = visible_case(session, user, number)
    lon, lat = form["lon"], form["lat"]
    where = on_site_note(request, case, lon, lat) if lon and lat else ""
    return apply_form_action(request, session, user, number, action, form, cfg,
                             template="cases/m_case.html", success_url=f"/m/cases/{number}?done={action}",
                             note_suffix=where)
