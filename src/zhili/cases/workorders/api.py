"""Work-order JSON API: plans (作业计划), their orders (作业工单), actions, check draws, team summary."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request

from zhili.cases.workorders import jobs, plans, repository, service, views
from zhili.cases.workorders.models import WorkPlan
from zhili.cases.workorders.recurrence import local_day
from zhili.cases.workorders.schemas import (
    DrawForm,
    DrawReport,
    GenerateReport,
    OrderActionForm,
    OrderFilters,
    OrderPage,
    OrderRead,
    PlanCreate,
    PlanRead,
    PlanUpdate,
    TeamSummary,
    TeamSummaryRow,
)
from zhili.cases.workorders.states import TABLE, OrderAction
from zhili.core import clock, geo
from zhili.core.errors import Invalid
from zhili.core.web import client_ip
from zhili.identity.deps import CurrentUser, DbSession, require
from zhili.identity.models import User
from zhili.identity.scope import department_id_for

router = APIRouter(tags=["work orders"])

Reader = Annotated[User, Depends(require("workorders:read"))]
Manager = Annotated[User, Depends(require("workorders:manage"))]
CrsParam = Annotated[geo.CRS, Query(description="CRS of coordinates out: wgs84, gcj02 or bd09")]
PlanId = Annotated[int, Path(ge=1)]
OrderId = Annotated[int, Path(ge=1)]


def _action_guard(action: OrderAction, user: CurrentUser) -> User:
    """The route guard: 403 unless the user holds a permission the action can ever need."""
    TABLE.ensure_may_attempt(action, user.has)
    return user


ActionUser = Annotated[User, Depends(_action_guard)]


def plan_read(plan: WorkPlan, crs: geo.CRS) -> PlanRead:
    out = PlanRead.model_validate(plan)
    if crs != "wgs84":
        out.geometry, out.crs = geo.transform_geojson_geometry(plan.geometry, "wgs84", crs), crs
    return out


def tz_of(request: Request) -> ZoneInfo:
    return plans.site_tz(request.app.state.settings.timezone)


@router.get("/work-plans", response_model=list[PlanRead])
def list_plans(session: DbSession, user: Reader, crs: CrsParam = "wgs84") -> list[PlanRead]:
    """The plans the caller may see (a department's staff: their department's)."""
    return [plan_read(p, crs) for p in repository.list_plans(session, user)]


@router.post("/work-plans", response_model=PlanRead, status_code=201)
def create_plan(data: PlanCreate, request: Request, session: DbSession, user: Manager) -> PlanRead:
    """A plan: what, where (`geometry` in `crs`, or `area_code`), who (team or person), when, evidence."""
    return plan_read(plans.create_plan(session, user, data, client_ip=client_ip(request)), "wgs84")


@router.post("/work-plans/generate", response_model=GenerateReport)
def generate(
    request: Request,
    session: DbSession,
    user: Manager,
    days: Annotated[int, Query(ge=1, le=14, description="local days from today")] = 2,
) -> GenerateReport:
    """Generate the missing orders of the caller's plans for the next `days` days (idempotent)."""
    visible = repository.list_plans(session, user, active_only=True)
    created = jobs.generate_orders(
        session, days_ahead=days, plans=visible, tz=tz_of(request), actor=user.username
    )
    return GenerateReport(created=created, days=days)


@router.get("/work-plans/{plan_id}", response_model=PlanRead)
def get_plan(plan_id: PlanId, session: DbSession, user: Reader, crs: CrsParam = "wgs84") -> PlanRead:
    return plan_read(plans.visible_plan(session, user, plan_id), crs)


@router.patch("/work-plans/{plan_id}", response_model=PlanRead)
def update_plan(
    plan_id: PlanId, data: PlanUpdate, request: Request, session: DbSession, user: Manager
) -> PlanRead:
    """Change a plan with the `version` read (409 when stale); orders already generated keep their copy."""
    return plan_read(plans.update_plan(session, user, plan_id, data, client_ip=client_ip(request)), "wgs84")


@router.get("/work-orders", response_model=OrderPage)
def list_orders(
    request: Request, session: DbSession, user: Reader, filters: Annotated[OrderFilters, Query()]
) -> OrderPage:
    """Orders the caller may see; `status=missed` finds those not done by their window end plus grace."""
    now = clock.now()
    rows, has_more, total = repository.list_orders(session, user, filters, now=now, tz=tz_of(request))
    return OrderPage(
        items=views.list_items(session, rows, now),
        page=filters.page,
        page_size=filters.page_size,
        has_more=has_more,
        total=total,
    )


@router.get("/work-orders/summary", response_model=TeamSummary)
def summary(
    request: Request,
    session: DbSession,
    user: Reader,
    date_from: date | None = None,
    date_to: date | None = None,
) -> TeamSummary:
    """Per team over local days [from, to] (default: the last 30): planned, on time, late, missed, checks."""
    tz = tz_of(request)
    now = clock.now()
    date_to = date_to or local_day(now, tz)
    date_from = date_from or date_to - timedelta(days=29)
    if date_from > date_to:
        raise Invalid("'date_from' is after 'date_to'.")
    if (date_to - date_from).days > 366:
        raise Invalid("A summary covers at most 366 days.")
    rows = repository.summary_rows(session, user, date_from, date_to, now=now, tz=tz)
    return TeamSummary(date_from=date_from, date_to=date_to, rows=[TeamSummaryRow(**r) for r in rows])


@router.post("/work-orders/draw-checks", response_model=DrawReport)
def draw_checks(data: DrawForm, request: Request, session: DbSession, user: Manager) -> DrawReport:
    """抽查: draw each plan's share of the done orders not drawn yet (a department's staff: theirs only)."""
    dept = department_id_for(user)
    considered, drawn = jobs.draw_checks(
        session, until=data.until, seed=data.seed, tz=tz_of(request), actor=user.username, department_id=dept
    )
    return DrawReport(considered=considered, drawn=len(drawn), order_ids=drawn)


@router.get("/work-orders/{order_id}", response_model=OrderRead)
def get_order(order_id: OrderId, session: DbSession, user: Reader, crs: CrsParam = "wgs84") -> OrderRead:
    """An order with its work area, evidence rule, timeline, photos and the actions the caller can take."""
    order = service.visible_order(session, user, order_id)
    return views.order_detail(session, user, order, clock.now(), crs)


@router.post(
    "/work-orders/{order_id}/actions/{action}",
    response_model=OrderRead,
    responses={
        403: {"description": "not for your role, team or department"},
        409: {"description": "stale version, or not possible in this state (allowed_actions)"},
        422: {"description": "off site (the distance is in the message), too few photos, …"},
    },
)
def act(
    order_id: OrderId,
    action: OrderAction,
    form: OrderActionForm,
    request: Request,
    session: DbSession,
    user: ActionUser,
    crs: CrsParam = "wgs84",
) -> OrderRead:
    """start / complete (on site: `lon`, `lat`, `crs`; complete: `evidence` photos) / pass_check /
    fail_check (`note`) / reassign (`team_id`, `assignee_staff_id`) / cancel (`note`), with `version`."""
    order = service.perform_action(session, user, order_id, action, form, client_ip=client_ip(request))
    session.flush()
    return views.order_detail(session, user, order, clock.now(), crs)
