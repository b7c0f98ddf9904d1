"""Case domain events (past tense, ids only): participation tells citizens, insight refreshes figures."""

from __future__ import annotations

from dataclasses import dataclass

from zhili.core.events import Event, event_type


@event_type
@dataclass(frozen=True)
class CaseReported(Event):
    name = "cases.reported"

    case_id: int
    number: str
    source: str
    status: str


@event_type
@dataclass(frozen=True)
class CaseStatusChanged(Event):
    """Any transition that moves the case to another status (not urges or requests)."""

    name = "cases.status_changed"

    case_id: int
    number: str
    action: str
    from_status: str
    to_status: str
    department_id: int | None


@event_type
@dataclass(frozen=True)
class CaseUrged(Event):
    """督办: the handling department should be told at once."""

    name = "cases.urged"

    case_id: int
    number: str
    department_id: int | None


@event_type
@dataclass(frozen=True)
class CaseClosed(Event):
    name = "cases.closed"

    case_id: int
    number: str
    source: str
    external_ref: str | None
