"""The bench's ceilings: the accept it measures sends what the application's accept sends, writes the
rows an accept writes and leaves the case as it was; a recorded read replays to the rows it read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from tests.cases.conftest import drive, make_case
from zhili.cases.bench_ceiling import ACCEPT_SHAPE, ceiling_app, record_reads
from zhili.cases.models import CaseActivity, CaseRecord
from zhili.cases.states import CaseStatus
from zhili.core.audit import AuditEntry
from zhili.core.events import OutboxMessage

_SHAPE = re.compile(r"^\s*(?:(SELECT)\b.*?\bFROM\s+(\w+)|(INSERT) INTO\s+(\w+)|(UPDATE)\s+(\w+))",
                    re.S | re.I)


@contextmanager
def statements(engine: Any) -> Iterator[list[tuple[str, str]]]:
    """(verb, table) of each statement sent meanwhile; the transaction's own (BEGIN, SAVEPOINT …) left out."""
    sent: list[tuple[str, str]] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        found = _SHAPE.match(statement)
        if found:
            verb, table = [g for g in found.groups() if g]
            sent.append((verb.upper(), table))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _to_accept(session: Session, cfg: Any) -> CaseRecord:
    case = drive(session, cfg, make_case(session, cfg), CaseStatus.to_accept)
    session.commit()
    return case


def _count(session: Session, model: Any, **where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0)


def test_the_applications_accept_sends_the_statements_the_ceiling_measures(
    db: Any, client: TestClient, session: Session, cfg: Any, at: Any, h: Any
) -> None:
    case = _to_accept(session, cfg)
    headers = {**h("handler"), "Prefer": "return=minimal"}
    client.get(f"/api/v1/cases/{case.number}", headers=headers).raise_for_status()  # the token's use noted
    with statements(db.engine) as sent:
        r = client.post(f"/api/v1/cases/{case.number}/actions/accept", headers=headers,
                        json={"version": case.version})
    assert r.status_code == 200, r.text
    assert tuple(sent) == ACCEPT_SHAPE


def test_the_ceilings_accept_writes_an_accepts_rows_and_leaves_the_case_as_it_was(
    db: Any, session: Session, cfg: Any, at: Any, h: Any
) -> None:
    case = _to_accept(session, cfg)
    number, version, status = case.number, case.version, case.status
    headers = h("handler")
    before = {m: _count(session, m) for m in (CaseActivity, OutboxMessage, AuditEntry)}
    with TestClient(ceiling_app(db.sessionmaker, [])) as ceiling, statements(db.engine) as sent:
        first = ceiling.post(f"/ceiling/accept/{number}", headers=headers)
        second = ceiling.post(f"/ceiling/accept/{number}", headers=headers)
        missing = ceiling.post("/ceiling/accept/19990101000001", headers=headers)
    assert (first.status_code, second.status_code, missing.status_code) == (200, 200, 404)
    assert (first.json()["version"], second.json()["version"]) == (version + 1, version + 2)
    assert tuple(sent[: len(ACCEPT_SHAPE)]) == ACCEPT_SHAPE
    session.expire_all()
    after = session.scalars(select(CaseRecord).where(CaseRecord.number == number)).one()
    assert (after.status, after.version, after.accepted_at) == (status, version + 2, None)
    assert {m: _count(session, m) - n for m, n in before.items()} == {
        CaseActivity: 2, OutboxMessage: 2, AuditEntry: 2}


def test_a_recorded_read_replays_to_the_rows_the_application_read(
    db: Any, app: Any, session: Session, cfg: Any, at: Any, h: Any
) -> None:
    numbers = {make_case(session, cfg).number for _ in range(3)}
    session.commit()
    path = "/api/v1/cases?queue=to_register"
    with TestClient(app) as client:
        listed = {item["number"] for item in client.get(path, headers=h("shift_leader")).json()["items"]}
    assert numbers <= listed
    recorded = record_reads(app, db.engine, [path], h("shift_leader"))
    assert recorded[0], "the list sent statements"
    with TestClient(ceiling_app(db.sessionmaker, recorded)) as ceiling:
        replayed = ceiling.get("/ceiling/read/0")
        assert ceiling.get("/ceiling/read/1").status_code == 404
    assert replayed.status_code == 200
    values = {v for rows in replayed.json() for row in rows for v in row if isinstance(v, str)}
    assert listed <= values
