"""The append-only, hash-chained audit log: who changed what, when, from where."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from zhili.core import clock
from zhili.core.db import Base, BigId, JSONType, UTCDateTime

GENESIS = "0" * 64


class AuditHead(Base):
    """One row: the chain's tip. Writers lock it (FOR UPDATE), so concurrent appends queue, not fork."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigId)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str | None] = mapped_column(String(100))  # username, or "system:<job>"
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(80))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The chain position; unique so that two concurrent writers cannot both extend the same link.
    seq: Mapped[int] = mapped_column(BigId, unique=True)
    note: Mapped[str | None] = mapped_column(Text)


def _canonical(entry: AuditEntry) -> bytes:
    payload = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "before": entry.before,
        "after": entry.after,
        "client_ip": entry.client_ip,
        "note": entry.note,
        "prev": entry.prev_hash,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return text.encode()


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    # Round-trip through JSON so the hashed form equals what the database gives back.
    return None if value is None else json.loads(json.dumps(value, default=str, ensure_ascii=False))


def record(session: Session, *, actor: str | None, action: str, entity_type: str, entity_id: Any,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           client_ip: str | None = None, note: str | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction (a rolled-back change leaves no audit row).

    The head row is locked until the caller's transaction ends, so concurrent writers wait their
    turn (PostgreSQL row lock; SQLite serialises writers anyway). Call it last in a use case so
    the lock is held briefly.
    """
    session.flush()
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    seq, prev = head.seq + 1, head.hash
    at = clock.now()
    entry = AuditEntry(seq=seq, at=at, actor=actor, action=action, entity_type=entity_type,
                       entity_id=str(entity_id), before=_jsonable(before), after=_jsonable(after),
                       client_ip=client_ip, prev_hash=prev, note=note)
    entry.hash = hashlib.sha256(_canonical(entry)).hexdigest()
    head.seq, head.hash = seq, entry.hash
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify(session: Session, *, batch: int = 5000) -> VerifyResult:
    """Recompute the chain; report the first entry whose content or link does not match."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return VerifyResult(True, checked)
        for entry in rows:
            if entry.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, f"entry {expected_seq} is missing")
            if entry.prev_hash != prev:
                return VerifyResult(False, checked, entry.seq, "link to the previous entry is broken")
            if hashlib.sha256(_canonical(entry)).hexdigest() != entry.hash:
                return VerifyResult(False, checked, entry.seq, "content does not match its hash")
            prev = entry.hash
            expected_seq += 1
            checked += 1
            last_seq = entry.seq
        session.expunge_all()


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(*_: Any) -> None:
    raise RuntimeError("audit entries are append-only")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(*_: Any) -> None:
    raise RuntimeError("audit entries are append-only")
