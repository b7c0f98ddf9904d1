"""The workflow's main line: verify, register or not accept, dispatch, accept, handle, check, close, rework.

Every action goes through `perform_action`: find the case in the user's scope, check the version,
`rules.ensure_can`, run the action's handler (which validates its input before it changes anything),
then `timeline.finish`. The side flows (extensions, suspensions, appeals, urges, cancel, merge) are in
`side_flows`; what both take from a handler's context is in `context`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from zhili.assets import service as assets_service
from zhili.cases import repository
from zhili.cases.config import CaseConfig
from zhili.cases.events import CaseClosed
from zhili.cases.models import CaseRecord, CaseStandard, CaseTask
from zhili.cases.schemas import ActionFields
from zhili.cases.service import deadlines, rules, side_flows
from zhili.cases.service.context import ActionContext, Handler, close_tasks, need
from zhili.cases.service.timeline import Actor, Outcome, attach_evidence, finish, require_evidence
from zhili.cases.states import CaseAction
from zhili.core import clock
from zhili.core.errors import Conflict, Invalid, NotFound
from zhili.org import repository as org_repository

if TYPE_CHECKING:
    from zhili.identity.models import User


def _finish_task(ctx: ActionContext, kind: str, outcome: bool) -> None:
    task = repository.open_task(ctx.session, ctx.case.id, kind)
    if task is not None:
        task.status, task.done_at, task.outcome = "done", ctx.now, outcome
        task.done_by_user_id = ctx.actor.user_id


def open_task(ctx: ActionContext, kind: str, due_at: datetime) -> CaseTask:
    """Send a verify or check task to the inspector of the case's responsibility grid."""
    task = CaseTask(
        case_id=ctx.case.id,
        kind=kind,
        status="open",
        assignee_staff_id=ctx.case.grid_inspector_staff_id,
        responsibility_grid_code=ctx.case.responsibility_grid_code,
        created_at=ctx.now,
        due_at=due_at,
    )
    ctx.session.add(task)
    return task


def _staff_id(ctx: ActionContext) -> int | None:
    return ctx.actor.user.staff_id if ctx.actor.user is not None else None


# --- 核实, 立案, 不予立案 ----------------------------------------------------------------------------


def verify_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """核实: the inspector has looked on site; `confirmed` says whether the problem is there."""
    need(f.confirmed, "confirmed", "verify")
    shas = require_evidence(ctx.session, f.evidence)
    _finish_task(ctx, "verify", bool(f.confirmed))  # its query first: the case's new state is flushed once
    case = ctx.case
    case.verified_at, case.verify_confirmed = ctx.now, f.confirmed
    case.verified_by_staff_id = _staff_id(ctx)
    case.stage_started_at = ctx.now
    attach_evidence(ctx.session, case, shas, "verify", ctx.actor, ctx.now)
    return Outcome(note=f.note, data={"confirmed": f.confirmed, "evidence": shas}, reclock=True)


def _standard_for(ctx: ActionContext, standard_id: int) -> CaseStandard:
    standard = ctx.session.get(CaseStandard, standard_id)
    if standard is None or not standard.active:
        raise Invalid(f"No active case standard row with id {standard_id}.")
    case = ctx.case
    if (standard.class_kind, standard.class_code) != (case.class_kind, case.class_code):
        raise Invalid(
            f"Standard row {standard_id} is for {standard.class_kind} class {standard.class_code}, "
            f"not for this case's {case.class_kind} class {case.class_code}."
        )
    return standard


def register_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """立案 on a 立案条件 row: the row's limits are copied onto the case; the dispatch clock starts."""
    need(f.standard_id, "standard_id", "register")
    assert f.standard_id is not None
    standard = _standard_for(ctx, f.standard_id)
    case = ctx.case
    case.standard_id = standard.id
    case.dispatch_limit, case.dispatch_unit = standard.dispatch_limit, standard.dispatch_unit
    case.handle_limit, case.handle_unit = standard.handle_limit, standard.handle_unit
    case.check_limit, case.check_unit = standard.check_limit, standard.check_unit
    case.after_photo_required = standard.after_photo_required
    case.registered_at, case.registered_by_user_id = ctx.now, ctx.actor.user_id
    case.stage_started_at = ctx.now
    return Outcome(
        note=f.note,
        reclock=True,
        data={"standard_id": standard.id, "register_condition": standard.register_condition},
    )


def not_accept_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """不予立案: the report does not meet any 立案条件 (or the inspector found nothing)."""
    need(f.reason, "reason", "not_accept")
    ctx.case.ended_at = ctx.now
    close_tasks(ctx.session, ctx.case, ctx.now)
    return Outcome(note=f.note, data={"reason": f.reason})


# --- 派遣, 签收, 处置, 回退 -------------------------------------------------------------------------


def suggest_department(session: Session, case: CaseRecord) -> int | None:
    """The area rule for the class in the case's street, else the standard row's department."""
    rule = repository.dispatch_rule_for(session, case.class_kind, case.class_code, case.street_code)
    if rule is not None:
        return rule.department_id
    if case.standard_id is not None:
        standard = session.get(CaseStandard, case.standard_id)
        return standard.department_id if standard is not None else None
    return None


def dispatch_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """派遣 to a handling department (default: the suggested one); the handling clock starts."""
    case = ctx.case
    suggested = suggest_department(ctx.session, case)
    department_id = f.department_id if f.department_id is not None else suggested
    if department_id is None:
        raise Invalid("No department is suggested for this case: name one in 'department_id'.")
    department = org_repository.get_department(ctx.session, department_id)
    if department is None or not department.active or not department.handles_cases:
        raise Invalid(f"Department {department_id} does not exist, is inactive or does not handle cases.")
    if case.handle_limit is None:  # registered cases always carry it; older data might not
        raise Conflict("The case has no handling limit: register it on a standard row first.")
    case.department_id = department_id
    case.dispatched_at = ctx.now
    case.first_dispatched_at = case.first_dispatched_at or ctx.now
    case.dispatched_by_user_id = ctx.actor.user_id
    case.accepted_at = None
    case.handle_started_at = ctx.now
    case.extended_amount = 0.0
    return Outcome(
        note=f.note,
        reclock=True,
        data={
            "department_id": department_id,
            "department": department.name,
            "suggested_department_id": suggested,
        },
    )


def accept_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """签收 by the handling department (its clock has run since dispatch)."""
    ctx.case.accepted_at = ctx.now
    return Outcome(note=f.note)


def handle_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """处置反馈: the result with after-photos (required where the standard says); a check task goes out."""
    need(f.result, "result", "handle")
    case = ctx.case
    if case.after_photo_required and not f.evidence:
        raise Invalid(
            "This case's standard requires an after-photo: upload it and list it in 'evidence'.",
            errors=[{"loc": ["evidence"], "msg": "after-photo required"}],
        )
    shas = require_evidence(ctx.session, f.evidence)
    case.handled_at = ctx.now
    voided = case.pending_request
    case.pending_request = case.pending_payload = case.pending_since = None
    attach_evidence(ctx.session, case, shas, "after", ctx.actor, ctx.now)
    if case.check_limit is not None and case.check_unit:
        due = deadlines.due_instant(ctx.cfg.calendar, ctx.now, case.check_limit, case.check_unit)
        assert due is not None
        open_task(ctx, "check", due)
    data: dict[str, object] = {"result": f.result, "evidence": shas}
    if voided:
        data["voided_request"] = voided
    return Outcome(note=f.note, data=data, reclock=True)


def return_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """回退: dispatched to the wrong department; back to the dispatcher, the department's clock stops."""
    need(f.reason, "reason", "return_case")
    case = ctx.case
    previous = case.department_id
    case.return_count += 1
    case.department_id = None
    case.handle_started_at = None
    case.pending_request = case.pending_payload = case.pending_since = None
    case.stage_started_at = ctx.now
    return Outcome(note=f.note, data={"reason": f.reason, "department_id": previous}, reclock=True)


# --- 核查, 结案, 返工 -------------------------------------------------------------------------------


def check_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """核查 on site by an inspector: `passed` says whether the 结案条件 is met."""
    need(f.passed, "passed", "check")
    shas = require_evidence(ctx.session, f.evidence)
    _finish_task(ctx, "check", bool(f.passed))  # its query first: the case's new state is flushed once
    case = ctx.case
    case.checked_at, case.check_passed = ctx.now, f.passed
    case.checked_by_staff_id = _staff_id(ctx)
    attach_evidence(ctx.session, case, shas, "check", ctx.actor, ctx.now)
    return Outcome(note=f.note, data={"passed": f.passed, "evidence": shas})


def close_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """结案 by the shift leader, after a check that found the 结案条件 met."""
    case = ctx.case
    if f.component_status is not None:
        if case.component_id is None:
            raise Invalid("'component_status' needs a case linked to a component (component_id).")
        # The component's history records the case number; assets is the lower layer, called directly.
        assets_service.apply_case_outcome(ctx.session, ctx.actor.audit_name, case.component_id,
                                          f.component_status, case_number=case.number)
    case.closed_at = case.ended_at = ctx.now
    case.closed_by_user_id = ctx.actor.user_id
    return Outcome(
        note=f.note,
        data={"component_status": f.component_status} if f.component_status else {},
        events=[
            CaseClosed(
                case_id=case.id, number=case.number, source=case.source, external_ref=case.external_ref
            )
        ],
    )


def rework_case(ctx: ActionContext, f: ActionFields) -> Outcome:
    """返工: back to the same department for a new handling round with its own deadline."""
    need(f.reason, "reason", "rework")
    case = ctx.case
    case.rework_count += 1
    case.handle_started_at = ctx.now
    case.extended_amount = 0.0
    case.handled_at = None
    case.check_passed = None
    return Outcome(note=f.note, data={"reason": f.reason, "department_id": case.department_id}, reclock=True)


# --- the dispatcher: every action's handler, the side flows' included -----------------------------


_HANDLERS: dict[CaseAction, Handler] = {
    CaseAction.verify: verify_case,
    CaseAction.register: register_case,
    CaseAction.not_accept: not_accept_case,
    CaseAction.dispatch: dispatch_case,
    CaseAction.accept: accept_case,
    CaseAction.handle: handle_case,
    CaseAction.return_case: return_case,
    CaseAction.check: check_case,
    CaseAction.close: close_case,
    CaseAction.rework: rework_case,
    CaseAction.request_extension: side_flows.request_extension,
    CaseAction.approve_extension: side_flows.approve_extension,
    CaseAction.request_suspension: side_flows.request_suspension,
    CaseAction.suspend: side_flows.suspend_case,
    CaseAction.resume: side_flows.resume_case,
    CaseAction.reject_request: side_flows.reject_request,
    CaseAction.appeal: side_flows.appeal_case,
    CaseAction.approve_appeal: side_flows.approve_appeal,
    CaseAction.urge: side_flows.urge_case,
    CaseAction.cancel: side_flows.cancel_case,
    CaseAction.merge: side_flows.merge_case,
}


def apply_action(
    session: Session,
    actor: Actor,
    case: CaseRecord,
    action: CaseAction,
    fields: ActionFields,
    cfg: CaseConfig,
    *,
    version: int | None,
    now: datetime | None = None,
) -> CaseRecord:
    """Apply one action to a case already loaded in the actor's scope; returns the case (flushed)."""
    now = now or clock.now()
    if version is not None and version != case.version:
        raise Conflict(
            f"Case {case.number} has changed since you read it (your version {version}, "
            f"now {case.version}); reload and try again.",
            current_version=case.version,
        )
    tr = rules.ensure_can(session, actor.user, case, action, cfg, now)
    ctx = ActionContext(session, actor, case, cfg, now, tr)
    outcome = _HANDLERS[action](ctx, fields)
    finish(session, actor, case, tr, outcome, cfg, now)
    return case


def perform_action(
    session: Session,
    user: User,
    number: str,
    action: CaseAction | str,
    fields: ActionFields,
    cfg: CaseConfig,
    *,
    version: int | None,
    client_ip: str | None = None,
) -> CaseRecord:
    """THE entry point for a user's action on a case (API, pages, other domains)."""
    try:
        act = CaseAction(action)
    except ValueError as exc:
        raise NotFound(f"Unknown case action {action!r}.") from exc
    case = repository.get_visible(session, user, number)
    if case is None:
        raise NotFound(f"No case {number} that you may see.")
    return apply_action(session, Actor(user, client_ip), case, act, fields, cfg, version=version)
