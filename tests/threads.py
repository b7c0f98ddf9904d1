"""Run a function in several threads at once, as concurrent requests would, and fail on any error."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_at_once(work: Callable[[], None], threads: int, *, timeout: float = 120) -> None:
    """Start `threads` threads of `work`, wait for all, and re-raise the first error any of them hit."""
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=guarded) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in pool), f"a thread still runs after {timeout} s"
    if errors:
        raise errors[0]
