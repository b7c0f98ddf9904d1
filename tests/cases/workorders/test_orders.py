"""Orders through their actions: on-site evidence, sampled checks, missed derived, scope, stale versions."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select, update

from tests.cases.conftest import SHANGHAI, evidence, user
from tests.cases.workorders.conftest import bind_field_worker, make_plan, team
from zhili.cases.workorders import jobs, repository, service
from zhili.cases.workorders.models import WorkOrder, WorkOrderActivity, WorkPlan
from zhili.cases.workorders.plans import site_tz
from zhili.cases.workorders.schemas import OrderActionForm, OrderFilters
from zhili.core import geo
from zhili.core.audit import AuditEntry
from zhili.core.errors import Conflict, Invalid, NotFound, NotPermitted
from zhili.evidence.models import EvidenceFile

TZ = site_tz("Asia/Shanghai")


def _today_order(session, at, plan: WorkPlan) -> WorkOrder:
    """Generate and return the plan's order of tomorrow 06:00-08:00, with the clock moved into its window."""
    jobs.generate_orders(session, plans=[plan], days_ahead=2)
    at.set(datetime(2026, 3, 3, 6, 30, tzinfo=SHANGHAI))
    return session.scalars(
        select(WorkOrder).where(WorkOrder.plan_id == plan.id).order_by(WorkOrder.window_start)
    ).first()


def act(session, username: str, order: WorkOrder, action: str, **kw) -> WorkOrder:
    kw.setdefault("version", order.version)
    return service.perform_action(session, user(session, username), order.id, action, OrderActionForm(**kw))


def on_site(plan: WorkPlan, east_m: float = 0.0) -> dict[str, float]:
    lon, lat = plan.geometry["coordinates"][0]
    return {"lon": lon - east_m / 102_000, "lat": lat}  # ~102 km per degree of longitude at 23° N


@pytest.fixture
def plan(session, at, worker_staff) -> WorkPlan:
    return make_plan(session)


@pytest.fixture
def order(session, at, plan) -> WorkOrder:
    return _today_order(session, at, plan)


def test_a_field_worker_starts_and_completes_on_site_with_photos(session, at, plan, order) -> None:
    order = act(session, "field_worker", order, "start", **on_site(plan, 20))
    assert order.status == "in_progress" and order.started_at == at.now()
    at.advance(minutes=50)
    order = act(
        session, "field_worker", order, "complete", evidence=evidence(session, 2), **on_site(plan, 30)
    )
    assert order.status == "done" and order.done_distance_m == pytest.approx(30, abs=2)
    timeline = session.scalars(select(WorkOrderActivity).where(WorkOrderActivity.order_id == order.id)).all()
    assert [(a.action, a.from_status, a.to_status) for a in timeline] == [
        ("start", "planned", "in_progress"),
        ("complete", "in_progress", "done"),
    ]
    audited = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "work_order", AuditEntry.entity_id == str(order.id)
        )
    ).all()
    assert audited == ["workorders.start", "workorders.complete"]


def test_too_far_from_the_work_area_is_refused_with_the_distance(session, at, plan, order) -> None:
    with pytest.raises(Invalid, match=r"You are (29\d|30\d) m from the work area") as err:
        act(session, "field_worker", order, "start", **on_site(plan, 300))
    assert err.value.status_code == 422
    assert session.get(WorkOrder, order.id).status == "planned"
    # The same position given in GCJ-02 (a phone map's coordinates) is converted before measuring.
    lon, lat = on_site(plan, 10).values()
    glon, glat = geo.from_wgs84(lon, lat, "gcj02")
    assert (
        act(session, "field_worker", order, "start", lon=glon, lat=glat, crs="gcj02").status == "in_progress"
    )


def test_done_needs_enough_photos_and_photos_taken_on_site(session, at, plan, order) -> None:
    order = act(session, "field_worker", order, "start", **on_site(plan))
    version = order.version
    with pytest.raises(Invalid, match="at least 2 photo"):
        act(session, "field_worker", order, "complete", evidence=evidence(session, 1), **on_site(plan))
    far_photo, near_photo = evidence(session, 2)
    lon, lat = on_site(plan, 800).values()
    session.execute(
        update(EvidenceFile).where(EvidenceFile.sha256 == far_photo).values(gps_lon=lon, gps_lat=lat)
    )
    with pytest.raises(Invalid, match=r"was taken (79\d|80\d) m from the work area"):
        act(session, "field_worker", order, "complete", evidence=[far_photo, near_photo], **on_site(plan))
    with pytest.raises(Invalid, match="position"):
        act(session, "field_worker", order, "complete", evidence=evidence(session, 2))
    assert order.status == "in_progress" and order.version == version


def test_missed_is_derived_from_the_clock_and_counts_against_the_team(session, at, plan, order) -> None:
    dispatcher = user(session, "dispatcher")

    def listed(status: str) -> list[int]:
        rows, _, _ = repository.list_orders(
            session, dispatcher, OrderFilters(status=[status], plan_id=plan.id), now=at.now(), tz=TZ
        )
        return [o.id for o in rows]

    at.set(datetime(2026, 3, 3, 8, 29, tzinfo=SHANGHAI))  # window ended 08:00, grace 30 minutes
    assert order.id in listed("planned") and order.id not in listed("missed")
    at.set(datetime(2026, 3, 3, 8, 31, tzinfo=SHANGHAI))
    assert order.id in listed("missed") and order.id not in listed("planned")
    row = next(
        r
        for r in repository.summary_rows(
            session, dispatcher, date(2026, 3, 3), date(2026, 3, 3), now=at.now(), tz=TZ
        )
        if r["team_id"] == plan.team_id
    )
    assert (row["planned"], row["missed"], row["done_on_time"], row["late"]) == (1, 1, 0, 0)
    # Done after all: no longer missed, but late.
    order = act(session, "field_worker", order, "start", **on_site(plan))
    act(session, "field_worker", order, "complete", evidence=evidence(session, 2), **on_site(plan))
    row = next(
        r
        for r in repository.summary_rows(
            session, dispatcher, date(2026, 3, 3), date(2026, 3, 3), now=at.now(), tz=TZ
        )
        if r["team_id"] == plan.team_id
    )
    assert (row["missed"], row["late"], row["on_time_rate"]) == (0, 1, 0.0)


def _done_orders(session, at, n: int, rate: float) -> list[int]:
    plan = make_plan(session, sample_rate=rate, starts_on=date(2026, 3, 2))
    jobs.generate_orders(session, plans=[plan], days_ahead=n + 1)
    ids = session.scalars(
        select(WorkOrder.id).where(WorkOrder.plan_id == plan.id).order_by(WorkOrder.id)
    ).all()[:n]
    session.execute(
        update(WorkOrder).where(WorkOrder.id.in_(ids)).values(status="done", done_at=at.now()),
        execution_options={"synchronize_session": False},
    )
    return list(ids)


def test_sampling_draws_the_configured_share_deterministically(session, at, worker_staff) -> None:
    ids = _done_orders(session, at, 40, 0.25)
    plan_id = session.get(WorkOrder, ids[0]).plan_id
    expected = jobs.draw_stratified({plan_id: ids}, 0.25, seed=7)
    assert len(expected) == 10 and expected == jobs.draw_stratified({plan_id: ids}, 0.25, seed=7)
    assert expected != jobs.draw_stratified({plan_id: ids}, 0.25, seed=8)
    at.advance(hours=1)
    considered, drawn = jobs.draw_checks(session, seed=7)
    assert (considered, drawn) == (40, expected)
    assert jobs.draw_checks(session, seed=7) == (0, [])  # drawn once: a second run draws nothing new
    sampled = session.scalars(
        select(WorkOrder.id).where(WorkOrder.sampled.is_(True), WorkOrder.id.in_(ids))
    ).all()
    assert sorted(sampled) == expected
    marks = session.scalar(
        select(func.count()).select_from(WorkOrderActivity).where(WorkOrderActivity.action == "draw")
    )
    assert marks == 10


def test_a_failed_check_means_a_redo_and_a_pass_closes_the_order(session, at, plan, order) -> None:
    order = act(session, "field_worker", order, "start", **on_site(plan))
    order = act(session, "field_worker", order, "complete", evidence=evidence(session, 2), **on_site(plan))
    with pytest.raises(NotPermitted):
        act(session, "field_worker", order, "pass_check")
    with pytest.raises(Invalid, match="note"):
        act(session, "handler", order, "fail_check")
    order = act(session, "handler", order, "fail_check", note="路面仍有落叶")
    assert (order.status, order.check_count, order.check_fail_count) == ("redo", 1, 1)
    order = act(session, "field_worker", order, "start", **on_site(plan))
    order = act(session, "field_worker", order, "complete", evidence=evidence(session, 2), **on_site(plan))
    order = act(session, "handler", order, "pass_check")
    assert (order.status, order.check_count, order.check_passed) == ("checked", 2, True)


def test_the_worker_cannot_check_their_own_work(session, at, plan, order) -> None:
    order = act(session, "admin", order, "start", **on_site(plan))
    order = act(session, "admin", order, "complete", evidence=evidence(session, 2), **on_site(plan))
    with pytest.raises(NotPermitted, match="cannot check"):
        act(session, "admin", order, "pass_check")


def test_a_field_worker_sees_their_team_a_handler_their_department(session, at, plan, order) -> None:
    other = make_plan(session, team_id=team(session, 2).id)
    other_order = _today_order(session, at, other)
    worker, handler = user(session, "field_worker"), user(session, "handler")
    assert repository.get_order_visible(session, worker, order.id) is not None
    assert repository.get_order_visible(session, worker, other_order.id) is None
    with pytest.raises(NotFound):
        act(session, "field_worker", other_order, "start", **on_site(other))
    assert repository.get_order_visible(session, handler, other_order.id) is not None
    for outsider in ("inspector", "citizen", "gas_officer"):
        assert repository.get_order_visible(session, user(session, outsider), order.id) is None
    bind_field_worker(session, nth_team=2)  # moved to team 2: sees that team's orders instead
    assert repository.get_order_visible(session, worker, other_order.id) is not None
    assert repository.get_order_visible(session, worker, order.id) is None


def test_a_stale_version_or_an_illegal_action_is_a_conflict(session, at, plan, order) -> None:
    stale = order.version
    act(session, "field_worker", order, "start", **on_site(plan))
    with pytest.raises(Conflict, match="changed since you read it"):
        act(session, "handler", order, "cancel", version=stale, note="台风")
    with pytest.raises(Conflict) as err:
        act(session, "field_worker", order, "start", **on_site(plan))
    assert err.value.status_code == 409
