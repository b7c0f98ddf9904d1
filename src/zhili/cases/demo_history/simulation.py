"""The simulated case and the steps every simulated action takes: the clock, the tasks, the
transition with its activity row (`timeline.finish`, mirrored), and when the next step happens."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from sqlalchemy.orm import Session

from zhili.cases.config import CaseConfig
from zhili.cases.models import CaseRecord, CaseStandard
from zhili.cases.service import deadlines
from zhili.cases.states import CaseAction, CaseStatus, transition
from zhili.identity.models import User
from zhili.org.models import Department

S, A = CaseStatus, CaseAction
BACKLOG = timedelta(days=3)


@dataclass
class Cast:
    """Who acts in the demo history: the demo logins and the staff they stand for."""

    users: dict[str, User]
    staff_names: dict[int, str]
    handlers: dict[int, list[str]]  # department id → handler staff names
    departments: dict[str, Department]
    department_by_id: dict[int, Department]
    standards: dict[tuple[str, str], list[CaseStandard]]


class Sim:
    """A case being simulated: the case_record columns as attributes, plus its rows of other tables.

    `deadlines.set_stage_clock` reads and writes these attributes exactly as on a CaseRecord.
    """

    def __init__(self, **columns: Any) -> None:
        self.__dict__.update(columns)
        self.activities: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.pauses: list[dict[str, Any]] = []
        self.merged_in: list[tuple[datetime, str, Sim]] = []

    if TYPE_CHECKING:  # the columns are set in __init__; for the type checker they are Any

        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...

    def columns(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k in _CASE_COLUMNS}


_CASE_COLUMNS = frozenset(c.key for c in CaseRecord.__table__.columns)


def status_at(sim: Sim, at: datetime) -> str:
    """The simulated case's status at `at`, read from its activity rows."""
    status = sim.activities[0]["to_status"]
    for a in sim.activities:
        if a["at"] > at:
            break
        status = a["to_status"]
    return str(status)


def activity(at: datetime, action: str, from_status: str | None, to_status: str,
             actor: tuple[int | None, str], note: str | None, data: dict[str, Any] | None) -> dict[str, Any]:
    """A case_activity row of a simulated action (its case_id is set when the case is numbered)."""
    return {"at": at, "action": action, "from_status": from_status, "to_status": to_status,
            "actor_user_id": actor[0], "actor_name": actor[1], "note": note, "data": data}


@dataclass
class Simulator:
    """What a simulation works with (the cast, the configuration, "now", the random draws) and the
    steps that the main line (`generator`) and the side flows (`side_flows`) share."""

    session: Session
    cast: Cast
    cfg: CaseConfig
    now: datetime
    days: int
    rng: random.Random
    nprng: np.random.Generator

    def _clock(self, sim: Sim, pauses: list[deadlines.Pause] | None = None) -> None:
        deadlines.set_stage_clock(cast(CaseRecord, sim), self.cfg, pauses or [])

    def _open_task(self, sim: Sim, kind: str, at: datetime, due: datetime) -> None:
        sim.tasks.append({"kind": kind, "status": "open", "assignee_staff_id": sim.grid_inspector_staff_id,
                          "responsibility_grid_code": sim.responsibility_grid_code, "created_at": at,
                          "due_at": due, "done_at": None, "done_by_user_id": None, "outcome": None})

    def _finish_task(self, sim: Sim, kind: str, at: datetime, outcome: bool, uid: int | None) -> None:
        for t in sim.tasks:
            if t["kind"] == kind and t["status"] == "open":
                t.update(status="done", done_at=at, outcome=outcome, done_by_user_id=uid)
                return

    def _cancel_tasks(self, sim: Sim, at: datetime) -> None:
        for t in sim.tasks:
            if t["status"] == "open":
                t.update(status="cancelled", done_at=at)

    def _act(self, sim: Sim, at: datetime, action: CaseAction, actor: tuple[int | None, str], *,
             note: str | None = None, data: dict[str, Any] | None = None, reclock: bool = False) -> None:
        """timeline.finish, mirrored: the table's target, the clock, the activity row."""
        tr = transition(sim.status, action)
        if tr is None:  # pragma: no cover - the generator only takes transitions the table has
            raise AssertionError(f"demo history took {action} from {sim.status}")
        sim.status = tr.target.value
        sim.updated_at = at
        sim.version += 1
        # finish() recomputes the clock here; on accept that repeats dispatch's figures exactly (same
        # start, limit and no pause yet), so the demo skips the repeat: a fifth of its calendar work.
        if (reclock or tr.target != tr.source) and action is not A.accept:
            self._clock(sim, self._handle_pauses(sim) if reclock else [])
        sim.activities.append(activity(at, action.value, tr.source.value, tr.target.value, actor, note,
                                       data or None))

    @staticmethod
    def _handle_pauses(sim: Sim) -> list[deadlines.Pause]:
        if not sim.suspension_count or sim.handle_started_at is None:
            return []
        start = sim.handle_started_at
        return [(p["started_at"], p["resumed_at"]) for p in sim.pauses
                if p["resumed_at"] is None or p["resumed_at"] > start]

    def _when(self, sim: Sim, start: datetime, due: datetime | None, *, late: float = 0.06,
              lo: float = 0.05, hi: float = 0.95) -> datetime:
        """When the running stage's step happens: mostly in time, sometimes late, rarely very late.

        Never before the case's last action: the timeline only moves forward.
        """
        span = max((due - start).total_seconds(), 600.0) if due is not None else 3600.0
        if self.now - sim.reported_at < BACKLOG:
            # The last days' cases are still in the queues: the steps take longer than usual, so
            # some are past the amber share and some past the deadline.
            lo, hi, late = lo + 0.5, hi + 0.4, late * 3
        amber = sim.amber_at
        if due is not None and amber is not None and amber <= self.now < due and self.rng.random() < 0.7:
            # A stage that is amber now mostly stays open until after now: the amber queue is not empty.
            return self.now + (due - self.now) * self.rng.uniform(0.1, 3.0) + timedelta(minutes=1)
        r = self.rng.random()
        if due is not None and r < late:
            factor = self.rng.uniform(1.05, 2.5) if r > late * 0.2 else self.rng.uniform(3, 40)
        else:
            factor = self.rng.uniform(lo, hi)
        at = start + timedelta(seconds=max(span * factor, 120.0))
        return max(at, sim.updated_at + timedelta(minutes=self.rng.uniform(1, 10)))
