"""The demo plans and their month of orders: realistic completion, made once, fast."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from tests.cases.conftest import SHANGHAI, user
from zhili.cases.workorders import repository
from zhili.cases.workorders.demo import seed_demo_workorders
from zhili.cases.workorders.models import WorkOrder, WorkPlan
from zhili.cases.workorders.plans import site_tz
from zhili.cases.workorders.schemas import OrderFilters
from zhili.org import service as org_service


def test_demo_work_orders_look_like_a_month_of_real_work(session, at) -> None:
    at.set(datetime(2026, 3, 20, 10, 0, tzinfo=SHANGHAI))
    org_service.area_index(session)  # built by the demo before this seeder runs (cases, components)
    made = seed_demo_workorders(session)  # its speed is measured by `zhili bench demo`, not asserted here
    plans = session.scalar(select(func.count()).select_from(WorkPlan))
    assert plans == 4 * 24 and made > 20 * plans  # four plans per street or town, 30 days
    assert seed_demo_workorders(session) == 0
    now = at.now()
    past = select(WorkOrder).where(WorkOrder.due_at < now)
    orders = session.scalars(past).all()
    on_time = sum(1 for o in orders if o.done_at is not None and o.done_at <= o.due_at)
    late = sum(1 for o in orders if o.done_at is not None and o.done_at > o.due_at)
    missed = sum(1 for o in orders if o.status in ("planned", "in_progress"))
    assert on_time > 0.75 * len(orders) and 0.03 * len(orders) < late < 0.15 * len(orders)
    assert 0.02 * len(orders) < missed < 0.12 * len(orders)
    assert any(o.status == "checked" for o in orders)
    # The demo field worker now belongs to the first sweeping team and sees its orders of the day.
    worker = user(session, "field_worker")
    assert worker.staff_id is not None
    today = now.astimezone(SHANGHAI).date()
    rows, _, total = repository.list_orders(
        session, worker, OrderFilters(date_from=today, date_to=today), now=now, tz=site_tz("Asia/Shanghai")
    )
    assert 0 < total <= 10 and all(o.task_type == "sweep" for o in rows)
    assert now - timedelta(days=31) < min(o.window_start for o in orders)
