"""Writing the simulated cases: numbered by day, then the records, their evaluation facts, timelines,
tasks and pauses INSERTed with Core in chunks, and the day sequences and the id sequence moved on."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, Column, Table, func, insert, select, text
from sqlalchemy.orm import Session

from zhili.cases import evaluation_facts
from zhili.cases.config import config_for
from zhili.cases.demo_history.simulation import Sim, status_at
from zhili.cases.models import CaseActivity, CaseNumberSequence, CasePause, CaseRecord, CaseTask
from zhili.core.db import Base, UTCDateTime

CHUNK = 5000


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), CHUNK):
        yield rows[i:i + CHUNK]


def write_history(session: Session, sims: list[Sim], now: datetime) -> None:
    """Number the cases by day, then INSERT records, timelines, tasks and pauses in chunks."""
    tz = config_for().calendar.tz
    sims.sort(key=lambda s: s.reported_at)
    next_id = int(session.scalar(select(func.max(CaseRecord.id))) or 0) + 1
    serials: dict[str, int] = {
        str(day): int(last)
        for day, last in session.execute(select(CaseNumberSequence.day, CaseNumberSequence.last))
    }
    known_days = set(serials)
    for sim in sims:
        sim.id = next_id
        next_id += 1
        day = sim.reported_at.astimezone(tz).strftime("%Y%m%d")
        serials[day] = serials.get(day, 0) + 1
        sim.number = f"{day}{serials[day]:06d}"
    activities: list[dict[str, Any]] = []
    for sim in sims:
        target = getattr(sim, "merged_target", None)
        if target is not None:
            sim.merged_into_id = target.id
            sim.activities[-1]["data"]["into"] = target.number
        for at, name, dup in sim.merged_in:
            status = status_at(sim, at)
            activities.append({"case_id": sim.id, "at": at, "action": "merged_in", "from_status": status,
                               "to_status": status, "actor_user_id": dup.activities[-1]["actor_user_id"],
                               "actor_name": name, "note": None, "data": {"duplicate": dup.number}})
            sim.version += 1
            sim.updated_at = max(sim.updated_at, at)
        for a in sim.activities:
            a["case_id"] = sim.id
        activities.extend(sim.activities)
    # Timeline ids grow with time across cases, as rows written by the services would.
    activities.sort(key=lambda a: a["at"])
    bulk_insert(session, _table(CaseRecord), [s.columns() for s in sims])
    # Core INSERTs pass by the ORM hook: the evaluation facts from the engine's own function.
    evaluation_facts.insert_facts(session.connection(), (evaluation_facts.fact_row_of(s) for s in sims))
    bulk_insert(session, _table(CaseActivity), activities)
    tasks = sorted(({**t, "case_id": s.id} for s in sims for t in s.tasks), key=lambda t: t["created_at"])
    bulk_insert(session, _table(CaseTask), tasks)
    bulk_insert(session, _table(CasePause), [{**p, "case_id": s.id} for s in sims for p in s.pauses])
    for day, last in serials.items():
        if day in known_days:
            session.execute(_table(CaseNumberSequence).update()
                            .where(CaseNumberSequence.day == day).values(last=last))
    new_days = [{"day": d, "last": last} for d, last in serials.items() if d not in known_days]
    for rows in _chunks(new_days):
        session.execute(insert(_table(CaseNumberSequence)), rows)
    if session.get_bind().dialect.name == "postgresql":
        # Explicit ids were given: move the sequence past them so the services' next INSERT succeeds.
        session.execute(text("SELECT setval(pg_get_serial_sequence('case_record', 'id'), "
                             "(SELECT max(id) FROM case_record))"))


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _converter(column: Column[Any], dialect: str) -> Callable[[Any], Any] | None:
    """What SQLAlchemy's bind processing does to a value of this column, done once per value."""
    if isinstance(column.type, UTCDateTime):
        if dialect == "sqlite":  # naive UTC text with microseconds: UTCDateTime + SQLite's DATETIME
            return lambda v: None if v is None else (
                v if v.tzinfo is UTC else v.astimezone(UTC)).isoformat(" ", "microseconds")[:26]
        return lambda v: None if v is None else v.astimezone(UTC)
    if isinstance(column.type, JSON):
        return lambda v: None if v is None else json.dumps(v, ensure_ascii=False)
    return None


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows through the driver's executemany, the values converted once.

    Core's executemany spends most of its time in per-value bind processing (the UTC datetime
    decorator, then SQLite's DATETIME formatting); converting once here makes a 200,000-row timeline
    several times faster. Other dialects take the ordinary Core path.
    """
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        for chunk in _chunks(rows):
            conn.execute(insert(table), chunk)
        return
    columns = [c for c in table.columns if c.key in rows[0]]
    mark = "?" if dialect == "sqlite" else "%s"
    sql = (f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) "  # noqa: S608 - our own names
           f"VALUES ({', '.join(mark for _ in columns)})")
    plan = [(c.key, _converter(c, dialect)) for c in columns]
    values = [tuple(f(r[k]) if f is not None else r[k] for k, f in plan) for r in rows]
    for i in range(0, len(values), CHUNK * 4):
        conn.exec_driver_sql(sql, values[i:i + CHUNK * 4])  # type: ignore[arg-type]
