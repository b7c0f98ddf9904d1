"""The evaluation's SQL: one aggregate scan of case_record per grouping (and the timeline for posts).

Each case row is reduced in SQL to a bit mask of simple facts (atoms) about the step timestamps and
stage deadlines the engine writes; the database counts cases per (group, mask), and the indicators
are formulas over the masks. No case row is loaded into Python. docs/evaluation.md lists the atoms
and formulas; this module is their one implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
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

from zhili.cases.models import CaseActivity, CaseRecord
from zhili.cases.repository import department_scope
from zhili.identity.scope import street_codes_for

if TYPE_CHECKING:
    from zhili.identity.models import User

C = CaseRecord
Cond = ColumnElement[bool]


def scope_of(user: User | None) -> Cond:
    """What of case_record the user's figures cover: their streets and, for department staff, their
    department (the engine's department rule). None (a job, the bench) covers the whole district."""
    if user is None:
        return true()
    clauses: list[Cond] = []
    scoped, dept = department_scope(user)
    if scoped:
        clauses.append(C.department_id == dept if dept is not None else literal_column("1") == 0)
    streets = street_codes_for(user)
    if streets is not None:
        clauses.append(C.street_code.in_(streets))
    return and_(true(), *clauses)


class Period:
    """[start, end) with `as_of` = min(end, now): running stages are judged overdue against it."""

    def __init__(self, start: datetime, end: datetime, now: datetime) -> None:
        self.start, self.end, self.as_of = start, end, min(end, now)

    def has(self, col: Any) -> Cond:
        return and_(col >= self.start, col < self.end)


def _hours(dialect: str, later: Any, earlier: Any) -> Any:
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 24.0
    return func.extract("epoch", later - earlier) / 3600.0


def _n(cond: Cond) -> Any:
    return func.count().filter(cond)


# The atoms: simple facts of one case row against the period, each evaluated ONCE per row in SQL and
# packed into one integer (bit i = atom i). The indicators are Boolean formulas over these bits,
# evaluated in Python once per distinct (group, bits) pair: a few thousand pairs for a million cases.
ATOMS: tuple[str, ...] = (
    "reported", "registered_by_end", "self_handled", "registered", "register_in_time", "not_accepted",
    "dispatched", "dispatch_in_time", "returned_ever", "dispatched_by_end", "cancelled",
    "handled_since_start", "handled_by_end", "exempt", "handle_in_time", "handle_late", "handle_due_passed",
    "closed_since_start", "closed_by_end", "not_closed", "not_handled", "reworked_ever", "extended_ever",
    "suspended_ever", "verified", "verify_in_time", "checked", "check_in_time", "accepted",
)
BIT = {name: 1 << i for i, name in enumerate(ATOMS)}


def atom_conditions(p: Period) -> dict[str, Cond]:
    """Each atom as SQL over one case_record row (docs/evaluation.md names them)."""
    return {
        "reported": p.has(C.reported_at),
        "registered_by_end": C.registered_at < p.end,
        "self_handled": C.self_handled.is_(True),
        "registered": p.has(C.registered_at),
        "register_in_time": or_(C.register_due_at.is_(None), C.registered_at <= C.register_due_at),
        "not_accepted": and_(C.status == "not_accepted", p.has(C.ended_at)),
        "dispatched": p.has(C.first_dispatched_at),
        "dispatch_in_time": or_(C.dispatch_due_at.is_(None), C.first_dispatched_at <= C.dispatch_due_at),
        "returned_ever": C.return_count > 0,
        "dispatched_by_end": and_(C.first_dispatched_at < p.end, C.department_id.is_not(None)),
        "cancelled": C.status == "cancelled",
        "handled_since_start": C.handled_at >= p.start,
        "handled_by_end": C.handled_at < p.end,
        "exempt": C.appeal_status == "approved",
        "handle_in_time": or_(C.handle_due_at.is_(None), C.handled_at <= C.handle_due_at),
        "handle_late": C.handled_at > C.handle_due_at,
        # No verdict while suspended: the clock stands still.
        "handle_due_passed": and_(C.status != "suspended", C.handle_due_at < p.as_of),
        "closed_since_start": C.closed_at >= p.start,
        "closed_by_end": C.closed_at < p.end,
        "not_closed": C.closed_at.is_(None),
        "not_handled": C.handled_at.is_(None),
        "reworked_ever": C.rework_count > 0,
        "extended_ever": C.extension_count > 0,
        "suspended_ever": C.suspension_count > 0,
        "verified": and_(p.has(C.verified_at), C.self_handled.is_(False)),
        "verify_in_time": or_(C.verify_due_at.is_(None), C.verified_at <= C.verify_due_at),
        "checked": and_(p.has(C.checked_at), C.self_handled.is_(False)),
        "check_in_time": or_(C.check_due_at.is_(None), C.checked_at <= C.check_due_at),
        "accepted": p.has(C.accepted_at),
    }


def indicators_of(bits: int) -> dict[str, bool]:
    """The case-based indicators of docs/evaluation.md as formulas over one row's atoms."""
    a = {name: bool(bits & bit) for name, bit in BIT.items()}
    pending = a["not_handled"] or a["handled_since_start"]  # not handled before the period
    to_handle = a["dispatched_by_end"] and not a["cancelled"] and pending
    handled = to_handle and a["handled_by_end"]
    in_time = a["exempt"] or a["handle_in_time"]
    overdue_raw = (handled and a["handle_late"]) or (
        to_handle and not a["handled_by_end"] and a["handle_due_passed"]
    )
    to_close = a["handled_by_end"] and not a["cancelled"] and (a["not_closed"] or a["closed_since_start"])
    closed = to_close and a["closed_by_end"]
    return {
        "reported": a["reported"],
        "valid_reported": a["reported"] and a["registered_by_end"],
        "self_handled": a["reported"] and a["self_handled"],
        "registered": a["registered"],
        "not_accepted": a["not_accepted"],
        "on_time_registered": a["registered"] and a["register_in_time"],
        "dispatched": a["dispatched"],
        "on_time_dispatched": a["dispatched"] and a["dispatch_in_time"],
        "returned": a["dispatched"] and a["returned_ever"],
        "to_handle": to_handle,
        "handled": handled,
        "on_time_handled": handled and in_time,
        "to_close": to_close,
        "closed": closed,
        "on_time_closed": closed and (a["self_handled"] or in_time),
        "reworked": handled and a["reworked_ever"],
        "extended": to_handle and a["extended_ever"],
        "suspended": to_handle and a["suspended_ever"],
        "overdue": overdue_raw and not a["exempt"],
        "overdue_raw": overdue_raw,
        "appeal_exempt": overdue_raw and a["exempt"],
        "verified": a["verified"],
        "on_time_verified": a["verified"] and a["verify_in_time"],
        "checked": a["checked"],
        "on_time_checked": a["checked"] and a["check_in_time"],
        "_accepted": to_handle and a["accepted"],
    }


# Average times: (name, later column, earlier column, the indicator whose cases are averaged).
AVERAGES = (
    ("avg_accept_hours", C.accepted_at, C.dispatched_at, "_accepted"),
    ("avg_handle_hours", C.handled_at, C.dispatched_at, "handled"),
    ("avg_close_hours", C.closed_at, C.reported_at, "closed"),
)


def case_aggregates(
    session: Session, key: Any, p: Period, scope: Cond, *, only: Sequence[str] | None = None
) -> dict[Any, dict[str, Any]]:
    """{group key: {indicator: value}} for every case-based count and average, from one scan."""
    dialect = session.get_bind().dialect.name
    conds = atom_conditions(p)
    bits = sum(
        (case((conds[name], literal(bit, BigInteger)), else_=0) for name, bit in BIT.items()),
        start=literal(0, BigInteger),
    )
    hours = [] if only else [_hours(dialect, later, earlier) for _, later, earlier, _ in AVERAGES]
    # A case is relevant if it was reported before the end and had not ended before the start:
    # every step of a case lies between its report and its end.
    rows = (
        select(key.label("k"), bits.label("m"), *[h.label(f"h{i}") for i, h in enumerate(hours)])
        .where(scope, key.is_not(None), C.reported_at < p.end)
        .where(or_(C.ended_at.is_(None), C.ended_at >= p.start))
    )
    if dialect == "sqlite":  # LIMIT -1 keeps SQLite from flattening: the mask is computed once per row
        rows = rows.limit(-1)
    sub = rows.subquery()
    sums = [x for i in range(len(hours)) for x in (func.sum(sub.c[f"h{i}"]), func.count(sub.c[f"h{i}"]))]
    stmt = select(sub.c.k, sub.c.m, func.count(), *sums).group_by(sub.c.k, sub.c.m)
    out: dict[Any, dict[str, Any]] = {}
    cache: dict[int, dict[str, bool]] = {}
    for k, m, n, *hour_sums in _run(session, stmt, dialect):
        flags = cache.get(m) or cache.setdefault(m, indicators_of(int(m)))
        values = out.setdefault(k, {"_sums": [0.0, 0] * len(hours)})
        for name, on in flags.items():
            if on and (only is None or name in only):
                values[name] = values.get(name, 0) + int(n)
        for i, (_, _, _, cond) in enumerate(AVERAGES[: len(hours)]):
            if flags[cond] and hour_sums[2 * i + 1]:
                values["_sums"][2 * i] += float(hour_sums[2 * i])
                values["_sums"][2 * i + 1] += int(hour_sums[2 * i + 1])
    for values in out.values():
        sums_ = values.pop("_sums")
        for i, (name, *_rest) in enumerate(AVERAGES[: len(hours)]):
            values[name] = sums_[2 * i] / sums_[2 * i + 1] if sums_[2 * i + 1] else None
        for name in only or [n for n in indicators_of(0) if not n.startswith("_")]:
            values.setdefault(name, 0)
    return out


def _run(session: Session, stmt: Any, dialect: str) -> list[Any]:
    """Execute the scan. On PostgreSQL, JIT compiling the mask expression costs seconds (more than the
    scan itself), and the planner, unable to estimate the few thousand (group, mask) pairs, sorts a
    million rows to disk unless a hash table may be large: JIT off and a larger work_mem for this one
    statement, then both restored."""
    if dialect != "postgresql":
        return list(session.execute(stmt))
    saved = session.execute(text("SELECT current_setting('jit'), current_setting('work_mem')")).one()
    session.execute(text("SELECT set_config('jit', 'off', true), set_config('work_mem', '256MB', true)"))
    try:
        return list(session.execute(stmt))
    finally:
        session.execute(
            text("SELECT set_config('jit', :jit, true), set_config('work_mem', :mem, true)"),
            {"jit": saved[0], "mem": saved[1]},
        )


def inspector_aggregates(session: Session, p: Period, scope: Cond) -> dict[Any, dict[str, Any]]:
    """By staff member: reports by the reporter, verifies by the verifier, checks by the checker."""
    out: dict[Any, dict[str, Any]] = {}
    parts = (
        (C.reporter_staff_id, ("reported", "valid_reported", "self_handled")),
        (C.verified_by_staff_id, ("verified", "on_time_verified")),
        (C.checked_by_staff_id, ("checked", "on_time_checked")),
    )
    for key, names in parts:
        for k, values in case_aggregates(session, key, p, scope, only=names).items():
            out.setdefault(k, {}).update({n: values[n] for n in names})
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
