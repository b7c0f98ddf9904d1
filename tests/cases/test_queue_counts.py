"""The queue tabs' counts come from one grouped count: each must equal its own filtered count."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.cases.conftest import drive, inspector_spot, make_case, user
from zhili.cases import repository, visibility
from zhili.cases.schemas import CaseFilters
from zhili.cases.states import QUEUES, CaseStatus


def _counted_one_by_one(session, who, queue: str, now) -> int:
    stmt = repository.apply_filters(visibility.visible_to(who), CaseFilters(queue=queue), now=now,
                                    staff_id=who.staff_id)
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def test_grouped_queue_counts_match_each_queue_counted_alone(session, cfg, at) -> None:
    targets = [CaseStatus.to_register, CaseStatus.to_dispatch, CaseStatus.to_accept, CaseStatus.handling,
               CaseStatus.to_check, CaseStatus.to_close, CaseStatus.closed]
    for i, status in enumerate(targets * 2):
        drive(session, cfg, make_case(session, cfg, spot=inspector_spot(session, i % 5)), status)
        at.advance(hours=3)
    at.advance(days=20)  # every stage clock started above has run out by now: the overdue tab fills
    drive(session, cfg, make_case(session, cfg), CaseStatus.to_dispatch)  # and one that has not
    session.flush()
    leader = user(session, "shift_leader")
    now = at.now()
    counts = repository.queue_counts(session, visibility.visible_to(leader), now)
    for queue in QUEUES:
        if queue == "amber":
            continue
        assert counts[queue] == _counted_one_by_one(session, leader, queue, now), queue
    assert counts["overdue"] > 0 and counts["to_dispatch"] >= 3 and counts["to_handle"] >= 4
    assert counts["overdue"] < counts["open"], "the case reported last is not overdue yet"


def test_capped_count_stops_after_the_cap(session, cfg) -> None:
    for i in range(4):
        make_case(session, cfg, spot=inspector_spot(session, i))
    session.flush()
    visible = visibility.visible_to(user(session, "shift_leader"))
    exact = int(session.scalar(select(func.count()).select_from(visible.subquery())) or 0)
    assert repository.capped_count(session, visible, cap=exact + 5) == exact
    assert repository.capped_count(session, visible, cap=2) == 3, "cap + 1 says: more than the cap"
