"""Database plumbing: the declarative base, portable column types, engines, SQLite's one writer, and
the Database a process works with (a request's own unit of work is core.unit_of_work)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Insert,
    Integer,
    MetaData,
    Table,
    create_engine,
    event,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm import sessionmaker as SessionMaker
from sqlalchemy.types import TypeDecorator

from zhili.core.errors import Busy, Invalid
from zhili.core.writer_lock import WriterLock

# One naming convention so that Alembic (and SQLite batch mode) can name every constraint.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on PostgreSQL (timestamptz) and SQLite (text) alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite keeps text; storing without offset keeps ordering and comparisons lexical-correct.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Big tables get 64-bit keys on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the rowid.
BigId = BigInteger().with_variant(Integer, "sqlite")

# JSON everywhere, JSONB where PostgreSQL can index and compare it.
JSONType = JSON().with_variant(JSONB(), "postgresql")


# SQLite keeps one writer at a time. Writers queue on WriterLock (threads of a process on a lock,
# processes on a file lock beside the database) instead of in SQLite's busy handler, which sleeps in
# growing steps (up to 100 ms a step) and, with dozens of threads, gives up with "database is locked".
WRITE_LOCK_SECONDS = 30.0
READ_ONLY = "zhili_read_only"  # execution option and session.info key of read-only units of work
SAFE_METHODS = frozenset({"GET", "HEAD"})  # their requests read only
# Requests using the database at once per process (ZHILI_REQUESTS_IN_FLIGHT sets it per app). Few:
# a process has one GIL, and its throughput fell as more threads took turns on it. 2 cores, 2 server
# processes, 50 connections: reads of a million cases on SQLite 270-298 requests/s with 4 in flight,
# 242-267 with 16; case actions on PostgreSQL 227 against 176 (16 to 4), then 212-257 against
# 187-217 (4 to 2), and at 150 reads/s offered on SQLite, p99 211 ms with 2 against 304 ms with 4.
# More cores take more processes (`zhili serve --workers`), not more threads. Far below anyio's 40
# worker threads and the pools' 10 + 30 connections, leaving room for jobs and a second, short unit
# of work per request (a case number on PostgreSQL, a token's last use).
REQUESTS_IN_FLIGHT = 2
# A pooled PostgreSQL connection idle this long is pinged before use (see _ping_when_idle).
PING_AFTER_IDLE_SECONDS = 2.0


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10, max_overflow: int = 30) -> Engine:
    """An engine with the platform's settings. The pool keeps `pool_size` connections open and opens
    up to `max_overflow` more while they are busy, closing each again when it comes back: a caller
    that keeps more than `pool_size` busy at once opens a connection for some of its requests."""
    if url.startswith("sqlite"):
        # One connection per worker thread (anyio's default limit is 40): writers wait on the
        # writer lock holding their connection, and readers must still find one.
        engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow,
                               connect_args={"check_same_thread": False, "timeout": WRITE_LOCK_SECONDS})
        database = engine.url.database or ""
        on_disk = database not in ("", ":memory:") and not database.startswith("file:")
        _tune_sqlite(engine, WriterLock(f"{database}-writer.lock" if on_disk else None))
    else:
        engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow)
        _ping_when_idle(engine)
    _guard_read_only(engine)
    _out_of_range_is_invalid(engine)
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Pessimistic disconnect handling for a server database, without a round trip per request: a
    pooled connection that has sat idle for `idle_seconds` is pinged before it is handed out, and a
    dead one is replaced (the pool retries). One just returned by a request is taken as alive, as a
    failure there would be noticed and the connection invalidated anyway."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection is dead: {exc}") from exc
        if not alive:
            raise DisconnectionError("pooled connection did not answer the ping")


def _tune_sqlite(engine: Engine, write_lock: WriterLock) -> None:
    """Foreign keys on, WAL, SQLAlchemy's recipe so that SAVEPOINT and BEGIN behave (pysqlite), and
    one writer at a time, for as short a time as can be.

    Every unit of work begins as a reader (BEGIN, deferred: a snapshot, no lock). Its first
    statement that writes (or locks: SAVEPOINT, SELECT ... FOR UPDATE) first takes the writer lock,
    then ends the snapshot, which has written nothing, and goes on in BEGIN IMMEDIATE: a transaction
    that sees every commit before it and that no other writer can enter. The lock goes back when the
    connection returns to the pool (after COMMIT or ROLLBACK). So a request's reads, checks and
    Python work happen outside the lock, and only its writes and commit are serial.

    The reads before the first write are those of one snapshot that may be older than the write, as
    on PostgreSQL at READ COMMITTED (each statement its own snapshot): what decides on them is
    guarded as it must be there, by version columns, unique indexes and locking reads."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(conn: Any, _cursor: Any, statement: str, _params: Any, context: Any,
                      _executemany: bool) -> None:
        if not _takes_writer(statement, context) or conn.get_execution_options().get(READ_ONLY):
            return  # a read-only unit of work that writes is refused by _guard_read_only
        record = conn.connection._connection_record
        if record.info.get("write_lock"):
            return
        if not write_lock.acquire(timeout=WRITE_LOCK_SECONDS):
            raise Busy("The database is busy with other changes; nothing was saved, please retry.")
        record.info["write_lock"] = True
        try:
            dbapi_conn = conn.connection.dbapi_connection
            if dbapi_conn.in_transaction:
                # IMMEDIATE takes SQLite's write lock at once (free now, unless a program other
                # than zhili writes: then it waits in the busy handler) instead of failing on upgrade.
                dbapi_conn.execute("COMMIT")
                dbapi_conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            _release(record)
            raise

    def _release(record: Any) -> None:
        if record is not None and record.info.pop("write_lock", False):
            write_lock.release()

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        _release(record)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_conn: Any, record: Any, _exc: Any) -> None:
        _release(record)


# PostgreSQL's SQLSTATE for a value outside its column's type ("integer out of range", "bigint …").
NUMERIC_VALUE_OUT_OF_RANGE = "22003"


def _out_of_range_is_invalid(engine: Engine) -> None:
    """A whole number the database cannot hold is refused as bad input (422), not a 500.

    Such a number only comes from a request: an id of 30 digits in a path, a version of 2**70.
    SQLite cannot bind one beyond 64 bits (the driver's OverflowError); PostgreSQL refuses one
    beyond its column's type when the statement runs. Either way the statement has changed
    nothing, and the unit of work rolls back as for any error, so nothing is written."""

    @event.listens_for(engine, "handle_error")
    def _translate(ctx: ExceptionContext) -> None:
        exc = ctx.original_exception
        if isinstance(exc, OverflowError) or getattr(exc, "sqlstate", None) == NUMERIC_VALUE_OUT_OF_RANGE:
            raise Invalid(f"A number in the request is out of range: whole numbers up to {2**63 - 1} "
                          "are accepted, and a field may take fewer.") from exc


def _guard_read_only(engine: Engine) -> None:
    """A read-only unit of work (a GET request) that tries to change data is a programming error:
    on SQLite its deferred transaction could not safely become a writer."""

    @event.listens_for(engine, "before_cursor_execute")
    def _no_writes(conn: Any, _cursor: Any, statement: str, _params: Any, context: Any,
                   _executemany: bool) -> None:
        if conn.get_execution_options().get(READ_ONLY) and statement.lstrip()[:7].upper().startswith(
            ("INSERT", "UPDATE", "DELETE", "REPLACE")
        ):
            raise ReadOnlyViolation(f"a read-only unit of work tried to write: {statement[:120]}")


# Statements that leave the database as it was and take no lock: they run in a unit of work's snapshot.
_READER_STATEMENTS = ("SELECT", "BEGIN", "COMMIT", "ROLLBACK", "RELEASE")


def _takes_writer(statement: str, context: Any) -> bool:
    """Whether a statement must run as the one writer: it writes, or it locks what it reads."""
    if not statement.lstrip()[:8].upper().startswith(_READER_STATEMENTS):
        return True
    compiled = getattr(context, "compiled", None)
    return getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None


def become_writer(session: Session) -> None:
    """SQLite: make this unit of work the one writer now, before a read that must not change until
    it commits (the largest id, to number new rows after it). PostgreSQL has no such lock: lock
    rows there (FOR UPDATE) or let a unique index decide."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(select(literal(1)).with_for_update())  # a locking read: see _takes_writer


class ReadOnlyViolation(RuntimeError):
    """Raised when a read-only unit of work (a GET request) issues INSERT, UPDATE or DELETE."""


@event.listens_for(Session, "before_flush")
def _no_flush_when_read_only(session: Session, _context: Any, _instances: Any) -> None:
    changed = session.new or session.deleted or session.dirty
    if session.info.get(READ_ONLY) and changed:
        kind = type(next(iter(changed))).__name__
        raise ReadOnlyViolation(f"a read-only unit of work tried to change {kind}")


@dataclass
class Database:
    engine: Engine
    sessionmaker: SessionMaker[Session]
    read_sessionmaker: SessionMaker[Session]
    # See unit_of_work.request_turn: requests in flight at once, and (SQLite) the write requests' one turn.
    request_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(REQUESTS_IN_FLIGHT))
    writer_turn: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False,
                 requests_in_flight: int = REQUESTS_IN_FLIGHT) -> Database:
        return cls.of(make_engine(url, echo=echo), requests_in_flight=requests_in_flight)

    @classmethod
    def of(cls, engine: Engine, *, requests_in_flight: int = REQUESTS_IN_FLIGHT) -> Database:
        """Sessions that may write, and read-only ones (GET requests): on SQLite the latter read a
        snapshot without waiting for writers; on both databases a write through them is refused."""
        return cls(
            engine,
            sessionmaker(engine, expire_on_commit=False, autoflush=True),
            sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False,
                         autoflush=True, info={READ_ONLY: True}),
            asyncio.Semaphore(requests_in_flight),
        )

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """For jobs and commands: commit on success, roll back on any error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


@contextmanager
def side_transaction(session: Session, *, durable: bool = True) -> Iterator[Session | Connection]:
    """Where to run a short write that many units of work contend for (a counter row), so that its
    lock lasts one statement instead of the caller's whole transaction.

    On PostgreSQL: a transaction of its own on the session's engine, committed on leaving; with
    `durable=False` it commits asynchronously (`synchronous_commit = off`), which is safe when the
    caller's own, synchronous commit follows it in the WAL. Where no second writer can run beside the
    caller (SQLite: one writer per process) or the session is bound to one connection (tests): the
    caller's session itself, in its transaction."""
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        with bind.begin() as connection:
            if not durable:
                connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            yield connection
        return
    yield session


@cache
def _insert_into(model: type[Base]) -> Insert:
    return cast(Table, model.__table__).insert()


def append_row(session: Session, model: type[Base], values: Mapping[str, Any]) -> int:
    """Append one row of an append-only table (a timeline row, an outbox message, an audit entry) in
    the session's transaction: one INSERT on its connection, built once per table, and its new id.

    Such rows are written on every action and never read back in the unit of work that writes
    them, so they have nothing to gain from the session's bookkeeping (an object to track, then the
    flush's machinery). The transaction is the same: they commit or roll back with the change."""
    key = session.connection().execute(_insert_into(model), values).inserted_primary_key
    if key is None:  # not reached: a single-row INSERT has its key
        raise RuntimeError(f"the INSERT into {model.__tablename__} gave no key")
    return int(key[0])
