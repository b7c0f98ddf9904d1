"""The request owns the transaction: commit before the response, a commit-time error is an error response."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhili.core import unit_of_work
from zhili.core.unit_of_work import commit_now, get_session
from zhili.org.models import Department

DbSession = Annotated[Session, Depends(get_session, scope="function")]


def _test_router() -> APIRouter:
    router = APIRouter()

    @router.post("/api/v1/_test/departments/{code}")
    def add_two(code: str, session: DbSession) -> dict[str, str]:
        # Two rows with one unique code, left for the commit to flush: the error happens at commit time.
        session.add(Department(code=code, name="甲", kind="other", handles_cases=False, active=True))
        session.add(Department(code=code, name="乙", kind="other", handles_cases=False, active=True))
        return {"status": "ok"}

    @router.post("/api/v1/_test/departments-ok/{code}")
    def add_one(code: str, session: DbSession) -> dict[str, str]:
        session.add(Department(code=code, name="丙", kind="other", handles_cases=False, active=True))
        return {"status": "ok"}

    @router.post("/api/v1/_test/departments-now/{code}")
    def add_two_now(code: str, session: DbSession) -> dict[str, str]:
        session.add(Department(code=code, name="丁", kind="other", handles_cases=False, active=True))
        session.add(Department(code=code, name="戊", kind="other", handles_cases=False, active=True))
        commit_now(session)
        return {"status": "ok"}

    @router.post("/api/v1/_test/departments-now-ok/{code}")
    def add_one_now(code: str, session: DbSession) -> dict[str, str]:
        session.add(Department(code=code, name="己", kind="other", handles_cases=False, active=True))
        commit_now(session)
        return {"status": "ok"}

    return router


def test_commit_time_integrity_error_is_a_409_and_writes_nothing(app, client, db) -> None:
    app.include_router(_test_router())
    resp = client.post("/api/v1/_test/departments/DUP-1")
    assert resp.status_code == 409
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "nothing was saved" in resp.json()["detail"]
    with db.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(Department).where(Department.code == "DUP-1")) == 0


def test_successful_request_is_committed_before_the_response(app, client, db) -> None:
    app.include_router(_test_router())
    assert client.post("/api/v1/_test/departments-ok/OK-1").status_code == 200
    with db.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(Department).where(Department.code == "OK-1")) == 1


def test_unknown_api_path_is_problem_json_not_html(client) -> None:
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404
    assert resp.json()["status"] == 404


def test_a_route_that_commits_itself_leaves_the_request_nothing_to_end(app, client, db, monkeypatch) -> None:
    app.include_router(_test_router())
    ends: list[bool] = []
    end = unit_of_work._end

    def counted(session: Session, commit: bool) -> None:
        ends.append(commit)
        end(session, commit)

    monkeypatch.setattr(unit_of_work, "_end", counted)
    assert client.post("/api/v1/_test/departments-now-ok/NOW-1").status_code == 200
    assert ends == []  # no second trip through a worker thread to commit
    with db.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(Department).where(Department.code == "NOW-1")) == 1
    assert client.post("/api/v1/_test/departments-ok/OK-2").status_code == 200
    assert ends == [True]  # a route that leaves its changes to the request's end


def test_a_commit_in_the_route_that_fails_is_a_409_and_writes_nothing(app, client, db) -> None:
    app.include_router(_test_router())
    resp = client.post("/api/v1/_test/departments-now/DUP-2")
    assert resp.status_code == 409
    assert "nothing was saved" in resp.json()["detail"]
    with db.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(Department).where(Department.code == "DUP-2")) == 0
