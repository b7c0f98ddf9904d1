"""Work-order actions: the one entry point for an action on an order, its handlers, timeline and audit.

Every action goes through `perform_action`: find the order in the user's scope, check the version
(409 when stale), check the transition table (409 listing the allowed actions) and the permission and
object rule (403), run the action's handler (which validates everything before it changes anything),
then `_finish` writes the status, the timeline row and the audit entry (audit last). Reuses the case
engine's `Actor`, `require_evidence` and `audit_transition`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from zhili.cases.service.timeline import Actor, audit_transition, require_evidence
from zhili.cases.workorders import repository
from zhili.cases.workorders.models import WorkOrder, WorkOrderActivity, WorkOrderEvidence, WorkPlan
from zhili.cases.workorders.plans import distance_to_area, resolve_who
from zhili.cases.workorders.schemas import OrderActionForm
from zhili.cases.workorders.states import OrderAction, Transition, actions_from, transition
from zhili.core import clock, geo
from zhili.core.errors import Conflict, Invalid, NotFound, NotPermitted
from zhili.evidence import service as evidence_service
from zhili.identity.scope import department_scoped

if TYPE_CHECKING:
    from zhili.identity.models import User

# --- orders: who may act --------------------------------------------------------------------------


def object_rule(session: Session, user: User, order: WorkOrder, tr: Transition) -> str | None:
    """Why this user may not act on this order in this way (None: they may)."""
    if tr.permission == "workorders:do" and user.staff_id is not None and department_scoped(user):
        team_id = repository.staff_team_id(session, user.staff_id)
        if order.assignee_staff_id != user.staff_id and (order.team_id is None or order.team_id != team_id):
            return "This work order is assigned to another team or person."
    if tr.action in (OrderAction.pass_check, OrderAction.fail_check) and order.done_by_user_id == user.id:
        return "Whoever did the work cannot check it."
    return None


def _why_not(session: Session, user: User, order: WorkOrder, tr: Transition) -> str | None:
    if not user.has(tr.permission):
        return f"This needs the permission '{tr.permission}'."
    return object_rule(session, user, order, tr)


def allowed_actions_for(session: Session, user: User, order: WorkOrder) -> list[OrderAction]:
    return [tr.action for tr in actions_from(order.status) if _why_not(session, user, order, tr) is None]


def ensure_can(session: Session, user: User, order: WorkOrder, action: OrderAction) -> Transition:
    tr = transition(order.status, action)
    if tr is None:
        raise Conflict(
            f"'{action.value}' is not possible while work order {order.id} is {order.status}.",
            order_status=order.status,
            allowed_actions=allowed_actions_for(session, user, order),
        )
    reason = _why_not(session, user, order, tr)
    if reason is not None:
        raise NotPermitted(
            reason, order_status=order.status, allowed_actions=allowed_actions_for(session, user, order)
        )
    return tr


def visible_order(session: Session, user: User, order_id: int) -> WorkOrder:
    """The order if the user may see it; 404 otherwise (also when it does not exist)."""
    order = repository.get_order_visible(session, user, order_id)
    if order is None:
        raise NotFound(f"No work order {order_id} that you may see.")
    return order


# --- orders: the actions --------------------------------------------------------------------------


@dataclass
class Outcome:
    note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ctx:
    session: Session
    actor: Actor
    order: WorkOrder
    now: datetime


def _position(ctx: Ctx, form: OrderActionForm, action: str) -> tuple[float, float, float]:
    """The worker's WGS-84 position and its distance to the work area; 422 when off site."""
    if form.lon is None or form.lat is None:
        raise Invalid(
            f"'{action}' needs your position ('lon', 'lat' in 'crs'): allow location on your phone.",
            errors=[{"loc": ["lon"], "msg": "required"}, {"loc": ["lat"], "msg": "required"}],
        )
    geo.check_lonlat(form.lon, form.lat)
    lon, lat = (float(v) for v in geo.to_wgs84(form.lon, form.lat, form.crs))
    plan = ctx.session.get(WorkPlan, ctx.order.plan_id)
    assert plan is not None
    d = distance_to_area(plan.geometry, lon, lat)
    tolerance = ctx.order.tolerance_m
    if d > tolerance:
        raise Invalid(
            f"You are {d:.0f} m from the work area; '{action}' must be done on site "
            f"(within {tolerance:.0f} m).",
            distance_m=round(d, 1),
            tolerance_m=tolerance,
            errors=[{"loc": ["lon"], "msg": f"{d:.0f} m from the work area"}],
        )
    return lon, lat, d


def _attach_evidence(ctx: Ctx, shas: list[str], stage: str) -> None:
    """Record the checked uploads as the order's evidence of `stage` ("done" or "check")."""
    for sha in shas:
        ctx.session.add(
            WorkOrderEvidence(
                order_id=ctx.order.id,
                sha256=sha,
                stage=stage,
                added_at=ctx.now,
                added_by_user_id=ctx.actor.user_id,
            )
        )


def start_order(ctx: Ctx, form: OrderActionForm) -> Outcome:
    """开始作业: on site (within the tolerance of the work area)."""
    lon, lat, d = _position(ctx, form, "start")
    ctx.order.started_at = ctx.now
    return Outcome(form.note, {"lon": round(lon, 7), "lat": round(lat, 7), "distance_m": round(d, 1)})


def complete_order(ctx: Ctx, form: OrderActionForm) -> Outcome:
    """完成作业: enough photos, uploaded, taken on site (EXIF GPS when the photo has it), worker on site."""
    order = ctx.order
    shas = require_evidence(ctx.session, form.evidence)
    if len(shas) < order.min_photos:
        raise Invalid(
            f"This work order needs at least {order.min_photos} photo(s) taken on site; {len(shas)} given.",
            errors=[{"loc": ["evidence"], "msg": f"at least {order.min_photos} photo(s)"}],
        )
    lon, lat, d = _position(ctx, form, "complete")
    plan = ctx.session.get(WorkPlan, order.plan_id)
    assert plan is not None
    for sha in shas:
        ev = evidence_service.get_evidence(ctx.session, sha)
        if not ev.mime.startswith("image/"):
            raise Invalid(f"Evidence {sha[:12]}… is a {ev.mime}, not a photo.")
        if ev.gps_lon is not None and ev.gps_lat is not None:
            pd = distance_to_area(plan.geometry, ev.gps_lon, ev.gps_lat)
            if pd > order.tolerance_m:
                raise Invalid(
                    f"Photo {sha[:12]}… was taken {pd:.0f} m from the work area (its EXIF GPS); "
                    f"photos must be taken on site (within {order.tolerance_m:.0f} m).",
                    distance_m=round(pd, 1),
                    errors=[{"loc": ["evidence"], "msg": f"photo taken {pd:.0f} m away"}],
                )
    _attach_evidence(ctx, shas, "done")
    order.done_at, order.done_by_user_id = ctx.now, ctx.actor.user_id
    order.done_lon, order.done_lat, order.done_distance_m = lon, lat, round(d, 1)
    late = ctx.now > order.due_at
    return Outcome(form.note, {"evidence": shas, "distance_m": round(d, 1), "late": late})


def _check(ctx: Ctx, form: OrderActionForm, passed: bool) -> Outcome:
    shas = require_evidence(ctx.session, form.evidence)
    if not passed and not form.note:
        raise Invalid("Say what was not done in 'note': the team reads it before the redo.")
    order = ctx.order
    order.checked_at, order.checked_by_user_id, order.check_passed = ctx.now, ctx.actor.user_id, passed
    order.check_count += 1
    if not passed:
        order.check_fail_count += 1
    _attach_evidence(ctx, shas, "check")
    return Outcome(form.note, {"passed": passed, "evidence": shas})


def pass_check(ctx: Ctx, form: OrderActionForm) -> Outcome:
    """核查通过."""
    return _check(ctx, form, True)


def fail_check(ctx: Ctx, form: OrderActionForm) -> Outcome:
    """核查不通过: back to the team as a redo (the first completion time is kept for the record)."""
    return _check(ctx, form, False)


def reassign_order(ctx: Ctx, form: OrderActionForm) -> Outcome:
    """改派 to another team and/or person of the same department."""
    order = ctx.order
    if form.team_id is None and form.assignee_staff_id is None:
        raise Invalid("'reassign' needs 'team_id' or 'assignee_staff_id'.")
    user = ctx.actor.user
    assert user is not None
    before = {"team_id": order.team_id, "assignee_staff_id": order.assignee_staff_id}
    _, team_id, staff_id = resolve_who(
        ctx.session, user, order.department_id, form.team_id, form.assignee_staff_id
    )
    order.team_id, order.assignee_staff_id = team_id, staff_id
    return Outcome(form.note, {"from": before, "team_id": team_id, "assignee_staff_id": staff_id})


def cancel_order(ctx: Ctx, form: OrderActionForm) -> Outcome:
    """取消 (e.g. a typhoon day): not counted against the team; the reason goes in the note."""
    if not form.note:
        raise Invalid("Say why the work order is cancelled in 'note'.")
    return Outcome(form.note)


HANDLERS: dict[OrderAction, Callable[[Ctx, OrderActionForm], Outcome]] = {
    OrderAction.start: start_order,
    OrderAction.complete: complete_order,
    OrderAction.pass_check: pass_check,
    OrderAction.fail_check: fail_check,
    OrderAction.reassign: reassign_order,
    OrderAction.cancel: cancel_order,
}


def record_activity(
    session: Session,
    actor: Actor,
    order: WorkOrder,
    action: str,
    from_status: str | None,
    now: datetime,
    outcome: Outcome | None = None,
) -> WorkOrderActivity:
    activity = WorkOrderActivity(
        order_id=order.id,
        at=now,
        action=action,
        from_status=from_status,
        to_status=order.status,
        actor_user_id=actor.user_id,
        actor_name=actor.name,
        note=outcome.note if outcome else None,
        data=(outcome.data or None) if outcome else None,
    )
    session.add(activity)
    return activity


def _finish(
    session: Session, actor: Actor, order: WorkOrder, tr: Transition, outcome: Outcome, now: datetime
) -> None:
    before = {"status": order.status, "version": order.version}
    order.status = tr.target.value
    order.updated_at = now
    record_activity(session, actor, order, tr.action.value, tr.source.value, now, outcome)
    session.flush()
    audit_transition(session, actor, "workorders", tr, "work_order", order.id, before, order.status, outcome)


def perform_action(
    session: Session,
    user: User,
    order_id: int,
    action: OrderAction | str,
    form: OrderActionForm,
    *,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> WorkOrder:
    """THE entry point for a user's action on a work order (API and pages)."""
    try:
        act = OrderAction(action)
    except ValueError as exc:
        raise NotFound(f"Unknown work-order action {action!r}.") from exc
    order = visible_order(session, user, order_id)
    if form.version != order.version:
        raise Conflict(
            f"Work order {order_id} has changed since you read it (your version {form.version}, "
            f"now {order.version}); reload and try again.",
            current_version=order.version,
        )
    tr = ensure_can(session, user, order, act)
    now = now or clock.now()
    ctx = Ctx(session, Actor(user, client_ip), order, now)
    outcome = HANDLERS[act](ctx, form)
    _finish(session, ctx.actor, order, tr, outcome, now)
    return order
