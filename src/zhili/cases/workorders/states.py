"""Work-order statuses, named actions and THE transition table (from-status, action) → to-status: pure, no DB.

Built the same way as `zhili.cases.states`, with a simpler flow: planned → in_progress (started on
site) → done (photos taken on site) → checked (a sampled check passed) or redo (it failed; the team
goes back). Missed (漏做) is not a status: an order still planned or in progress after its window end
plus the plan's grace is missed, derived from the clock (see `is_missed`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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


@dataclass(frozen=True, slots=True)
class Transition:
    source: OrderStatus
    action: OrderAction
    target: OrderStatus
    permission: str


S, A = OrderStatus, OrderAction
TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.planned, A.start, S.in_progress, "workorders:do"),
    Transition(S.redo, A.start, S.in_progress, "workorders:do"),
    Transition(S.in_progress, A.complete, S.done, "workorders:do"),
    Transition(S.done, A.pass_check, S.checked, "workorders:manage"),
    Transition(S.done, A.fail_check, S.redo, "workorders:manage"),
    *(Transition(s, A.reassign, s, "workorders:manage") for s in (S.planned, S.in_progress, S.redo)),
    *(Transition(s, A.cancel, S.cancelled, "workorders:manage") for s in (S.planned, S.in_progress, S.redo)),
)

_TABLE: dict[tuple[OrderStatus, OrderAction], Transition] = {}
for _tr in TRANSITIONS:
    if (_tr.source, _tr.action) in _TABLE:  # pragma: no cover - caught by the unit test at import
        raise ValueError(f"transition {_tr.source}/{_tr.action} listed twice")
    _TABLE[(_tr.source, _tr.action)] = _tr


def transition(status: OrderStatus | str, action: OrderAction | str) -> Transition | None:
    """The transition for this action from this status, or None when the table has none."""
    try:
        return _TABLE.get((OrderStatus(status), OrderAction(action)))
    except ValueError:
        return None


def actions_from(status: OrderStatus | str) -> list[Transition]:
    return [tr for tr in TRANSITIONS if tr.source == OrderStatus(status)]


def allowed_actions(status: OrderStatus | str, permissions: Iterable[str]) -> list[OrderAction]:
    """Actions the table allows from `status` to a holder of `permissions` (object rules not applied)."""
    held = set(permissions)
    return [tr.action for tr in actions_from(status) if tr.permission in held]


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
