"""Deadlines on the working calendar: stage due and amber instants with pauses, and the clock a case shows.

A stage's deadline is the instant at which `limit` units of *active* time have run since the stage
started, paused intervals (挂账) not counted. Because `WorkCalendar.add` is the inverse of
`WorkCalendar.elapsed`, that instant is `add(start, limit + P)` where P is the paused time (in the
stage's unit) that lies before it; `due_instant` walks the pauses in order to find which ones do.
Overdue and amber are read from these instants against now: never a stored flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from zhili.cases.config import CaseConfig
from zhili.cases.models import CaseRecord
from zhili.cases.schemas import Colour
from zhili.cases.states import CaseStatus
from zhili.core.workcalendar import TimeUnit, WorkCalendar


class Clocked(Protocol):
    """What the colour is read from: a case entity, or its row in a list (cases.repository.CaseRow)."""

    @property
    def status(self) -> str: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def amber_at(self) -> datetime | None: ...


Pause = tuple[datetime, datetime | None]  # (started, resumed or None while still paused)


def due_instant(
    cal: WorkCalendar, start: datetime, amount: float, unit: TimeUnit | str, pauses: Sequence[Pause] = ()
) -> datetime | None:
    """When `amount` units of active time since `start` have run; None if it falls in an open pause."""
    paused = 0.0
    for a, b in sorted((p for p in pauses if p[1] is None or p[1] > start), key=lambda p: p[0]):
        a = max(a, start)
        candidate = cal.add(start, amount + paused, unit)
        if candidate <= a:
            return candidate
        if b is None:
            return None  # the clock stands still: no deadline until it runs again
        paused += cal.elapsed(start, b, unit) - cal.elapsed(start, a, unit)
    return cal.add(start, amount + paused, unit)


def active_elapsed(
    cal: WorkCalendar, start: datetime, end: datetime, unit: TimeUnit | str, pauses: Sequence[Pause] = ()
) -> float:
    """Units of active time between start and end, pauses (open ones up to `end`) left out."""
    closed = [(a, b if b is not None else end) for a, b in pauses]
    return cal.elapsed_excluding(start, max(end, start), unit, closed)


@dataclass(frozen=True)
class StageClock:
    """The running stage of a case: its start, limit and unit (None when no clock runs)."""

    stage: str  # verify | register | dispatch | handle | check
    started_at: datetime
    limit: float
    unit: TimeUnit


def running_stage(case: CaseRecord, cfg: CaseConfig) -> StageClock | None:
    """Which stage's clock the case's status runs (handle also while suspended: it is paused, not gone)."""
    status = CaseStatus(case.status)
    rules = cfg.rules
    start = case.stage_started_at
    if status is CaseStatus.to_verify:
        return StageClock("verify", case.reported_at, rules.verify_limit, rules.verify_unit)
    if status is CaseStatus.to_register:
        return StageClock("register", start or case.reported_at, rules.register_limit, rules.register_unit)
    if status is CaseStatus.to_dispatch and case.dispatch_limit is not None and case.dispatch_unit:
        return StageClock(
            "dispatch", start or case.reported_at, case.dispatch_limit, TimeUnit(case.dispatch_unit)
        )
    if (
        status in (CaseStatus.to_accept, CaseStatus.handling, CaseStatus.suspended)
        and case.handle_limit is not None
        and case.handle_unit
        and case.handle_started_at
    ):
        return StageClock(
            "handle",
            case.handle_started_at,
            case.handle_limit + case.extended_amount,
            TimeUnit(case.handle_unit),
        )
    if status is CaseStatus.to_check and case.check_limit is not None and case.check_unit and case.handled_at:
        return StageClock("check", case.handled_at, case.check_limit, TimeUnit(case.check_unit))
    return None


def set_stage_clock(case: CaseRecord, cfg: CaseConfig, pauses: Sequence[Pause] = ()) -> None:
    """Recompute the running stage's due and amber instants and the stage's own due column."""
    clock = running_stage(case, cfg)
    if clock is None:
        case.due_at = case.amber_at = None
        return
    stage_pauses = pauses if clock.stage == "handle" else ()
    due = due_instant(cfg.calendar, clock.started_at, clock.limit, clock.unit, stage_pauses)
    amber = due_instant(
        cfg.calendar, clock.started_at, clock.limit * cfg.rules.amber_share, clock.unit, stage_pauses
    )
    if due is not None:
        setattr(case, f"{clock.stage}_due_at", due)
    paused = CaseStatus(case.status) is CaseStatus.suspended
    case.due_at = None if paused else due
    case.amber_at = None if paused else amber


def colour(case: Clocked, now: datetime) -> Colour:
    """green | amber | red | paused | none — from the stored instants, so lists need no calendar."""
    if case.status == CaseStatus.suspended:
        return "paused"
    if case.due_at is None:
        return "none"
    if now > case.due_at:
        return "red"
    if case.amber_at is not None and now >= case.amber_at:
        return "amber"
    return "green"


@dataclass(frozen=True)
class ClockView:
    """What a case shows about its running stage: remaining time and colour."""

    stage: str | None
    unit: str | None
    limit: float | None
    used: float | None  # units of active time used so far
    remaining: float | None  # units left (negative once overdue)
    share_used: float | None
    due_at: datetime | None
    amber_at: datetime | None
    remaining_seconds: float | None  # wall-clock seconds to the due instant (negative once overdue)
    colour: Colour


def clock_view(case: CaseRecord, cfg: CaseConfig, now: datetime, pauses: Sequence[Pause] = ()) -> ClockView:
    clock = running_stage(case, cfg)
    col = colour(case, now)
    if clock is None:
        return ClockView(None, None, None, None, None, None, None, None, None, col)
    used = active_elapsed(
        cfg.calendar, clock.started_at, now, clock.unit, pauses if clock.stage == "handle" else ()
    )
    remaining_s = (case.due_at - now).total_seconds() if case.due_at is not None else None
    return ClockView(
        clock.stage,
        clock.unit.value,
        clock.limit,
        round(used, 4),
        round(clock.limit - used, 4),
        round(used / clock.limit, 4) if clock.limit else None,
        case.due_at,
        case.amber_at,
        remaining_s,
        col,
    )
