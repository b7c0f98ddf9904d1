"""SQLite: many threads and processes writing at once take turns on the writer lock (none fails
"database is locked"); a unit of work reads beside the writer and waits only to write; GET requests
read in their own snapshot and may not write."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import column, select, table, text
from sqlalchemy.orm import Session

from tests.threads import run_at_once
from zhili.core import db as db_module
from zhili.core.db import Database, ReadOnlyViolation, become_writer
from zhili.core.errors import Busy
from zhili.core.unit_of_work import get_session
from zhili.core.writer_lock import WriterLock
from zhili.org.models import Department


@pytest.fixture
def sqlite_db(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'w.db'}")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
    yield db
    db.engine.dispose()


T = table("t", column("id"), column("n"))


def bump(db: Database, times: int) -> None:
    """Read the counter with a locking read (FOR UPDATE, as on PostgreSQL), then write it plus one:
    the read waits for the one writer and reads what it committed, so no increment is lost."""
    for _ in range(times):
        with db.session_scope() as s:
            n = s.execute(select(T.c.n).where(T.c.id == 1).with_for_update()).scalar_one()
            s.execute(text("UPDATE t SET n = :n WHERE id = 1"), {"n": n + 1})


def test_thirty_threads_of_read_modify_write_lose_nothing(sqlite_db) -> None:
    with sqlite_db.session_scope() as s:
        s.execute(text("INSERT INTO t (id, n) VALUES (1, 0)"))
    run_at_once(lambda: bump(sqlite_db, 20), 30)
    with sqlite_db.read_sessionmaker() as s:
        assert s.execute(text("SELECT n FROM t WHERE id = 1")).scalar_one() == 600


def test_a_unit_of_work_reads_beside_the_writer_and_waits_only_to_write(sqlite_db) -> None:
    with sqlite_db.session_scope() as s:
        s.execute(text("INSERT INTO t (id, n) VALUES (1, 0)"))
    seen: dict[str, int] = {}
    read, wrote = threading.Event(), threading.Event()

    def other() -> None:
        with sqlite_db.session_scope() as s:
            seen["n"] = s.execute(text("SELECT n FROM t WHERE id = 1")).scalar_one()
            read.set()
            s.execute(text("INSERT INTO t (id, n) VALUES (2, 0)"))
        wrote.set()

    writer = sqlite_db.sessionmaker()
    try:
        writer.execute(text("UPDATE t SET n = 1 WHERE id = 1"))  # the writer, not committed yet
        thread = threading.Thread(target=other)
        thread.start()
        assert read.wait(10), "a read waited for the writer"
        assert seen["n"] == 0  # the last committed value
        assert not wrote.wait(0.3), "a second writer wrote beside the first"
        writer.commit()
    finally:
        writer.close()
    thread.join(10)
    assert wrote.is_set()
    with sqlite_db.read_sessionmaker() as s:
        assert s.execute(text("SELECT n, (SELECT count(*) FROM t) FROM t WHERE id = 1")).one() == (1, 2)


def test_become_writer_keeps_other_writers_out_before_anything_is_written(sqlite_db) -> None:
    wrote = threading.Event()

    def other() -> None:
        with sqlite_db.session_scope() as s:
            s.execute(text("INSERT INTO t (id, n) VALUES (2, 0)"))
        wrote.set()

    first = sqlite_db.sessionmaker()
    try:
        become_writer(first)
        largest = first.execute(text("SELECT coalesce(max(id), 0) FROM t")).scalar_one()
        thread = threading.Thread(target=other)
        thread.start()
        assert not wrote.wait(0.3), "another writer wrote while this one numbered its rows"
        first.execute(text("INSERT INTO t (id, n) VALUES (:id, 0)"), {"id": largest + 1})
        first.commit()
    finally:
        first.close()
    thread.join(10)
    assert wrote.is_set()


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


# --- several processes on one SQLite file (`zhili serve --workers N`, a worker, a CLI import) ---------

_TRY_LOCK = """
import sys
from zhili.core.writer_lock import WriterLock
print(WriterLock(sys.argv[1]).acquire(timeout=float(sys.argv[2])))
"""

_BUMP = """
import sys
from tests.core.test_concurrent_writers import bump
from zhili.core.db import Database
bump(Database.from_url(sys.argv[1]), int(sys.argv[2]))
"""
ROOT = Path(__file__).resolve().parents[2]  # where `tests` imports from, in a child process


def _python(code: str, *args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_a_writer_in_another_process_keeps_writers_here_out_until_it_is_done(tmp_path) -> None:
    path = str(tmp_path / "w.db-writer.lock")
    held = WriterLock(path)
    assert held.acquire(timeout=1)
    try:
        meanwhile = _python(_TRY_LOCK, path, 0.3)
        assert meanwhile.stdout.strip() == "False", meanwhile.stderr
    finally:
        held.release()
    afterwards = _python(_TRY_LOCK, path, 5)
    assert afterwards.stdout.strip() == "True", afterwards.stderr


def test_a_write_waits_for_another_process_then_gives_up_with_busy(sqlite_db, monkeypatch) -> None:
    other = WriterLock(f"{sqlite_db.engine.url.database}-writer.lock")
    monkeypatch.setattr(db_module, "WRITE_LOCK_SECONDS", 0.3)
    assert other.acquire(timeout=1)  # stands for another process: a lock of its own on the same file
    try:
        with pytest.raises(Busy, match="busy"), sqlite_db.session_scope() as s:
            s.execute(text("INSERT INTO t (id, n) VALUES (7, 0)"))
    finally:
        other.release()
    with sqlite_db.session_scope() as s:  # free again: the write goes through
        s.execute(text("INSERT INTO t (id, n) VALUES (7, 0)"))
    with sqlite_db.read_sessionmaker() as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar_one() == 1


def test_two_processes_and_threads_here_of_read_modify_write_lose_nothing(sqlite_db) -> None:
    with sqlite_db.session_scope() as s:
        s.execute(text("INSERT INTO t (id, n) VALUES (1, 0)"))
    url = str(sqlite_db.engine.url)
    children = [subprocess.Popen([sys.executable, "-c", _BUMP, url, "150"], cwd=ROOT, stderr=subprocess.PIPE,
                                 text=True) for _ in range(2)]
    run_at_once(lambda: bump(sqlite_db, 50), 3)
    for child in children:
        _out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    with sqlite_db.read_sessionmaker() as s:
        assert s.execute(text("SELECT n FROM t WHERE id = 1")).scalar_one() == 2 * 150 + 3 * 50
