"""The transition table, unit-tested without a database."""

from __future__ import annotations

import typing

import pytest

from zhili.cases import schemas
from zhili.cases.states import (
    QUEUES,
    TERMINAL,
    TRANSITIONS,
    CaseAction,
    CaseStatus,
    actions_from,
    allowed_actions,
    is_terminal,
    transition,
)
from zhili.identity.permissions import ALL_PERMISSIONS, ROLE_PERMISSIONS

S, A = CaseStatus, CaseAction

MAIN_LINE = [
    (S.to_verify, A.verify, S.to_register),
    (S.to_register, A.register, S.to_dispatch),
    (S.to_dispatch, A.dispatch, S.to_accept),
    (S.to_accept, A.accept, S.handling),
    (S.handling, A.handle, S.to_check),
    (S.to_check, A.check, S.to_close),
    (S.to_close, A.close, S.closed),
]


@pytest.mark.parametrize(("source", "action", "target"), MAIN_LINE)
def test_main_line_moves_one_step_at_a_time(source: S, action: A, target: S) -> None:
    tr = transition(source, action)
    assert tr is not None and tr.target is target


def test_rework_goes_back_to_handling_by_the_same_department_and_return_goes_to_the_dispatcher() -> None:
    assert transition(S.to_close, A.rework).target is S.handling  # type: ignore[union-attr]
    assert transition(S.handling, A.return_case).target is S.to_dispatch  # type: ignore[union-attr]
    assert transition(S.to_accept, A.return_case).target is S.to_dispatch  # type: ignore[union-attr]


def test_suspension_pauses_handling_and_resume_returns_to_it() -> None:
    assert transition(S.handling, A.suspend).target is S.suspended  # type: ignore[union-attr]
    assert transition(S.suspended, A.resume).target is S.handling  # type: ignore[union-attr]
    assert transition(S.suspended, A.handle) is None


def test_terminal_statuses_allow_only_the_appeal_flow_on_closed_cases() -> None:
    for status in TERMINAL:
        actions = {tr.action for tr in actions_from(status)}
        if status is S.closed:
            assert actions == {A.appeal, A.approve_appeal, A.reject_request}
            assert all(tr.target is S.closed for tr in actions_from(status))
        else:
            assert actions == set()
        assert is_terminal(status)


def test_every_open_status_can_be_cancelled_and_only_undispatched_ones_merged() -> None:
    for status in S:
        if status in TERMINAL:
            continue
        assert transition(status, A.cancel) is not None, status
        can_merge = transition(status, A.merge) is not None
        assert can_merge is (status in (S.to_verify, S.to_register, S.to_dispatch)), status


def test_illegal_pairs_have_no_transition() -> None:
    assert transition(S.to_verify, A.dispatch) is None
    assert transition(S.to_register, A.close) is None
    assert transition(S.closed, A.rework) is None
    assert transition("no-such-status", A.close) is None
    assert transition(S.handling, "no-such-action") is None


def test_every_transition_names_a_known_permission_and_the_pairs_are_unique() -> None:
    pairs = [(tr.source, tr.action) for tr in TRANSITIONS]
    assert len(pairs) == len(set(pairs))
    assert {tr.permission for tr in TRANSITIONS} <= ALL_PERMISSIONS
    assert {tr.action for tr in TRANSITIONS} == set(A)


def test_every_status_is_reachable_from_intake() -> None:
    reached = {S.to_verify, S.to_register, S.closed}  # where intake may put a case
    frontier = list(reached)
    while frontier:
        for tr in actions_from(frontier.pop()):
            if tr.target not in reached:
                reached.add(tr.target)
                frontier.append(tr.target)
    assert reached == set(S)


@pytest.mark.parametrize(
    ("role", "status", "expected"),
    [
        ("dispatcher", S.to_dispatch, {A.dispatch, A.urge}),
        ("handler", S.to_accept, {A.accept, A.return_case}),
        (
            "handler",
            S.handling,
            {A.handle, A.return_case, A.request_extension, A.request_suspension, A.appeal},
        ),
        ("inspector", S.to_verify, {A.verify}),
        ("inspector", S.to_check, {A.check}),
        ("shift_leader", S.to_close, {A.close, A.rework, A.cancel, A.reject_request, A.approve_appeal}),
        ("leader", S.handling, set()),
        ("citizen", S.to_verify, set()),
    ],
)
def test_roles_see_the_actions_their_post_takes(role: str, status: S, expected: set[A]) -> None:
    assert set(allowed_actions(status, ROLE_PERMISSIONS[role])) == expected


def test_queue_names_in_the_schema_match_the_table() -> None:
    assert set(typing.get_args(schemas.QueueName)) == set(QUEUES)
