"""The generic transition table both state machines (cases, work orders) are built on, without a database."""

from __future__ import annotations

from enum import StrEnum

import pytest

from zhili.core.errors import NotPermitted
from zhili.core.transitions import Transition, TransitionTable


class Door(StrEnum):
    shut = "shut"
    open = "open"
    locked = "locked"


class Move(StrEnum):
    open = "open"
    shut = "shut"
    lock = "lock"
    knock = "knock"


def _table() -> TransitionTable[Door, Move]:
    return TransitionTable(
        Door,
        Move,
        (
            (Door.shut, Move.open, Door.open, "door:use"),
            (Door.open, Move.shut, Door.shut, "door:use"),
            (Door.shut, Move.lock, Door.locked, "door:keys"),
            (Door.locked, Move.open, Door.open, "door:keys"),
        ),
    )


def test_lookups_accept_members_and_plain_strings_and_answer_none_for_unknown_pairs() -> None:
    table = _table()
    assert table.transition("shut", "open") == Transition(Door.shut, Move.open, Door.open, "door:use")
    assert table.transition(Door.open, Move.lock) is None
    assert table.transition("ajar", "open") is None
    assert table.transition("shut", "kick") is None


def test_actions_from_keep_table_order_and_allowed_actions_filter_by_permission() -> None:
    table = _table()
    assert [tr.action for tr in table.actions_from("shut")] == [Move.open, Move.lock]
    assert table.allowed_actions(Door.shut, {"door:use"}) == [Move.open]
    assert table.allowed_actions(Door.locked, {"door:use"}) == []


def test_a_pair_listed_twice_is_refused() -> None:
    twice = [(Door.shut, Move.open, Door.open, "door:use")] * 2
    with pytest.raises(ValueError, match="listed twice"):
        TransitionTable(Door, Move, twice)


def test_the_route_guard_needs_one_permission_the_action_can_ever_need() -> None:
    table = _table()
    assert table.permissions_for(Move.open) == {"door:use", "door:keys"}
    assert table.permissions_for(Move.knock) == frozenset()
    table.ensure_may_attempt(Move.open, {"door:keys"}.__contains__)
    with pytest.raises(NotPermitted) as caught:
        table.ensure_may_attempt(Move.lock, {"door:use"}.__contains__)
    assert caught.value.detail == "'lock' needs the permission 'door:keys'."
    assert caught.value.extra == {"missing": ["door:keys"]}
