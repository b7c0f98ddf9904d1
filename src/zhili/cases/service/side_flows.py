"""Side flows: extension (延期), suspension (挂账), resumption, appeal (超时申诉), urge (督办), cancel, merge.

The department asks (request_extension, request_suspension, appeal) and the centre decides
(approve_extension, suspend, approve_appeal, reject_request); one request waits at a time.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from zhili.cases import repository, visibility
from zhili.cases.events import CaseUrged
from zhili.cases.models import CasePause, CaseRecord
from zhili.cases.schemas import ActionFields
from zhili.cases.service.context import ActionContext, close_tasks, need
from zhili.cases.service.timeline import Outcome, write_activity
from zhili.cases.states import CaseStatus, is_terminal
from zhili.core import geo
from zhili.core.errors import Invalid

if TYPE_CHECKING:
    from zhili.cases.config import CaseConfig
    from zhili.identity.models import User


def _clear_pending(case: CaseRecord) -> None:
    case.pending_request = case.pending_payload = case.pending_since = None


def _ask(ctx: ActionContext, kind: str, payload: dict[str, object]) -> None:
    case = ctx.case
    case.pending_request, case.pending_since = kind, ctx.now
    case.pending_payload = {**payload, "requested_by": ctx.actor.name}


# --- 延期 ------------------------------------------------------------------------------------------


def request_extension(ctx: ActionContext, f: ActionFields) -> Outcome:
    """申请延期: `amount` more units of the handling limit (not once overdue, limited in number)."""
    need(f.amount, "amount", "request_extension")
    need(f.reason, "reason", "request_extension")
    _ask(ctx, "extension", {"amount": f.amount, "unit": ctx.case.handle_unit, "reason": f.reason})
    return Outcome(note=f.note, data={"amount": f.amount, "unit": ctx.case.handle_unit, "reason": f.reason})


def approve_extension(ctx: ActionContext, f: ActionFields) -> Outcome:
    """批准延期: grant the amount asked for (or less, given in `amount`); the deadline moves."""
    case = ctx.case
    asked = float((case.pending_payload or {}).get("amount", 0) or 0)  # type: ignore[arg-type]
    granted = f.amount if f.amount is not None else asked
    if granted <= 0 or granted > asked:
        raise Invalid(f"Grant between 0 and the {asked:g} {case.handle_unit} asked for.")
    case.extended_amount += granted
    case.extension_count += 1
    _clear_pending(case)
    return Outcome(note=f.note, data={"amount": granted, "unit": case.handle_unit}, reclock=True)


# --- 挂账 ------------------------------------------------------------------------------------------


def _until(ctx: ActionContext, f: ActionFields, action: str) -> tuple[datetime, str]:
    until = f.until
    reason = f.reason
    pending = ctx.case.pending_payload if ctx.case.pending_request == "suspension" else None
    if until is None and pending is not None:
        until = datetime.fromisoformat(str(pending["until"]))
    if reason is None and pending is not None:
        reason = str(pending.get("reason") or "")
    need(until, "until", action)
    need(reason, "reason", action)
    assert until is not None and reason is not None
    if until.tzinfo is None:
        raise Invalid("'until' needs a time zone (e.g. 2026-12-01T09:00:00+08:00).")
    limit = ctx.cfg.rules.max_suspension_days
    if not ctx.now < until <= ctx.now + timedelta(days=limit):
        raise Invalid(f"'until' must lie in the future and within {limit} days.")
    return until, reason


def request_suspension(ctx: ActionContext, f: ActionFields) -> Outcome:
    """申请挂账: the work cannot be done now (e.g. waits for the season); the centre decides."""
    until, reason = _until(ctx, f, "request_suspension")
    _ask(ctx, "suspension", {"until": until.isoformat(), "reason": reason})
    return Outcome(note=f.note, data={"until": until.isoformat(), "reason": reason})


def suspend_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """挂账: the handling clock stops until `until` (or the request's date), then resumes by itself."""
    until, reason = _until(ctx, f, "suspend")
    case = ctx.case
    case.suspension_count += 1
    case.suspended_until = until
    _clear_pending(case)
    ctx.session.add(CasePause(case_id=case.id, started_at=ctx.now, until_at=until, reason=reason))
    return Outcome(note=f.note, data={"until": until.isoformat(), "reason": reason})


def resume_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """恢复: the clock runs again; the deadline moves by the paused time."""
    case = ctx.case
    pause = repository.open_pause(ctx.session, case.id)
    if pause is not None:
        pause.resumed_at = ctx.now
    case.suspended_until = None
    paused_s = (ctx.now - pause.started_at).total_seconds() if pause is not None else 0.0
    return Outcome(note=f.note, data={"paused_seconds": round(paused_s)}, reclock=True)


# --- 超时申诉, 驳回 ---------------------------------------------------------------------------------


def appeal_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """超时申诉: the department asks that an overdue verdict not count (e.g. a typhoon)."""
    need(f.reason, "reason", "appeal")
    ctx.case.appeal_status = "pending"
    _ask(ctx, "appeal", {"reason": f.reason})
    return Outcome(note=f.note, data={"reason": f.reason})


def approve_appeal(ctx: ActionContext, f: ActionFields) -> Outcome:
    """Approved: the case leaves the overdue figures; its timestamps still show it was late."""
    ctx.case.appeal_status = "approved"
    _clear_pending(ctx.case)
    return Outcome(note=f.note)


def reject_request(ctx: ActionContext, f: ActionFields) -> Outcome:
    need(f.reason, "reason", "reject_request")
    case = ctx.case
    kind = case.pending_request
    if kind == "appeal":
        case.appeal_status = "rejected"
    _clear_pending(case)
    return Outcome(note=f.note, data={"request": kind, "reason": f.reason})


# --- 督办, 作废, 合并 -------------------------------------------------------------------------------


def urge_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """督办: the centre presses the department (or the post) holding the case."""
    case = ctx.case
    case.urge_count += 1
    return Outcome(
        note=f.note or f.reason,
        data={"urge_count": case.urge_count},
        events=[CaseUrged(case_id=case.id, number=case.number, department_id=case.department_id)],
    )


def _end(ctx: ActionContext) -> None:
    case = ctx.case
    case.ended_at = ctx.now
    _clear_pending(case)
    if case.status == CaseStatus.suspended:
        pause = repository.open_pause(ctx.session, case.id)
        if pause is not None:
            pause.resumed_at = ctx.now
        case.suspended_until = None
    close_tasks(ctx.session, case, ctx.now)


def cancel_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """作废: recorded in error, or withdrawn; kept, never deleted."""
    need(f.reason, "reason", "cancel")
    _end(ctx)
    return Outcome(note=f.note, data={"reason": f.reason})


def merge_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """合并 a duplicate into the case `target_number` (same class, still open, visible to the user)."""
    need(f.target_number, "target_number", "merge")
    case = ctx.case
    user = ctx.actor.user
    target = (
        repository.get_visible(ctx.session, user, f.target_number or "")
        if user is not None
        else repository.get_by_number(ctx.session, f.target_number or "")
    )
    if target is None:
        raise Invalid(f"No case {f.target_number} that you may see to merge into.")
    if target.id == case.id:
        raise Invalid("A case cannot be merged into itself.")
    if (target.class_kind, target.class_code) != (case.class_kind, case.class_code):
        raise Invalid(f"Case {target.number} is of another class ({target.class_kind} {target.class_code}).")
    if is_terminal(target.status):
        raise Invalid(f"Case {target.number} is {target.status}; merge into an open case.")
    _end(ctx)
    case.merged_into_id = target.id
    target.duplicate_count += 1
    target.updated_at = ctx.now
    write_activity(ctx.session, target.id, ctx.now, "merged_in", target.status, target.status, ctx.actor,
                   f.note, {"duplicate": case.number})
    return Outcome(note=f.note, data={"into": target.number, "reason": f.reason})


def propose_duplicates(
    session: Session, case: CaseRecord, cfg: CaseConfig, *, user: User | None = None
) -> list[tuple[CaseRecord, float]]:
    """Open cases of the same class within the radius and time window, nearest first, with distances.

    With `user`, only cases that user may see are proposed.
    """
    radius = cfg.rules.merge_radius_m
    dlat = radius / 111_000.0 * 1.2
    dlon = dlat / max(0.2, abs(math.cos(math.radians(case.lat))))
    near = repository.near_same_class(
        session,
        case,
        window=timedelta(hours=cfg.rules.merge_window_hours),
        dlat=dlat,
        dlon=dlon,
        scope=visibility.scope_clause(user) if user is not None else None,
    )
    found = [(other, float(geo.distance_m(case.lon, case.lat, other.lon, other.lat))) for other in near]
    return sorted([p for p in found if p[1] <= radius], key=lambda p: p[1])
