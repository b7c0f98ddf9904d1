"""A transition table (from-status, action) → to-status with the permission each step needs: pure, no DB.

Each state machine (cases, work orders) lists its own statuses, actions and transitions and builds one
`TransitionTable` of them; the lookups below are the same for all. The object rules that depend on a
record's data stay in the domain's service, on top of its table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from zhili.core.errors import NotPermitted

StatusT = TypeVar("StatusT", bound=StrEnum)
ActionT = TypeVar("ActionT", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Transition(Generic[StatusT, ActionT]):
    source: StatusT
    action: ActionT
    target: StatusT
    permission: str


class TransitionTable(Generic[StatusT, ActionT]):
    """The transitions of one state machine, looked up by (status, action); each pair listed once."""

    def __init__(
        self,
        status_type: type[StatusT],
        action_type: type[ActionT],
        rows: Iterable[tuple[StatusT, ActionT, StatusT, str]],
    ) -> None:
        """`rows`: (source, action, target, permission) each."""
        self.status_type = status_type
        self.action_type = action_type
        self.transitions: tuple[Transition[StatusT, ActionT], ...] = tuple(Transition(*row) for row in rows)
        self._by_key: dict[tuple[StatusT, ActionT], Transition[StatusT, ActionT]] = {}
        for tr in self.transitions:
            if (tr.source, tr.action) in self._by_key:
                raise ValueError(f"transition {tr.source}/{tr.action} listed twice")
            self._by_key[(tr.source, tr.action)] = tr
        # Which permissions can ever perform an action (the route guard); object rules decide the rest.
        self._permissions: dict[ActionT, frozenset[str]] = {
            a: frozenset(tr.permission for tr in self.transitions if tr.action is a) for a in action_type
        }

    def transition(self, status: StatusT | str, action: ActionT | str) -> Transition[StatusT, ActionT] | None:
        """The transition for this action from this status, or None when the table has none."""
        try:
            return self._by_key.get((self.status_type(status), self.action_type(action)))
        except ValueError:
            return None

    def actions_from(self, status: StatusT | str) -> list[Transition[StatusT, ActionT]]:
        """Every transition leaving `status`, in table order."""
        source = self.status_type(status)
        return [tr for tr in self.transitions if tr.source == source]

    def allowed_actions(self, status: StatusT | str, permissions: Iterable[str]) -> list[ActionT]:
        """Actions the table allows from `status` to a holder of `permissions` (object rules not applied)."""
        held = set(permissions)
        return [tr.action for tr in self.actions_from(status) if tr.permission in held]

    def permissions_for(self, action: ActionT) -> frozenset[str]:
        """The permissions of every transition named `action`: holding one of them may let a user act."""
        return self._permissions[action]

    def ensure_may_attempt(self, action: ActionT, has: Callable[[str], bool]) -> None:
        """403 unless `has` grants one of the permissions `action` can ever need (the route guard)."""
        needed = self.permissions_for(action)
        if not any(has(p) for p in needed):
            names = " or ".join(f"'{p}'" for p in sorted(needed))
            raise NotPermitted(f"'{action.value}' needs the permission {names}.", missing=sorted(needed))
