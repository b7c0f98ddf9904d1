"""Synthetic cases in bulk: a year of plausible outcomes for evaluation and load benchmarks (not the demo's
hand-made cases). One Core INSERT per batch, timestamps as the engine would write them, and each
case's evaluation facts from the same values by `evaluation_facts.fact_row` (the engine's function).

The stage deadlines are wall-clock approximations of the standard's limits (the working calendar is
not consulted: a million deadlines through it would take minutes), which is all evaluation needs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from zhili.cases import evaluation_facts
from zhili.cases.models import CaseRecord
from zhili.identity.models import User
from zhili.org.models import Department, ResponsibilityGrid, UnitGrid

SOURCES = np.array(["inspector", "self_handled", "public", "hotline", "video", "leader", "department"])
SOURCE_P = np.array([0.58, 0.10, 0.12, 0.13, 0.04, 0.02, 0.01])
CLASSES = (("matter", "06010"), ("matter", "06012"), ("matter", "06042"), ("matter", "06001"),
           ("matter", "07001"), ("matter", "09006"), ("component", "03005"), ("component", "04002"))
# Handling limits in hours of wall clock (≈ 4 working hours, 1 working day, 5 working days, 20 days).
HANDLE_HOURS = np.array([6.0, 24.0, 7 * 24.0, 28 * 24.0])
HANDLE_P = np.array([0.55, 0.25, 0.15, 0.05])
BATCH = 20_000
HOUR = 3600.0


def _targets(session: Session) -> dict[str, Any]:
    grids = session.execute(
        select(UnitGrid.code, UnitGrid.centroid_lon, UnitGrid.centroid_lat, ResponsibilityGrid.code,
               ResponsibilityGrid.inspector_staff_id)
        .join(ResponsibilityGrid, ResponsibilityGrid.id == UnitGrid.responsibility_grid_id)
        .where(ResponsibilityGrid.inspector_staff_id.is_not(None))
    ).all()
    if not grids:
        raise RuntimeError("synthetic cases need the demo geography (unit grids with inspectors)")
    depts = session.scalars(select(Department.id).where(Department.handles_cases.is_(True))).all()
    users = {str(u): int(i) for u, i in session.execute(select(User.username, User.id))}
    return {"grids": grids, "departments": list(depts), "leader": users.get("shift_leader"),
            "dispatcher": users.get("dispatcher")}


def _micros(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds (NaN = none) as whole epoch microseconds (0 where none): the instants written."""
    return (np.where(np.isnan(seconds), 0, seconds) * 1e6).astype("int64")


def _fmt(seconds: np.ndarray, pg: bool) -> list[str | None]:
    """Epoch seconds (NaN = none) as the column's text: naive UTC on SQLite, with +00:00 on PostgreSQL."""
    ok = ~np.isnan(seconds)
    stamps = np.datetime_as_string(_micros(seconds).astype("M8[us]"))
    suffix = "+00:00" if pg else ""
    return [f"{s.replace('T', ' ')}{suffix}" if good else None for s, good in zip(stamps, ok, strict=True)]


def _us(seconds: np.ndarray) -> list[int | None]:
    """The same instants as epoch microseconds for the evaluation facts (None where none)."""
    return [int(us) if good else None for us, good in zip(_micros(seconds), ~np.isnan(seconds), strict=True)]


def insert_synthetic_cases(
    session_or_connection: Session | Connection, n: int, *, year: int, seed: int
) -> int:
    """Insert `n` cases reported over `year` (local time), with outcomes up to the year's end; returns n.

    Numbers are YYYYMMDD + 9xxxxx (serials from 900000), apart from those the engine hands out.
    """
    given = session_or_connection
    session = given if isinstance(given, Session) else Session(given)
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    t = _targets(session)
    rng = np.random.default_rng(seed)
    year_start = datetime(year, 1, 1, tzinfo=UTC).timestamp() - 8 * HOUR  # local midnight, UTC+8
    year_end = datetime(year + 1, 1, 1, tzinfo=UTC).timestamp() - 8 * HOUR
    days = (year_end - year_start) / 86400.0
    # Report times: a uniform day, an hour between 07:00 and 21:00 local, sorted so numbers follow time.
    day = rng.integers(0, int(days), n)
    reported = np.sort(year_start + day * 86400.0 + rng.uniform(7, 21, n) * HOUR)
    day = ((reported - year_start) // 86400).astype(int)
    nan = np.full(n, np.nan)
    source = SOURCES[rng.choice(len(SOURCES), n, p=SOURCE_P)]
    self_handled = source == "self_handled"
    to_verify = np.isin(source, ["public", "hotline", "video"])
    grid_i = rng.integers(0, len(t["grids"]), n)
    # 核实 (verify sources): 2 working hours ≈ 3 h; 6 % found nothing there.
    verify_due = np.where(to_verify, reported + 3 * HOUR, nan)
    verified = np.where(to_verify, reported + rng.exponential(1.5 * HOUR, n), nan)
    verified = np.where(self_handled, reported, verified)
    r = rng.random(n)
    not_accepted = (to_verify & (r < 0.06)) | (~to_verify & ~self_handled & (r < 0.03))
    reg_start = np.where(to_verify, verified, reported)
    register_due = np.where(self_handled, nan, reg_start + 0.5 * HOUR)
    registered = np.where(self_handled, reported, reg_start + rng.exponential(0.3 * HOUR, n))
    registered = np.where(not_accepted, nan, registered)
    merged = ~self_handled & ~not_accepted & (rng.random(n) < 0.01)
    registered = np.where(merged, nan, registered)
    flows = ~self_handled & ~not_accepted & ~merged
    dispatch_due = np.where(flows, registered + 0.5 * HOUR, nan)
    first_dispatched = np.where(flows, registered + rng.exponential(0.25 * HOUR, n), nan)
    returned = flows & (rng.random(n) < 0.04)
    dispatched = np.where(returned, first_dispatched + rng.exponential(3 * HOUR, n) + 0.5 * HOUR,
                          first_dispatched)
    limit = HANDLE_HOURS[rng.choice(len(HANDLE_HOURS), n, p=HANDLE_P)]
    extended = flows & (rng.random(n) < 0.03)
    suspended = flows & (rng.random(n) < 0.01)
    handle_due = np.where(flows, dispatched + limit * np.where(extended, 1.5, 1.0), nan)
    accepted = np.where(flows, dispatched + rng.exponential(0.4 * HOUR, n), nan)
    handled = np.where(flows, dispatched + limit * rng.lognormal(np.log(0.55), 0.5, n), nan)
    reworked = flows & (rng.random(n) < 0.05)
    handled = np.where(reworked, handled + limit * 0.5, handled)
    cancelled = flows & (rng.random(n) < 0.01)
    handled = np.where(cancelled, nan, handled)
    check_due = np.where(flows, handled + 1.5 * HOUR, nan)
    checked = np.where(self_handled, reported, handled + rng.exponential(0.8 * HOUR, n))
    closed = np.where(self_handled, reported, checked + rng.exponential(0.4 * HOUR, n))
    late = handled > handle_due
    appeal: np.ndarray = np.where(late & (rng.random(n) < 0.2), "approved", "")
    # Where the year ends, later steps have not happened yet: the case stands at that step.
    cut = year_end
    status = np.full(n, "closed", dtype=object)
    steps = ((closed, "to_close"), (checked, "to_check"), (handled, "handling"),
             (accepted, "to_accept"), (first_dispatched, "to_dispatch"), (registered, "to_register"))
    for stamp, waiting in steps:
        later = ~np.isnan(stamp) & (stamp >= cut)
        stamp[later] = np.nan
        status[later] = waiting
    handling_suspended = (status == "handling") & suspended
    status[handling_suspended] = "suspended"
    status[to_verify & np.isnan(verified)] = "to_verify"
    status[not_accepted] = "not_accepted"
    status[merged] = "merged"
    status[cancelled] = "cancelled"
    ended = np.where(status == "closed", closed, nan)
    ended = np.where(not_accepted, reg_start + rng.exponential(0.5 * HOUR, n), ended)
    ended = np.where(merged | cancelled, registered + HOUR, ended)
    ended = np.where(cancelled, first_dispatched + 2 * HOUR, ended)
    ended = np.where(np.isnan(ended), nan, np.minimum(ended, cut - 1))
    open_handle = np.isin(status, ["to_accept", "handling", "suspended"])
    due = np.where(open_handle, handle_due, nan)
    dept = np.asarray(t["departments"])[rng.integers(0, len(t["departments"]), n)]
    has_dept = flows & ~np.isnan(first_dispatched)
    cls = rng.integers(0, len(CLASSES), n)
    times = {
        "reported_at": reported, "verified_at": verified, "verify_due_at": verify_due,
        "registered_at": registered, "register_due_at": register_due,
        "first_dispatched_at": first_dispatched, "dispatched_at": np.where(np.isnan(first_dispatched), nan,
                                                                            dispatched),
        "dispatch_due_at": dispatch_due, "accepted_at": accepted, "handle_started_at": dispatched,
        "handle_due_at": handle_due, "handled_at": handled, "check_due_at": check_due, "checked_at": checked,
        "closed_at": closed, "ended_at": ended, "due_at": due,
    }
    stamps = {name: _fmt(arr, pg) for name, arr in times.items()}
    micros = {name: _us(times[name]) for name in evaluation_facts.TIMES}
    # Explicit ids, after those already there, so that each case's evaluation facts go in with it.
    first_id = int(session.scalar(select(func.max(CaseRecord.id))) or 0) + 1
    serial: dict[int, int] = {}
    rows: list[dict[str, Any]] = []
    facts: list[dict[str, Any]] = []
    cols: list[str] | None = None
    written = 0
    for i in range(n):
        g = t["grids"][grid_i[i]]
        d = int(day[i])
        serial[d] = serial.get(d, 899_999) + 1
        local = datetime.fromtimestamp(year_start + d * 86400 + 12 * HOUR, tz=UTC)
        row: dict[str, Any] = {k: v[i] for k, v in stamps.items()}
        src = str(source[i])
        ck, cc = CLASSES[cls[i]]
        row.update(
            number=f"{local:%Y%m%d}{serial[d]:06d}", status=str(status[i]), source=src,
            self_handled=bool(self_handled[i]), class_kind=ck, class_code=cc, description="合成案件",
            lon=float(g[1]), lat=float(g[2]), address="白云区", grid_code=g[0], community_code=g[0][:12],
            street_code=g[0][:9], responsibility_grid_code=g[3], grid_inspector_staff_id=g[4],
            reporter_staff_id=g[4] if src in ("inspector", "self_handled") else None,
            verified_by_staff_id=g[4] if not np.isnan(verified[i]) else None,
            checked_by_staff_id=g[4] if row["checked_at"] is not None else None,
            verify_confirmed=None if np.isnan(verified[i]) else not (to_verify[i] and not_accepted[i]),
            check_passed=True if row["checked_at"] is not None else None,
            registered_by_user_id=t["leader"] if row["registered_at"] and not self_handled[i] else None,
            dispatched_by_user_id=t["dispatcher"] if row["first_dispatched_at"] else None,
            closed_by_user_id=t["leader"] if row["closed_at"] and not self_handled[i] else None,
            department_id=int(dept[i]) if has_dept[i] else None, after_photo_required=False,
            extended_amount=0.0, extension_count=int(extended[i] and has_dept[i]),
            suspension_count=int((suspended[i] and row["handled_at"] is not None) or handling_suspended[i]),
            rework_count=int(reworked[i] and row["handled_at"] is not None),
            return_count=int(returned[i] and has_dept[i]), urge_count=0, duplicate_count=0,
            appeal_status=(str(appeal[i]) or None) if row["handled_at"] is not None else None,
            created_at=row["reported_at"], updated_at=row["reported_at"], version=1, id=first_id + i,
        )
        rows.append(row)
        values = {k: row[k] for k in evaluation_facts.SCALARS}
        values.update((k, v[i]) for k, v in micros.items())
        facts.append(evaluation_facts.fact_row(first_id + i, values))
        if len(rows) == BATCH or i == n - 1:
            cols = cols or list(rows[0])
            # The driver's executemany: the values are ready (text timestamps), nothing to convert.
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            sql = (f"INSERT INTO case_record ({', '.join(cols)}) "  # noqa: S608 - our own column names
                   f"VALUES ({', '.join(mark for _ in cols)})")
            conn.exec_driver_sql(sql, [tuple(r[c] for c in cols) for r in rows])
            evaluation_facts.insert_facts(conn, facts)
            written += len(rows)
            rows, facts = [], []
    if pg:  # explicit ids: move the sequence past them so that the engine's next INSERT succeeds
        conn.execute(text("SELECT setval(pg_get_serial_sequence('case_record', 'id'), "
                          "(SELECT max(id) FROM case_record))"))
    return written
