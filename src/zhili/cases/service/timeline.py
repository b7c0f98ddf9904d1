"""The one place a case's status changes: apply the transition, write timeline row, event and audit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from zhili.cases import repository
from zhili.cases.config import CaseConfig
from zhili.cases.events import CaseStatusChanged
from zhili.cases.models import CaseActivity, CaseEvidence, CaseRecord
from zhili.cases.service import deadlines
from zhili.cases.states import Transition
from zhili.cases.writes import save_case
from zhili.core import audit, transitions
from zhili.core.db import append_row
from zhili.core.errors import Invalid, NotFound
from zhili.core.events import Event, record_event
from zhili.evidence import service as evidence_service

if TYPE_CHECKING:
    from zhili.identity.models import User


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (with the request's address) or the system (a scheduled job)."""

    user: User | None
    client_ip: str | None = None
    system_name: str = "system"

    @property
    def name(self) -> str:
        return self.user.display_name if self.user is not None else self.system_name

    @property
    def audit_name(self) -> str:
        return self.user.username if self.user is not None else self.system_name

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None


class Noted(Protocol):
    """What a transition's audit entry records beside the status: the note and the action's data."""

    note: str | None
    data: dict[str, Any]


@dataclass
class Outcome:
    """What an action handler hands back to `finish`: the timeline's words and what else to record."""

    note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    reclock: bool = False  # the running stage changed: recompute due and amber
    events: list[Event] = field(default_factory=list)


def require_evidence(session: Session, shas: Sequence[str]) -> list[str]:
    """The SHA-256s, each of an uploaded file (422 naming the first unknown one); duplicates dropped."""
    unique = list(dict.fromkeys(shas))
    for sha in unique:
        try:
            evidence_service.get_evidence(session, sha)
        except NotFound as exc:
            raise Invalid(
                f"No uploaded file with SHA-256 {sha}: upload it to POST /api/v1/files first."
            ) from exc
    return unique


def attach_evidence(
    session: Session, case: CaseRecord, shas: Sequence[str], stage: str, actor: Actor, now: datetime
) -> None:
    for sha in shas:
        session.add(
            CaseEvidence(
                case_id=case.id, sha256=sha, stage=stage, added_at=now, added_by_user_id=actor.user_id
            )
        )


def write_activity(
    session: Session,
    case_id: int,
    at: datetime,
    action: str,
    from_status: str | None,
    to_status: str,
    actor: Actor,
    note: str | None,
    data: dict[str, Any] | None,
) -> None:
    """Append one row to a case's timeline (core.db.append_row: one INSERT, no ORM object)."""
    append_row(session, CaseActivity, {
        "case_id": case_id, "at": at, "action": action, "from_status": from_status, "to_status": to_status,
        "actor_user_id": actor.user_id, "actor_name": actor.name, "note": note, "data": data})


def handle_pauses(session: Session, case: CaseRecord) -> list[deadlines.Pause]:
    """The suspensions of the current handling round (none loaded when the case was never suspended)."""
    if not case.suspension_count or case.handle_started_at is None:
        return []
    start = case.handle_started_at
    return [
        (p.started_at, p.resumed_at)
        for p in repository.pauses_of(session, case.id)
        if p.resumed_at is None or p.resumed_at > start
    ]


def finish(
    session: Session,
    actor: Actor,
    case: CaseRecord,
    tr: Transition,
    outcome: Outcome,
    cfg: CaseConfig,
    now: datetime,
) -> None:
    """Move the case to the transition's target, then write timeline, events and audit (audit last)."""
    before = {"status": case.status, "version": case.version}
    case.status = tr.target.value
    case.updated_at = now
    if outcome.reclock or tr.target != tr.source:
        deadlines.set_stage_clock(case, cfg, handle_pauses(session, case) if outcome.reclock else [])
    write_activity(session, case.id, now, tr.action.value, tr.source.value, tr.target.value, actor,
                   outcome.note, outcome.data or None)
    for event in outcome.events:
        record_event(session, event)
    if tr.target != tr.source:
        record_event(
            session,
            CaseStatusChanged(
                case_id=case.id,
                number=case.number,
                action=tr.action.value,
                from_status=tr.source.value,
                to_status=tr.target.value,
                department_id=case.department_id,
            ),
        )
    save_case(session, case)  # one UPDATE now, not the flush's machinery in audit.record
    audit_transition(session, actor, "cases", tr, "case_record", case.number, before, case.status, outcome)


def audit_transition(
    session: Session,
    actor: Actor,
    domain: str,
    tr: transitions.Transition[Any, Any],
    entity_type: str,
    entity_id: object,
    before: dict[str, Any],
    status: str,
    outcome: Noted,
) -> None:
    """The audit entry of a transition (cases and work orders): `<domain>.<action>`, the status after."""
    audit.record(
        session,
        actor=actor.audit_name,
        action=f"{domain}.{tr.action.value}",
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after={"status": status, **({"note": outcome.note} if outcome.note else {}), **outcome.data},
        client_ip=actor.client_ip,
    )
