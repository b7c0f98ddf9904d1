"""Work-order statuses, named actions and THE transition table (from-status, action) → to-status: pure, no DB.

Built the same way as `zhili.cases.states` (a `zhili.core.transitions.TransitionTable`), with a
simpler flow: planned → in_progress (started on site) → done (photos taken on site) → checked (a
sampled check passed) or redo (it failed; the team goes back). Missed (漏做) is not a status: an
order still planned or in progress after its window end plus the plan's grace is missed, derived
from the clock (see `is_missed`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from zhili.core import transitions


class OrderStatus(StrEnum):
    planned = "planned"  # 待作业: generated from a plan, waiting for its time window
    in_progress = "in_progress"  # 作业中: started on site
    done = "done"  # 已完成: done with photo evidence taken on site
    checked = "checked"  # 已核查: a sampled check found the work done
    redo = "redo"  # 返工: a sampled check found it not done; the team goes back
    cancelled = "cancelled"  # 已取消: e.g. a typhoon day; not counted against the team


class OrderAction(StrEnum):
    start = "start"  # 开始作业 (on site)
    complete = "complete"  # 完成作业 (photos, on site)
    pass_check = "pass_check"  # noqa: S105 - an action name, not a password; 核查通过
    fail_check = "fail_check"  # 核查不通过 → 返工
    reassign = "reassign"  # 改派 to another team or person
    cancel = "cancel"  # 取消


# Statuses in which the order's window is still owed: past its due instant they are missed.
OPEN: frozenset[OrderStatus] = frozenset({OrderStatus.planned, OrderStatus.in_progress})
TERMINAL: frozenset[OrderStatus] = frozenset({OrderStatus.checked, OrderStatus.cancelled})


Transition = transitions.Transition[OrderStatus, OrderAction]  # for annotations

S, A = OrderStatus, OrderAction
_ROWS = (
    (S.planned, A.start, S.in_progress, "workorders:do"),
    (S.redo, A.start, S.in_progress, "workorders:do"),
    (S.in_progress, A.complete, S.done, "workorders:do"),
    (S.done, A.pass_check, S.checked, "workorders:manage"),
    (S.done, A.fail_check, S.redo, "workorders:manage"),
    *((s, A.reassign, s, "workorders:manage") for s in (S.planned, S.in_progress, S.redo)),
    *((s, A.cancel, S.cancelled, "workorders:manage") for s in (S.planned, S.in_progress, S.redo)),
)

TABLE = transitions.TransitionTable(OrderStatus, OrderAction, _ROWS)
TRANSITIONS: tuple[Transition, ...] = TABLE.transitions
transition = TABLE.transition
actions_from = TABLE.actions_from
allowed_actions = TABLE.allowed_actions


def is_missed(status: OrderStatus | str, due_at: datetime, now: datetime) -> bool:
    """漏做: still owed after the window end plus grace. Derived from the clock, never stored."""
    return OrderStatus(status) in OPEN and now > due_at


STATUS_LABELS: dict[str, str] = {  # English msgids; the templates translate them
    "planned": "Planned",
    "in_progress": "In progress",
    "done": "Work done",
    "checked": "Checked",
    "redo": "Redo",
    "cancelled": "Cancelled",
    "missed": "Missed",
}
ACTION_LABELS: dict[str, str] = {
    "generate": "Generated",
    "start": "Start work",
    "complete": "Mark done",
    "pass_check": "Check passed",
    "fail_check": "Check failed",
    "reassign": "Reassign",
    "cancel": "Cancel",
    "draw": "Drawn for a check",
}
