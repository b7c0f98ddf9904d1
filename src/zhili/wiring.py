"""THE tables: which handlers run for which domain events, and which jobs run on a schedule."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from zhili.cases.service import jobs as case_jobs
from zhili.cases.workorders import jobs as workorder_jobs
from zhili.core import audit
from zhili.core.events import Event, Handler

# Event name -> handlers. Handlers are idempotent: the outbox delivers at least once.
EVENT_HANDLERS: dict[str, Iterable[Handler]] = {}

# (job name, interval in seconds, function(session)). Jobs are idempotent and safe to run on
# several workers at once (they claim rows with versioned updates).
ScheduledJob = tuple[str, int, Callable[[Session], object]]
SCHEDULED_JOBS: list[ScheduledJob] = [
    ("core.seal_audit", 2, audit.seal),  # chain the audit entries committed since the last round
    ("cases.resume_suspensions", 60, case_jobs.resume_due_suspensions),  # 挂账 resumes at its date
    ("cases.purge_idempotency_keys", 3600, case_jobs.purge_idempotency_keys),
    ("workorders.generate", 900, workorder_jobs.generate_ahead),  # today and tomorrow, idempotent
    ("workorders.draw_checks", 3600, workorder_jobs.draw_yesterday_and_before),  # 抽查, seeded by date
]


def handlers_for(event: Event) -> Iterable[Handler]:
    return EVENT_HANDLERS.get(type(event).name, ())
