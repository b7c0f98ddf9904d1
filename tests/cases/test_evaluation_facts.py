"""Evaluation facts (case_evaluation_fact): every writer stores what `evaluation_facts` computes, and the
figures they give through the evaluation's queries are those the case timestamps give (the oracle)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, func, select, text, update
from sqlalchemy.orm import Session

from tests.cases.conftest import SHANGHAI, T0, act, drive, evidence, make_case, standard_id
from tests.cases.evaluation_oracle import assert_figures, check_facts, expected
from zhili.cases import evaluation_facts, synthetic
from zhili.cases.config import CaseConfig
from zhili.cases.demo_history import seed_demo_year
from zhili.cases.evaluation import queries
from zhili.cases.evaluation.masks import AVERAGED, DUE_PASSED, indicators_of
from zhili.cases.evaluation_facts import FLAG
from zhili.cases.models import CaseEvaluationFact, CaseRecord
from zhili.cases.states import CaseStatus
from zhili.core import migrate

FACT = CaseEvaluationFact.__table__


def _stored(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = session.execute(select(FACT).where(FACT.c.case_id.in_(ids)))
    return {int(r.case_id): dict(r._mapping) for r in rows}


@pytest.fixture
def stories(session: Session, cfg: CaseConfig, at) -> list[CaseRecord]:  # type: ignore[no-untyped-def]
    """Cases through the engine, one per kind of story: closed, reworked, returned, late with an
    approved appeal, suspended, extended, cancelled, refused, verified, self-handled, still open."""
    sid = standard_id(session)
    made: list[CaseRecord] = []

    def step(minutes: int) -> None:
        at.advance(minutes=minutes)

    closed = drive(session, cfg, make_case(session, cfg), CaseStatus.closed)
    step(30)
    reworked = drive(session, cfg, make_case(session, cfg), CaseStatus.to_close)
    reworked = act(session, cfg, "shift_leader", reworked, "rework", reason="仍有残留")
    step(40)
    reworked = act(session, cfg, "handler", reworked, "handle", result="已清理", evidence=evidence(session))
    returned = drive(session, cfg, make_case(session, cfg), CaseStatus.to_accept)
    returned = act(session, cfg, "handler", returned, "return_case", reason="不属本部门")
    step(10)
    returned = act(session, cfg, "dispatcher", returned, "dispatch")
    late = drive(session, cfg, make_case(session, cfg), CaseStatus.handling)
    suspended = drive(session, cfg, make_case(session, cfg), CaseStatus.handling)
    suspended = act(session, cfg, "shift_leader", suspended, "suspend", reason="待季节",
                    until=at.t + timedelta(days=3))
    extended = drive(session, cfg, make_case(session, cfg), CaseStatus.handling)
    extended = act(session, cfg, "handler", extended, "request_extension", amount=2.0, reason="材料")
    extended = act(session, cfg, "dispatcher", extended, "approve_extension")
    cancelled = drive(session, cfg, make_case(session, cfg), CaseStatus.to_accept)
    cancelled = act(session, cfg, "shift_leader", cancelled, "cancel", reason="重复登记")
    refused = act(session, cfg, "shift_leader", make_case(session, cfg), "not_accept", reason="不符合")
    hotline = make_case(session, cfg, reporter="operator", source="hotline")
    hotline = act(session, cfg, "inspector", hotline, "verify", confirmed=True)
    hotline = act(session, cfg, "shift_leader", hotline, "register", standard_id=sid)
    waiting = make_case(session, cfg)
    self_handled = make_case(session, cfg, source="self_handled", evidence=evidence(session),
                             after_evidence=evidence(session), result="已清理")
    step(60 * 30)  # a day and more: the running ones are overdue now
    late = act(session, cfg, "handler", late, "handle", result="已清理", evidence=evidence(session))
    late = act(session, cfg, "handler", late, "appeal", reason="暴雨")
    late = act(session, cfg, "dispatcher", late, "approve_appeal")
    made += [closed, reworked, returned, late, suspended, extended, cancelled, refused, hotline, waiting,
             self_handled]
    assert late.appeal_status == "approved" and late.handled_at > late.handle_due_at
    return made


def test_the_engine_keeps_the_facts_and_they_give_the_oracle_s_figures(session, stories, at) -> None:
    rnd = random.Random(3)
    for case in stories:
        check_facts(session, case, rnd, now=at.t, n=8)


def test_an_action_that_changes_nothing_evaluation_reads_writes_no_facts(session, cfg, stories) -> None:
    case = next(c for c in stories if c.status == CaseStatus.handling)
    session.execute(update(CaseEvaluationFact).where(CaseEvaluationFact.case_id == case.id).values(facts=-1))
    act(session, cfg, "dispatcher", case, "urge", reason="请尽快处置")
    assert session.scalar(select(FACT.c.facts).where(FACT.c.case_id == case.id)) == -1


def test_a_case_without_facts_gets_them_at_its_next_change(session, cfg, stories, at) -> None:
    case = next(c for c in stories if c.status == CaseStatus.handling)
    session.execute(delete(CaseEvaluationFact).where(CaseEvaluationFact.case_id == case.id))
    act(session, cfg, "handler", case, "handle", result="已清理", evidence=evidence(session))
    check_facts(session, case, random.Random(1), now=at.t, n=2)


def test_backfill_writes_what_the_engine_wrote(session, stories) -> None:
    ids = [c.id for c in stories]
    before = _stored(session, ids)
    assert len(before) == len(ids)
    session.execute(delete(CaseEvaluationFact).where(CaseEvaluationFact.case_id.in_(ids)))
    written = evaluation_facts.backfill(session.connection(), chunk=4)
    assert written >= len(ids)  # and whatever other case of the database had none
    assert _stored(session, ids) == before
    assert evaluation_facts.backfill(session.connection()) == 0  # nothing left to do


def test_averaged_indicators_do_not_depend_on_the_due_bit() -> None:
    """The scan sums durations per (group, static facts) without splitting on DUE_PASSED."""
    rnd = random.Random(5)
    for _ in range(20_000):
        mask = rnd.getrandbits(62)
        with_due, without = indicators_of(mask | DUE_PASSED), indicators_of(mask & ~DUE_PASSED)
        assert all(with_due[name] == without[name] for name in AVERAGED)


def test_demo_history_carries_the_facts_of_its_cases(session, at) -> None:
    now = T0 + timedelta(days=20)
    at.set(now)
    seed_demo_year(session, n=150, days=15, seed=3, now=now)
    cases = session.scalars(select(CaseRecord)).all()
    stored = _stored(session, [c.id for c in cases])
    assert len(cases) > 100
    for case in cases:
        assert stored[case.id] == evaluation_facts.fact_row_of(case), case.number


def _sum(cases: list[CaseRecord], start: datetime, end: datetime, now: datetime) -> dict[str, dict[str, Any]]:
    """The oracle's figures per street: counts added, averages over the cases that have one."""
    out: dict[str, dict[str, Any]] = {}
    for case in cases:
        want = expected(case, start, end, now)
        if want is None:
            continue
        row = out.setdefault(case.street_code, {})
        for name, value in want.items():
            if name.startswith("avg_"):
                if value is not None:
                    total, n = row.get(name, (0.0, 0))
                    row[name] = (total + value, n + 1)
            else:
                row[name] = row.get(name, 0) + value
    for row in out.values():
        for name in ("avg_accept_hours", "avg_handle_hours", "avg_close_hours"):
            total, n = row.get(name, (0.0, 0))
            row[name] = total / n if n else None
    return out


def test_synthetic_cases_carry_their_facts_and_give_the_oracle_s_figures(session) -> None:
    first = int(session.scalar(select(func.max(CaseRecord.id))) or 0) + 1
    synthetic.insert_synthetic_cases(session, 600, year=2025, seed=3)
    cases = session.scalars(select(CaseRecord).where(CaseRecord.id >= first)).all()
    assert len(cases) == 600
    stored = _stored(session, [c.id for c in cases])
    for case in cases:  # the bulk writer's facts are the engine's function of what it wrote
        assert stored[case.id] == evaluation_facts.fact_row_of(case), case.number
    mine = queries.F.case_id >= first
    now = datetime(2025, 12, 31, 15, tzinfo=SHANGHAI)  # before the year's end: as_of < end
    for start, end in (
        (datetime(2025, 1, 1, tzinfo=SHANGHAI), datetime(2026, 1, 1, tzinfo=SHANGHAI)),
        (datetime(2025, 6, 1, tzinfo=SHANGHAI), datetime(2025, 7, 1, tzinfo=SHANGHAI)),
        (datetime(2025, 9, 27, 13, tzinfo=UTC), datetime(2025, 10, 3, 9, 30, tzinfo=UTC)),
        (datetime(2025, 12, 20, tzinfo=SHANGHAI), datetime(2026, 2, 1, tzinfo=SHANGHAI)),
    ):
        got = queries.case_aggregates(session, queries.F.street_code, queries.Period(start, end, now), mine)
        want = _sum(list(cases), start, end, now)
        assert set(got) == set(want)
        for street, row in want.items():
            assert_figures(got[street], row, (street, start, end))


def test_the_migration_fills_the_facts_of_the_cases_already_there(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0009")
    engine = create_engine(url)
    at = "2026-03-02 01:00:00.000000"  # naive UTC text, as UTCDateTime stores it on SQLite
    case = {
        "id": 7, "number": "20260302000001", "status": "handling", "source": "inspector", "self_handled": 0,
        "class_kind": "matter", "class_code": "06010", "description": "x", "lon": 113.3, "lat": 23.2,
        "address": "x", "grid_code": "440111002001001", "community_code": "440111002001",
        "street_code": "440111002", "after_photo_required": 0, "reported_at": at, "registered_at": at,
        "first_dispatched_at": at, "dispatched_at": at, "handle_due_at": "2026-03-02 07:00:00.000000",
        "extended_amount": 0.0, "extension_count": 1, "suspension_count": 0, "rework_count": 0,
        "return_count": 0, "urge_count": 0, "duplicate_count": 0, "created_at": at, "updated_at": at,
        "version": 3,
    }
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO case_record ({', '.join(case)}) "
                          f"VALUES ({', '.join(':' + k for k in case)})"), case)
    migrate.upgrade(url, "0010")
    with engine.connect() as conn:
        fact = conn.execute(select(FACT)).one()
        columns = CaseRecord.__table__.c  # only those of revision 0010, whatever later ones add
        record = conn.execute(select(*[columns[n] for n in ("id", *evaluation_facts.INPUTS)])).one()
    engine.dispose()
    assert dict(fact._mapping) == evaluation_facts.fact_row_of(record)
    assert fact.department_id is None and fact.facts & FLAG["extended_ever"]
