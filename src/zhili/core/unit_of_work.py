"""A request's unit of work: its turn among the requests using the database, its session, and the
commit that ends it (before the response, so that a commit-time error is an error response)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Request
from sqlalchemy.orm import Session

from zhili.core.db import SAFE_METHODS, Database


@asynccontextmanager
async def request_turn(request: Request) -> AsyncIterator[None]:
    """A request's place among those using the database, taken in the event loop, not in a thread.

    Sync routes run their dependencies and body in separate hops through a pool of worker threads
    (40 by default), and the unit of work commits in a hop of its own. A request waiting *in a
    thread* for a pooled connection, a row lock or SQLite's write lock holds that thread, so with
    enough of them waiting, the request they wait for finds no thread to finish in: a deadlock
    until a timeout. Here they wait without a thread: at most `Database.request_slots` requests
    are in flight (fewer than the worker threads and the pooled connections), and on SQLite one
    write request of a process at a time. That one takes the writer lock only once it writes, so
    its reads and checks run beside another process's writer; several of a process's threads
    writing at once were slower (the writer, waking from each statement, waited for the GIL behind
    the others: case actions, 2 processes, 50 connections: 129-149 requests/s, the lock held
    6-12 ms on average, against 239-252 requests/s with one write request per process)."""
    db: Database = request.app.state.db
    async with db.request_slots:
        if request.method in SAFE_METHODS or not db.is_sqlite:
            yield
            return
        async with db.writer_turn:
            yield


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work: committed before the response is sent, rolled back on error.

    Registered with `Depends(get_session, scope="function")` so the commit happens inside the
    handler's dependency scope; a commit-time IntegrityError therefore becomes an error response.
    Opening a session does no I/O, so it happens in the event loop; the end (COMMIT or ROLLBACK,
    then giving the connection back) is one trip through a worker thread.
    """
    async with request_turn(request):  # inside the one dependency: each costs its own resolution
        db: Database = request.app.state.db
        # GET and HEAD are safe methods: their unit of work reads only (see Database.of).
        makers = db.read_sessionmaker if request.method in SAFE_METHODS else db.sessionmaker
        session = makers()
        session.info["request"] = request
        try:
            yield session
        except BaseException:
            await anyio.to_thread.run_sync(_end, session, False)
            raise
        if session.in_transaction() or session.new or session.dirty or session.deleted:
            await anyio.to_thread.run_sync(_end, session, True)
        else:  # the route ended it (commit_now): nothing to send to the database
            session.close()


def commit_now(session: Session) -> None:
    """End a request's unit of work in the route's own thread, once its answer is built: its writes
    and its COMMIT then happen in one trip through a worker thread, and on SQLite the writer lock
    spans those only, not two more trips through the event loop (get_session's end then has
    nothing left to do). An error here is the route's: it becomes an error response as any other.
    A read-only unit of work (a GET) ends its read here the same way."""
    session.commit()


def _end(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
