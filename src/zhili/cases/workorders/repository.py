"""Work-order queries. `order_scope` is the one home of row scope for orders, `plan_scope` for plans.

A field worker bound to a staff member sees the orders of their own team and those assigned to them;
a department's staff (handlers, field workers without a staff binding) see their department's; a
user limited to streets sees those streets'; the oversight roles see the district.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, false, func, or_, select, true
from sqlalchemy.orm import Session

from zhili.cases.workorders.models import WorkOrder, WorkOrderActivity, WorkOrderEvidence, WorkPlan
from zhili.cases.workorders.recurrence import day_start
from zhili.cases.workorders.schemas import OrderFilters
from zhili.cases.workorders.states import OPEN
from zhili.identity.scope import department_scoped, street_codes_for
from zhili.org.models import Department, Staff, Team

if TYPE_CHECKING:
    from zhili.identity.models import User

_OPEN = [s.value for s in OPEN]


def staff_team_id(session: Session, staff_id: int | None) -> int | None:
    if staff_id is None:
        return None
    return session.scalar(select(Staff.team_id).where(Staff.id == staff_id))


def order_scope(session: Session, user: User) -> Any:
    """The WHERE clause of what `user` may see of work_order."""
    if not user.has("workorders:read"):
        return false()
    clauses: list[Any] = []
    if department_scoped(user):
        if "field_worker" in user.roles and user.staff_id is not None:
            team_id = staff_team_id(session, user.staff_id)
            own = WorkOrder.assignee_staff_id == user.staff_id
            clauses.append(or_(own, WorkOrder.team_id == team_id) if team_id is not None else own)
        else:
            dept = user.department_id
            clauses.append(WorkOrder.department_id == dept if dept is not None else false())
    streets = street_codes_for(user)
    if streets is not None:
        clauses.append(WorkOrder.street_code.in_(streets))
    return and_(*clauses) if clauses else true()


def plan_scope(user: User) -> Any:
    """The WHERE clause of what `user` may see of work_plan (a department's staff: their department's)."""
    if not user.has("workorders:read"):
        return false()
    clauses: list[Any] = []
    if department_scoped(user):
        dept = user.department_id
        clauses.append(WorkPlan.department_id == dept if dept is not None else false())
    streets = street_codes_for(user)
    if streets is not None:
        clauses.append(WorkPlan.street_code.in_(streets))
    return and_(*clauses) if clauses else true()


def get_order_visible(session: Session, user: User, order_id: int) -> WorkOrder | None:
    return session.scalars(
        select(WorkOrder).where(WorkOrder.id == order_id, order_scope(session, user))
    ).one_or_none()


def get_plan_visible(session: Session, user: User, plan_id: int) -> WorkPlan | None:
    return session.scalars(select(WorkPlan).where(WorkPlan.id == plan_id, plan_scope(user))).one_or_none()


def list_plans(session: Session, user: User, *, active_only: bool = False) -> Sequence[WorkPlan]:
    stmt = select(WorkPlan).where(plan_scope(user)).order_by(WorkPlan.street_code, WorkPlan.id)
    if active_only:
        stmt = stmt.where(WorkPlan.active.is_(True))
    return session.scalars(stmt).all()


def active_plans(session: Session) -> Sequence[WorkPlan]:
    """Unscoped: for the generation job."""
    return session.scalars(select(WorkPlan).where(WorkPlan.active.is_(True)).order_by(WorkPlan.id)).all()


def window_starts(
    session: Session, plan_ids: Sequence[int], start: datetime, end: datetime
) -> set[tuple[int, Any]]:
    """(plan id, window start) of the orders already generated in [start, end)."""
    rows = session.execute(
        select(WorkOrder.plan_id, WorkOrder.window_start).where(
            WorkOrder.plan_id.in_(plan_ids), WorkOrder.window_start >= start, WorkOrder.window_start < end
        )
    )
    return {(pid, ws) for pid, ws in rows}


def missed_clause(now: datetime) -> Any:
    return and_(WorkOrder.status.in_(_OPEN), WorkOrder.due_at < now)


def apply_filters(stmt: Select[Any], f: OrderFilters, *, now: datetime, tz: ZoneInfo) -> Select[Any]:
    if f.date_from is not None:
        stmt = stmt.where(WorkOrder.window_start >= day_start(f.date_from, tz))
    if f.date_to is not None:
        stmt = stmt.where(WorkOrder.window_start < day_start(f.date_to + timedelta(days=1), tz))
    if f.status:
        stored = [s for s in f.status if s != "missed"]
        parts: list[Any] = []
        if stored:
            # An open order past its due instant is missed, not planned/in progress any more.
            parts.append(
                and_(
                    WorkOrder.status.in_(stored),
                    or_(WorkOrder.status.not_in(_OPEN), WorkOrder.due_at >= now),
                )
            )
        if "missed" in f.status:
            parts.append(missed_clause(now))
        stmt = stmt.where(or_(*parts))
    if f.team_id is not None:
        stmt = stmt.where(WorkOrder.team_id == f.team_id)
    if f.department_id is not None:
        stmt = stmt.where(WorkOrder.department_id == f.department_id)
    if f.plan_id is not None:
        stmt = stmt.where(WorkOrder.plan_id == f.plan_id)
    if f.street_code:
        stmt = stmt.where(WorkOrder.street_code == f.street_code)
    if f.task_type:
        stmt = stmt.where(WorkOrder.task_type == f.task_type)
    if f.sampled is not None:
        stmt = stmt.where(WorkOrder.sampled.is_(f.sampled))
    return stmt


def list_orders(
    session: Session, user: User, f: OrderFilters, *, now: datetime, tz: ZoneInfo
) -> tuple[Sequence[WorkOrder], bool, int]:
    """One page of the orders `user` may see, earliest window first; (rows, has_more, total)."""
    stmt = apply_filters(select(WorkOrder).where(order_scope(session, user)), f, now=now, tz=tz)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(WorkOrder.window_start, WorkOrder.id)
        .offset((f.page - 1) * f.page_size)
        .limit(f.page_size + 1)
    ).all()
    return rows[: f.page_size], len(rows) > f.page_size, total


def team_names(session: Session, team_ids: Sequence[int | None]) -> dict[int, str]:
    ids = sorted({t for t in team_ids if t is not None})
    if not ids:
        return {}
    return dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(ids))).all())


def teams_for(session: Session, department_ids: Sequence[int] | None) -> Sequence[Team]:
    stmt = select(Team).order_by(Team.code)
    if department_ids is not None:
        stmt = stmt.where(Team.department_id.in_(department_ids))
    return session.scalars(stmt).all()


def staff_of_team(session: Session, team_id: int) -> Sequence[Staff]:
    return session.scalars(select(Staff).where(Staff.team_id == team_id, Staff.active.is_(True))).all()


def staff_row(session: Session, staff_id: int) -> Staff | None:
    return session.get(Staff, staff_id)


def team_row(session: Session, team_id: int) -> Team | None:
    return session.get(Team, team_id)


def department_row(session: Session, department_id: int) -> Department | None:
    return session.get(Department, department_id)


def activities_of(session: Session, order_id: int) -> Sequence[WorkOrderActivity]:
    return session.scalars(
        select(WorkOrderActivity).where(WorkOrderActivity.order_id == order_id).order_by(WorkOrderActivity.id)
    ).all()


def evidence_of(session: Session, order_id: int) -> Sequence[WorkOrderEvidence]:
    return session.scalars(
        select(WorkOrderEvidence).where(WorkOrderEvidence.order_id == order_id).order_by(WorkOrderEvidence.id)
    ).all()


def undrawn_done(
    session: Session, until: datetime, *, department_id: int | None = None
) -> Sequence[tuple[int, int, float]]:
    """(order id, plan id, the plan's sample rate) of done orders never drawn, done before `until`, by id."""
    stmt = (
        select(WorkOrder.id, WorkOrder.plan_id, WorkPlan.sample_rate)
        .join(WorkPlan, WorkPlan.id == WorkOrder.plan_id)
        .where(WorkOrder.status == "done", WorkOrder.drawn_at.is_(None), WorkOrder.done_at < until)
        .order_by(WorkOrder.id)
    )
    if department_id is not None:
        stmt = stmt.where(WorkOrder.department_id == department_id)
    return session.execute(stmt).all()


def summary_rows(
    session: Session, user: User, date_from: date, date_to: date, *, now: datetime, tz: ZoneInfo
) -> list[dict[str, Any]]:
    """Per department and team over local days [from, to]: planned, on time, late, missed, pending, checks."""

    def count_if(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    live = WorkOrder.status != "cancelled"
    stmt = (
        select(
            WorkOrder.department_id,
            Department.name,
            WorkOrder.team_id,
            Team.name,
            count_if(live).label("planned"),
            count_if(and_(live, WorkOrder.done_at.is_not(None), WorkOrder.done_at <= WorkOrder.due_at)),
            count_if(and_(live, WorkOrder.done_at > WorkOrder.due_at)),
            count_if(missed_clause(now)),
            count_if(and_(WorkOrder.status.in_(_OPEN), WorkOrder.due_at >= now)),
            func.sum(WorkOrder.check_count),
            func.sum(WorkOrder.check_fail_count),
        )
        .join(Department, Department.id == WorkOrder.department_id)
        .outerjoin(Team, Team.id == WorkOrder.team_id)
        .where(
            order_scope(session, user),
            WorkOrder.window_start >= day_start(date_from, tz),
            WorkOrder.window_start < day_start(date_to + timedelta(days=1), tz),
        )
        .group_by(WorkOrder.department_id, Department.name, WorkOrder.team_id, Team.name)
        .order_by(Department.name, Team.name)
    )
    out: list[dict[str, Any]] = []
    for (
        dept_id,
        dept_name,
        team_id,
        team_name,
        planned,
        on_time,
        late,
        missed,
        pending,
        checks,
        fails,
    ) in session.execute(stmt):
        checks, fails = int(checks or 0), int(fails or 0)
        on_time, late = int(on_time or 0), int(late or 0)
        due = on_time + late + int(missed or 0)
        out.append(
            {
                "department_id": dept_id,
                "department_name": dept_name,
                "team_id": team_id,
                "team_name": team_name,
                "planned": int(planned or 0),
                "done_on_time": on_time,
                "late": late,
                "missed": int(missed or 0),
                "pending": int(pending or 0),
                "checks": checks,
                "checks_passed": checks - fails,
                "check_pass_rate": round((checks - fails) / checks, 4) if checks else None,
                "on_time_rate": round(on_time / due, 4) if due else None,
            }
        )
    return out
