"""PostgreSQL pool: a connection that died while idle in the pool is replaced before a request gets it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from zhili.core.db import _ping_when_idle


@pytest.fixture
def pg_url(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a server connection that can die: PostgreSQL only")
    return database_url


def _kill_pooled_backend(engine, admin) -> None:
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with admin.connect() as conn:  # the server ends it, as a restart or an idle timeout would
        conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
    time.sleep(0.2)


def test_a_connection_killed_while_idle_is_replaced(pg_url) -> None:
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    admin = create_engine(pg_url)
    _ping_when_idle(engine, idle_seconds=0.1)
    try:
        _kill_pooled_backend(engine, admin)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 41 + 1").scalar_one() == 42
    finally:
        engine.dispose()
        admin.dispose()


def test_without_the_ping_the_dead_connection_reaches_the_caller(pg_url) -> None:
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    admin = create_engine(pg_url)
    _ping_when_idle(engine, idle_seconds=3600)  # never idle long enough: no ping
    try:
        _kill_pooled_backend(engine, admin)
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()
        admin.dispose()
