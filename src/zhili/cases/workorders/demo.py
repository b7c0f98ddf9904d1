"""Demo work: four plans per street (sweeping, bins, compression station, greening) and 30 days of orders.

The plans are made as a dispatcher would make them; the month of history is written in bulk (a few
thousand orders in well under a second), with realistic completion — most on time, some late, a few
missed — and the real sampling draw run over the done ones. The demo field worker is bound to a
cleaner of the first sweeping team, so /m/workorders shows that team's orders of the day.
"""

from __future__ import annotations

import logging
import random
from datetime import date, datetime, timedelta
from typing import Any, cast

from shapely.geometry import shape
from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.orm import Session

from zhili.cases.workorders import jobs
from zhili.cases.workorders.models import WorkOrder, WorkOrderActivity, WorkPlan
from zhili.cases.workorders.plans import site_tz
from zhili.cases.workorders.recurrence import day_start, local_day
from zhili.core import clock
from zhili.identity.models import User
from zhili.org import service as org_service
from zhili.org.models import Staff, Team

log = logging.getLogger(__name__)

DEMO_STREET = "440111002"  # the demo inspector's street (identity.demo)
HISTORY_DAYS = 30
ROADS = ("白云大道北", "机场路", "广园路", "同和路", "云城西路", "石井大道", "沙太北路", "齐富路")


def _plan_specs(
    street: Any, grids: list[Any], teams: dict[str, Team], rng: random.Random
) -> list[dict[str, Any]]:
    g0, g1, g2 = (shape(g.geometry).representative_point() for g in grids[:3])
    road = rng.choice(ROADS)
    sweep_team = teams["BY-HW-T1"] if street.code == DEMO_STREET else teams["BY-HW-T2"]
    # The demo street's main road is swept twice a day (06:00–08:00 and 14:00–16:00), others once.
    sweep_windows = [{"start": "06:00", "end": "08:00"}]
    if street.code == DEMO_STREET:
        sweep_windows.append({"start": "14:00", "end": "16:00"})
    green_team = teams["BY-YL-T1"] if int(street.code[-3:]) % 2 else teams["BY-YL-T2"]
    return [
        {
            "name": f"{street.name}{road}道路保洁",
            "task_type": "sweep",
            "geometry": {"type": "LineString", "coordinates": [[g0.x - 0.0015, g0.y], [g0.x + 0.0015, g0.y]]},
            "team": sweep_team,
            "recurrence": {
                "freq": "daily",
                "windows": sweep_windows,
            },
            "min_photos": 2,
            "sample_rate": 0.1,
        },
        {
            "name": f"{street.name}垃圾桶清运",
            "task_type": "empty_bins",
            "geometry": {"type": "Point", "coordinates": [g1.x, g1.y]},
            "team": teams["BY-HW-T3"],
            "recurrence": {"freq": "daily", "windows": [{"start": "07:00", "end": "09:00"}]},
            "min_photos": 1,
            "sample_rate": 0.1,
        },
        {
            "name": f"{street.name}垃圾压缩站检查",
            "task_type": "check_station",
            "geometry": {"type": "Point", "coordinates": [g2.x, g2.y]},
            "team": teams["BY-HW-T3"],
            "recurrence": {"freq": "daily", "windows": [{"start": "09:00", "end": "10:00"}]},
            "min_photos": 2,
            "sample_rate": 0.2,
        },
        {
            "name": f"{street.name}街头绿地养护",
            "task_type": "green_maintenance",
            "geometry": grids[3].geometry,
            "area_code": grids[3].code,
            "team": green_team,
            "recurrence": {
                "freq": "weekly",
                "weekdays": [1, 4],
                "windows": [{"start": "08:00", "end": "11:30"}],
            },
            "min_photos": 2,
            "sample_rate": 0.2,
        },
    ]


def _complete(
    rows: list[dict[str, Any]], plans: dict[int, WorkPlan], now: datetime, rng: random.Random
) -> None:
    """Most on time, some late, a few missed; windows running now are in progress or still planned."""
    anchors = {pid: shape(p.geometry).representative_point() for pid, p in plans.items()}
    for row in rows:
        start, end, due = row["window_start"], row["window_end"], row["due_at"]
        if start > now:
            continue
        fate = rng.random()
        if end > now:  # running now
            if fate < 0.5:
                row.update(status="in_progress", started_at=start + (now - start) * rng.random())
            continue
        if fate < 0.07 and due < now:
            continue  # missed: stays planned, derived as missed from the clock
        length = end - start
        if fate < 0.15:
            done = due + timedelta(minutes=rng.randint(10, 240))  # late
        else:
            done = start + length * rng.uniform(0.45, 0.95)
        if done > now:
            continue
        anchor = anchors[row["plan_id"]]
        row.update(
            status="done",
            started_at=start + length * rng.uniform(0.0, 0.3),
            done_at=done,
            done_lon=anchor.x,
            done_lat=anchor.y,
            done_distance_m=round(rng.uniform(0, 35), 1),
        )


def seed_demo_workorders(session: Session, *, seed: int = 2026) -> int:
    """Make the demo plans and their last 30 days of orders once; returns how many orders were made."""
    if session.scalar(select(func.count()).select_from(WorkPlan)):
        return 0
    teams = {t.code: t for t in session.scalars(select(Team).where(Team.code.like("BY-%")))}
    if not {"BY-HW-T1", "BY-HW-T2", "BY-HW-T3", "BY-YL-T1", "BY-YL-T2"} <= teams.keys():
        log.info("demo work orders skipped: the demo teams are missing")
        return 0
    rng = random.Random(seed)
    tz = site_tz()
    now = clock.now()
    today = local_day(now, tz)
    first = today - timedelta(days=HISTORY_DAYS)
    created = day_start(first, tz) - timedelta(days=1)
    index = org_service.area_index(session)
    by_street: dict[str, list[Any]] = {}
    for g in index.grids:
        by_street.setdefault(g.code[:9], []).append(g)
    plans: list[WorkPlan] = []
    for street in index.areas_at("street"):  # towns included (the index keeps them at one level)
        grids = by_street.get(street.code, [])
        if len(grids) < 4:
            continue
        for spec in _plan_specs(street, rng.sample(grids, 4), teams, rng):
            team = spec["team"]
            plans.append(
                WorkPlan(
                    name=spec["name"],
                    task_type=spec["task_type"],
                    geometry=spec["geometry"],
                    area_code=spec.get("area_code"),
                    street_code=street.code,
                    department_id=team.department_id,
                    team_id=team.id,
                    recurrence=spec["recurrence"],
                    starts_on=first,
                    grace_minutes=30,
                    min_photos=spec["min_photos"],
                    tolerance_m=50.0,
                    sample_rate=spec["sample_rate"],
                    active=True,
                    created_at=created,
                    updated_at=created,
                )
            )
    session.add_all(plans)
    session.flush()
    rows = jobs.order_rows(plans, first, HISTORY_DAYS + 2, tz, set(), created)
    _complete(rows, {p.id: p for p in plans}, now, rng)
    for row in rows:
        row.setdefault("started_at", None)
        row.setdefault("done_at", None)
        row.setdefault("done_lon", None)
        row.setdefault("done_lat", None)
        row.setdefault("done_distance_m", None)
    # Plain executemany, then one SELECT for the ids: RETURNING in parameter order is far slower here.
    session.execute(insert(WorkOrder), rows)
    id_of = {
        (plan_id, start): order_id
        for order_id, plan_id, start in session.execute(
            select(WorkOrder.id, WorkOrder.plan_id, WorkOrder.window_start).where(
                WorkOrder.plan_id.in_([p.id for p in plans])
            )
        )
    }
    ids = [id_of[(r["plan_id"], r["window_start"])] for r in rows]
    activities: list[dict[str, Any]] = []
    for order_id, row in zip(ids, rows, strict=True):
        if row["started_at"] is not None:
            activities.append(_activity(order_id, row["started_at"], "start", "planned", "in_progress"))
        if row["done_at"] is not None:
            activities.append(_activity(order_id, row["done_at"], "complete", "in_progress", "done"))
    if activities:
        session.execute(insert(WorkOrderActivity), activities)
    _checks(
        session, {i: r["done_at"] for i, r in zip(ids, rows, strict=True) if r["done_at"]}, today, now, rng
    )
    _bind_field_worker(session, teams["BY-HW-T1"])
    return len(rows)


def _activity(
    order_id: int, at: datetime, action: str, source: str, target: str, actor: str = "作业人员"
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "at": at,
        "action": action,
        "from_status": source,
        "to_status": target,
        "actor_user_id": None,
        "actor_name": actor,
        "note": None,
        "data": None,
    }


def _checks(
    session: Session, done_at: dict[int, datetime], today: date, now: datetime, rng: random.Random
) -> None:
    """The real draw over orders done before today; nine in ten drawn checks pass, the rest were redone."""
    tz = site_tz()
    _considered, drawn = jobs.draw_checks(session, until=day_start(today, tz), now=now, tz=tz, actor="system")
    if not drawn:
        return
    table = cast(Table, WorkOrder.__table__)
    params, activities = [], []
    for order_id in drawn:
        failed = rng.random() < 0.1
        at = min(done_at[order_id] + timedelta(hours=rng.uniform(1, 20)), now)
        params.append({"oid": order_id, "checked_at": at, "count": 2 if failed else 1, "fails": int(failed)})
        if failed:
            activities.append(_activity(order_id, at, "fail_check", "done", "redo", "督查员"))
            activities.append(_activity(order_id, at, "start", "redo", "in_progress"))
            activities.append(_activity(order_id, at, "complete", "in_progress", "done"))
        activities.append(_activity(order_id, at, "pass_check", "done", "checked", "督查员"))
    session.execute(
        table.update()
        .where(table.c.id == bindparam("oid"))
        .values(
            status="checked",
            checked_at=bindparam("checked_at"),
            check_passed=True,
            check_count=bindparam("count"),
            check_fail_count=bindparam("fails"),
        ),
        params,
    )
    session.execute(insert(WorkOrderActivity), activities)


def _bind_field_worker(session: Session, team: Team) -> None:
    worker = session.scalars(select(User).where(User.username == "field_worker")).one_or_none()
    if worker is None or worker.staff_id is not None:
        return
    staff = session.scalars(
        select(Staff).where(Staff.team_id == team.id, Staff.post == "field_worker").order_by(Staff.id)
    ).first()
    if staff is not None:
        worker.staff_id = staff.id
