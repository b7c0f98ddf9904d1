"""Work orders over HTTP: permissions per role, stale versions, off-site refusals, the pages."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from tests.cases.conftest import SHANGHAI, evidence
from tests.cases.workorders.conftest import bind_field_worker, plan_data, road, sanitation, team
from tests.conftest import bearer_for
from zhili.cases.workorders.models import WorkOrder, WorkPlan


def _plan_body(session) -> dict:
    return plan_data(session).model_dump(mode="json", exclude_none=True)


def _setup(client, db, session, at) -> tuple[dict, dict]:
    """A plan made by the dispatcher and its orders generated; returns (plan, first order)."""
    bind_field_worker(session)
    session.commit()
    dispatcher = bearer_for(db, "dispatcher")
    plan = client.post("/api/v1/work-plans", json=_plan_body(session), headers=dispatcher)
    assert plan.status_code == 201, plan.text
    generated = client.post("/api/v1/work-plans/generate?days=2", headers=dispatcher)
    assert generated.json()["created"] == 1  # today's 06:00 window was over before 09:00
    assert client.post("/api/v1/work-plans/generate?days=2", headers=dispatcher).json()["created"] == 0
    at.set(datetime(2026, 3, 3, 6, 30, tzinfo=SHANGHAI))
    orders = client.get(f"/api/v1/work-orders?plan_id={plan.json()['id']}", headers=dispatcher).json()
    return plan.json(), orders["items"][0]


def test_roles_get_what_their_permissions_allow(client, db, session, at) -> None:
    body = _plan_body(session)
    for username, expected in (("field_worker", 403), ("inspector", 403), ("leader", 403), ("handler", 201)):
        r = client.post("/api/v1/work-plans", json=body, headers=bearer_for(db, username))
        assert r.status_code == expected, (username, r.text)
    for username, expected in (("leader", 200), ("field_worker", 200), ("citizen", 403), ("inspector", 403)):
        assert client.get("/api/v1/work-orders", headers=bearer_for(db, username)).status_code == expected
    assert client.get("/api/v1/work-orders").status_code == 401


def test_a_worker_acts_on_site_and_a_supervisor_checks(client, db, session, at) -> None:
    plan, order = _setup(client, db, session, at)
    worker, handler = bearer_for(db, "field_worker"), bearer_for(db, "handler")
    lon, lat = plan["geometry"]["coordinates"][0]
    url = f"/api/v1/work-orders/{order['id']}/actions"
    far = client.post(
        f"{url}/start", json={"version": order["version"], "lon": lon, "lat": lat + 0.01}, headers=worker
    )
    assert far.status_code == 422
    assert "m from the work area" in far.json()["detail"] and far.json()["distance_m"] > 1000
    started = client.post(
        f"{url}/start", json={"version": order["version"], "lon": lon, "lat": lat}, headers=worker
    )
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
    stale = client.post(f"{url}/cancel", json={"version": order["version"], "note": "雨"}, headers=handler)
    assert stale.status_code == 409
    assert client.post(f"{url}/pass_check", json={"version": 2}, headers=worker).status_code == 403
    assert (
        client.post(f"{url}/start", json={"version": 2}, headers=bearer_for(db, "inspector")).status_code
        == 403
    )
    shas = evidence(session, 1)
    session.commit()
    few = client.post(
        f"{url}/complete", json={"version": 2, "lon": lon, "lat": lat, "evidence": shas}, headers=worker
    )
    assert few.status_code == 422 and "at least 2 photo" in few.json()["detail"]
    shas += evidence(session, 1)
    session.commit()
    done = client.post(
        f"{url}/complete", json={"version": 2, "lon": lon, "lat": lat, "evidence": shas}, headers=worker
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert [e["sha256"] for e in done.json()["evidence"]] == shas
    detail = client.get(f"/api/v1/work-orders/{order['id']}", headers=handler).json()
    assert detail["allowed_actions"] == ["pass_check", "fail_check"]
    checked = client.post(f"{url}/pass_check", json={"version": detail["version"]}, headers=handler)
    assert checked.status_code == 200 and checked.json()["status"] == "checked"
    assert [a["action"] for a in checked.json()["timeline"]] == ["start", "complete", "pass_check"]
    summary = client.get(
        "/api/v1/work-orders/summary?date_from=2026-03-03&date_to=2026-03-03", headers=handler
    )
    row = next(r for r in summary.json()["rows"] if r["team_id"] == team(session).id)
    assert (row["planned"], row["done_on_time"], row["checks"], row["check_pass_rate"]) == (1, 1, 1, 1.0)


def test_plan_edits_are_version_guarded_and_bad_places_refused(client, db, session, at) -> None:
    dispatcher = bearer_for(db, "dispatcher")
    plan = client.post("/api/v1/work-plans", json=_plan_body(session), headers=dispatcher).json()
    ok = client.patch(
        f"/api/v1/work-plans/{plan['id']}", json={"version": 1, "min_photos": 3}, headers=dispatcher
    )
    assert ok.status_code == 200 and ok.json()["min_photos"] == 3
    stale = client.patch(
        f"/api/v1/work-plans/{plan['id']}", json={"version": 1, "min_photos": 1}, headers=dispatcher
    )
    assert stale.status_code == 409
    outside = {**_plan_body(session), "geometry": {"type": "Point", "coordinates": [121.47, 31.23]}}
    assert client.post("/api/v1/work-plans", json=outside, headers=dispatcher).status_code == 422
    both = {**_plan_body(session), "area_code": "440111002001001"}
    assert client.post("/api/v1/work-plans", json=both, headers=dispatcher).status_code == 422
    foreign_team = {
        **_plan_body(session),
        "team_id": team(session).id,
        "department_id": sanitation(session).id + 1,
    }
    assert client.post("/api/v1/work-plans", json=foreign_team, headers=dispatcher).status_code == 422
    in_gcj = client.get(f"/api/v1/work-plans/{plan['id']}?crs=gcj02", headers=dispatcher).json()
    assert (
        in_gcj["crs"] == "gcj02" and in_gcj["geometry"]["coordinates"][0] != road(session)["coordinates"][0]
    )


def test_console_and_phone_pages_render(client, db, session, at) -> None:
    _plan, order = _setup(client, db, session, at)
    dispatcher = {**bearer_for(db, "dispatcher"), "Accept": "text/html"}
    page = client.get("/workorders?date_from=2026-03-03&date_to=2026-03-03", headers=dispatcher)
    assert page.status_code == 200 and "白云大道北" in page.text
    assert client.get(f"/workorders/{order['id']}", headers=dispatcher).status_code == 200
    assert client.get("/workorders/plans/new", headers=dispatcher).status_code == 200
    phone = client.get("/m/workorders", headers={**bearer_for(db, "field_worker"), "Accept": "text/html"})
    assert phone.status_code == 200
    assert 'capture="environment"' not in phone.text  # planned: the card offers "start" first
    assert "wo-start" in phone.text
    assert (
        client.get("/workorders", headers={**bearer_for(db, "citizen"), "Accept": "text/html"}).status_code
        == 403
    )
    missed = session.scalars(select(WorkOrder).where(WorkOrder.id == order["id"])).one()
    assert missed.status == "planned"


def test_the_console_form_makes_a_plan_or_says_what_is_wrong(client, db, session, at) -> None:
    headers = {**bearer_for(db, "dispatcher"), "Accept": "text/html"}
    form = {
        "name": "机场路绿化带修剪",
        "task_type": "prune",
        "geometry": json.dumps(road(session)),
        "crs": "wgs84",
        "team_id": str(team(session).id),
        "freq": "monthly",
        "windows": "8:00-11:30",
        "month_day": "15",
        "starts_on": "2026-03-01",
        "grace_minutes": "60",
        "min_photos": "3",
        "tolerance_m": "80",
        "sample_rate": "50",
        "active": "on",
    }
    bad = client.post("/workorders/plans/new", data={**form, "windows": "早上"}, headers=headers)
    assert bad.status_code == 422 and "06:00-08:00" in bad.text and "机场路绿化带修剪" in bad.text
    # Typed text where numbers belong (found by fuzzing the form: the sample rate was a 500); "²" is a
    # digit to str.isdigit and not to int().
    bad = client.post("/workorders/plans/new", data={**form, "sample_rate": "十"}, headers=headers)
    assert bad.status_code == 422 and "sample rate" in bad.text
    for field in ("team_id", "month_day", "min_photos"):
        bad = client.post("/workorders/plans/new", data={**form, field: "²"}, headers=headers)
        assert bad.status_code == 422, (field, bad.status_code)
    assert session.scalars(select(WorkPlan).where(WorkPlan.name == "机场路绿化带修剪")).first() is None
    ok = client.post("/workorders/plans/new", data=form, headers=headers, follow_redirects=False)
    assert ok.status_code == 303, ok.text
    plan = session.scalars(select(WorkPlan).where(WorkPlan.name == "机场路绿化带修剪")).one()
    assert plan.recurrence == {
        "freq": "monthly",
        "windows": [{"start": "08:00:00", "end": "11:30:00"}],
        "weekdays": [],
        "month_day": 15,
    }
    assert (plan.min_photos, plan.tolerance_m, plan.sample_rate, plan.department_id) == (
        3,
        80,
        0.5,
        sanitation(session).id,
    )
