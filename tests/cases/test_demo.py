"""The demo's year of cases, on a small scale: every row is one the engine could have written."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from itertools import pairwise

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.conftest import T0, Clock, user
from zhili.cases import repository
from zhili.cases.config import CaseConfig
from zhili.cases.demo_history import seed_demo_year
from zhili.cases.models import CaseActivity, CaseRecord, CaseStandard, CaseTask
from zhili.cases.schemas import ActionFields, CaseFilters
from zhili.cases.service import rules, views
from zhili.cases.service.timeline import Actor
from zhili.cases.service.workflow import apply_action
from zhili.cases.states import QUEUES, TERMINAL, CaseAction, CaseStatus, transition
from zhili.org import service as org_service

NOW = T0 + timedelta(days=45, hours=2)  # Thursday 16 April 2026, 11:00 in Guangzhou
STAGE_DUE = {
    "to_verify": "verify_due_at",
    "to_register": "register_due_at",
    "to_dispatch": "dispatch_due_at",
    "to_accept": "handle_due_at",
    "handling": "handle_due_at",
    "to_check": "check_due_at",
}


@pytest.fixture
def demo(session: Session, at: Clock) -> list[CaseRecord]:
    at.set(NOW)
    made = seed_demo_year(session, n=1500, days=40, seed=7, now=NOW)
    assert made > 1400  # a few may merge or drop, never most
    return list(session.scalars(select(CaseRecord).order_by(CaseRecord.id)))


def _queues_are_filled(session: Session, demo: list[CaseRecord]) -> None:
    statuses = Counter(c.status for c in demo)
    assert statuses["closed"] > len(demo) * 0.7
    assert {"not_accepted", "merged"} <= set(statuses)
    admin = user(session, "admin")
    for queue in QUEUES:
        if queue == "suspended":
            continue  # about one case in a hundred is suspended, and most resume before now
        rows, _more, total = repository.list_cases(session, admin, CaseFilters(queue=queue, with_total=True),
                                                   now=NOW)
        assert total and rows, f"queue {queue} is empty"


def _timelines_follow_the_table(session: Session, demo: list[CaseRecord]) -> None:
    by_case: dict[int, list[CaseActivity]] = {}
    for a in session.scalars(select(CaseActivity).order_by(CaseActivity.id)):
        by_case.setdefault(a.case_id, []).append(a)
    for case in demo:
        rows = [a for a in by_case[case.id] if a.action != "merged_in"]
        assert rows[0].action == "report" and rows[0].from_status is None
        assert rows[0].at == case.reported_at
        for before, after in pairwise(rows):
            assert after.from_status == before.to_status, case.number
            tr = transition(after.from_status, after.action)
            assert tr is not None and tr.target == after.to_status, (case.number, after.action)
            assert after.at >= before.at, case.number
        assert rows[-1].to_status == case.status
        assert case.updated_at == max(a.at for a in by_case[case.id])
        assert all(a.at <= NOW for a in by_case[case.id])


def _deadlines_match_the_status(demo: list[CaseRecord], cfg: CaseConfig) -> None:
    cal = cfg.calendar
    for case in demo:
        if case.status in TERMINAL:
            assert case.ended_at is not None and case.due_at is None
            if case.status == "closed" and not case.self_handled:
                assert case.reported_at <= case.registered_at <= case.first_dispatched_at  # type: ignore[operator]
                assert case.handled_at <= case.checked_at <= case.closed_at  # type: ignore[operator]
                assert case.check_passed is True
            continue
        assert case.ended_at is None
        column = STAGE_DUE.get(case.status)
        if column is not None:
            assert case.due_at == getattr(case, column) and case.amber_at is not None
            assert case.amber_at < case.due_at
        if case.status == "to_dispatch":
            assert case.dispatch_limit is not None and case.dispatch_unit is not None
            assert case.due_at == cal.add(case.stage_started_at, case.dispatch_limit, case.dispatch_unit)
        if case.status == "handling" and not case.suspension_count:
            assert case.handle_limit is not None and case.handle_unit is not None
            limit = case.handle_limit + case.extended_amount
            assert case.due_at == cal.add(case.handle_started_at, limit, case.handle_unit)
        if case.status in ("to_close", "suspended"):
            assert case.due_at is None


def _open_tasks_match(session: Session, demo: list[CaseRecord]) -> None:
    status = {c.id: c.status for c in demo}
    open_tasks = Counter((t.case_id, t.kind) for t in session.scalars(select(CaseTask))
                         if t.status == "open")
    for case_id, s in status.items():
        want = {"to_verify": "verify", "to_check": "check"}.get(s)
        for kind in ("verify", "check"):
            assert open_tasks[(case_id, kind)] == (1 if kind == want else 0), (case_id, s, kind)


def _the_demo_inspector_has_work_on_the_phone(session: Session) -> None:
    """A share of the last days' reports lie in the demo inspector's grids: their field page lists
    reports to verify (and cases to check, when the last days made some)."""
    tasks = repository.open_tasks_for(session, user(session, "inspector").staff_id)
    assert len(tasks) >= 3 and "verify" in {task.kind for task, _number in tasks}


def _cases_lie_in_their_grids(session: Session, demo: list[CaseRecord]) -> None:
    index = org_service.area_index(session)
    found = index.locate_many(np.array([c.lon for c in demo]), np.array([c.lat for c in demo]))
    assert (found >= 0).all()
    for case, pos in zip(demo, found.tolist(), strict=True):
        loc = index.location_at(pos)
        assert (loc.grid_code, loc.street_code, loc.community_code) == (
            case.grid_code, case.street_code, case.community_code)
        assert case.grid_inspector_staff_id == loc.inspector_staff_id


def _the_engine_shows_and_continues_them(session: Session, demo: list[CaseRecord], cfg: CaseConfig) -> None:
    admin, leader, handler = user(session, "admin"), user(session, "shift_leader"), user(session, "handler")
    firsts = {}
    for case in demo:
        firsts.setdefault(case.status, case)
    for case in firsts.values():
        detail = views.case_detail(session, admin, case, cfg, NOW)
        assert detail.timeline[-1].to_status == case.status
    assert CaseAction.register in rules.allowed_actions_for(session, leader, firsts["to_register"], cfg, NOW)
    assert CaseAction.close in rules.allowed_actions_for(session, leader, firsts["to_close"], cfg, NOW)
    mine = next(c for c in demo if c.status == "to_accept" and c.department_id == handler.department_id)
    assert CaseAction.accept in rules.allowed_actions_for(session, handler, mine, cfg, NOW)

    waiting = firsts["to_register"]
    standard = session.scalars(select(CaseStandard).where(
        CaseStandard.class_kind == waiting.class_kind, CaseStandard.class_code == waiting.class_code)).first()
    assert standard is not None
    apply_action(session, Actor(leader), waiting, CaseAction.register, ActionFields(standard_id=standard.id),
                 cfg, version=waiting.version, now=NOW)
    assert waiting.status == CaseStatus.to_dispatch and waiting.dispatch_due_at is not None
    done = firsts["to_close"]
    if done.check_passed:
        apply_action(session, Actor(leader), done, CaseAction.close, ActionFields(), cfg,
                     version=done.version, now=NOW)
        assert done.status == CaseStatus.closed


def test_a_small_demo_history_is_what_the_engine_would_have_written(
    session: Session, demo: list[CaseRecord], cfg: CaseConfig
) -> None:
    """One seeding (a few seconds), every check: queues, timelines, deadlines, tasks, places."""
    _queues_are_filled(session, demo)
    _timelines_follow_the_table(session, demo)
    _deadlines_match_the_status(demo, cfg)
    _open_tasks_match(session, demo)
    _the_demo_inspector_has_work_on_the_phone(session)
    _cases_lie_in_their_grids(session, demo)
    _the_engine_shows_and_continues_them(session, demo, cfg)
    assert seed_demo_year(session, n=100, days=40, seed=7, now=NOW) == 0  # loaded once
