"""Scheduled jobs of the cases domain (listed in wiring.SCHEDULED_JOBS): idempotent, safe on many workers."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from zhili.cases import repository
from zhili.cases.config import CaseConfig, config_for
from zhili.cases.schemas import ActionFields
from zhili.cases.service import idempotency
from zhili.cases.service.timeline import Actor
from zhili.cases.service.workflow import apply_action
from zhili.cases.states import CaseAction, CaseStatus
from zhili.core import clock
from zhili.core.errors import DomainError

log = logging.getLogger(__name__)
RESUME_JOB = "system:cases.resume_suspensions"


def resume_due_suspensions(session: Session, cfg: CaseConfig | None = None) -> int:
    """Resume every suspended case whose date has come (挂账 resumes by itself); returns how many."""
    cfg = cfg or config_for()
    now = clock.now()
    resumed = 0
    for number in repository.suspensions_due(session, now):
        case = repository.get_by_number(session, number)
        if case is None or case.status != CaseStatus.suspended:
            continue
        try:
            # The versioned update makes a second worker's attempt on the same case fail, not repeat.
            with session.begin_nested():
                apply_action(
                    session,
                    Actor(None, system_name=RESUME_JOB),
                    case,
                    CaseAction.resume,
                    ActionFields(note="resumed at the end of the suspension"),
                    cfg,
                    version=None,
                    now=now,
                )
            resumed += 1
        except (StaleDataError, DomainError) as exc:
            log.info("case %s not resumed: %s", number, exc)
    return resumed


def purge_idempotency_keys(session: Session) -> int:
    return idempotency.purge_old_keys(session, keep_days=config_for().rules.idempotency_keep_days)
