"""Plans generate orders ahead of time, idempotently, on Asia/Shanghai local days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.cases.conftest import SHANGHAI, user
from tests.cases.workorders.conftest import make_plan
from zhili import wiring
from zhili.cases.workorders import jobs, repository
from zhili.cases.workorders.models import WorkOrder
from zhili.cases.workorders.plans import site_tz
from zhili.cases.workorders.schemas import OrderFilters
from zhili.core.errors import Invalid

TWICE_A_DAY = {
    "freq": "daily",
    "windows": [{"start": "06:00", "end": "08:00"}, {"start": "14:00", "end": "16:00"}],
}


def _count(session, plan_id: int) -> int:
    return session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.plan_id == plan_id))


def test_generation_creates_the_next_days_once_across_runs(session, at) -> None:
    plan = make_plan(session, recurrence=TWICE_A_DAY)  # made at 09:00 on Monday 2 March
    # Today's 06:00-08:00 window was over before the plan existed; 14:00 today and tomorrow's two remain.
    assert jobs.generate_orders(session, plans=[plan]) == 3
    assert jobs.generate_orders(session, plans=[plan]) == 0
    assert jobs.generate_ahead(session) == 0  # the scheduled job sees the same plan: nothing new
    at.advance(days=1)
    assert jobs.generate_orders(session, plans=[plan]) == 2  # only the day after tomorrow is new
    assert jobs.generate_orders(session, plans=[plan]) == 0
    assert _count(session, plan.id) == 5
    orders = session.scalars(select(WorkOrder).where(WorkOrder.plan_id == plan.id)).all()
    assert all(o.due_at == o.window_end + timedelta(minutes=30) and o.status == "planned" for o in orders)
    assert {o.team_id for o in orders} == {plan.team_id}


def test_the_day_boundary_is_the_shanghai_midnight_all_year(session, at) -> None:
    at.set(datetime(2026, 3, 2, 23, 59, tzinfo=SHANGHAI))
    plan = make_plan(session)  # daily 06:00-08:00
    assert jobs.generate_orders(session, plans=[plan], days_ahead=1) == 0  # "today" is still 2 March
    at.set(datetime(2026, 3, 3, 0, 1, tzinfo=SHANGHAI))  # 16:01 UTC on 2 March: a new local day
    assert jobs.generate_orders(session, plans=[plan], days_ahead=1) == 1
    order = session.scalars(select(WorkOrder).where(WorkOrder.plan_id == plan.id)).one()
    assert order.window_start == datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 06:00 local, the UTC day before
    # The list's day filter is the local day, not the UTC one.
    dispatcher = user(session, "dispatcher")
    tz = site_tz("Asia/Shanghai")
    rows, _, _ = repository.list_orders(
        session,
        dispatcher,
        OrderFilters(date_from=date(2026, 3, 3), date_to=date(2026, 3, 3), plan_id=plan.id),
        now=at.now(),
        tz=tz,
    )
    assert [o.id for o in rows] == [order.id]
    rows, _, _ = repository.list_orders(
        session, dispatcher, OrderFilters(date_to=date(2026, 3, 2), plan_id=plan.id), now=at.now(), tz=tz
    )
    assert rows == []
    # No daylight saving in Shanghai: on the day Europe and America change clocks it is still 22:00 UTC.
    at.set(datetime(2026, 10, 31, 12, 0, tzinfo=SHANGHAI))
    jobs.generate_orders(session, plans=[plan], days_ahead=2)
    starts = session.scalars(
        select(WorkOrder.window_start).where(WorkOrder.plan_id == plan.id).order_by(WorkOrder.window_start)
    ).all()
    assert starts[-1] == datetime(2026, 10, 31, 22, 0, tzinfo=UTC)


def test_plans_outside_their_dates_or_inactive_generate_nothing(session, at) -> None:
    ended = make_plan(session, starts_on=date(2026, 1, 1), ends_on=date(2026, 3, 1))
    future = make_plan(session, starts_on=date(2026, 3, 10))
    paused = make_plan(session, active=False)
    assert jobs.generate_orders(session, plans=[ended, future, paused], days_ahead=3) == 0


def test_a_plan_needs_a_real_place_and_someone_to_do_it(session, at) -> None:
    with pytest.raises(Invalid, match="outside"):
        make_plan(session, geometry={"type": "Point", "coordinates": [116.4, 39.9]})  # Beijing
    with pytest.raises(Invalid, match="No unit grid"):
        make_plan(session, geometry=None, area_code="440111999999999")
    with pytest.raises(Invalid, match="team"):
        make_plan(session, team_id=None)
    with pytest.raises(Invalid, match="Unknown matter class"):
        make_plan(session, class_kind="matter", class_code="99999")


def test_a_plan_on_a_grid_takes_the_grid_polygon_and_gcj02_input_is_stored_as_wgs84(session, at) -> None:
    from zhili.core import geo
    from zhili.org import service as org_service

    grid = org_service.area_index(session).grids[0]
    plan = make_plan(session, geometry=None, area_code=grid.code)
    assert plan.geometry == grid.geometry and plan.street_code == grid.code[:9]
    lon, lat = 113.30, 23.20
    glon, glat = geo.from_wgs84(lon, lat, "gcj02")
    pt = make_plan(session, geometry={"type": "Point", "coordinates": [glon, glat]}, crs="gcj02")
    assert pt.geometry["coordinates"] == pytest.approx([lon, lat], abs=1e-6)


def test_the_jobs_are_in_the_wiring_table() -> None:
    jobs_by_name = {name: fn for name, _interval, fn in wiring.SCHEDULED_JOBS}
    assert jobs_by_name["workorders.generate"] is jobs.generate_ahead
    assert jobs_by_name["workorders.draw_checks"] is jobs.draw_yesterday_and_before
