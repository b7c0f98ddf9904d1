"""The demo cases and the domain's place in the wiring tables."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.cases.conftest import T0
from zhili import wiring
from zhili.cases import repository
from zhili.cases.demo import seed_demo_cases
from zhili.cases.models import CaseActivity, CaseRecord
from zhili.cases.service.jobs import purge_idempotency_keys, resume_due_suspensions
from zhili.identity.models import User


def test_demo_cases_are_made_through_the_services_once(session, at) -> None:
    at.set(T0 + timedelta(days=20))
    made = seed_demo_cases(session, count=12)
    assert made == 12
    statuses = set(session.scalars(select(CaseRecord.status)))
    assert statuses <= {"to_verify", "to_register", "to_dispatch", "to_accept", "handling"}
    last = {c.id: c.status for c in session.scalars(select(CaseRecord))}
    for case_id, status in last.items():
        rows = session.scalars(
            select(CaseActivity).where(CaseActivity.case_id == case_id).order_by(CaseActivity.id)
        ).all()
        assert rows[-1].to_status == status
    # The demo inspector finds reports to verify on the phone: 12 cases, every fifth in their grids.
    inspector = session.scalars(select(User).where(User.username == "inspector")).one()
    tasks = repository.open_tasks_for(session, inspector.staff_id)
    assert len(tasks) >= 3 and {task.kind for task, _number in tasks} == {"verify"}
    assert seed_demo_cases(session, count=12) == 0
    assert session.scalar(select(func.count()).select_from(CaseRecord)) == 12


def test_the_scheduled_jobs_are_listed_in_the_wiring() -> None:
    jobs = {name: fn for name, _interval, fn in wiring.SCHEDULED_JOBS}
    assert jobs["cases.resume_suspensions"] is resume_due_suspensions
    assert jobs["cases.purge_idempotency_keys"] is purge_idempotency_keys
