"""The ceilings of `zhili bench cases`: what a request's own statements cost with nothing around them.

The floor (one INSERT a request) says what the server and the database cost at the least. A case
action or a list cannot be cheaper than the statements it has to send, and this app serves those
statements as bare as the floor serves its INSERT (a sync route, a session on a pool of 40, SQL
text), so that the bench can say how far the targets are from what any implementation could reach,
and how much of the gap is the application's:

- `POST /ceiling/accept/{number}`: the statements of `accept`, the action of the cycle that sends
  the fewest (8 with BEGIN, against 9 to 11), in the application's order: the token and its user, the
  case (with its fact row, joined), the timeline row, the outbox row, the case UPDATE on its id and
  version, the fact row's UPDATE, the audit row. `ACCEPT_SHAPE` names them; a test holds the
  application's accept to the same list, so that the two stay in step. The values are the case's own
  (its status and times are written back as read; the version, `updated_at` and the acceptance's
  facts change), so the bench's database stays consistent for the phases after this one.
- `GET /ceiling/read/{i}`: replays the statements the application sent for read path i, as recorded
  in-process with their parameters (`record_reads`), and answers their rows as JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Response
from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker

# (verb, table) of each statement accept sends, in order; BEGIN and COMMIT are the session's.
ACCEPT_SHAPE = (
    ("SELECT", "api_token"),
    ("SELECT", "case_record"),
    ("INSERT", "case_activity"),
    ("INSERT", "outbox_message"),
    ("UPDATE", "case_record"),
    ("UPDATE", "case_evaluation_fact"),
    ("INSERT", "audit_entry"),
)
READS_ENV = "ZHILI_BENCH_READS"  # the pickle of recorded read statements the ceiling replays
_FACT_COLUMNS = ("street_code", "department_id", "reporter_staff_id", "verified_by_staff_id",
                 "checked_by_staff_id", "facts", "span_start_us", "span_end_us", "reported_us",
                 "registered_us", "first_dispatched_us", "accepted_us", "handled_us", "closed_us",
                 "ended_us", "verified_us", "checked_us", "handle_due_us", "accept_seconds",
                 "handle_seconds", "close_seconds")
_TOKEN = text(
    "SELECT api_token.id, api_token.user_id, api_token.expires_at, api_token.last_used_at, "
    "api_token.revoked_at, user_account.username, user_account.display_name, user_account.is_active "
    "FROM api_token JOIN user_account ON user_account.id = api_token.user_id "
    "WHERE api_token.token_digest = :digest")
_CASE = text(  # column names of this module, no input
    "SELECT case_record.*, " + ", ".join(f"case_evaluation_fact.{c} AS fact_{c}" for c in _FACT_COLUMNS)  # noqa: S608
    + " FROM case_record JOIN case_evaluation_fact ON case_evaluation_fact.case_id = case_record.id"
    " WHERE case_record.number = :number")
_ACTIVITY = text(
    "INSERT INTO case_activity (case_id, at, action, from_status, to_status, actor_user_id, actor_name, "
    "note, data) VALUES (:case_id, :at, 'accept', :status, :status, :user_id, :name, NULL, 'null')")
_OUTBOX = text(
    "INSERT INTO outbox_message (event_name, payload, created_at, dispatched_at, attempts, "
    "next_attempt_at, last_error) VALUES ('cases.status_changed', :payload, :at, NULL, 0, NULL, NULL)")
_UPDATE_CASE = text(
    "UPDATE case_record SET status = :status, accepted_at = :accepted_at, updated_at = :at, "
    "version = :new_version WHERE case_record.id = :case_id AND case_record.version = :version")
_UPDATE_FACT = text(  # column names of this module, no input
    "UPDATE case_evaluation_fact SET " + ", ".join(f"{c} = :{c}" for c in _FACT_COLUMNS)  # noqa: S608
    + " WHERE case_evaluation_fact.case_id = :case_id")
_AUDIT = text(
    'INSERT INTO audit_entry (at, actor, action, entity_type, entity_id, "before", "after", client_ip, '
    "note) VALUES (:at, :actor, 'cases.accept', 'case_record', :number, :before, :after, '127.0.0.1', "
    "NULL)")


def ceiling_app(sessions: Callable[[], Session] | None = None,
                reads: list[list[tuple[str, Any]]] | None = None) -> FastAPI:
    """The ceiling's app, served as the floor is (bench_servers.bare_app), on the environment's
    database and recorded reads; tests pass their own sessions and reads."""
    from zhili.cases.bench_servers import bare_app

    app = bare_app() if sessions is None else FastAPI()
    open_session = sessions or sessionmaker(app.state.engine)
    recorded = reads if reads is not None else _recorded_reads()

    @app.post("/ceiling/accept/{number}")
    def accept(number: str, authorization: str = Header()) -> dict[str, Any]:
        digest = hashlib.sha256(authorization.removeprefix("Bearer ").encode()).hexdigest()
        now = datetime.now(UTC).replace(tzinfo=None)
        at, now_us = now.isoformat(" "), int(time.time() * 1_000_000)
        with open_session() as s, s.begin():
            token = s.execute(_TOKEN, {"digest": digest}).first()
            case = s.execute(_CASE, {"number": number}).mappings().first()
            if token is None or case is None:
                raise HTTPException(404, "no such token or case")
            s.execute(_ACTIVITY, {"case_id": case["id"], "at": at, "status": case["status"],
                                  "user_id": token.user_id, "name": token.display_name})
            s.execute(_OUTBOX, {"at": at, "payload": json.dumps(
                {"case_id": case["id"], "number": number, "action": "accept", "from_status": case["status"],
                 "to_status": case["status"], "department_id": case["department_id"]})})
            written = s.execute(_UPDATE_CASE, {
                "status": case["status"], "accepted_at": case["accepted_at"], "at": at,
                "new_version": case["version"] + 1, "case_id": case["id"], "version": case["version"]})
            if written.rowcount != 1:  # type: ignore[attr-defined]
                raise HTTPException(409, "another writer came first")
            facts = {c: case[f"fact_{c}"] for c in _FACT_COLUMNS}
            facts.update(span_end_us=max(facts["span_end_us"], now_us))
            s.execute(_UPDATE_FACT, {**facts, "case_id": case["id"]})
            s.execute(_AUDIT, {"at": at, "actor": token.username, "number": number,
                               "before": json.dumps({"status": case["status"], "version": case["version"]}),
                               "after": json.dumps({"status": case["status"]})})
        return {"number": number, "version": case["version"] + 1}

    @app.get("/ceiling/read/{i}")
    def read(i: int) -> Response:
        if not 0 <= i < len(recorded):
            raise HTTPException(404, "no such recorded read")
        out = []
        with open_session() as s, s.begin():
            connection = s.connection()
            for statement, parameters in recorded[i]:
                result = connection.exec_driver_sql(statement, parameters)
                if result.returns_rows:
                    out.append([list(row) for row in result])
        return Response(json.dumps(out, default=str, ensure_ascii=False), media_type="application/json")

    return app


def _recorded_reads() -> list[list[tuple[str, Any]]]:
    """The reads `record_reads` recorded, from the file the bench names in READS_ENV (none if unset)."""
    reads_file = os.environ.get(READS_ENV)
    return pickle.loads(Path(reads_file).read_bytes()) if reads_file else []  # noqa: S301 - the bench's own file


def record_reads(app: Any, engine: Any, paths: list[str],
                 headers: dict[str, str]) -> list[list[tuple[str, Any]]]:
    """The statements (and their parameters) the application sends for each path, in-process: the
    second of two requests, so that the caches are as warm as under load."""
    from fastapi.testclient import TestClient

    sent: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.strip().upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", note)
    recorded = []
    try:
        with TestClient(app) as client:
            for path in paths:
                for _warm in range(2):
                    sent.clear()
                    client.get(path, headers=headers).raise_for_status()
                recorded.append(list(sent))
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return recorded
