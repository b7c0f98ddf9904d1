"""What the API and the pages show of an order: the list item (missed and on-time derived) and the detail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from zhili.cases.workorders import repository
from zhili.cases.workorders.models import WorkOrder, WorkPlan
from zhili.cases.workorders.schemas import (
    ActivityRead,
    OrderEvidenceRead,
    OrderListItem,
    OrderRead,
)
from zhili.cases.workorders.service import allowed_actions_for
from zhili.cases.workorders.states import OrderStatus, is_missed
from zhili.core import geo

if TYPE_CHECKING:
    from zhili.identity.models import User


def list_item(order: WorkOrder, now: datetime, teams: dict[int, str]) -> OrderListItem:
    return OrderListItem(
        id=order.id,
        plan_id=order.plan_id,
        title=order.title,
        task_type=order.task_type,
        status=OrderStatus(order.status),
        missed=is_missed(order.status, order.due_at, now),
        on_time=None if order.done_at is None else order.done_at <= order.due_at,
        window_start=order.window_start,
        window_end=order.window_end,
        due_at=order.due_at,
        street_code=order.street_code,
        department_id=order.department_id,
        team_id=order.team_id,
        team_name=teams.get(order.team_id) if order.team_id is not None else None,
        assignee_staff_id=order.assignee_staff_id,
        done_at=order.done_at,
        sampled=order.sampled,
        check_passed=order.check_passed,
        version=order.version,
    )


def list_items(session: Session, orders: Sequence[WorkOrder], now: datetime) -> list[OrderListItem]:
    teams = repository.team_names(session, [o.team_id for o in orders])
    return [list_item(o, now, teams) for o in orders]


def order_detail(session: Session, user: User, order: WorkOrder, now: datetime, crs: geo.CRS) -> OrderRead:
    plan = session.get(WorkPlan, order.plan_id)
    assert plan is not None
    item = list_items(session, [order], now)[0]
    done_lon, done_lat = order.done_lon, order.done_lat
    if done_lon is not None and done_lat is not None and crs != "wgs84":
        done_lon, done_lat = (float(v) for v in geo.from_wgs84(done_lon, done_lat, crs))
    return OrderRead(
        **item.model_dump(),
        geometry=geo.transform_geojson_geometry(plan.geometry, "wgs84", crs),
        crs=crs,
        min_photos=order.min_photos,
        tolerance_m=order.tolerance_m,
        started_at=order.started_at,
        done_lon=done_lon,
        done_lat=done_lat,
        done_distance_m=order.done_distance_m,
        checked_at=order.checked_at,
        check_count=order.check_count,
        check_fail_count=order.check_fail_count,
        timeline=[ActivityRead.model_validate(a) for a in repository.activities_of(session, order.id)],
        evidence=[OrderEvidenceRead.model_validate(e) for e in repository.evidence_of(session, order.id)],
        allowed_actions=allowed_actions_for(session, user, order),
    )
