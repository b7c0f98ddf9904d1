"""THE tables: which handlers run for which domain events, and which jobs run on a schedule."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from zhili.core.events import Event, Handler

# Event name -> handlers. Handlers are idempotent: the outbox delivers at least once.
EVENT_HANDLERS: dict[str, Iterable[Handler]] = {}

# (job name, interval in seconds, function(session)). Jobs are idempotent and safe to run on
# several workers at once (they claim rows with versioned updates).
ScheduledJob = tuple[str, int, Callable[[Session], object]]
SCHEDULED_JOBS: list[ScheduledJob] = []


def handlers_for(event: Event) -> Iterable[Handler]:
    return EVENT_HANDLERS.get(type(event).name, ())
