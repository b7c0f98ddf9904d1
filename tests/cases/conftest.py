"""Cases fixtures: a settable clock inside 2026, the case config, users, spots, evidence, a case factory."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import bearer_for
from zhili.cases import repository
from zhili.cases.config import CaseConfig, CaseSettings, config_for
from zhili.cases.models import CaseRecord
from zhili.cases.schemas import ActionFields, CaseCreate
from zhili.cases.service import intake, workflow
from zhili.cases.states import CaseStatus
from zhili.core import clock
from zhili.core.settings import Settings
from zhili.evidence.models import EvidenceFile
from zhili.identity.models import User
from zhili.org import service as org_service

API = "/api/v1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 2 March 2026, 09:00 in Guangzhou: a working day, inside office hours, inside the holiday data.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


class Clock:
    """The platform clock, pinned; tests move it."""

    def __init__(self, start: datetime) -> None:
        self.t = start

    def now(self) -> datetime:
        return self.t

    def set(self, t: datetime) -> None:
        self.t = t

    def advance(self, **delta: float) -> datetime:
        self.t = self.t + timedelta(**delta)
        return self.t


@pytest.fixture
def h(db: Any) -> Any:
    """Bearer headers per demo user, made on first use."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = bearer_for(db, username)
        return cache[username]

    return headers


@pytest.fixture
def at() -> Iterator[Clock]:
    c = Clock(T0)
    clock.set_clock(c.now)
    yield c
    clock.set_clock(None)


@pytest.fixture
def cfg(settings: Settings) -> CaseConfig:
    return config_for(settings, CaseSettings())


def user(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def spot(session: Session, staff_id: int | None = None, *, nth: int = 0) -> tuple[float, float]:
    """A WGS-84 point inside a unit grid (of the given inspector's responsibility grid, if named)."""
    index = org_service.area_index(session)
    grids = [g for g in index.grids if staff_id is None or g.inspector_staff_id == staff_id]
    point = shape(grids[nth].geometry).representative_point()
    return float(point.x), float(point.y)


def inspector_spot(session: Session, nth: int = 0) -> tuple[float, float]:
    return spot(session, user(session, "inspector").staff_id, nth=nth)


_counter = itertools.count()


def evidence(session: Session, n: int = 1) -> list[str]:
    """Register n evidence files (rows only: the services check the register, not the bytes)."""
    shas = []
    for _ in range(n):
        sha = hashlib.sha256(f"photo-{next(_counter)}-{id(session)}".encode()).hexdigest()
        session.add(
            EvidenceFile(
                sha256=sha, public_sha256=sha, mime="image/jpeg", size_bytes=1000, uploaded_at=clock.now()
            )
        )
        shas.append(sha)
    session.flush()
    return shas


def report_fields(session: Session, **kw: Any) -> dict[str, Any]:
    """An inspector's report of exposed garbage in their grid (`spot` moves it), `kw` over it, as sent."""
    lon, lat = kw.pop("spot", None) or inspector_spot(session)
    return {
        "source": "inspector",
        "class_kind": "matter",
        "class_code": "06010",
        "lon": lon,
        "lat": lat,
        "address": "白云区某路 1 号",
        "description": "路边有暴露垃圾",
        **kw,
    }


def report_data(session: Session, **kw: Any) -> CaseCreate:
    return CaseCreate.model_validate(report_fields(session, **kw))


def make_case(session: Session, cfg: CaseConfig, *, reporter: str = "inspector", **kw: Any) -> CaseRecord:
    return intake.report_case(session, user(session, reporter), report_data(session, **kw), cfg)


def act(
    session: Session, cfg: CaseConfig, username: str, case: CaseRecord, action: str, **fields: Any
) -> CaseRecord:
    version = fields.pop("version", case.version)
    return workflow.perform_action(
        session, user(session, username), case.number, action, ActionFields(**fields), cfg, version=version
    )


def standard_id(session: Session, kind: str = "matter", code: str = "06010", no: int = 1) -> int:
    row = repository.standard_by_key(session, kind, code, no)
    assert row is not None, "the demo standard is part of the test baseline"
    return row.id


# The main line, each step as (status it starts from, user, action, fields factory).
def main_line(session: Session) -> list[tuple[CaseStatus, str, str, dict[str, Any]]]:
    return [
        (CaseStatus.to_register, "shift_leader", "register", {"standard_id": standard_id(session)}),
        (CaseStatus.to_dispatch, "dispatcher", "dispatch", {}),
        (CaseStatus.to_accept, "handler", "accept", {}),
        (CaseStatus.handling, "handler", "handle", {"result": "已清理", "evidence": evidence(session)}),
        (CaseStatus.to_check, "inspector", "check", {"passed": True}),
        (CaseStatus.to_close, "shift_leader", "close", {}),
    ]


def drive(session: Session, cfg: CaseConfig, case: CaseRecord, until: CaseStatus) -> CaseRecord:
    """Take a case along the main line until it reaches `until`."""
    for status, username, action, fields in main_line(session):
        if case.status == until:
            break
        assert case.status == status, f"case is {case.status}, the main line expected {status}"
        case = act(session, cfg, username, case, action, **fields)
    assert case.status == until
    return case


# Over HTTP, as a client would: a report by an inspector, an action with the version read.
def report(client: Any, h: Any, session: Session, username: str = "inspector", key: str | None = None,
           **kw: Any) -> Any:
    headers = {**h(username), **({"Idempotency-Key": key} if key else {})}
    return client.post(f"{API}/cases", json=report_fields(session, **kw), headers=headers)


def action(client: Any, h: Any, username: str, case: dict[str, Any], name: str, key: str | None = None,
           **fields: Any) -> Any:
    headers = {**h(username), **({"Idempotency-Key": key} if key else {})}
    return client.post(
        f"{API}/cases/{case['number']}/actions/{name}",
        json={"version": case["version"], **fields},
        headers=headers,
    )
