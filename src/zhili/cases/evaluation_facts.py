"""Evaluation facts: THE function that turns a case into its `case_evaluation_fact` row, and what keeps
that table in step with `case_record` for every writer.

- The engine (services and jobs, through the ORM): mapper events on CaseRecord, registered in `models`
  next to the mapping, write the case's fact row with `fact_row_of` in the same flush, right after its
  INSERT or UPDATE, when a column the facts read (`INPUTS`) has changed.
- Bulk writers that INSERT case_record rows with Core (synthetic cases, the demo history) call
  `insert_facts` with `fact_row` / `fact_row_of` for the same rows, in the same transaction.
- An action's write of its case (`cases.writes.save_case`, one Core UPDATE) rewrites the fact row with
  `models.write_facts`, the hook's own writer, when an input changed.
- The migration that made the table fills it with `backfill`.

Any other Core UPDATE of case_record passes by the hook: it must rewrite the facts of its rows with
this module too. A change of what a fact row holds needs a migration that rewrites the rows (delete
them, then `backfill`), so that old and new cases are counted alike.

What is stored is what does not depend on the period asked for: per-stage on-time flags, side-flow
flags and which steps happened (bits of `facts`, names in STATIC), the step times as epoch
microseconds (exact: the resolution of Python's datetime), and the stage durations. The period's
comparisons are left to the query (`queries`); docs/evaluation.md defines the indicators.

This module does not import the models: `models` imports it to register the hooks, so the table is
named here, and a fact row's keys are its columns (`fact_row` makes them in the table's order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

from sqlalchemy import Connection, column, select, table

from zhili.core.db import UTCDateTime

TABLE = "case_evaluation_fact"

# The steps whose time the period is compared with, in this order (their positions in a query's mask).
STEPS: tuple[str, ...] = (
    "reported", "registered", "first_dispatched", "accepted", "handled", "closed", "ended", "verified",
    "checked",
)
# The stage durations stored as `<name>_seconds`: name → (later time, earlier time).
DURATIONS: dict[str, tuple[str, str]] = {
    "accept": ("accepted_at", "dispatched_at"),
    "handle": ("handled_at", "dispatched_at"),
    "close": ("closed_at", "reported_at"),
}
# Period-independent facts of a case; then one "<step>_set" bit per step that has happened.
STATIC: tuple[str, ...] = (
    "self_handled",  # 自行处置
    "register_in_time",  # registered_at ≤ register_due_at, or no register deadline
    "dispatch_in_time",  # first_dispatched_at ≤ dispatch_due_at, or no dispatch deadline
    "returned_ever",  # return_count > 0
    "has_department",  # department_id set
    "cancelled",  # status cancelled
    "exempt",  # appeal approved
    "handle_in_time",  # handled_at ≤ handle_due_at, or no handling deadline
    "handle_late",  # handled_at > handle_due_at
    "suspended_now",  # status suspended: no overdue verdict while the clock stands still
    "refused",  # status not_accepted (不予立案)
    "reworked_ever",
    "extended_ever",
    "suspended_ever",
    "verify_in_time",
    "check_in_time",
    *(f"{step}_set" for step in STEPS),
    # The stage durations that exist (accept_seconds … not NULL): a query then counts the cases an
    # average is taken over from the bits, and sums only the durations.
    *(f"{duration}_timed" for duration in DURATIONS),
)
FLAG = {name: 1 << i for i, name in enumerate(STATIC)}

# case_record columns the facts are made of (the mapper hook rewrites the row when one of them changes).
TIMES: tuple[str, ...] = (
    *(f"{step}_at" for step in STEPS), "dispatched_at", "register_due_at", "dispatch_due_at", "handle_due_at",
    "verify_due_at", "check_due_at",
)
SCALARS: tuple[str, ...] = (
    "status", "self_handled", "appeal_status", "street_code", "department_id", "reporter_staff_id",
    "verified_by_staff_id", "checked_by_staff_id", "return_count", "rework_count", "extension_count",
    "suspension_count",
)
INPUTS = (*SCALARS, *TIMES)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def epoch_us(at: datetime | None) -> int | None:
    """An aware datetime as integer microseconds since the epoch (exact), None as None."""
    return None if at is None else (at - _EPOCH) // _US


def _on_time(done: int | None, due: int | None) -> bool:
    # As SQL would say it: `due IS NULL OR done <= due` (a step not done with a due is not on time).
    return due is None or (done is not None and done <= due)


def _seconds(later: int | None, earlier: int | None) -> float | None:
    return None if later is None or earlier is None else (later - earlier) / 1e6


def fact_row(case_id: int, v: Mapping[str, Any]) -> dict[str, Any]:
    """The fact row of one case from its case_record values (`INPUTS`), times as epoch microseconds."""
    steps = {step: v[f"{step}_at"] for step in STEPS}
    on = {
        "self_handled": bool(v["self_handled"]),
        "register_in_time": _on_time(v["registered_at"], v["register_due_at"]),
        "dispatch_in_time": _on_time(v["first_dispatched_at"], v["dispatch_due_at"]),
        "returned_ever": (v["return_count"] or 0) > 0,
        "has_department": v["department_id"] is not None,
        "cancelled": v["status"] == "cancelled",
        "exempt": v["appeal_status"] == "approved",
        "handle_in_time": _on_time(v["handled_at"], v["handle_due_at"]),
        "handle_late": v["handled_at"] is not None and v["handle_due_at"] is not None
        and v["handled_at"] > v["handle_due_at"],
        "suspended_now": v["status"] == "suspended",
        "refused": v["status"] == "not_accepted",
        "reworked_ever": (v["rework_count"] or 0) > 0,
        "extended_ever": (v["extension_count"] or 0) > 0,
        "suspended_ever": (v["suspension_count"] or 0) > 0,
        "verify_in_time": _on_time(v["verified_at"], v["verify_due_at"]),
        "check_in_time": _on_time(v["checked_at"], v["check_due_at"]),
        **{f"{step}_set": at is not None for step, at in steps.items()},
    }
    seconds = {d: _seconds(v[later], v[earlier]) for d, (later, earlier) in DURATIONS.items()}
    on.update({f"{d}_timed": value is not None for d, value in seconds.items()})
    happened = [at for at in steps.values() if at is not None]
    return {
        "case_id": case_id,
        "street_code": v["street_code"],
        "department_id": v["department_id"],
        "reporter_staff_id": v["reporter_staff_id"],
        "verified_by_staff_id": v["verified_by_staff_id"],
        "checked_by_staff_id": v["checked_by_staff_id"],
        "facts": sum(FLAG[name] for name, yes in on.items() if yes),
        "span_start_us": min(happened),  # reported_at is never NULL
        "span_end_us": max(happened),
        **{f"{step}_us": at for step, at in steps.items()},
        "handle_due_us": v["handle_due_at"],
        **{f"{d}_seconds": value for d, value in seconds.items()},
    }


def fact_row_of(case: Any) -> dict[str, Any]:
    """The fact row of anything with case_record's attributes (a CaseRecord, a result row, the demo's
    simulated case), its times as aware datetimes."""
    values = {name: getattr(case, name) for name in SCALARS}
    values.update({name: epoch_us(getattr(case, name)) for name in TIMES})
    return fact_row(int(case.id), values)


def insert_facts(connection: Connection, rows: Iterable[dict[str, Any]], *, chunk: int = 20_000) -> int:
    """INSERT fact rows (bulk writers, backfill) in chunks through the driver's executemany; returns how
    many. The values are plain integers, floats and strings: nothing for SQLAlchemy to convert, and
    its per-value parameter handling would cost more than the INSERT."""
    todo = iter(rows)
    first = next(todo, None)
    if first is None:
        return 0
    names = list(first)  # every fact row has the same keys: the table's columns, in its order
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {TABLE} ({', '.join(names)}) VALUES ({', '.join(mark for _ in names)})"  # noqa: S608
    batch: list[tuple[Any, ...]] = []
    written = 0
    for row in chain([first], todo):
        batch.append(tuple(row[n] for n in names))
        if len(batch) == chunk:
            connection.exec_driver_sql(sql, batch)
            written, batch = written + len(batch), []
    if batch:
        connection.exec_driver_sql(sql, batch)
        written += len(batch)
    return written


def backfill(connection: Connection, *, chunk: int = 20_000) -> int:
    """Write the fact row of every case that has none (the migration's backfill); returns how many.

    Reads case_record by name and by the columns listed here, not through the model, so that it still
    runs on this revision's schema when later ones have changed the model.
    """
    src = table("case_record", column("id"), *(column(n) for n in SCALARS),
                *(column(n, UTCDateTime()) for n in TIMES))
    done = table(TABLE, column("case_id"))
    written, last = 0, -1
    while True:
        rows = connection.execute(
            select(src).outerjoin(done, done.c.case_id == src.c.id)
            .where(src.c.id > last, done.c.case_id.is_(None)).order_by(src.c.id).limit(chunk)
        ).all()
        if not rows:
            return written
        written += insert_facts(connection, (fact_row_of(r) for r in rows), chunk=chunk)
        last = int(rows[-1].id)
