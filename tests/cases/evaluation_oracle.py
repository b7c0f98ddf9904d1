"""An independent oracle for evaluation tests: the indicators of ONE case, straight from its case_record
timestamps by the table of docs/evaluation.md (no facts, no masks), and the check that the stored
evaluation facts give the same figures through the production queries."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhili.cases import evaluation_facts
from zhili.cases.evaluation import queries
from zhili.cases.models import CaseEvaluationFact, CaseRecord


def _in(t: datetime | None, start: datetime, end: datetime) -> bool:
    return t is not None and start <= t < end


def _before(t: datetime | None, end: datetime) -> bool:
    return t is not None and t < end


def _on_time(done: datetime | None, due: datetime | None) -> bool:
    return due is None or (done is not None and done <= due)


def expected(c: CaseRecord, start: datetime, end: datetime, now: datetime) -> dict[str, Any] | None:
    """The case's figures in [start, end) as docs/evaluation.md defines them; None when the case is of
    no concern to the period (reported after it, or ended before it)."""
    if not c.reported_at < end or (c.ended_at is not None and c.ended_at < start):
        return None
    as_of = min(end, now)
    exempt = c.appeal_status == "approved"
    reported = _in(c.reported_at, start, end)
    registered = _in(c.registered_at, start, end)
    dispatched = _in(c.first_dispatched_at, start, end)
    to_handle = (_before(c.first_dispatched_at, end) and c.department_id is not None
                 and c.status != "cancelled" and (c.handled_at is None or c.handled_at >= start))
    handled = to_handle and _before(c.handled_at, end)
    handle_in_time = exempt or _on_time(c.handled_at, c.handle_due_at)
    to_close = (_before(c.handled_at, end) and c.status != "cancelled"
                and (c.closed_at is None or c.closed_at >= start))
    closed = to_close and _before(c.closed_at, end)
    late = c.handled_at is not None and c.handle_due_at is not None and c.handled_at > c.handle_due_at
    running_late = (not _before(c.handled_at, end) and c.status != "suspended"
                    and c.handle_due_at is not None and c.handle_due_at < as_of)
    overdue_raw = to_handle and ((handled and late) or running_late)
    verified = _in(c.verified_at, start, end) and not c.self_handled
    checked = _in(c.checked_at, start, end) and not c.self_handled
    accepted = to_handle and _in(c.accepted_at, start, end)

    def hours(later: datetime | None, earlier: datetime | None, counted: bool) -> float | None:
        if not counted or later is None or earlier is None:
            return None
        return (later - earlier).total_seconds() / 3600

    flags = {
        "reported": reported,
        "valid_reported": reported and _before(c.registered_at, end),
        "self_handled": reported and bool(c.self_handled),
        "registered": registered,
        "not_accepted": c.status == "not_accepted" and _in(c.ended_at, start, end),
        "on_time_registered": registered and _on_time(c.registered_at, c.register_due_at),
        "dispatched": dispatched,
        "on_time_dispatched": dispatched and _on_time(c.first_dispatched_at, c.dispatch_due_at),
        "returned": dispatched and c.return_count > 0,
        "to_handle": to_handle,
        "handled": handled,
        "on_time_handled": handled and handle_in_time,
        "to_close": to_close,
        "closed": closed,
        "on_time_closed": closed and (bool(c.self_handled) or handle_in_time),
        "reworked": handled and c.rework_count > 0,
        "extended": to_handle and c.extension_count > 0,
        "suspended": to_handle and c.suspension_count > 0,
        "overdue": overdue_raw and not exempt,
        "overdue_raw": overdue_raw,
        "appeal_exempt": overdue_raw and exempt,
        "verified": verified,
        "on_time_verified": verified and _on_time(c.verified_at, c.verify_due_at),
        "checked": checked,
        "on_time_checked": checked and _on_time(c.checked_at, c.check_due_at),
    }
    out: dict[str, Any] = {name: int(on) for name, on in flags.items()}
    out["avg_accept_hours"] = hours(c.accepted_at, c.dispatched_at, accepted)
    out["avg_handle_hours"] = hours(c.handled_at, c.dispatched_at, handled)
    out["avg_close_hours"] = hours(c.closed_at, c.reported_at, closed)
    return out


def assert_figures(got: dict[str, Any], want: dict[str, Any], where: object) -> None:
    """Counts equal; average hours equal to rounding (both None when there is nothing to average)."""
    counts = {k: v for k, v in want.items() if not k.startswith("avg_")}
    assert {k: got[k] for k in counts} == counts, where
    for name in ("avg_accept_hours", "avg_handle_hours", "avg_close_hours"):
        if want[name] is None:
            assert got[name] is None, (name, where)
        else:
            assert got[name] == pytest.approx(want[name], rel=1e-9, abs=1e-9), (name, where)


def instants(c: CaseRecord) -> list[datetime]:
    """Every time the case carries: the boundaries a period can be drawn on."""
    names = [col.key for col in CaseRecord.__table__.columns if col.key.endswith("_at")]
    return sorted({t for t in (getattr(c, n) for n in names) if t is not None})


def periods(c: CaseRecord, rnd: random.Random, n: int) -> list[tuple[datetime, datetime]]:
    """A period around everything (every step inside), and periods whose bounds fall exactly on the
    case's own instants, between them, or beside them."""
    times = instants(c)
    day = timedelta(days=1)
    points = [times[0] - day, times[-1] + day, *times, *(a + (b - a) / 2 for a, b in pairwise(times))]
    out = [(times[0] - day, times[-1] + day)]
    while len(out) < n:
        a, b = rnd.sample(points, 2)
        if a != b:
            out.append((min(a, b), max(a, b)))
    return out


def check_facts(session: Session, c: CaseRecord, rnd: random.Random, now: datetime, *, n: int = 4) -> None:
    """The stored fact row is the case's current one, and through the production queries it gives,
    for `n` periods, what the oracle reads from the timestamps."""
    session.flush()
    fact = CaseEvaluationFact.__table__
    stored = session.execute(select(fact).where(fact.c.case_id == c.id)).one()
    assert dict(stored._mapping) == evaluation_facts.fact_row_of(c), "facts behind the case"
    this = queries.F.case_id == c.id
    for start, end in periods(c, rnd, n) if n else []:
        p = queries.Period(start, end, now)
        want = expected(c, start, end, now)
        got = queries.case_aggregates(session, queries.F.street_code, p, this)
        by_department = queries.case_aggregates(session, queries.F.department_id, p, this)
        by_staff = queries.inspector_aggregates(session, p, this)
        if want is None:
            assert got == by_department == by_staff == {}, (start, end)
            continue
        assert set(got) == {c.street_code}
        assert_figures(got[c.street_code], want, (start, end))
        if c.department_id is None:
            assert by_department == {}
        else:
            assert_figures(by_department[c.department_id], want, (start, end))
        parts = ((c.reporter_staff_id, ("reported", "valid_reported", "self_handled")),
                 (c.verified_by_staff_id, ("verified", "on_time_verified")),
                 (c.checked_by_staff_id, ("checked", "on_time_checked")))
        mine: dict[int, dict[str, int]] = {}
        for staff, names in parts:
            if staff is not None:
                mine.setdefault(staff, {}).update({n: want[n] for n in names})
        assert by_staff == mine, (start, end)
