"""The workflow on the service: every action, the main line, its side flows, and what bad input gets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.cases.conftest import (
    T0,
    act,
    drive,
    evidence,
    inspector_spot,
    make_case,
    spot,
    standard_id,
    user,
)
from zhili.cases import repository
from zhili.cases.models import CaseActivity, CaseRecord, CaseTask
from zhili.cases.states import CaseAction, CaseStatus
from zhili.core.audit import AuditEntry
from zhili.core.errors import Conflict, Invalid, NotFound, NotPermitted
from zhili.core.events import OutboxMessage
from zhili.org import repository as org_repository
from zhili.org import service as org_service

S = CaseStatus


def department_id(session, code: str) -> int:
    department = org_repository.department_by_code(session, code)
    assert department is not None
    return department.id


def _activities(session, case) -> list[CaseActivity]:
    return list(repository.timeline(session, case.id))


def test_inspector_report_waits_for_registration_with_a_readable_sortable_number(session, cfg, at) -> None:
    first = make_case(session, cfg)
    second = make_case(session, cfg)
    assert first.status == S.to_register
    assert first.number == "20260302000001" and second.number == "20260302000002"
    assert first.reporter_staff_id == user(session, "inspector").staff_id
    assert first.street_code == "440111002" and len(first.grid_code) == 15
    assert first.register_due_at == T0 + timedelta(minutes=30)  # site rule: 30 min on the continuous clock
    assert [a.action for a in _activities(session, first)] == ["report"]


def test_hotline_report_is_sent_to_the_grid_inspector_to_verify(session, cfg, at) -> None:
    case = make_case(session, cfg, reporter="operator", source="hotline", external_ref="12345-2026-0001")
    assert case.status == S.to_verify
    task = repository.open_task(session, case.id, "verify")
    assert task is not None and task.assignee_staff_id == user(session, "inspector").staff_id
    assert task.due_at == case.verify_due_at == T0 + timedelta(hours=2)  # 2 working hours from 09:00
    at.advance(minutes=40)
    case = act(session, cfg, "inspector", case, "verify", confirmed=True, evidence=evidence(session))
    assert case.status == S.to_register and case.verify_confirmed is True
    assert case.verified_by_staff_id == user(session, "inspector").staff_id
    assert session.get(CaseTask, task.id).status == "done"


def test_full_main_line_records_every_step_and_closes(session, cfg, at) -> None:
    case = make_case(session, cfg)
    at.advance(minutes=10)
    case = act(session, cfg, "shift_leader", case, "register", standard_id=standard_id(session))
    assert case.handle_limit == 4 and case.handle_unit == "working_hours" and case.after_photo_required
    assert case.dispatch_due_at == at.t + timedelta(minutes=30)
    at.advance(minutes=5)
    case = act(session, cfg, "dispatcher", case, "dispatch")
    hw = user(session, "handler").department_id
    assert case.department_id == hw  # the standard row's department, suggested and taken
    # 09:15 + 4 working hours: 2 h 45 min before lunch, 1 h 15 min after 14:00
    assert case.handle_due_at == T0.replace(hour=15, minute=15)
    at.advance(minutes=20)
    case = act(session, cfg, "handler", case, "accept")
    at.advance(hours=1)
    case = act(session, cfg, "handler", case, "handle", result="已清理", evidence=evidence(session))
    check = repository.open_task(session, case.id, "check")
    assert check is not None and check.due_at == case.check_due_at == at.t + timedelta(hours=1)
    at.advance(minutes=30)
    case = act(session, cfg, "inspector", case, "check", passed=True)
    case = act(session, cfg, "shift_leader", case, "close")
    assert case.status == S.closed and case.closed_at == at.t and case.due_at is None
    steps = [a.action for a in _activities(session, case)]
    assert steps == ["report", "register", "dispatch", "accept", "handle", "check", "close"]
    assert all(
        a.to_status == b.from_status
        for a, b in zip(_activities(session, case), _activities(session, case)[1:], strict=False)
    )
    audited = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == case.number)).all()
    assert audited == [
        "cases.report",
        "cases.register",
        "cases.dispatch",
        "cases.accept",
        "cases.handle",
        "cases.check",
        "cases.close",
    ]
    events = session.scalars(
        select(OutboxMessage.event_name).where(OutboxMessage.payload["number"].as_string() == case.number)
    ).all()
    assert "cases.closed" in events and "cases.reported" in events


def test_self_handled_report_is_recorded_closed_with_before_and_after_photos(session, cfg, at) -> None:
    before, after = evidence(session), evidence(session)
    case = make_case(
        session, cfg, source="self_handled", evidence=before, after_evidence=after, result="已捡拾"
    )
    assert case.status == S.closed and case.self_handled and case.closed_at == T0
    stages = sorted((e.stage, e.sha256) for e in repository.evidence_of(session, case.id))
    assert stages == sorted([("report", before[0]), ("after", after[0])])
    with pytest.raises(Invalid, match="before photos"):
        make_case(session, cfg, source="self_handled", evidence=before, result="已捡拾")


def test_check_failure_leads_to_rework_by_the_same_department_with_a_new_round(session, cfg, at) -> None:
    case = drive(session, cfg, make_case(session, cfg), S.to_check)
    dept = case.department_id
    case = act(session, cfg, "inspector", case, "check", passed=False)
    with pytest.raises(Conflict, match="rework") as refused:
        act(session, cfg, "shift_leader", case, "close")
    assert "rework" in refused.value.extra["allowed_actions"]
    at.advance(hours=1)
    case = act(session, cfg, "shift_leader", case, "rework", reason="仍有垃圾残留")
    assert case.status == S.handling and case.department_id == dept and case.rework_count == 1
    assert case.handle_started_at == at.t and case.handled_at is None
    assert case.handle_due_at == cfg.calendar.add(at.t, 4, "working_hours")


def test_return_sends_the_case_back_to_the_dispatcher_and_stops_the_department_clock(
    session, cfg, at
) -> None:
    case = drive(session, cfg, make_case(session, cfg), S.to_accept)
    case = act(session, cfg, "handler", case, "return_case", reason="不属于本单位职责")
    assert case.status == S.to_dispatch and case.department_id is None and case.return_count == 1
    assert case.handle_started_at is None and case.dispatch_due_at == at.t + timedelta(minutes=30)
    zf_id = department_id(session, "BY-ZF")
    case = act(session, cfg, "dispatcher", case, "dispatch", department_id=zf_id)
    assert case.department_id == zf_id


def test_not_accept_ends_a_report_and_cancels_its_verify_task(session, cfg, at) -> None:
    case = make_case(session, cfg, reporter="operator", source="public")
    with pytest.raises(Invalid, match="reason"):
        act(session, cfg, "shift_leader", case, "not_accept")
    case = act(session, cfg, "shift_leader", case, "not_accept", reason="不符合立案条件")
    assert case.status == S.not_accepted and case.ended_at == T0
    assert session.scalars(select(CaseTask.status).where(CaseTask.case_id == case.id)).all() == ["cancelled"]


# --- bad input: a clear 4xx and nothing changed ------------------------------------------------------


def _count(session, model) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_unknown_class_is_refused_before_anything_is_written(session, cfg, at) -> None:
    cases, activities = _count(session, CaseRecord), _count(session, CaseActivity)
    with pytest.raises(Invalid, match="unknown matter class code '99999'"):
        make_case(session, cfg, class_code="99999")
    assert (_count(session, CaseRecord), _count(session, CaseActivity)) == (cases, activities)


def test_a_point_outside_the_district_is_refused(session, cfg, at) -> None:
    with pytest.raises(Invalid, match="outside"):
        make_case(session, cfg, spot=(116.397, 39.909))  # Tian'anmen, Beijing


def test_unknown_evidence_and_a_mismatched_component_are_refused(session, cfg, at) -> None:
    with pytest.raises(Invalid, match="No uploaded file"):
        make_case(session, cfg, evidence=["0" * 64])
    with pytest.raises(Invalid, match="class 03004, not 03005"):
        make_case(session, cfg, class_kind="component", class_code="03005", component_id="44011103004000001")
    with pytest.raises(Invalid, match="Only a component case"):
        make_case(session, cfg, component_id="44011106010000001")


def test_a_citizen_reports_only_as_public_and_a_hotline_clerk_not_as_inspector(session, cfg, at) -> None:
    with pytest.raises(Invalid, match="source 'public'"):
        make_case(session, cfg, reporter="citizen", source="hotline")
    case = make_case(session, cfg, reporter="citizen", source="public")
    assert case.status == S.to_verify and case.reporter_name is None
    with pytest.raises(Invalid, match="for inspectors"):
        make_case(session, cfg, reporter="operator", source="inspector")


def test_action_in_the_wrong_state_is_409_listing_what_this_user_can_do(session, cfg, at) -> None:
    case = make_case(session, cfg)
    with pytest.raises(Conflict) as refused:
        act(session, cfg, "dispatcher", case, "dispatch")
    assert refused.value.extra["allowed_actions"] == []  # the dispatcher has nothing to do before 立案
    with pytest.raises(Conflict) as refused:
        act(session, cfg, "shift_leader", case, "close")
    assert set(refused.value.extra["allowed_actions"]) == {"register", "not_accept", "cancel", "merge"}


def test_action_not_for_the_role_is_403(session, cfg, at) -> None:
    case = make_case(session, cfg)
    with pytest.raises(NotPermitted, match="cases:register"):
        act(session, cfg, "operator", case, "register", standard_id=standard_id(session))
    assert session.get(CaseRecord, case.id).status == S.to_register


def test_another_department_cannot_see_or_act_on_the_case(session, cfg, at) -> None:
    case = drive(session, cfg, make_case(session, cfg), S.to_dispatch)
    zf_id = department_id(session, "BY-ZF")
    case = act(session, cfg, "dispatcher", case, "dispatch", department_id=zf_id)
    with pytest.raises(NotFound):
        act(session, cfg, "handler", case, "accept")  # the sanitation handler does not even see it


def test_stale_version_is_409_and_changes_nothing(session, cfg, at) -> None:
    case = make_case(session, cfg)
    stale = case.version
    case = act(session, cfg, "shift_leader", case, "register", standard_id=standard_id(session))
    with pytest.raises(Conflict, match="changed since you read it"):
        act(session, cfg, "dispatcher", case, "dispatch", version=stale)
    assert case.status == S.to_dispatch


def test_handling_without_the_required_after_photo_is_422(session, cfg, at) -> None:
    case = drive(session, cfg, make_case(session, cfg), S.handling)
    with pytest.raises(Invalid, match="after-photo"):
        act(session, cfg, "handler", case, "handle", result="已清理")
    assert case.status == S.handling and case.handled_at is None


def test_register_needs_a_row_of_the_case_class(session, cfg, at) -> None:
    case = make_case(session, cfg)
    with pytest.raises(Invalid, match="not for this case's"):
        act(
            session,
            cfg,
            "shift_leader",
            case,
            "register",
            standard_id=standard_id(session, "matter", "06001"),
        )
    with pytest.raises(Invalid, match="standard_id"):
        act(session, cfg, "shift_leader", case, "register")


def test_verify_task_of_another_inspector_cannot_be_done_by_this_one(session, cfg, at) -> None:
    other_grid = [
        g
        for g in org_service.area_index(session).grids
        if g.inspector_staff_id not in (None, user(session, "inspector").staff_id)
        and g.community_code.startswith("440111002")
    ]
    assert other_grid, "the demo street has more than one inspector"
    case = make_case(
        session,
        cfg,
        reporter="operator",
        source="public",
        spot=spot(session, other_grid[0].inspector_staff_id),
    )
    with pytest.raises(NotPermitted, match="another inspector"):
        act(session, cfg, "inspector", case, "verify", confirmed=True)
    case = act(session, cfg, "operator", case, "verify", confirmed=True)  # the centre may record it
    assert case.status == S.to_register


def test_the_actions_a_user_can_take_are_listed_per_case(session, cfg, at) -> None:
    from zhili.cases.service import allowed_actions_for

    case = drive(session, cfg, make_case(session, cfg), S.handling)
    handler = allowed_actions_for(session, user(session, "handler"), case, cfg, at.t)
    assert set(handler) == {
        CaseAction.handle,
        CaseAction.return_case,
        CaseAction.request_extension,
        CaseAction.request_suspension,
    }  # appeal only once overdue
    assert allowed_actions_for(session, user(session, "leader"), case, cfg, at.t) == []


def test_inspector_spot_is_in_the_demo_street(session) -> None:
    lon, lat = inspector_spot(session)
    assert 113.0 < lon < 113.6 and 23.0 < lat < 23.5
