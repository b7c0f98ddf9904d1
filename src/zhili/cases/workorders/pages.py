"""Work-order pages: the console (/workorders: plans, orders, team summary) and the phone page /m/workorders.

The phone page acts through the JSON API (upload photos to /api/v1/files, then POST the action with
the browser's position), so there is one code path for apps and pages; the console's forms post here.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from zhili.cases.workorders import plans, repository, service, views
from zhili.cases.workorders.api import tz_of
from zhili.cases.workorders.models import WorkPlan
from zhili.cases.workorders.recurrence import local_day
from zhili.cases.workorders.schemas import (
    TASK_TYPE_LABELS,
    OrderActionForm,
    OrderFilters,
    PlanCreate,
    PlanUpdate,
)
from zhili.cases.workorders.states import ACTION_LABELS, STATUS_LABELS
from zhili.core import clock
from zhili.core.errors import DomainError, Invalid
from zhili.core.web import client_ip, render, t
from zhili.identity.deps import DbSession, require
from zhili.identity.models import User

router = APIRouter(include_in_schema=False)

Reader = Annotated[User, Depends(require("workorders:read"))]
Manager = Annotated[User, Depends(require("workorders:manage"))]
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FREQ_LABELS = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}
_WINDOW = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–~]\s*(\d{1,2}:\d{2})\s*$")


def _labels(request: Request) -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "action_labels": ACTION_LABELS,
        "task_labels": TASK_TYPE_LABELS,
        "freq_labels": FREQ_LABELS,
        "weekday_labels": WEEKDAY_LABELS,
        "tz": tz_of(request),
    }


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _share(percent: str) -> float:
    """A percentage as typed ("10" is 0.1); a 422 on the form when it is not a number."""
    try:
        return float(percent or 0) / 100
    except ValueError:
        raise Invalid(f"The sample rate {percent!r} is not a number of percent (e.g. 10).") from None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/workorders", response_class=HTMLResponse)
def console(
    request: Request,
    session: DbSession,
    user: Reader,
    date_from: Annotated[str | None, Query(max_length=10)] = None,
    date_to: Annotated[str | None, Query(max_length=10)] = None,
    team_id: Annotated[str | None, Query(max_length=10)] = None,
    status: Annotated[str | None, Query(max_length=12)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """Plans, the orders of a period with filters (missed included), and the team summary."""
    tz, now = tz_of(request), clock.now()
    today = local_day(now, tz)
    d_from, d_to = _date(date_from) or today, _date(date_to) or today
    filters = OrderFilters.model_validate(
        {
            "date_from": d_from,
            "date_to": d_to,
            "team_id": _int(team_id),
            "status": [status] if status in STATUS_LABELS else [],
            "page": page,
        }
    )
    rows, has_more, total = repository.list_orders(session, user, filters, now=now, tz=tz)
    summary_from = min(d_from, d_to - timedelta(days=29)) if d_from == d_to else d_from
    visible_plans = repository.list_plans(session, user)
    dept_ids = sorted({p.department_id for p in visible_plans}) or (
        [user.department_id] if user.department_id else None
    )
    return render(
        request,
        "workorders/console.html",
        {
            **_labels(request),
            "orders": views.list_items(session, rows, now),
            "total": total,
            "has_more": has_more,
            "filters": {
                "date_from": d_from,
                "date_to": d_to,
                "team_id": _int(team_id),
                "status": status or "",
            },
            "page": page,
            "plans": visible_plans,
            "teams": repository.teams_for(session, dept_ids),
            "team_names": repository.team_names(session, [p.team_id for p in visible_plans]),
            "summary": repository.summary_rows(session, user, summary_from, d_to, now=now, tz=tz),
            "summary_from": summary_from,
            "summary_to": d_to,
            "can_manage": user.has("workorders:manage"),
        },
    )


def _windows_text(plan: WorkPlan | None) -> str:
    if plan is None:
        return "06:00-08:00"
    return ", ".join(f"{w['start'][:5]}-{w['end'][:5]}" for w in plan.recurrence["windows"])


def _form_context(
    request: Request, session: Any, user: User, plan: WorkPlan | None, form: dict[str, Any], error: str | None
) -> dict[str, Any]:
    dept_ids = [plan.department_id] if plan else ([user.department_id] if user.department_id else None)
    return {
        **_labels(request),
        "plan": plan,
        "form": form,
        "error": error,
        "teams": repository.teams_for(session, dept_ids),
        "windows_text": form.get("windows") or _windows_text(plan),
    }


def _recurrence(freq: str, windows: str, weekdays: list[str], month_day: str | None) -> dict[str, Any]:
    parts = [p for p in re.split(r"[,，;；]", windows) if p.strip()]
    parsed = []
    for part in parts:
        m = _WINDOW.match(part)
        if m is None:
            raise Invalid(f"Time window {part.strip()!r} is not like 06:00-08:00.")
        parsed.append({"start": m.group(1).zfill(5), "end": m.group(2).zfill(5)})
    rec: dict[str, Any] = {"freq": freq, "windows": parsed}
    if freq == "weekly":
        rec["weekdays"] = [int(d) for d in weekdays if d.isascii() and d.isdigit()]
    if freq == "monthly":
        rec["month_day"] = _int(month_day)
    return rec


def _problem_text(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:4])


class PlanForm:
    """The plan form's fields as posted (text), turned into the API's schemas."""

    def __init__(
        self,
        name: Annotated[str, Form(max_length=100)] = "",
        task_type: Annotated[str, Form(max_length=30)] = "sweep",
        area_code: Annotated[str, Form(max_length=15)] = "",
        geometry: Annotated[str, Form(max_length=200_000)] = "",
        crs: Annotated[str, Form(max_length=5)] = "wgs84",
        team_id: Annotated[str, Form(max_length=10)] = "",
        freq: Annotated[str, Form(max_length=10)] = "daily",
        windows: Annotated[str, Form(max_length=200)] = "",
        weekdays: Annotated[list[str] | None, Form()] = None,
        month_day: Annotated[str, Form(max_length=2)] = "",
        starts_on: Annotated[str, Form(max_length=10)] = "",
        ends_on: Annotated[str, Form(max_length=10)] = "",
        grace_minutes: Annotated[str, Form(max_length=5)] = "30",
        min_photos: Annotated[str, Form(max_length=2)] = "1",
        tolerance_m: Annotated[str, Form(max_length=6)] = "50",
        sample_rate: Annotated[str, Form(max_length=6)] = "10",
        active: Annotated[str, Form(max_length=3)] = "",
        version: Annotated[str, Form(max_length=10)] = "",
    ) -> None:
        self.raw = {k: v for k, v in locals().items() if k != "self"}
        self.raw["weekdays"] = weekdays or []

    def common(self) -> dict[str, Any]:
        r = self.raw
        data: dict[str, Any] = {
            "recurrence": _recurrence(r["freq"], r["windows"], r["weekdays"], r["month_day"]),
            "team_id": _int(r["team_id"]),
            "ends_on": r["ends_on"] or None,
            "grace_minutes": r["grace_minutes"] or 0,
            "min_photos": r["min_photos"] or 0,
            "tolerance_m": r["tolerance_m"] or 0,
            "sample_rate": _share(r["sample_rate"]),
            "active": r["active"] == "on",
            "name": r["name"],
        }
        if r["area_code"].strip():
            data["area_code"] = r["area_code"].strip()
        elif r["geometry"].strip():
            try:
                data["geometry"] = json.loads(r["geometry"])
            except ValueError as exc:
                raise Invalid(f"The work area is not valid GeoJSON: {exc}.") from exc
            data["crs"] = r["crs"]
        return data


@router.get("/workorders/plans/new", response_class=HTMLResponse)
def new_plan(request: Request, session: DbSession, user: Manager) -> HTMLResponse:
    today = local_day(clock.now(), tz_of(request))
    form = {
        "starts_on": today.isoformat(),
        "active": "on",
        "sample_rate": "10",
        "min_photos": "1",
        "tolerance_m": "50",
        "grace_minutes": "30",
        "freq": "daily",
        "task_type": "sweep",
        "crs": "wgs84",
    }
    return render(
        request, "workorders/plan_form.html", _form_context(request, session, user, None, form, None)
    )


@router.post("/workorders/plans/new", response_class=HTMLResponse)
def create_plan(
    request: Request, session: DbSession, user: Manager, form: Annotated[PlanForm, Depends()]
) -> Any:
    try:
        data = form.common()
        data.update(task_type=form.raw["task_type"], starts_on=form.raw["starts_on"])
        with session.begin_nested():
            plans.create_plan(session, user, PlanCreate.model_validate(data), client_ip=client_ip(request))
    except ValidationError as exc:
        return _form_error(request, session, user, None, form, _problem_text(exc))
    except DomainError as exc:
        return _form_error(request, session, user, None, form, exc.detail)
    return RedirectResponse("/workorders?saved=1#plans", status_code=303)


def _form_error(
    request: Request, session: Any, user: User, plan: WorkPlan | None, form: PlanForm, message: str
) -> HTMLResponse:
    ctx = _form_context(
        request, session, user, plan, form.raw, t(request, "The plan was not saved:") + " " + message
    )
    return render(request, "workorders/plan_form.html", ctx, status_code=422)


@router.get("/workorders/plans/{plan_id}", response_class=HTMLResponse)
def edit_plan(
    request: Request, session: DbSession, user: Manager, plan_id: Annotated[int, PathParam(ge=1)]
) -> HTMLResponse:
    plan = plans.visible_plan(session, user, plan_id)
    rec = plan.recurrence
    form = {
        "name": plan.name,
        "task_type": plan.task_type,
        "area_code": plan.area_code or "",
        "geometry": "" if plan.area_code else json.dumps(plan.geometry, ensure_ascii=False),
        "crs": "wgs84",
        "team_id": str(plan.team_id or ""),
        "freq": rec["freq"],
        "weekdays": [str(d) for d in rec.get("weekdays") or []],
        "month_day": str(rec.get("month_day") or ""),
        "starts_on": plan.starts_on.isoformat(),
        "ends_on": plan.ends_on.isoformat() if plan.ends_on else "",
        "grace_minutes": str(plan.grace_minutes),
        "min_photos": str(plan.min_photos),
        "tolerance_m": f"{plan.tolerance_m:g}",
        "sample_rate": f"{plan.sample_rate * 100:g}",
        "active": "on" if plan.active else "",
        "version": str(plan.version),
    }
    return render(
        request, "workorders/plan_form.html", _form_context(request, session, user, plan, form, None)
    )


@router.post("/workorders/plans/{plan_id}", response_class=HTMLResponse)
def save_plan(
    request: Request,
    session: DbSession,
    user: Manager,
    plan_id: Annotated[int, PathParam(ge=1)],
    form: Annotated[PlanForm, Depends()],
) -> Any:
    plan = plans.visible_plan(session, user, plan_id)
    try:
        data = form.common()
        data["version"] = _int(form.raw["version"]) or 0
        with session.begin_nested():
            plans.update_plan(
                session, user, plan_id, PlanUpdate.model_validate(data), client_ip=client_ip(request)
            )
    except ValidationError as exc:
        return _form_error(request, session, user, plan, form, _problem_text(exc))
    except DomainError as exc:
        if exc.status_code == 409:
            raise
        return _form_error(request, session, user, plan, form, exc.detail)
    return RedirectResponse("/workorders?saved=1#plans", status_code=303)


@router.get("/workorders/{order_id}", response_class=HTMLResponse)
def order_page(
    request: Request, session: DbSession, user: Reader, order_id: Annotated[int, PathParam(ge=1)]
) -> HTMLResponse:
    """One order: area, evidence, timeline, and the check buttons for a supervisor."""
    order = service.visible_order(session, user, order_id)
    detail = views.order_detail(session, user, order, clock.now(), "wgs84")
    return render(request, "workorders/order.html", {**_labels(request), "o": detail})


@router.post("/workorders/{order_id}/{action}", response_class=HTMLResponse)
def order_action(
    request: Request,
    session: DbSession,
    user: Manager,
    order_id: Annotated[int, PathParam(ge=1)],
    action: Annotated[str, PathParam(pattern="^(pass_check|fail_check|cancel)$")],
    version: Annotated[int, Form(ge=1)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    """The console's check and cancel buttons (the same service as the API)."""
    form = OrderActionForm(version=version, note=note or None)
    service.perform_action(session, user, order_id, action, form, client_ip=client_ip(request))
    return RedirectResponse(f"/workorders/{order_id}", status_code=303)


@router.get("/m/workorders", response_class=HTMLResponse)
def mobile(request: Request, session: DbSession, user: Reader) -> HTMLResponse:
    """Today's orders of the worker (their own and their team's), with start and done on the phone."""
    tz, now = tz_of(request), clock.now()
    today = local_day(now, tz)
    filters = OrderFilters(date_from=today, date_to=today, page_size=100)
    rows, _, _ = repository.list_orders(session, user, filters, now=now, tz=tz)
    items = views.list_items(session, rows, now)
    return render(
        request,
        "workorders/mobile.html",
        {
            **_labels(request),
            "orders": items,
            "today": today,
            "now": now,
            "can_do": user.has("workorders:do"),
            "min_photos": {o.id: o.min_photos for o in rows},
        },
    )
