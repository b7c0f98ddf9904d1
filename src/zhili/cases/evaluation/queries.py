"""The evaluation's SQL: scans of case_evaluation_fact that count cases per (group, mask), and the timeline
for posts.

Each case's fact row (`evaluation_facts`: period-independent facts as bits, step times as integers)
is reduced in SQL to its mask against the period (`masks`); the database counts cases per (group,
mask) with the sums of the stage durations, and the indicators are formulas over the masks,
evaluated once per distinct mask. No case row is loaded into Python. docs/evaluation.md defines
the indicators.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import datetime
from functools import reduce
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session

from zhili.cases.evaluation.masks import AFTER, BEFORE, DUE_PASSED, indicators_of, position_bits
from zhili.cases.evaluation_facts import FLAG, STEPS, epoch_us
from zhili.cases.models import CaseActivity, CaseEvaluationFact, CaseRecord
from zhili.cases.visibility import department_scope
from zhili.identity.scope import street_codes_for

if TYPE_CHECKING:
    from zhili.identity.models import User

C = CaseRecord
F = CaseEvaluationFact
Cond = ColumnElement[bool]
# (group key, mask) → [cases, then per duration: sum of seconds, how many]
Counts = dict[tuple[Any, int], list[Any]]


def scope_of(user: User | None, of: type[CaseRecord] | type[CaseEvaluationFact] = F) -> Cond:
    """What of the cases the user's figures cover: their streets and, for department staff, their
    department (the engine's department rule). None (a job, the bench) covers the whole district.
    `of` is the table the query reads (the fact table carries the case's street and department)."""
    if user is None:
        return true()
    clauses: list[Cond] = []
    scoped, dept = department_scope(user)
    if scoped:
        clauses.append(of.department_id == dept if dept is not None else literal_column("1") == 0)
    streets = street_codes_for(user)
    if streets is not None:
        clauses.append(of.street_code.in_(streets))
    return and_(true(), *clauses)


class Period:
    """[start, end) with `as_of` = min(end, now): running stages are judged overdue against it."""

    def __init__(self, start: datetime, end: datetime, now: datetime) -> None:
        self.start, self.end, self.as_of = start, end, min(end, now)
        self.start_us, self.end_us, self.as_of_us = epoch_us(start), epoch_us(end), epoch_us(self.as_of)


def _n(cond: Cond) -> Any:
    return func.count().filter(cond)


def _us(value: int | None) -> Any:
    return literal(value, BigInteger)


def inside(p: Period) -> Cond:
    """Every step of the case lies in the period: its mask is its static facts (and the due bit)."""
    return and_(F.span_start_us >= _us(p.start_us), F.span_end_us < _us(p.end_us))


def relevant(p: Period) -> Cond:
    """The cases that can count in the period: reported before its end and not ended before its start
    (every step of a case lies between its report and its end)."""
    return and_(F.reported_us < _us(p.end_us), or_(F.ended_us.is_(None), F.ended_us >= _us(p.start_us)))


def due_passed(p: Period) -> Cond:
    return F.handle_due_us < _us(p.as_of_us)


def _const(n: int) -> ColumnElement[int]:
    """An integer written into the SQL: the statement reads (and EXPLAINs) better than with parameters."""
    return literal_column(str(n), BigInteger)


def mask_sql(p: Period, steps: Sequence[str] = STEPS, keep: int | None = None) -> ColumnElement[int]:
    """The mask of one fact row in SQL, step by step (the `inside` cases need none of this). With `keep`,
    only those static bits and the positions of `steps` (fewer distinct masks where fewer indicators
    are asked for); the due bit only with every step."""
    start, end = _us(p.start_us), _us(p.end_us)
    terms: list[ColumnElement[int]] = [
        case(
            (getattr(F, f"{step}_us") < start, _const(position_bits(step, BEFORE))),
            (getattr(F, f"{step}_us") >= end, _const(position_bits(step, AFTER))),
            else_=_const(0),
        )
        for step in steps
    ]
    if keep is not None:
        return reduce(operator.add, [F.facts.op("&")(_const(keep)), *terms])
    due = case((due_passed(p), _const(DUE_PASSED)), else_=_const(0))
    return reduce(operator.add, [F.facts.expression, *terms, due])


# Average times: (name, fact column of the durations in seconds, the indicator whose cases are averaged,
# the bit of the cases that have the duration).
AVERAGES = (
    ("avg_accept_hours", F.accept_seconds, "_accepted", FLAG["accept_timed"]),  # accepted − dispatched
    ("avg_handle_hours", F.handle_seconds, "handled", FLAG["handle_timed"]),  # handled − dispatched
    ("avg_close_hours", F.close_seconds, "closed", FLAG["close_timed"]),  # closed − reported
)


def _add(counts: Counts, k: Any, m: int, n: int, seconds: Sequence[Any] = ()) -> None:
    acc = counts.get((k, m))
    if acc is None:
        acc = counts[(k, m)] = [0] + [0.0] * len(AVERAGES)
    acc[0] += n
    for i, x in enumerate(seconds):
        acc[1 + i] += x or 0


def _tally(counts: Counts, only: Sequence[str] | None = None) -> dict[Any, dict[str, Any]]:
    """{group: {indicator: value}} from the counts per (group, mask): the formulas once per mask."""
    names = list(only) if only else [n for n in indicators_of(0) if not n.startswith("_")]
    out: dict[Any, dict[str, Any]] = {}
    sums: dict[Any, list[Any]] = {}
    # Per mask: the indicators that count its cases, and the averages that take their durations.
    on: dict[int, tuple[list[str], list[int]]] = {}
    for (k, m), (n, *seconds) in counts.items():
        hits = on.get(m)
        if hits is None:
            flags = indicators_of(m)
            averaged = [i for i, (_, _, cond, timed) in enumerate(AVERAGES) if flags[cond] and m & timed]
            hits = on[m] = ([name for name in names if flags[name]], averaged)
        values = out.get(k)
        if values is None:
            values = out[k] = dict.fromkeys(names, 0)
            sums[k] = [0.0, 0] * len(AVERAGES)
        for name in hits[0]:
            values[name] += n
        acc = sums[k]
        for i in hits[1]:
            acc[2 * i] += float(seconds[i])
            acc[2 * i + 1] += n
    if not only:
        for k, values in out.items():
            for i, (name, *_) in enumerate(AVERAGES):
                total, how_many = sums[k][2 * i], sums[k][2 * i + 1]
                values[name] = total / how_many / 3600.0 if how_many else None
    return out


def case_aggregates(session: Session, key: Any, p: Period, scope: Cond) -> dict[Any, dict[str, Any]]:
    """{group: {indicator: value}} for every case-based count and average, by `key` (the fact table's
    street_code or department_id, each the head of a covering index). Two scans:

    1. the cases whose steps all lie in the period (for a year, nearly all): their mask is their static
       facts, plus DUE_PASSED for those the FILTER counts. Grouped by (key, facts), which the covering
       index delivers in order: SQLite, which has no hash aggregate, then sorts nothing. The durations
       are summed without splitting on DUE_PASSED: no averaged indicator depends on it (masks.AVERAGED);
       how many cases each average is over, the masks say (the `*_timed` bits).
    2. the other relevant ones, compared step by step.
    """
    dialect = session.get_bind().dialect.name
    counts: Counts = {}
    sums = [func.sum(col) for _, col, _, _ in AVERAGES]
    whole = (
        select(key, F.facts, func.count(), _n(due_passed(p)), *sums)
        .where(scope, key.is_not(None), inside(p))
        .group_by(key, F.facts)
    )
    for k, facts, n, n_due, *seconds in _run(session, whole, dialect):
        _add(counts, k, facts, n - n_due, seconds)
        if n_due:
            _add(counts, k, facts | DUE_PASSED, n_due)
    durations = [col.label(f"d{i}") for i, (_, col, _, _) in enumerate(AVERAGES)]
    rows = select(key.label("k"), mask_sql(p).label("m"), *durations).where(
        scope, key.is_not(None), ~inside(p), relevant(p)
    )
    if dialect == "sqlite":  # LIMIT -1 keeps SQLite from flattening: the mask is computed once per row
        rows = rows.limit(-1)
    sub = rows.subquery()
    sub_sums = [func.sum(sub.c[d.name]) for d in durations]
    split = select(sub.c.k, sub.c.m, func.count(), *sub_sums).group_by(sub.c.k, sub.c.m)
    for k, m, n, *seconds in _run(session, split, dialect):
        _add(counts, k, m, n, seconds)
    return _tally(counts)


def _run(session: Session, stmt: Any, dialect: str) -> list[Any]:
    """Execute a scan on the session's connection (plain rows: no ORM loading for a few thousand
    tuples). On PostgreSQL, JIT compiling the mask expression costs seconds (more than the scan
    itself), and the planner, unable to estimate the (group, mask) pairs, sorts a million rows to disk
    unless a hash table may be large: JIT off and a larger work_mem for this one statement, then both
    restored."""
    conn = session.connection()
    if dialect != "postgresql":
        return list(conn.execute(stmt).all())
    saved = conn.execute(text("SELECT current_setting('jit'), current_setting('work_mem')")).one()
    conn.execute(text("SELECT set_config('jit', 'off', true), set_config('work_mem', '256MB', true)"))
    try:
        return list(conn.execute(stmt).all())
    finally:
        conn.execute(
            text("SELECT set_config('jit', :jit, true), set_config('work_mem', :mem, true)"),
            {"jit": saved[0], "mem": saved[1]},
        )


def inspector_aggregates(session: Session, p: Period, scope: Cond) -> dict[Any, dict[str, Any]]:
    """By staff member: reports by the reporter, verifies by the verifier, checks by the checker; one
    scan grouped by the three of them (mostly the same grid inspector, so few groups)."""
    parts = (
        (F.reporter_staff_id, ("reported", "valid_reported", "self_handled")),
        (F.verified_by_staff_id, ("verified", "on_time_verified")),
        (F.checked_by_staff_id, ("checked", "on_time_checked")),
    )
    keys = [key for key, _ in parts]
    steps = ("reported", "registered", "verified", "checked")
    keep = sum(FLAG[name] for name in ("self_handled", "verify_in_time", "check_in_time")) + sum(
        FLAG[f"{step}_set"] for step in steps
    )
    mask = mask_sql(p, steps, keep)
    rows = select(*[k.label(f"k{i}") for i, k in enumerate(keys)], mask.label("m")).where(
        scope, or_(*[k.is_not(None) for k in keys]), relevant(p)
    )
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        rows = rows.limit(-1)
    sub = rows.subquery()
    cols = [sub.c[f"k{i}"] for i in range(len(keys))]
    stmt = select(*cols, sub.c.m, func.count()).group_by(*cols, sub.c.m)
    counts: list[Counts] = [{} for _ in parts]
    for *ks, m, n in _run(session, stmt, dialect):
        for i, k in enumerate(ks):
            if k is not None:
                _add(counts[i], k, int(m), int(n))
    out: dict[Any, dict[str, Any]] = {}
    for (_, names), part in zip(parts, counts, strict=True):
        for k, values in _tally(part, only=names).items():
            out.setdefault(k, {}).update(values)
    return out


def post_aggregates(session: Session, p: Period, scope: Cond) -> dict[tuple[str, int], dict[str, Any]]:
    """By (post, user) from the timeline: who registered / did not accept, who dispatched, and
    whether each dispatch was followed by a return (回退) before the next dispatch."""
    A = CaseActivity
    steps = ("register", "not_accept", "dispatch", "return_case")
    # The next main-line step of the same case, for each step; steps before the period are not needed.
    ordered = (
        select(
            A.case_id,
            A.action,
            A.at,
            A.actor_user_id,
            func.lead(A.action).over(partition_by=A.case_id, order_by=A.id).label("next_action"),
            func.lead(A.at).over(partition_by=A.case_id, order_by=A.id).label("next_at"),
        )
        .where(A.action.in_(steps), A.at >= p.start)
        .subquery()
    )
    o = ordered.c
    returned = and_(o.action == "dispatch", o.next_action == "return_case", o.next_at < p.end)
    stmt = (
        select(
            o.action,
            o.actor_user_id,
            func.count().label("n"),
            _n(returned).label("returned"),
            _n(or_(C.register_due_at.is_(None), o.at <= C.register_due_at)).label("on_time_register"),
            _n(or_(C.dispatch_due_at.is_(None), o.at <= C.dispatch_due_at)).label("on_time_dispatch"),
        )
        .join(C, C.id == o.case_id)
        .where(scope, o.at < p.end, o.action.in_(("register", "not_accept", "dispatch")),
               o.actor_user_id.is_not(None))
        .group_by(o.action, o.actor_user_id)
    )
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for row in session.execute(stmt):
        post = "dispatcher" if row.action == "dispatch" else "operator"
        values = out.setdefault((post, int(row.actor_user_id)), {})
        if row.action == "register":
            values.update(registered=row.n, on_time_registered=row.on_time_register)
        elif row.action == "not_accept":
            values.update(not_accepted=row.n)
        else:
            values.update(dispatched=row.n, returned=row.returned, on_time_dispatched=row.on_time_dispatch)
    return out
