"""Domain events and the transactional outbox: side effects that survive a crash after commit."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from zhili.core import clock
from zhili.core.db import Base, BigId, Database, JSONType, UTCDateTime, append_row

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Event:
    """Base of domain events: frozen, past tense, carrying ids (never ORM objects)."""

    name: ClassVar[str] = "event"


_EVENT_TYPES: dict[str, type[Event]] = {}


def event_type(cls: type[Event]) -> type[Event]:
    """Class decorator: register an event under its `name` so the outbox can rebuild it."""
    if cls.name in _EVENT_TYPES and _EVENT_TYPES[cls.name] is not cls:
        raise ValueError(f"event name {cls.name!r} registered twice")
    _EVENT_TYPES[cls.name] = cls
    return cls


class OutboxMessage(Base):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_name: Mapped[str] = mapped_column(String(80), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Pending rows have dispatched_at NULL; the partial scan below is indexed by (dispatched_at, id).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


def _payload(event: Event) -> dict[str, Any]:
    """The event's fields by name. Events carry ids and words, so a shallow dict is the JSON's
    content (dataclasses.asdict would deep-copy each value on the way)."""
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}


def record_event(session: Session, event: Event) -> None:
    """Write the event in the caller's transaction; it is delivered only if that transaction commits.

    One INSERT, no ORM object (core.db.append_row)."""
    if type(event).name not in _EVENT_TYPES:
        raise ValueError(f"event {type(event).__name__} is not registered with @event_type")
    append_row(session, OutboxMessage, {
        "event_name": type(event).name, "payload": _payload(event), "created_at": clock.now(),
        "dispatched_at": None, "attempts": 0, "next_attempt_at": None, "last_error": None})


Handler = Callable[[Session, Event], None]


def dispatch_pending(db: Database, handlers: dict[str, Iterable[Handler]], *, limit: int = 200) -> int:
    """Deliver pending messages; each handler runs in its own transaction and must be idempotent.

    A failing message is retried later with backoff; the error is kept on the row for operators.
    """
    now = clock.now()
    with db.session_scope() as s:
        rows = s.execute(
            select(OutboxMessage.id, OutboxMessage.event_name, OutboxMessage.payload)
            .where(OutboxMessage.dispatched_at.is_(None))
            .where((OutboxMessage.next_attempt_at.is_(None)) | (OutboxMessage.next_attempt_at <= now))
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    delivered = 0
    for msg_id, name, payload in rows:
        cls = _EVENT_TYPES.get(name)
        try:
            with db.session_scope() as s:
                if cls is not None:
                    event = cls(**payload)
                    for handler in handlers.get(name, ()):
                        handler(s, event)
                row = s.get(OutboxMessage, msg_id)
                if row is not None:
                    row.dispatched_at = clock.now()
            delivered += 1
        except Exception as exc:  # a handler's failure must not stop the others
            log.exception("outbox message %s (%s) failed", msg_id, name)
            with db.session_scope() as s:
                row = s.get(OutboxMessage, msg_id)
                if row is not None:
                    row.attempts += 1
                    row.last_error = repr(exc)[:2000]
                    row.next_attempt_at = clock.now() + timedelta(seconds=min(3600, 5 * 2 ** row.attempts))
    return delivered
