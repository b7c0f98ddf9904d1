"""`seed_demo_year`: load the demo year once, with the cast (the demo logins, staff and departments) and
the standard rows it needs."""

from __future__ import annotations

import logging
import os
import random
import time
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhili.cases.config import config_for
from zhili.cases.demo_history.generator import Generator
from zhili.cases.demo_history.plan import EXTRA_STANDARDS
from zhili.cases.demo_history.simulation import Cast
from zhili.cases.demo_history.writing import write_history
from zhili.cases.models import CaseRecord, CaseStandard
from zhili.core import audit, clock
from zhili.identity.models import User
from zhili.org.models import Department, Staff

log = logging.getLogger(__name__)


def seed_demo_year(
    session: Session,
    *,
    n: int | None = None,
    days: int = 365,
    seed: int = 440111,
    now: datetime | None = None,
) -> int:
    """Load about `n` cases reported over the last `days` days, once; returns how many were made.

    `n` defaults to ZHILI_DEMO_CASE_HISTORY, else 20,000 (about 55 a day;
    more would push `zhili demo` past 30 s).
    """
    n = n if n is not None else int(os.environ.get("ZHILI_DEMO_CASE_HISTORY", "20000"))
    now = now or clock.now()
    if session.scalar(select(func.count()).select_from(CaseRecord).where(
            CaseRecord.reported_at < now - timedelta(days=15))):
        return 0  # history already loaded (the last fortnight may hold cases made through the services)
    cast_ = _load_cast(session)
    if cast_ is None:
        log.info("demo case history skipped: the demo users or departments are missing")
        return 0
    cfg = config_for()
    gen = Generator(session, cast_, cfg, now, days, random.Random(seed), np.random.default_rng(seed))
    t0 = time.perf_counter()
    sims = gen.generate(n)
    t1 = time.perf_counter()
    write_history(session, sims, now)
    log.info("demo case history: %d cases simulated in %.1f s, written in %.1f s",
             len(sims), t1 - t0, time.perf_counter() - t1)
    audit.record(session, actor=None, action="cases.demo_history_loaded", entity_type="case_record",
                 entity_id="demo", after={"cases": len(sims), "days": days})
    return len(sims)


def _load_cast(session: Session) -> Cast | None:
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(
        ["inspector", "operator", "shift_leader", "dispatcher", "handler", "citizen", "leader"])))}
    departments = {d.code: d for d in session.scalars(select(Department))}
    if len(users) < 7 or "BY-HW" not in departments:
        return None
    staff = session.scalars(select(Staff)).all()
    handlers: dict[int, list[str]] = {}
    for s in staff:
        if s.post == "handler" and s.department_id is not None:
            handlers.setdefault(s.department_id, []).append(s.name)
    _ensure_standards(session, departments)
    standards: dict[tuple[str, str], list[CaseStandard]] = {}
    for row in session.scalars(select(CaseStandard).where(CaseStandard.active.is_(True))
                               .order_by(CaseStandard.condition_no)):
        standards.setdefault((row.class_kind, row.class_code), []).append(row)
    return Cast(users, {s.id: s.name for s in staff}, handlers, departments,
                {d.id: d for d in departments.values()}, standards)


def _ensure_standards(session: Session, departments: dict[str, Department]) -> None:
    have = {(k, c) for k, c in session.execute(select(CaseStandard.class_kind, CaseStandard.class_code))}
    for kind, code, reg, close, dept, (dl, du), (hl, hu), (cl, cu) in EXTRA_STANDARDS:
        if (kind, code) in have or dept not in departments:
            continue
        session.add(CaseStandard(
            class_kind=kind, class_code=code, condition_no=1, register_condition=reg, close_condition=close,
            department_id=departments[dept].id, dispatch_limit=dl, dispatch_unit=du, handle_limit=hl,
            handle_unit=hu, check_limit=cl, check_unit=cu, after_photo_required=True, active=True,
            updated_at=clock.now()))
    session.flush()
