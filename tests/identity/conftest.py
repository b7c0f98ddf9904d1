"""Identity fixtures: a clock the tests can move forward."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from zhili.core import clock


@pytest.fixture
def frozen_clock() -> Iterator[Callable[[int], None]]:
    """Freeze time at the current instant; the returned function moves it forward by seconds."""
    start = clock.now()
    offset = {"s": 0}
    clock.set_clock(lambda: start + timedelta(seconds=offset["s"]))

    def advance(seconds: int) -> None:
        offset["s"] += seconds

    yield advance
    clock.set_clock(None)
