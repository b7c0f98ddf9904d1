"""The append-only, hash-chained audit log: who changed what, when, from where."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from zhili.core import clock
from zhili.core.db import Base, BigId, JSONType, UTCDateTime, append_row

GENESIS = "0" * 64
# Entries are sealed by a job within seconds. The sealer looks this far back (by the entry's time)
# for entries not sealed yet: a transaction that commits its entry later than this is not expected.
SEAL_LOOKBACK = timedelta(hours=6)


class AuditHead(Base):
    """One row: the chain's tip. The sealer locks it (FOR UPDATE), so two sealers queue, not fork."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigId)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEntry(Base):
    """What happened. Written freely by every unit of work (no shared row to lock), never changed."""

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
    note: Mapped[str | None] = mapped_column(Text)


class AuditSeal(Base):
    """An entry's place in the hash chain: seq (1, 2, 3 … in sealing order), the previous link and
    the hash over the entry's content, its seq and that link. Appended by `seal`, never changed."""

    __tablename__ = "audit_seal"

    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("audit_entry.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigId, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _canonical(entry: AuditEntry, seq: int, prev: str) -> bytes:
    payload = {
        "seq": seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "before": entry.before,
        "after": entry.after,
        "client_ip": entry.client_ip,
        "note": entry.note,
        "prev": prev,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return text.encode()


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    # Round-trip through JSON so the hashed form equals what the database gives back.
    return None if value is None else json.loads(json.dumps(value, default=str, ensure_ascii=False))


def record(session: Session, *, actor: str | None, action: str, entity_type: str, entity_id: Any,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           client_ip: str | None = None, note: str | None = None) -> int:
    """Append one entry in the caller's transaction (a rolled-back change leaves no audit row).

    Nothing is locked: concurrent writers append side by side, and `seal` chains the committed
    entries in one order afterwards (the worker runs it every few seconds). Flushes the unit of
    work first, as the callers expect: the changes' versions and ids are final when it returns.
    The entry itself is one INSERT, no ORM object (core.db.append_row). Returns its id."""
    session.flush()
    return append_row(session, AuditEntry, {
        "at": clock.now(), "actor": actor, "action": action, "entity_type": entity_type,
        "entity_id": str(entity_id), "before": _jsonable(before), "after": _jsonable(after),
        "client_ip": client_ip, "note": note})


def seal(session: Session, *, batch: int = 5000) -> int:
    """Chain the committed entries not sealed yet, oldest first; returns how many were sealed.

    Entries that commit late (an id lower than some already sealed) are sealed in a later round:
    the chain's order is the sealing order (seq), not the id order."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    now = clock.now()
    unsealed = session.scalars(
        select(AuditEntry)
        .outerjoin(AuditSeal, AuditSeal.entry_id == AuditEntry.id)
        .where(AuditSeal.entry_id.is_(None), AuditEntry.at >= now - SEAL_LOOKBACK)
        .order_by(AuditEntry.id)
        .limit(batch)
    ).all()
    for entry in unsealed:
        seq = head.seq + 1
        digest = hashlib.sha256(_canonical(entry, seq, head.hash)).hexdigest()
        session.add(AuditSeal(entry_id=entry.id, seq=seq, prev_hash=head.hash, hash=digest, sealed_at=now))
        head.seq, head.hash = seq, digest
    session.flush()
    return len(unsealed)


def seal_all(session: Session) -> int:
    """Seal until nothing is left (the CLI's verify, tests)."""
    total = 0
    while n := seal(session):
        total += n
    return total


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    unsealed: int = 0  # entries not yet in the chain (the sealer has not come round to them)


def verify(session: Session, *, batch: int = 5000) -> VerifyResult:
    """Recompute the chain; report the first link whose entry, content or predecessor does not match."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = session.execute(
            select(AuditSeal, AuditEntry)
            .outerjoin(AuditEntry, AuditEntry.id == AuditSeal.entry_id)
            .where(AuditSeal.seq > last_seq)
            .order_by(AuditSeal.seq)
            .limit(batch)
        ).all()
        if not rows:
            unsealed = session.scalar(
                select(func.count()).select_from(AuditEntry)
                .outerjoin(AuditSeal, AuditSeal.entry_id == AuditEntry.id)
                .where(AuditSeal.entry_id.is_(None))
            )
            return VerifyResult(True, checked, unsealed=int(unsealed or 0))
        for link, entry in rows:
            if link.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, f"link {expected_seq} is missing")
            if entry is None:
                return VerifyResult(False, checked, link.seq, "the entry of this link is missing")
            if link.prev_hash != prev:
                return VerifyResult(False, checked, link.seq, "link to the previous entry is broken")
            if hashlib.sha256(_canonical(entry, link.seq, prev)).hexdigest() != link.hash:
                return VerifyResult(False, checked, link.seq, "content does not match its hash")
            prev = link.hash
            expected_seq += 1
            checked += 1
            last_seq = link.seq
        session.expunge_all()


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditSeal, "before_update")
def _refuse_update(*_: Any) -> None:
    raise RuntimeError("audit entries are append-only")


@event.listens_for(AuditEntry, "before_delete")
@event.listens_for(AuditSeal, "before_delete")
def _refuse_delete(*_: Any) -> None:
    raise RuntimeError("audit entries are append-only")
