"""Case serials: unique per day and in report order; on PostgreSQL taken outside the report's
transaction, so one open report never makes the next one wait for its number."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text

from tests.threads import run_at_once
from zhili.cases import repository
from zhili.cases.models import CaseNumberSequence
from zhili.core.db import Database

DAY = "19990101"  # a day no other test reports on


@pytest.fixture
def engine_db(database_url):
    db = Database.from_url(database_url)
    yield db
    with db.session_scope() as s:
        s.execute(delete(CaseNumberSequence).where(CaseNumberSequence.day == DAY))
    db.engine.dispose()


def test_threads_taking_serials_at_once_get_each_one_once(engine_db) -> None:
    got: list[int] = []

    def take() -> None:
        for _ in range(10):
            with engine_db.session_scope() as s:
                got.append(repository.next_serial(s, DAY))

    run_at_once(take, 8)
    assert sorted(got) == list(range(1, 81))


def test_an_open_report_does_not_hold_the_days_serial(engine_db) -> None:
    holder = engine_db.sessionmaker()
    try:
        first = repository.next_serial(holder, DAY)  # the report goes on; its transaction stays open
        if engine_db.engine.dialect.name != "postgresql":
            holder.rollback()  # SQLite: one writer at a time, the serial is part of the report's write
            with engine_db.session_scope() as s:
                assert repository.next_serial(s, DAY) == first  # rolled back with it: no gap
            return
        with engine_db.session_scope() as other:
            other.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting on the row would fail here
            assert repository.next_serial(other, DAY) == first + 1
        holder.rollback()  # the first report fails after taking its number: a gap, never a reuse
        with engine_db.session_scope() as s:
            assert repository.next_serial(s, DAY) == first + 2
    finally:
        holder.close()
