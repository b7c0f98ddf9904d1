"""Who may do what to this case now: the table's permission, the object rule, the action's preconditions.

`ensure_can` is the third layer of the permission model (route guard → row scope → object rule). It
raises 409 for what the case's state forbids and 403 for what the user's role or post forbids, and
both errors list the actions this user *can* take on the case now.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from zhili.cases import repository, visibility
from zhili.cases.config import CaseConfig
from zhili.cases.models import CaseRecord
from zhili.cases.states import CaseAction, CaseStatus, Transition, actions_from, transition
from zhili.core.errors import Conflict, NotPermitted
from zhili.identity.permissions import OVERSIGHT_ROLES

if TYPE_CHECKING:
    from zhili.identity.models import User

A = CaseAction
DEPARTMENT_ACTIONS = frozenset(
    {A.accept, A.handle, A.return_case, A.request_extension, A.request_suspension, A.appeal}
)
TASK_ACTIONS = {A.verify: "verify", A.check: "check"}


def handle_overdue(case: CaseRecord, now: datetime) -> bool:
    """Whether the handling stage is (or was) past its deadline: the raw fact an appeal is about."""
    if case.handle_due_at is None:
        return False
    holding = case.status in (CaseStatus.to_accept, CaseStatus.handling)
    done = now if holding or case.handled_at is None else case.handled_at
    return done > case.handle_due_at


def object_rule(session: Session, user: User, case: CaseRecord, tr: Transition) -> str | None:
    """Why this user may not act on this case in this way (None: they may)."""
    if tr.action in DEPARTMENT_ACTIONS:
        scoped, dept = visibility.department_scope(user)
        if scoped and (dept is None or dept != case.department_id):
            return "Only staff of the handling department may do this."
    kind = TASK_ACTIONS.get(tr.action)
    if kind is not None and "inspector" in user.roles and not set(user.roles) & OVERSIGHT_ROLES:
        task = repository.open_task(session, case.id, kind)
        if (
            task is not None
            and task.assignee_staff_id is not None
            and task.assignee_staff_id != user.staff_id
        ):
            return f"The {kind} task of this case is sent to another inspector."
    return None


def precondition(case: CaseRecord, action: CaseAction, cfg: CaseConfig, now: datetime) -> str | None:
    """Why the case's data forbids the action now (None: it allows it)."""
    rules = cfg.rules
    pending = case.pending_request
    if action in (A.request_extension, A.request_suspension, A.appeal) and pending is not None:
        return f"A {pending} request is already waiting for a decision."
    if action is A.request_extension:
        if case.extension_count >= rules.max_extensions:
            return f"{case.extension_count} extension(s) so far; at most {rules.max_extensions} are allowed."
        if handle_overdue(case, now):
            return "An overdue case cannot be extended; appeal the overdue verdict instead."
    if action in (A.request_suspension, A.suspend) and case.suspension_count >= rules.max_suspensions:
        return (
            f"The case has been suspended {case.suspension_count} time(s); at most {rules.max_suspensions}."
        )
    if action is A.suspend and pending not in (None, "suspension"):
        return f"Decide the pending {pending} request first."
    if action is A.approve_extension and pending != "extension":
        return "There is no extension request to approve."
    if action is A.approve_appeal and pending != "appeal":
        return "There is no appeal to approve."
    if action is A.reject_request and pending is None:
        return "There is no request to reject."
    if action is A.appeal:
        if case.appeal_status is not None:
            return f"The case's overdue verdict has already been appealed ({case.appeal_status})."
        if not handle_overdue(case, now):
            return "Only an overdue handling stage can be appealed."
    if action is A.close and case.check_passed is not True:
        return "The check did not find the 结案条件 met: send the case back for rework instead."
    return None


def _why_not(
    session: Session, user: User, case: CaseRecord, tr: Transition, cfg: CaseConfig, now: datetime
) -> tuple[int, str] | None:
    if not user.has(tr.permission):
        return 403, f"This needs the permission '{tr.permission}'."
    reason = object_rule(session, user, case, tr)
    if reason:
        return 403, reason
    reason = precondition(case, tr.action, cfg, now)
    if reason:
        return 409, reason
    return None


def allowed_actions_for(
    session: Session, user: User | None, case: CaseRecord, cfg: CaseConfig, now: datetime
) -> list[CaseAction]:
    """The actions this user can take on this case now (the console shows these as buttons)."""
    if user is None:
        return []
    return [
        tr.action for tr in actions_from(case.status) if _why_not(session, user, case, tr, cfg, now) is None
    ]


def ensure_can(
    session: Session, user: User | None, case: CaseRecord, action: CaseAction, cfg: CaseConfig, now: datetime
) -> Transition:
    """The transition to apply, or 409/403 naming what is wrong and what this user can do instead.

    `user` None is the system (scheduled jobs): the table still applies, the role rules do not.
    """
    tr = transition(case.status, action)
    if tr is None:
        raise Conflict(
            f"'{action.value}' is not possible while case {case.number} is {case.status}.",
            case_status=case.status,
            allowed_actions=allowed_actions_for(session, user, case, cfg, now),
        )
    if user is None:
        reason = precondition(case, action, cfg, now)
        if reason:
            raise Conflict(reason, case_status=case.status, allowed_actions=[])
        return tr
    refusal = _why_not(session, user, case, tr, cfg, now)
    if refusal is not None:
        code, reason = refusal
        allowed = allowed_actions_for(session, user, case, cfg, now)
        if code == 403:
            raise NotPermitted(reason, case_status=case.status, allowed_actions=allowed)
        raise Conflict(reason, case_status=case.status, allowed_actions=allowed)
    return tr
