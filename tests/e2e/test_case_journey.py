"""A case's life in the browser: an inspector reports on the phone with a photo; the shift leader
registers, the dispatcher dispatches, the handler handles on the phone with an after-photo, the
inspector checks on site, the shift leader closes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from shapely.geometry import shape
from sqlalchemy import delete, select

from tests.cases.conftest import T0
from tests.e2e.conftest import shot
from zhili.cases.models import CaseActivity, CaseEvidence, CaseRecord, CaseTask
from zhili.core import clock
from zhili.core.db import Database
from zhili.identity.demo import DEMO_PASSWORD
from zhili.identity.models import User
from zhili.org import service as org_service

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def journey(seeded: str, tmp_path: Path) -> Iterator[dict[str, object]]:
    """A clock running from a Monday morning of 2026, a spot in the inspector's grid, two photos;
    afterwards the journey's case is removed from the shared, committed database."""
    offset = T0 - datetime.now(UTC)
    clock.set_clock(lambda: datetime.now(UTC) + offset)
    db = Database.from_url(seeded)
    with db.session_scope() as s:
        staff = s.scalars(select(User.staff_id).where(User.username == "inspector")).one()
        grid = next(g for g in org_service.area_index(s).grids if g.inspector_staff_id == staff)
        point = shape(grid.geometry).representative_point()
        before = {c for (c,) in s.execute(select(CaseRecord.id))}
    photos = []
    for name, colour in (("before.png", (180, 120, 60)), ("after.png", (60, 160, 90))):
        buf = io.BytesIO()
        Image.new("RGB", (64, 48), colour).save(buf, "PNG")
        path = tmp_path / name
        path.write_bytes(buf.getvalue())
        photos.append(path)
    try:
        yield {"lon": float(point.x), "lat": float(point.y), "before": photos[0], "after": photos[1]}
    finally:
        clock.set_clock(None)
        with db.session_scope() as s:
            made = [c for (c,) in s.execute(select(CaseRecord.id)) if c not in before]
            for model in (CaseActivity, CaseEvidence, CaseTask):
                s.execute(delete(model).where(model.case_id.in_(made)))
            s.execute(delete(CaseRecord).where(CaseRecord.id.in_(made)))
        db.engine.dispose()


def _open(browser, base: str, username: str, path: str, *, phone: bool = False, where=None):  # type: ignore[no-untyped-def]
    viewport = PHONE if phone else {"width": 1366, "height": 900}
    options: dict[str, object] = {"locale": "zh-CN", "viewport": viewport}
    if phone:
        options["is_mobile"] = True
        options["has_touch"] = True
    if where:
        options["geolocation"] = {"longitude": where["lon"], "latitude": where["lat"], "accuracy": 8}
        options["permissions"] = ["geolocation"]
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(f"{base}/login?next={path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}*")
    return context, page


def _upload(page, selector: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    box = page.locator(selector).first
    box.set_input_files(str(path))
    form = box.locator("xpath=ancestor::form")
    form.locator(".uploads input[type=hidden]").first.wait_for(state="attached", timeout=10000)


def _act(page, action: str) -> None:  # type: ignore[no-untyped-def]
    form = page.locator(f'form[data-action="{action}"]')
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#action-error").count() == 0, page.locator("#action-error").inner_text()


def test_a_case_from_the_phone_report_to_closing(browser, live_server, journey) -> None:
    base = live_server
    # 1. The inspector reports on the phone: class, photo, GPS position, address, description.
    ctx, page = _open(browser, base, "inspector", "/m/report", phone=True, where=journey)
    page.wait_for_function("document.querySelector('input[name=lon]').value !== ''", timeout=10000)
    page.select_option("select[name=class]", "matter:06010")
    _upload(page, "input[data-upload=evidence]", journey["before"])
    page.fill("input[name=address]", "白云区测试路 1 号")
    page.fill("textarea[name=description]", "人行道上有一堆暴露垃圾")
    shot(page, "case-phone-report")
    page.click("form.m-report button[type=submit]")
    page.wait_for_url("**/m/cases/*?done=report")
    number = page.url.split("/m/cases/")[1].split("?")[0]
    assert page.locator("#action-done").count() == 1 and page.locator(".photos img").count() == 1
    ctx.close()

    # 2. The shift leader finds it in the queue and registers it on its 立案条件.
    ctx, page = _open(browser, base, "shift_leader", "/cases")
    assert page.locator('.case-tabs a[aria-current="page"]').get_attribute("data-tab") == "to_register"
    page.locator(f'a[href="/cases/{number}"]').wait_for()
    shot(page, "case-console-queue")
    page.click(f'a[href="/cases/{number}"]')
    page.wait_for_function("document.querySelectorAll('#case-map .leaflet-interactive').length > 0")
    _act(page, "register")
    assert "待派遣" in page.locator(".case-title").inner_text()
    ctx.close()

    # 3. The dispatcher dispatches to the suggested department (preselected).
    ctx, page = _open(browser, base, "dispatcher", f"/cases/{number}")
    chosen = page.locator('form[data-action="dispatch"] select[name=department_id] option:checked')
    assert "建议" in chosen.inner_text()
    shot(page, "case-console-dispatch")
    _act(page, "dispatch")
    ctx.close()

    # 4. The handler accepts and handles on the phone, with an after-photo.
    ctx, page = _open(browser, base, "handler", "/m", phone=True, where=journey)
    page.click(f'a[href="/m/cases/{number}"]')
    _act(page, "accept")
    page.fill('form[data-action="handle"] textarea[name=result]', "已清扫干净")
    _upload(page, 'form[data-action="handle"] input[data-upload=evidence]', journey["after"])
    _act(page, "handle")
    ctx.close()

    # 5. The inspector checks on site: passed, with the phone's position in the timeline.
    ctx, page = _open(browser, base, "inspector", "/m", phone=True, where=journey)
    page.click(f'a[href="/m/cases/{number}"]')
    page.wait_for_function("document.querySelector('input[data-geo=lon]').value !== ''", timeout=10000)
    page.check('form[data-action="check"] input[name=passed][value=yes]')
    shot(page, "case-phone-check")
    _act(page, "check")
    ctx.close()

    # 6. The shift leader closes; the detail shows both photos and the whole timeline.
    ctx, page = _open(browser, base, "shift_leader", f"/cases/{number}")
    _act(page, "close")
    assert "已结案" in page.locator(".case-title").inner_text()
    assert page.locator(".photos img").count() == 2
    timeline = page.locator(".timeline").inner_text()
    assert "现场定位" in timeline and "已清扫干净" in timeline
    shot(page, "case-console-closed")
    ctx.close()
