"""Test harness: one migrated database per run (SQLite or PostgreSQL), each test rolled back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from zhili.core import migrate
from zhili.core.db import READ_ONLY, Database, make_engine
from zhili.core.settings import Settings

# CI runs the whole suite twice: ZHILI_TEST_DATABASE_URL unset (SQLite) and set to PostgreSQL.
TEST_DB_URL = os.environ.get("ZHILI_TEST_DATABASE_URL", "")
# `zhili demo` in tests (the CLI test) loads a few hundred cases of history, not the demo's 30,000.
os.environ.setdefault("ZHILI_DEMO_CASE_HISTORY", "300")


def _fresh_database_url(tmp: Path) -> str:
    if not TEST_DB_URL:
        return f"sqlite:///{tmp / 'test.db'}"
    engine = make_engine(TEST_DB_URL)
    with engine.begin() as conn:  # start from nothing: the schema is made by migrations only
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return TEST_DB_URL


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _fresh_database_url(tmp_path_factory.mktemp("db"))
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Settings:
    data_dir = tmp_path_factory.mktemp("data")
    return Settings(data_dir=data_dir, database_url=database_url, secret_key="t" * 48, demo=False)


@pytest.fixture(scope="session")
def seeded(database_url: str) -> str:
    """The Baiyun demo baseline (geography, departments, one user per role), committed once per run."""
    from zhili.demo import seed_baseline

    db = Database.from_url(database_url)
    with db.session_scope() as s:
        seed_baseline(s)
    db.engine.dispose()
    return database_url


@pytest.fixture
def db(seeded: str) -> Iterator[Database]:
    """A Database whose sessions all live inside one outer transaction rolled back after the test.

    Sessions join with SAVEPOINTs, so a service's commit (or the request's) really commits its
    savepoint, and a commit-time IntegrityError surfaces as it would in production.
    """
    engine = make_engine(seeded)
    conn = engine.connect()
    outer = conn.begin()
    maker = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    read_maker = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False,
                              info={READ_ONLY: True})
    yield Database(engine, maker, read_maker)
    outer.rollback()
    conn.close()
    engine.dispose()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    s = db.sessionmaker()
    yield s
    s.close()


@pytest.fixture
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    from zhili.app import create_app

    return create_app(settings, db=db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def bearer_for(db: Database, username: str) -> dict[str, str]:
    """An API token for one of the demo users, issued in the test's transaction."""
    from sqlalchemy import select

    from zhili.identity import service as identity_service
    from zhili.identity.models import User

    with db.sessionmaker() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        _token, plaintext = identity_service.issue_api_token(s, user, user, name="tests", expires_days=1)
        s.commit()
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def admin_headers(db: Database) -> dict[str, str]:
    return bearer_for(db, "admin")
