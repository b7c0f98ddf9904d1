"""The work-order transition table, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from zhili.cases.workorders.jobs import draw_stratified
from zhili.cases.workorders.recurrence import windows_on
from zhili.cases.workorders.schemas import Recurrence
from zhili.cases.workorders.states import (
    OPEN,
    TERMINAL,
    TRANSITIONS,
    OrderAction,
    OrderStatus,
    allowed_actions,
    is_missed,
    transition,
)
from zhili.identity.permissions import ROLE_PERMISSIONS

S, A = OrderStatus, OrderAction
WORKER = ROLE_PERMISSIONS["field_worker"]
HANDLER = ROLE_PERMISSIONS["handler"]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_main_line_is_planned_in_progress_done_checked() -> None:
    steps = [(S.planned, A.start), (S.in_progress, A.complete), (S.done, A.pass_check)]
    status = S.planned
    for source, action in steps:
        tr = transition(status, action)
        assert tr is not None and tr.source is source
        status = tr.target
    assert status is S.checked


def test_a_failed_check_sends_the_order_back_for_a_redo_that_starts_again() -> None:
    fail = transition(S.done, A.fail_check)
    assert fail is not None and fail.target is S.redo
    again = transition(S.redo, A.start)
    assert again is not None and again.target is S.in_progress


def test_workers_do_and_managers_check() -> None:
    assert allowed_actions(S.planned, WORKER) == [A.start]
    assert allowed_actions(S.in_progress, WORKER) == [A.complete]
    assert allowed_actions(S.done, WORKER) == []
    assert allowed_actions(S.done, HANDLER) == [A.pass_check, A.fail_check]
    assert A.start not in allowed_actions(S.planned, HANDLER)


def test_terminal_statuses_have_no_way_out_and_every_status_is_reachable() -> None:
    assert all(tr.source not in TERMINAL for tr in TRANSITIONS)
    reached, frontier = {S.planned}, [S.planned]
    while frontier:
        s = frontier.pop()
        for tr in TRANSITIONS:
            if tr.source is s and tr.target not in reached:
                reached.add(tr.target)
                frontier.append(tr.target)
    assert reached == set(S)


def test_no_transition_for_unknown_or_illegal_actions() -> None:
    assert transition(S.planned, A.complete) is None
    assert transition(S.checked, A.cancel) is None
    assert transition(S.planned, "teleport") is None
    assert transition("nonsense", A.start) is None


def test_missed_is_derived_from_the_clock_for_open_orders_only() -> None:
    due = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
    assert {S.planned, S.in_progress} == OPEN
    assert not is_missed(S.planned, due, due)
    assert is_missed(S.planned, due, due + timedelta(seconds=1))
    assert is_missed(S.in_progress, due, due + timedelta(hours=5))
    assert not is_missed(S.done, due, due + timedelta(hours=5))
    assert not is_missed(S.cancelled, due, due + timedelta(hours=5))


def test_windows_are_local_times_and_may_run_past_midnight() -> None:
    rec = Recurrence.model_validate(
        {"freq": "daily", "windows": [{"start": "22:00", "end": "02:00"}, {"start": "06:00", "end": "08:00"}]}
    )
    (w1s, w1e), (w2s, w2e) = windows_on(rec, date(2026, 3, 3), SHANGHAI)
    assert (w1s, w1e) == (datetime(2026, 3, 2, 22, tzinfo=UTC), datetime(2026, 3, 3, 0, tzinfo=UTC))
    assert (w2s, w2e) == (datetime(2026, 3, 3, 14, tzinfo=UTC), datetime(2026, 3, 3, 18, tzinfo=UTC))


def test_weekly_and_monthly_recurrences_fall_on_their_days() -> None:
    weekly = Recurrence.model_validate(
        {"freq": "weekly", "weekdays": [4, 1, 1], "windows": [{"start": "08:00", "end": "11:30"}]}
    )
    assert weekly.weekdays == [1, 4]
    march = [date(2026, 3, d) for d in range(1, 32)]
    assert [d.day for d in march if windows_on(weekly, d, SHANGHAI)] == [2, 5, 9, 12, 16, 19, 23, 26, 30]
    monthly = Recurrence.model_validate(
        {"freq": "monthly", "month_day": 31, "windows": [{"start": "09:00", "end": "17:00"}]}
    )
    april = [date(2026, 4, d) for d in range(1, 31)]
    assert [d.day for d in april if windows_on(monthly, d, SHANGHAI)] == [30]
    assert windows_on(monthly, date(2026, 2, 28), SHANGHAI)[0][0].time() == time(1, 0)


@pytest.mark.parametrize(
    "bad",
    [
        {"freq": "weekly", "windows": [{"start": "08:00", "end": "09:00"}]},
        {"freq": "weekly", "weekdays": [8], "windows": [{"start": "08:00", "end": "09:00"}]},
        {"freq": "daily", "weekdays": [1], "windows": [{"start": "08:00", "end": "09:00"}]},
        {"freq": "monthly", "windows": [{"start": "08:00", "end": "09:00"}]},
        {"freq": "daily", "windows": []},
        {"freq": "daily", "windows": [{"start": "08:00", "end": "08:00"}]},
        {
            "freq": "daily",
            "windows": [{"start": "08:00", "end": "09:00"}, {"start": "08:00", "end": "10:00"}],
        },
    ],
)
def test_bad_recurrences_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Recurrence.model_validate(bad)


def test_the_draw_takes_the_share_of_every_plan_and_repeats_with_its_seed() -> None:
    by_plan = {1: list(range(1000, 1053)), 2: list(range(2000, 2651)), 3: list(range(3000, 3003))}
    drawn = draw_stratified(by_plan, 0.1, seed=739945)
    assert len(drawn) == round(0.1 * 707)  # 71: the configured share of all of them
    per_plan = {pid: sum(1 for i in drawn if i in set(ids)) for pid, ids in by_plan.items()}
    assert per_plan[1] >= 5 and per_plan[2] >= 65 and sum(per_plan.values()) == 71
    assert drawn == draw_stratified(by_plan, 0.1, seed=739945)
    assert drawn != draw_stratified(by_plan, 0.1, seed=739946)
    assert draw_stratified(by_plan, 0.0, seed=1) == []
    assert len(draw_stratified(by_plan, 1.0, seed=1)) == 707
