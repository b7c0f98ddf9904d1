"""Case statuses, named actions and THE transition table (from-status, action) → to-status: pure, no DB.

A status changes only through this table (a `zhili.core.transitions.TransitionTable`). Each
transition names the permission it needs; the object rules that depend on the case's data (the
handling department, the inspector a task is sent to, a pending request) live in
`service.rules.ensure_can`, on top of this table.
"""

from __future__ import annotations

from enum import StrEnum

from zhili.core import transitions


class CaseStatus(StrEnum):
    """Where a case stands in the seven-step workflow (七个环节)."""

    to_verify = "to_verify"  # 待核实: a public, hotline or video report waits for an inspector on site
    to_register = "to_register"  # 待立案: verified, or reported by an inspector; the shift leader decides
    to_dispatch = "to_dispatch"  # 待派遣: registered; the dispatcher chooses the handling department
    to_accept = "to_accept"  # 待签收: dispatched; the handling clock runs from here
    handling = "handling"  # 处置中: accepted by the handling department (处置部门)
    suspended = "suspended"  # 挂账: handling cannot go on now; the clock is paused until a date
    to_check = "to_check"  # 待核查: handled; an inspector checks on site (核查)
    to_close = "to_close"  # 待结案: checked; the shift leader closes it or sends it back (返工)
    closed = "closed"  # 已结案
    not_accepted = "not_accepted"  # 不予立案
    cancelled = "cancelled"  # 作废
    merged = "merged"  # 已合并: a duplicate folded into another case


class CaseAction(StrEnum):
    """The named actions; the Chinese term is the one the console shows."""

    verify = "verify"  # 核实
    register = "register"  # 立案
    not_accept = "not_accept"  # 不予立案
    dispatch = "dispatch"  # 派遣
    accept = "accept"  # 签收
    handle = "handle"  # 处置反馈
    return_case = "return_case"  # 回退 to the dispatcher
    check = "check"  # 核查
    close = "close"  # 结案
    rework = "rework"  # 返工, back to the same department
    request_extension = "request_extension"  # 申请延期
    approve_extension = "approve_extension"  # 批准延期
    request_suspension = "request_suspension"  # 申请挂账
    suspend = "suspend"  # 挂账 (approves a pending request, or decided by the centre itself)
    resume = "resume"  # 恢复 (also done by the scheduled job at the suspension's end)
    reject_request = "reject_request"  # 驳回申请 (extension, suspension or appeal)
    appeal = "appeal"  # 超时申诉
    approve_appeal = "approve_appeal"  # 批准申诉: exempt from overdue figures, the raw fact kept
    urge = "urge"  # 督办
    cancel = "cancel"  # 作废
    merge = "merge"  # 合并 into another case (duplicates)


TERMINAL: frozenset[CaseStatus] = frozenset(
    {CaseStatus.closed, CaseStatus.not_accepted, CaseStatus.cancelled, CaseStatus.merged}
)
# Statuses whose case the handling department holds (its clock runs or is paused).
WITH_DEPARTMENT: frozenset[CaseStatus] = frozenset(
    {CaseStatus.to_accept, CaseStatus.handling, CaseStatus.suspended}
)


Transition = transitions.Transition[CaseStatus, CaseAction]  # for annotations

S, A = CaseStatus, CaseAction
_OPEN_BEFORE_DISPATCH = (S.to_verify, S.to_register, S.to_dispatch)
_OPEN = (*_OPEN_BEFORE_DISPATCH, S.to_accept, S.handling, S.suspended, S.to_check, S.to_close)
_APPEALABLE = (S.handling, S.to_check, S.to_close, S.closed)

_ROWS = (
    (S.to_verify, A.verify, S.to_register, "cases:verify"),
    (S.to_verify, A.not_accept, S.not_accepted, "cases:register"),
    (S.to_register, A.register, S.to_dispatch, "cases:register"),
    (S.to_register, A.not_accept, S.not_accepted, "cases:register"),
    (S.to_dispatch, A.dispatch, S.to_accept, "cases:dispatch"),
    (S.to_accept, A.accept, S.handling, "cases:handle"),
    (S.to_accept, A.return_case, S.to_dispatch, "cases:handle"),
    (S.handling, A.return_case, S.to_dispatch, "cases:handle"),
    (S.handling, A.handle, S.to_check, "cases:handle"),
    (S.handling, A.request_extension, S.handling, "cases:handle"),
    (S.handling, A.approve_extension, S.handling, "cases:supervise"),
    (S.handling, A.request_suspension, S.handling, "cases:handle"),
    (S.handling, A.suspend, S.suspended, "cases:supervise"),
    (S.handling, A.reject_request, S.handling, "cases:supervise"),
    (S.suspended, A.resume, S.handling, "cases:supervise"),
    (S.to_check, A.check, S.to_close, "cases:check"),
    (S.to_close, A.close, S.closed, "cases:close"),
    (S.to_close, A.rework, S.handling, "cases:close"),
    *((s, A.appeal, s, "cases:handle") for s in _APPEALABLE),
    *((s, A.approve_appeal, s, "cases:supervise") for s in _APPEALABLE),
    *((s, A.reject_request, s, "cases:supervise") for s in _APPEALABLE if s is not S.handling),
    *((s, A.urge, s, "cases:supervise") for s in (S.to_dispatch, S.to_accept, S.handling, S.to_check)),
    *((s, A.cancel, S.cancelled, "cases:register") for s in _OPEN),
    *((s, A.merge, S.merged, "cases:register") for s in _OPEN_BEFORE_DISPATCH),
)

TABLE = transitions.TransitionTable(CaseStatus, CaseAction, _ROWS)
TRANSITIONS: tuple[Transition, ...] = TABLE.transitions
transition = TABLE.transition
actions_from = TABLE.actions_from
allowed_actions = TABLE.allowed_actions


def is_terminal(status: CaseStatus | str) -> bool:
    return CaseStatus(status) in TERMINAL


# Named queues of the console: each is a status filter (the overdue and amber queues also read
# the deadline columns, see repository.apply_filters).
QUEUES: dict[str, tuple[CaseStatus, ...]] = {
    "to_verify": (S.to_verify,),
    "to_register": (S.to_register,),
    "to_dispatch": (S.to_dispatch,),
    "to_handle": (S.to_accept, S.handling),
    "to_check": (S.to_check,),
    "to_close": (S.to_close,),
    "suspended": (S.suspended,),
    "overdue": tuple(s for s in _OPEN if s is not S.suspended),
    "amber": tuple(s for s in _OPEN if s is not S.suspended),
    "open": _OPEN,
}

STATUS_LABELS_ZH: dict[CaseStatus, str] = {
    S.to_verify: "待核实",
    S.to_register: "待立案",
    S.to_dispatch: "待派遣",
    S.to_accept: "待签收",
    S.handling: "处置中",
    S.suspended: "挂账",
    S.to_check: "待核查",
    S.to_close: "待结案",
    S.closed: "已结案",
    S.not_accepted: "不予立案",
    S.cancelled: "已作废",
    S.merged: "已合并",
}
