"""Work-order fixtures: a road segment in the district, a plan factory, a field worker bound to a team."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.conftest import spot, user
from zhili.cases.workorders import plans
from zhili.cases.workorders.models import WorkPlan
from zhili.cases.workorders.schemas import PlanCreate
from zhili.org.models import Department, Staff, Team


def sanitation(session: Session) -> Department:
    return session.scalars(select(Department).where(Department.code == "BY-HW")).one()


def team(session: Session, nth: int = 1) -> Team:
    return session.scalars(select(Team).where(Team.code == f"BY-HW-T{nth}")).one()


def road(session: Session) -> dict[str, Any]:
    """A ~200 m road segment (WGS-84) starting inside a unit grid of the district."""
    lon, lat = spot(session)
    return {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.002, lat]]}


def plan_data(session: Session, **kw: Any) -> PlanCreate:
    data: dict[str, Any] = {
        "name": "白云大道北 0.2 km 道路保洁",
        "task_type": "sweep",
        "geometry": road(session),
        "crs": "wgs84",
        "department_id": sanitation(session).id,
        "team_id": team(session).id,
        "recurrence": {"freq": "daily", "windows": [{"start": "06:00", "end": "08:00"}]},
        "starts_on": date(2026, 1, 1),
        "min_photos": 2,
        "tolerance_m": 50,
        "sample_rate": 0.25,
    }
    data.update(kw)
    return PlanCreate.model_validate(data)


def make_plan(session: Session, username: str = "dispatcher", **kw: Any) -> WorkPlan:
    return plans.create_plan(session, user(session, username), plan_data(session, **kw))


def bind_field_worker(session: Session, nth_team: int = 1) -> Staff:
    """Bind the demo field worker to a field-worker staff member of sanitation team `nth_team`."""
    worker = user(session, "field_worker")
    staff = session.scalars(
        select(Staff).where(Staff.team_id == team(session, nth_team).id, Staff.post == "field_worker")
    ).first()
    assert staff is not None
    worker.staff_id = staff.id
    session.flush()
    return staff


@pytest.fixture
def worker_staff(session: Session) -> Staff:
    return bind_field_worker(session)
