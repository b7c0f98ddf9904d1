"""The evaluation's formulas: a case's mask (its facts against one period) and the indicators over it.

A mask is an integer: the fact row's static bits (`evaluation_facts.STATIC`), then two bits per step
saying where the step's time lies against the period [start, end) (0: inside it, or the step has not
happened; BEFORE: before the start; AFTER: at or after the end), then DUE_PASSED: the handling
deadline lay before `as_of`. The database computes one mask per case and counts cases per (group, mask); the
formulas below run once per distinct mask. Pure: no database here.
"""

from __future__ import annotations

from zhili.cases.evaluation_facts import FLAG, STEPS

POSITION_SHIFT = 32
BEFORE, AFTER = 1, 2
DUE_PASSED = 1 << (POSITION_SHIFT + 2 * len(STEPS))
assert max(FLAG.values()) < 1 << POSITION_SHIFT and DUE_PASSED < 1 << 62  # a signed 64-bit integer

# The indicators whose cases the average times are taken over (see queries.AVERAGES). None of them
# depends on DUE_PASSED (tested), so the scan may sum durations without splitting on it.
AVERAGED = ("_accepted", "handled", "closed")


def position_bits(step: str, where: int) -> int:
    """The mask bits saying that `step` lies BEFORE or AFTER the period."""
    return where << (POSITION_SHIFT + 2 * STEPS.index(step))


def _position(mask: int, step: str) -> int:
    return (mask >> (POSITION_SHIFT + 2 * STEPS.index(step))) & 3


def atoms_of(mask: int) -> dict[str, bool]:
    """The simple facts of one case against the period (docs/evaluation.md's "in P" and friends)."""

    def static(name: str) -> bool:
        return bool(mask & FLAG[name])

    def in_p(step: str) -> bool:
        return static(f"{step}_set") and _position(mask, step) == 0

    def before_end(step: str) -> bool:
        return static(f"{step}_set") and _position(mask, step) != AFTER

    def since_start(step: str) -> bool:
        return static(f"{step}_set") and _position(mask, step) != BEFORE

    self_handled = static("self_handled")
    return {
        "reported": in_p("reported"),
        "registered_by_end": before_end("registered"),
        "self_handled": self_handled,
        "registered": in_p("registered"),
        "register_in_time": static("register_in_time"),
        "not_accepted": static("refused") and in_p("ended"),
        "dispatched": in_p("first_dispatched"),
        "dispatch_in_time": static("dispatch_in_time"),
        "returned_ever": static("returned_ever"),
        "dispatched_by_end": before_end("first_dispatched") and static("has_department"),
        "cancelled": static("cancelled"),
        "handled_since_start": since_start("handled"),
        "handled_by_end": before_end("handled"),
        "exempt": static("exempt"),
        "handle_in_time": static("handle_in_time"),
        "handle_late": static("handle_late"),
        # No verdict while suspended: the clock stands still.
        "handle_due_passed": not static("suspended_now") and bool(mask & DUE_PASSED),
        "closed_since_start": since_start("closed"),
        "closed_by_end": before_end("closed"),
        "not_closed": not static("closed_set"),
        "not_handled": not static("handled_set"),
        "reworked_ever": static("reworked_ever"),
        "extended_ever": static("extended_ever"),
        "suspended_ever": static("suspended_ever"),
        "verified": in_p("verified") and not self_handled,
        "verify_in_time": static("verify_in_time"),
        "checked": in_p("checked") and not self_handled,
        "check_in_time": static("check_in_time"),
        "accepted": in_p("accepted"),
    }


def indicators_of(mask: int) -> dict[str, bool]:
    """The case-based indicators of docs/evaluation.md as formulas over one case's atoms."""
    a = atoms_of(mask)
    pending = a["not_handled"] or a["handled_since_start"]  # not handled before the period
    to_handle = a["dispatched_by_end"] and not a["cancelled"] and pending
    handled = to_handle and a["handled_by_end"]
    in_time = a["exempt"] or a["handle_in_time"]
    overdue_raw = (handled and a["handle_late"]) or (
        to_handle and not a["handled_by_end"] and a["handle_due_passed"]
    )
    to_close = a["handled_by_end"] and not a["cancelled"] and (a["not_closed"] or a["closed_since_start"])
    closed = to_close and a["closed_by_end"]
    return {
        "reported": a["reported"],
        "valid_reported": a["reported"] and a["registered_by_end"],
        "self_handled": a["reported"] and a["self_handled"],
        "registered": a["registered"],
        "not_accepted": a["not_accepted"],
        "on_time_registered": a["registered"] and a["register_in_time"],
        "dispatched": a["dispatched"],
        "on_time_dispatched": a["dispatched"] and a["dispatch_in_time"],
        "returned": a["dispatched"] and a["returned_ever"],
        "to_handle": to_handle,
        "handled": handled,
        "on_time_handled": handled and in_time,
        "to_close": to_close,
        "closed": closed,
        "on_time_closed": closed and (a["self_handled"] or in_time),
        "reworked": handled and a["reworked_ever"],
        "extended": to_handle and a["extended_ever"],
        "suspended": to_handle and a["suspended_ever"],
        "overdue": overdue_raw and not a["exempt"],
        "overdue_raw": overdue_raw,
        "appeal_exempt": overdue_raw and a["exempt"],
        "verified": a["verified"],
        "on_time_verified": a["verified"] and a["verify_in_time"],
        "checked": a["checked"],
        "on_time_checked": a["checked"] and a["check_in_time"],
        "_accepted": to_handle and a["accepted"],
    }
