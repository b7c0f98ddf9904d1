"""Side flows on the service: extension, suspension and automatic resumption, appeal, urge, cancel, merge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.cases.conftest import T0, act, drive, make_case, user
from zhili.cases import repository
from zhili.cases.config import CaseSettings, config_for
from zhili.cases.models import CasePause
from zhili.cases.service import deadlines, propose_duplicates
from zhili.cases.service.jobs import resume_due_suspensions
from zhili.cases.states import CaseStatus
from zhili.core.errors import Conflict, Invalid, NotPermitted

S = CaseStatus


@pytest.fixture
def handling(session, cfg, at):
    """A case of 06010 (4 working hours) dispatched and accepted at Monday 09:00: due 15:00."""
    case = drive(session, cfg, make_case(session, cfg), S.handling)
    assert case.handle_started_at == T0 and case.handle_due_at == T0.replace(hour=15)
    return case


def test_extension_is_asked_by_the_department_and_granted_by_the_centre(session, cfg, at, handling) -> None:
    case = act(session, cfg, "handler", handling, "request_extension", amount=2, reason="需调用吊车")
    assert case.pending_request == "extension" and case.handle_due_at == T0.replace(hour=15)
    with pytest.raises(Conflict, match="already waiting"):
        act(session, cfg, "handler", case, "request_suspension", until=at.t + timedelta(days=1), reason="x")
    with pytest.raises(Invalid, match="Grant between 0 and the 2"):
        act(session, cfg, "dispatcher", case, "approve_extension", amount=3)
    case = act(session, cfg, "dispatcher", case, "approve_extension")
    assert case.extension_count == 1 and case.extended_amount == 2 and case.pending_request is None
    assert case.handle_due_at == T0.replace(hour=17) == case.due_at  # 6 working hours from 09:00


def test_extension_is_limited_in_number_and_refused_once_overdue(session, settings, at, handling) -> None:
    cfg = config_for(settings, CaseSettings(max_extensions=1))
    case = act(session, cfg, "handler", handling, "request_extension", amount=1, reason="r")
    case = act(session, cfg, "dispatcher", case, "approve_extension", amount=0.5)
    assert case.extended_amount == 0.5
    with pytest.raises(Conflict, match="at most 1"):
        act(session, cfg, "handler", case, "request_extension", amount=1, reason="r")
    cfg = config_for(settings, CaseSettings(max_extensions=5))
    at.set(T0.replace(hour=16))  # past 15:30, the extended deadline
    with pytest.raises(Conflict, match="overdue case cannot be extended") as refused:
        act(session, cfg, "handler", case, "request_extension", amount=1, reason="r")
    assert "appeal" in refused.value.extra["allowed_actions"]


def test_suspension_pauses_the_clock_and_the_job_resumes_it_at_its_date(session, cfg, at, handling) -> None:
    at.set(T0.replace(hour=10))  # 1 of 4 working hours used
    until = T0.replace(day=4)  # Wednesday 09:00
    case = act(session, cfg, "handler", handling, "request_suspension", until=until, reason="待雨停施工")
    case = act(session, cfg, "shift_leader", case, "suspend")
    assert case.status == S.suspended and case.suspended_until == until
    assert case.due_at is None and deadlines.colour(case, at.t) == "paused"
    at.set(T0.replace(day=3, hour=16))  # still suspended the next day: not overdue, not resumed
    assert resume_due_suspensions(session, cfg) == 0
    at.set(until)
    assert resume_due_suspensions(session, cfg) == 1
    session.refresh(case)
    assert case.status == S.handling and case.suspension_count == 1
    # 3 working hours were left at the pause: Wednesday 09:00 + 3 h = 12:00.
    assert case.handle_due_at == case.due_at == T0.replace(day=4, hour=12)
    pause = session.scalars(select(CasePause).where(CasePause.case_id == case.id)).one()
    assert (pause.started_at, pause.resumed_at) == (T0.replace(hour=10), until)
    timeline = repository.timeline(session, case.id)
    assert timeline[-1].action == "resume" and timeline[-1].actor_name == "system:cases.resume_suspensions"
    with pytest.raises(Conflict, match="at most 1"):
        act(session, cfg, "shift_leader", case, "suspend", until=at.t + timedelta(days=1), reason="again")


def test_suspension_needs_a_future_date_within_the_limit(session, cfg, at, handling) -> None:
    with pytest.raises(Invalid, match="future"):
        act(session, cfg, "shift_leader", handling, "suspend", until=at.t - timedelta(hours=1), reason="r")
    with pytest.raises(Invalid, match="within 90 days"):
        act(session, cfg, "shift_leader", handling, "suspend", until=at.t + timedelta(days=91), reason="r")


def test_appeal_exempts_an_overdue_case_but_keeps_the_raw_fact(session, cfg, at, handling) -> None:
    with pytest.raises(Conflict, match="Only an overdue"):
        act(session, cfg, "handler", handling, "appeal", reason="台风")
    at.set(T0.replace(hour=16))
    assert deadlines.colour(handling, at.t) == "red"
    case = act(session, cfg, "handler", handling, "appeal", reason="台风停工")
    assert case.appeal_status == "pending" and case.pending_request == "appeal"
    case = act(session, cfg, "shift_leader", case, "approve_appeal")
    assert case.appeal_status == "approved"
    from tests.cases.conftest import evidence

    case = act(session, cfg, "handler", case, "handle", result="已清理", evidence=evidence(session))
    assert case.handled_at > case.handle_due_at  # late, and the record says so
    with pytest.raises(Conflict, match="already been appealed"):
        act(session, cfg, "handler", case, "appeal", reason="again")


def test_rejected_appeal_is_recorded(session, cfg, at, handling) -> None:
    at.set(T0.replace(hour=16))
    case = act(session, cfg, "handler", handling, "appeal", reason="台风")
    with pytest.raises(Invalid, match="reason"):
        act(session, cfg, "shift_leader", case, "reject_request")
    case = act(session, cfg, "shift_leader", case, "reject_request", reason="理由不充分")
    assert case.appeal_status == "rejected" and case.pending_request is None


def test_colour_turns_amber_at_eighty_percent_and_red_when_overdue(session, cfg, at, handling) -> None:
    # 80 % of 4 working hours = 3 h 12 min from 09:00 = 14:12 after the lunch break.
    assert handling.amber_at == T0.replace(hour=14, minute=12)
    assert deadlines.colour(handling, T0.replace(hour=14, minute=11)) == "green"
    assert deadlines.colour(handling, T0.replace(hour=14, minute=12)) == "amber"
    assert deadlines.colour(handling, T0.replace(hour=15, minute=1)) == "red"
    view = deadlines.clock_view(handling, cfg, T0.replace(hour=13), [])
    assert (view.stage, view.used, view.remaining) == ("handle", 3.0, 1.0)


def test_urge_counts_and_tells_the_department(session, cfg, at, handling) -> None:
    case = act(session, cfg, "dispatcher", handling, "urge", note="请尽快处置")
    case = act(session, cfg, "shift_leader", case, "urge")
    assert case.urge_count == 2 and case.status == S.handling
    with pytest.raises(NotPermitted, match="cases:supervise"):
        act(session, cfg, "handler", case, "urge")


def test_cancel_ends_a_suspended_case_and_closes_its_pause(session, cfg, at, handling) -> None:
    case = act(session, cfg, "shift_leader", handling, "suspend", until=at.t + timedelta(days=2), reason="r")
    case = act(session, cfg, "shift_leader", case, "cancel", reason="重复录入")
    assert case.status == S.cancelled and case.ended_at == at.t and case.suspended_until is None
    assert repository.open_pause(session, case.id) is None


def test_duplicates_are_proposed_and_merged_into_the_first_case(session, cfg, at) -> None:
    first = make_case(session, cfg)
    at.advance(hours=3)
    second = make_case(session, cfg, reporter="operator", source="hotline")
    other_class = make_case(session, cfg, class_code="06012")
    proposals = propose_duplicates(session, second, cfg, user=user(session, "shift_leader"))
    assert [(c.number, round(d)) for c, d in proposals] == [(first.number, 0)]
    assert other_class.number not in [c.number for c, _ in proposals]
    with pytest.raises(Invalid, match="another class"):
        act(session, cfg, "shift_leader", second, "merge", target_number=other_class.number)
    second = act(session, cfg, "shift_leader", second, "merge", target_number=first.number, reason="同一问题")
    assert second.status == S.merged and second.merged_into_id == first.id
    session.refresh(first)
    assert first.duplicate_count == 1
    assert repository.timeline(session, first.id)[-1].action == "merged_in"
    assert repository.open_task(session, second.id, "verify") is None
