"""SQLite: many threads writing at once queue on the process lock (none fails "database is locked");
GET requests read in their own snapshot and may not write."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.threads import run_at_once
from zhili.core.db import Database, ReadOnlyViolation, get_session
from zhili.org.models import Department


@pytest.fixture
def sqlite_db(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'w.db'}")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
    yield db
    db.engine.dispose()


def test_thirty_threads_of_read_modify_write_lose_nothing(sqlite_db) -> None:
    with sqlite_db.session_scope() as s:
        s.execute(text("INSERT INTO t (id, n) VALUES (1, 0)"))

    def bump() -> None:
        for _ in range(20):
            with sqlite_db.session_scope() as s:  # read, then write: safe only with one writer
                n = s.execute(text("SELECT n FROM t WHERE id = 1")).scalar_one()
                s.execute(text("UPDATE t SET n = :n WHERE id = 1"), {"n": n + 1})

    run_at_once(bump, 30)
    with sqlite_db.read_sessionmaker() as s:
        assert s.execute(text("SELECT n FROM t WHERE id = 1")).scalar_one() == 600


def test_a_read_only_unit_of_work_cannot_write(sqlite_db) -> None:
    with sqlite_db.read_sessionmaker() as s:
        with pytest.raises(ReadOnlyViolation, match="read-only"):
            s.execute(text("INSERT INTO t (id, n) VALUES (2, 0)"))
        s.rollback()
    with sqlite_db.read_sessionmaker() as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar_one() == 0


def test_a_get_request_that_changes_data_is_refused(app, client, session) -> None:
    router = APIRouter()

    @router.get("/api/v1/_test/sneaky-write")
    def sneaky(session: Annotated[Session, Depends(get_session, scope="function")]) -> dict[str, str]:
        session.add(Department(code="SNEAKY", name="丁", kind="other", handles_cases=False, active=True))
        session.flush()
        return {"status": "ok"}

    app.include_router(router)
    with pytest.raises(ReadOnlyViolation):  # a programming error (served as a 500), raised by the test client
        client.get("/api/v1/_test/sneaky-write")
    assert session.scalar(select(Department.id).where(Department.code == "SNEAKY")) is None
