"""Case console pages: the queues with filters and batch actions, the report form, a case's detail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm.exc import StaleDataError

from zhili.cases import pages_field, repository
from zhili.cases.config import CaseConfig
from zhili.cases.pages_common import (
    ACTION_LABELS,
    BATCH_ACTIONS,
    COLOUR_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    TABS,
    ListQuery,
    area_names,
    case_config,
    class_options,
    classes_by_kind,
    departments,
    list_page,
    may_batch,
    parse_list_query,
    posted_action_form,
    remaining_text,
    streets,
    tab_counts,
    to_map_crs,
    tz_of,
)
from zhili.cases.pages_detail import apply_form_action, detail_context, visible_case
from zhili.cases.schemas import INSPECTOR_SOURCES, ActionFields, CaseCreate, CaseSource
from zhili.cases.service import deadlines, intake, workflow
from zhili.core import clock, geo
from zhili.core.errors import DomainError, Invalid, invalid_from
from zhili.core.unit_of_work import commit_now
from zhili.core.web import client_ip, include_flat, render, t
from zhili.identity.deps import DbSession, require
from zhili.identity.models import User

router = APIRouter(include_in_schema=False)
# The phone's pages join here, so that routers.py names one router for the whole of the cases' pages.
include_flat(router, pages_field.router)

Reader = Annotated[User, Depends(require("cases:read"))]
Reporter = Annotated[User, Depends(require("cases:read", "cases:report"))]
Config = Annotated[CaseConfig, Depends(case_config)]
Number = Annotated[str, PathParam(pattern=r"^\d{14}$")]
FormStr = Annotated[str, Form()]
FormList = Annotated[list[str] | None, Form()]


@dataclass(frozen=True, slots=True)
class ListRow:
    """One line of the queue table, its words already in the request's language. Attributes, not a
    dict: the template reads each by name, and Jinja tries getattr before [] (a dict's every lookup
    raised and caught an AttributeError); words made here, not by a call per cell in the template."""

    c: repository.CaseRow
    class_name: str
    street: str
    department: str
    colour: str
    remaining: str
    status: str
    source: str
    reported: str


def _rows(
    request: Request, session: Any, rows: Any, now: Any, classes: dict[str, list[tuple[str, str]]],
    depts: dict[int, str],
) -> list[ListRow]:
    names = area_names(session)
    class_name = {f"{kind}:{code}": name for kind, pairs in classes.items() for code, name in pairs}
    statuses = {code: t(request, label) for code, label in STATUS_LABELS.items()}
    sources = {code: t(request, label) for code, label in SOURCE_LABELS.items()}
    tz = tz_of(request)
    out = []
    for c in rows:
        remaining = (c.due_at - now).total_seconds() if c.due_at is not None else None
        out.append(ListRow(
            c=c,
            class_name=class_name.get(f"{c.class_kind}:{c.class_code}", c.class_code),
            street=names.get(c.street_code, c.street_code),
            department=depts.get(c.department_id or 0, ""),
            colour=deadlines.colour(c, now),
            remaining=remaining_text(request, remaining) if remaining is not None else "",
            status=statuses.get(c.status, c.status),
            source=sources.get(c.source, c.source),
            reported=c.reported_at.astimezone(tz).strftime("%m-%d %H:%M"),
        ))
    return out


def _list_context(request: Request, session: Any, user: User, lq: ListQuery) -> dict[str, Any]:
    now = clock.now()
    counts = tab_counts(session, user, lq, now)
    rows, total = list_page(session, user, lq, now, total=counts.get(lq.tab))
    page = lq.filters.page
    pages = max(1, -(-total // lq.filters.page_size))
    base = {k: v for k, v in lq.values.items() if v and k != "page"}

    def link(**changes: str | int) -> str:
        """This list's URL with some parameters changed (a new tab starts on page 1)."""
        query = {**base, **{k: str(v) for k, v in changes.items()}}
        return "/cases?" + urlencode({k: v for k, v in query.items() if v})

    batch = [a for a in BATCH_ACTIONS.get(lq.tab, ()) if may_batch(user, a)]
    classes, depts = classes_by_kind(session), departments(session)
    return {
        "lq": lq,
        "v": lq.values,
        # "My tasks" are an inspector's verify/check tasks: only staff-bound logins have any.
        "tabs": [tab for tab in TABS if tab[0] != "mine" or user.staff_id is not None or lq.tab == "mine"],
        "counts": counts,
        "rows": _rows(request, session, rows, now, classes, {d.id: d.name for d in depts}),
        "total": total,
        "count_cap": repository.COUNT_CAP,
        "page": page,
        "pages": pages,
        "link": link,
        "query": urlencode({**base, "page": str(page)}),
        "batch_actions": batch,
        "departments": depts,
        "streets": streets(session),
        "classes": classes,
        "class_options": class_options(classes, lq.values.get("cls")),
        "tz": tz_of(request),
        "status_labels": STATUS_LABELS,
        "source_labels": SOURCE_LABELS,
        "colour_labels": COLOUR_LABELS,
        "action_labels": ACTION_LABELS,
        "can_report": user.has("cases:report"),
    }


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, session: DbSession, user: Reader) -> HTMLResponse:
    """The queues: a tab per queue with its count, filters, search, pages, and batch actions."""
    lq = parse_list_query(request, user)
    ctx = _list_context(request, session, user, lq)
    template = "cases/_list.html" if request.headers.get("hx-request") else "cases/list.html"
    page = render(request, template, ctx)
    commit_now(session)  # the read ends here, not in another trip through a worker thread
    return page


@router.post("/cases/batch/{action}", response_class=HTMLResponse)
def batch_action(
    action: str,
    request: Request,
    session: DbSession,
    user: Reader,
    cfg: Config,
    items: FormList = None,
    department_id: FormStr = "",
    condition_no: FormStr = "1",
) -> HTMLResponse:
    """The same action on the ticked cases (htmx); each succeeds or fails alone, the list is redrawn."""
    if action not in {a for acts in BATCH_ACTIONS.values() for a in acts}:
        raise Invalid(f"'{action}' cannot be applied to several cases at once.")
    if not items:
        raise Invalid(t(request, "Tick at least one case first."))
    results: list[dict[str, Any]] = []
    for item in items[:100]:
        number, _, typed = item.partition(":")
        version = int(typed) if typed.isascii() and typed.isdigit() else 0
        try:
            with session.begin_nested():
                case = visible_case(session, user, number)
                fields = _batch_fields(session, case, action, department_id, condition_no)
                workflow.perform_action(session, user, number, action, fields, cfg,
                                        version=version,
                                        client_ip=client_ip(request))
            results.append({"number": number, "ok": True})
        except DomainError as exc:
            results.append({"number": number, "ok": False, "detail": exc.detail})
        except StaleDataError:
            results.append({"number": number, "ok": False,
                            "detail": t(request, "changed by someone else meanwhile; reload and retry")})
    lq = parse_list_query(request, user)
    ctx = _list_context(request, session, user, lq)
    ctx["batch_result"] = {"action": action, "results": results, "done": sum(r["ok"] for r in results)}
    return render(request, "cases/_list.html", ctx)


def _batch_fields(
    session: Any, case: Any, action: str, department_id: str, condition_no: str
) -> ActionFields:
    if action == "register":
        no = int(condition_no) if condition_no.isascii() and condition_no.isdigit() else 1
        row = repository.standard_by_key(session, case.class_kind, case.class_code, no)
        if row is None or not row.active:
            raise Invalid(
                f"No active 立案条件 row {no} for class {case.class_code}: register it on its page."
            )
        return ActionFields(standard_id=row.id)
    if action == "dispatch" and department_id:
        if not (department_id.isascii() and department_id.isdigit()):
            raise Invalid("Choose a department from the list.")
        return ActionFields(department_id=int(department_id))
    return ActionFields()


# --- the report form ---------------------------------------------------------------------------------


def _report_sources(user: User) -> list[str]:
    sources = [s.value for s in CaseSource if s not in INSPECTOR_SOURCES]
    if user.staff_id is not None:
        sources.insert(0, CaseSource.inspector.value)
    return sources


def _new_context(request: Request, session: Any, user: User, values: dict[str, str],
                 error: DomainError | None = None) -> dict[str, Any]:
    settings = request.app.state.settings
    district = org_district(session)
    return {
        "v": values,
        "error": error,
        "classes": classes_by_kind(session),
        "sources": _report_sources(user),
        "source_labels": SOURCE_LABELS,
        "map_config": {
            "tileUrl": settings.tile_url or "",
            "tileCrs": settings.tile_crs or "wgs84",
            "tileAttribution": getattr(settings, "tile_attribution", "") or "",
            "point": [float(values["lon"]), float(values["lat"])] if _is_point(values) else None,
            "centre": list(to_map_crs(request, *district)),
            "zoom": 17 if _is_point(values) else 11,
            "picker": True,
            "locateUrl": "/api/v1/locate",
        },
    }


def org_district(session: Any) -> tuple[float, float]:
    from zhili.org import repository as org_repository

    d = org_repository.district(session)
    return (d.centroid_lon, d.centroid_lat) if d else (113.3, 23.25)


def _is_point(values: dict[str, str]) -> bool:
    try:
        float(values.get("lon", "")), float(values.get("lat", ""))
    except ValueError:
        return False
    return True


@router.get("/cases/new", response_class=HTMLResponse)
def new_case_page(request: Request, session: DbSession, user: Reporter) -> HTMLResponse:
    """The report form; `?component_id=&lon=&lat=` (WGS-84, from the component map) prefills it."""
    q = request.query_params
    values = {"class": "", "component_id": q.get("component_id", "")[:17], "address": "", "description": "",
              "source": _report_sources(user)[0], "lon": "", "lat": ""}
    crs = request.app.state.settings.tile_crs or "wgs84"
    values["crs"] = crs
    comp = values["component_id"]
    if comp.isascii() and comp.isdigit() and len(comp) == 17:
        values["class"] = f"component:{comp[6:11]}"
    try:
        lon, lat = float(q.get("lon", "")), float(q.get("lat", ""))
        geo.check_lonlat(lon, lat)
        mlon, mlat = to_map_crs(request, lon, lat)
        values["lon"], values["lat"] = f"{mlon:.7f}", f"{mlat:.7f}"
    except (ValueError, DomainError):
        pass
    return render(request, "cases/new.html", _new_context(request, session, user, values))


@router.post("/cases/new", response_class=HTMLResponse)
def new_case_submit(
    request: Request,
    session: DbSession,
    user: Reporter,
    cfg: Config,
    source: FormStr = "",
    cls: Annotated[str, Form(alias="class")] = "",
    component_id: FormStr = "",
    lon: FormStr = "",
    lat: FormStr = "",
    crs: FormStr = "wgs84",
    address: FormStr = "",
    description: FormStr = "",
    external_ref: FormStr = "",
    reporter_name: FormStr = "",
    reporter_phone: FormStr = "",
    evidence: FormList = None,
) -> Response:
    """Open the case; a refusal redraws the form with the reason and everything typed kept."""
    values = {"source": source, "class": cls, "component_id": component_id, "lon": lon, "lat": lat,
              "crs": crs, "address": address, "description": description, "external_ref": external_ref,
              "reporter_name": reporter_name, "reporter_phone": reporter_phone}
    kind, _, code = cls.partition(":")
    raw: dict[str, Any] = {
        "source": source, "class_kind": kind, "class_code": code, "lon": lon or None, "lat": lat or None,
        "crs": crs, "address": address.strip(), "description": description.strip(),
        "evidence": [e for e in evidence or [] if e],
    }
    for name in ("component_id", "external_ref", "reporter_name", "reporter_phone"):
        if values[name].strip():
            raw[name] = values[name].strip()
    try:
        try:
            data = CaseCreate.model_validate(raw)
        except ValidationError as exc:
            raise invalid_from(exc) from exc
        if data.source is CaseSource.self_handled:
            raise Invalid(t(request, "Self-handled reports are made on the phone (/m/report)."))
        with session.begin_nested():
            case = intake.report_case(session, user, data, cfg, client_ip=client_ip(request))
    except DomainError as exc:
        ctx = _new_context(request, session, user, values, exc)
        ctx["evidence"] = raw["evidence"]
        return render(request, "cases/new.html", ctx, status_code=exc.status_code)
    return RedirectResponse(f"/cases/{case.number}", status_code=303)


# --- one case ----------------------------------------------------------------------------------------


@router.get("/cases/{number}", response_class=HTMLResponse)
def case_page(
    number: Number, request: Request, session: DbSession, user: Reader, cfg: Config
) -> HTMLResponse:
    """A case: class, map, places, photos, timeline, stage clocks and the forms of its allowed actions."""
    case = visible_case(session, user, number)
    return render(request, "cases/detail.html", detail_context(request, session, user, case, cfg))


@router.post("/cases/{number}/actions/{action}", response_class=HTMLResponse)
def case_action(
    number: Number,
    action: str,
    request: Request,
    session: DbSession,
    user: Reader,
    cfg: Config,
    form: Annotated[dict[str, Any], Depends(posted_action_form)],
) -> Response:
    """One action from the detail page's form, with the version the page showed."""
    return apply_form_action(request, session, user, number, action, form, cfg,
                             template="cases/detail.html", success_url=f"/cases/{number}")

