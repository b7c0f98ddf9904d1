"""A cleaner's phone: today's work orders, start on site, take photos, mark done (browser location)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import delete, select

from tests.e2e.conftest import shot
from zhili.cases.workorders import jobs, plans
from zhili.cases.workorders.models import WorkOrder, WorkOrderActivity, WorkOrderEvidence, WorkPlan
from zhili.cases.workorders.schemas import PlanCreate
from zhili.core import clock
from zhili.core.db import Database
from zhili.identity.demo import DEMO_PASSWORD
from zhili.identity.models import User
from zhili.org import service as org_service
from zhili.org.models import Staff, Team

pytestmark = pytest.mark.e2e


@pytest.fixture
def todays_orders(seeded: str) -> Iterator[tuple[float, float]]:
    """Two plans of the field worker's team with a window running now, committed; removed afterwards."""
    db = Database.from_url(seeded)
    with db.session_scope() as s:
        team = s.scalars(select(Team).where(Team.code == "BY-HW-T1")).one()
        staff = s.scalars(select(Staff).where(Staff.team_id == team.id, Staff.post == "field_worker")).first()
        worker = s.scalars(select(User).where(User.username == "field_worker")).one()
        dispatcher = s.scalars(select(User).where(User.username == "dispatcher")).one()
        previous_staff, worker.staff_id = worker.staff_id, staff.id
        grid = org_service.area_index(s).grids[100]
        from shapely.geometry import shape

        pt = shape(grid.geometry).representative_point()
        local = clock.now().astimezone(plans.site_tz())
        start = (local - timedelta(hours=1)).replace(minute=0)
        end = start + timedelta(hours=3)
        made = []
        for name, task, geometry in (
            (
                "同和路 0.3 km 道路保洁",
                "sweep",
                {"type": "LineString", "coordinates": [[pt.x - 0.0015, pt.y], [pt.x + 0.0015, pt.y]]},
            ),
            ("同和路垃圾桶清运", "empty_bins", {"type": "Point", "coordinates": [pt.x, pt.y]}),
        ):
            data = PlanCreate.model_validate(
                {
                    "name": name,
                    "task_type": task,
                    "geometry": geometry,
                    "team_id": team.id,
                    "department_id": team.department_id,
                    "starts_on": date(2026, 1, 1),
                    "min_photos": 1,
                    "recurrence": {
                        "freq": "daily",
                        "windows": [{"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}],
                    },
                }
            )
            made.append(plans.create_plan(s, dispatcher, data).id)
        s.flush()
        jobs.generate_orders(
            s, plans=s.scalars(select(WorkPlan).where(WorkPlan.id.in_(made))).all(), days_ahead=1
        )
    try:
        yield float(pt.x), float(pt.y)
    finally:
        with db.session_scope() as s:
            orders = select(WorkOrder.id).where(WorkOrder.plan_id.in_(made))
            s.execute(delete(WorkOrderActivity).where(WorkOrderActivity.order_id.in_(orders)))
            s.execute(delete(WorkOrderEvidence).where(WorkOrderEvidence.order_id.in_(orders)))
            s.execute(delete(WorkOrder).where(WorkOrder.plan_id.in_(made)))
            s.execute(delete(WorkPlan).where(WorkPlan.id.in_(made)))
            s.scalars(select(User).where(User.username == "field_worker")).one().staff_id = previous_staff
        db.engine.dispose()


def _photo(path) -> str:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 140, 90)).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return str(path)


def test_a_cleaner_starts_photographs_and_finishes_on_the_phone(
    browser, live_server, todays_orders, tmp_path
) -> None:
    lon, lat = todays_orders
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 10},
        permissions=["geolocation"],
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login?next=/m/workorders")
        page.fill("input[name=username]", "field_worker")
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/m/workorders*")
        cards = page.locator(".wo-card")
        assert cards.count() == 2 and "今日作业" in page.inner_text("h1")
        shot(page, "workorders-phone-today")
        first = cards.nth(0)
        first.locator(".wo-start").click()
        page.wait_for_selector(
            ".wo-card.st-in_progress input[type=file][capture=environment]", state="attached", timeout=15000
        )
        card = page.locator(".wo-card.st-in_progress").first
        card.locator("input[type=file]").set_input_files(_photo(tmp_path / "site.jpg"))
        expect(card).to_contain_text("已选 1 张照片", timeout=10000)  # the page's script counts the files
        shot(page, "workorders-phone-photo")
        card.locator(".wo-done").click()
        page.wait_for_selector(".wo-card.st-done", timeout=15000)
        assert page.locator(".wo-card.st-done").count() == 1
        shot(page, "workorders-phone-done")
    finally:
        context.close()
