"""Random action sequences (hypothesis, stateful) on the service with a pinned clock moved by random amounts.

Whatever users try, in whatever order: the case never leaves the transition table, the timeline always
tells the case's state, and the handling clock never loses time — active time is the sum of the
intervals outside suspensions, and active plus paused time is all the time since the round began.
And the evaluation facts the engine keeps beside the case always give what its timestamps give.
"""

from __future__ import annotations

import itertools
import os
import random
from datetime import datetime, timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy.orm.exc import StaleDataError

from tests.cases.conftest import T0, Clock, evidence, make_case, standard_id, user
from tests.cases.evaluation_oracle import check_facts
from zhili.cases import repository
from zhili.cases.config import CaseConfig, CaseSettings, config_for
from zhili.cases.models import CaseRecord
from zhili.cases.schemas import ActionFields
from zhili.cases.service import deadlines, workflow
from zhili.cases.service.jobs import resume_due_suspensions
from zhili.cases.service.timeline import handle_pauses
from zhili.cases.states import CaseAction, CaseStatus, actions_from, transition
from zhili.core import clock
from zhili.core.db import Database
from zhili.core.errors import DomainError

USERS = ("inspector", "operator", "shift_leader", "dispatcher", "handler", "leader", "citizen", "admin")
# Who holds each permission among the demo users (admin holds them all, without a department).
POSTS = {
    "cases:verify": ("inspector", "operator"),
    "cases:register": ("shift_leader",),
    "cases:dispatch": ("dispatcher",),
    "cases:handle": ("handler", "admin"),
    "cases:check": ("inspector",),
    "cases:close": ("shift_leader",),
    "cases:supervise": ("dispatcher", "shift_leader"),
}
# How often the guided move picks an action: the main line most, side flows less, early endings rarely.
WEIGHT = {
    **{
        a: 8
        for a in (
            CaseAction.verify,
            CaseAction.register,
            CaseAction.dispatch,
            CaseAction.accept,
            CaseAction.handle,
            CaseAction.check,
            CaseAction.close,
            CaseAction.rework,
            CaseAction.resume,
        )
    },
    **{
        a: 1
        for a in (
            CaseAction.cancel,
            CaseAction.not_accept,
            CaseAction.merge,
            CaseAction.urge,
            CaseAction.return_case,
        )
    },
}
HOLDING = (CaseStatus.to_accept, CaseStatus.handling, CaseStatus.suspended)


class CaseMachine(RuleBasedStateMachine):
    db: ClassVar[Database]
    cfg: ClassVar[CaseConfig]

    def __init__(self) -> None:
        super().__init__()
        self.session = self.db.sessionmaker()
        self.clock = Clock(T0)
        clock.set_clock(self.clock.now)
        self.users = {name: user(self.session, name) for name in USERS}
        self.done = 0  # successful actions, each one timeline row
        self.round_start: datetime | None = None
        self.pauses: list[list[datetime | None]] = []  # the model's own record of suspensions

    # 06010: 4 working hours, sanitation (the demo handler's department); 04002: 4 urgent hours, greening.
    @initialize(
        source=st.sampled_from(["inspector", "hotline"]),
        cls=st.sampled_from([("matter", "06010"), ("component", "04002")]),
        rnd=st.randoms(use_true_random=True),
    )
    def report(self, source: str, cls: tuple[str, str], rnd: random.Random) -> None:
        # Weighted picks come from this seeded Random: hypothesis's own draws favour the first and the
        # last choice of a list, which would end most stories early (cancel, merge) or go stale.
        self.rnd = rnd
        reporter = "inspector" if source == "inspector" else "operator"
        kind, code = cls
        self.case = make_case(
            self.session, self.cfg, reporter=reporter, source=source, class_kind=kind, class_code=code
        )
        self.sibling = make_case(self.session, self.cfg, class_kind=kind, class_code=code)
        self.standard_id = standard_id(self.session, kind, code)
        self.status = CaseStatus(self.case.status)

    def teardown(self) -> None:
        self.session.rollback()
        self.session.close()
        clock.set_clock(None)

    # --- one rule, several moves: hypothesis cannot starve the flow by favouring the simplest rule ---

    @rule(
        move=st.sampled_from(["next_step"] * 6 + ["anyone_anything"] * 2 + ["job", "long_wait"]),
        data=st.data(),
    )
    def step(self, move: str, data: st.DataObject) -> None:
        if move == "long_wait":
            self.clock.advance(minutes=data.draw(st.integers(min_value=1, max_value=36 * 60)))
        elif move == "job":
            self.scheduled_job_runs()
        elif move == "next_step":
            self.the_right_post_acts(data)
        else:
            action = data.draw(st.sampled_from(list(CaseAction)))
            self.someone_acts(action, data.draw(st.sampled_from(USERS)), data)

    def scheduled_job_runs(self) -> None:
        resumed = resume_due_suspensions(self.session, self.cfg)
        self.session.refresh(self.case)
        if resumed:
            assert self.status is CaseStatus.suspended
            self._resumed()
            self.status = CaseStatus.handling
            self.done += 1

    def the_right_post_acts(self, data: st.DataObject) -> None:
        """Mostly the next step of the flow, by a user whose post takes it (random picks rarely get far)."""
        choices = actions_from(self.status)
        if not choices:
            return
        tr = self.rnd.choices(choices, weights=[WEIGHT.get(c.action, 3) for c in choices])[0]
        self.clock.advance(minutes=data.draw(st.integers(min_value=0, max_value=8 * 60)))
        posts = [u for u in POSTS[tr.permission] if u != "handler" or self.case.class_code == "06010"]
        self.someone_acts(tr.action, data.draw(st.sampled_from(posts)), data)

    def someone_acts(self, action: CaseAction, username: str, data: st.DataObject) -> None:
        fields = self._fields(action, data)
        who = self.users[username]
        before = self.status
        stale = self.rnd.random() < 0.05
        version = self.case.version - 1 if stale else self.case.version
        try:
            with self.session.begin_nested():
                workflow.perform_action(
                    self.session,
                    who,
                    self.case.number,
                    action,
                    ActionFields(**fields),
                    self.cfg,
                    version=version,
                )
        except (DomainError, StaleDataError):
            self.session.refresh(self.case)
            assert self.case.status == before, "a refused action changed the status"
            return
        assert not stale, "a stale version was accepted"
        tr = transition(before, action)
        assert tr is not None, f"{action} succeeded from {before}, which the table does not allow"
        assert who.has(tr.permission), f"{username} did {action} without {tr.permission}"
        self.status = tr.target
        self.done += 1
        event(f"{action.value} -> {tr.target.value}")
        self._follow(action)

    def _fields(self, action: CaseAction, data: st.DataObject) -> dict[str, Any]:
        now = self.clock.t
        a = CaseAction
        fields: dict[str, Any] = {"reason": "r"}
        if action is a.verify:
            fields["confirmed"] = data.draw(st.booleans())
        elif action is a.register:
            fields["standard_id"] = self.standard_id
        elif action is a.handle:
            fields["result"] = "done"
            fields["evidence"] = evidence(self.session) if data.draw(st.integers(0, 4)) else []
        elif action is a.check:
            fields["passed"] = data.draw(st.booleans())
        elif action is a.request_extension:
            fields["amount"] = data.draw(st.sampled_from([0.5, 1.0, 2.0]))
        elif action in (a.request_suspension, a.suspend):
            fields["until"] = now + timedelta(hours=data.draw(st.integers(1, 100)))
        elif action is a.merge:
            fields["target_number"] = self.sibling.number
        return fields

    def _follow(self, action: CaseAction) -> None:
        """Keep the model's handling round and pauses in step with what just happened."""
        now = self.clock.t
        if action in (CaseAction.dispatch, CaseAction.rework):
            self.round_start, self.pauses = now, []
        elif action is CaseAction.suspend:
            self.pauses.append([now, None])
        elif action is CaseAction.resume:
            self._resumed()
        elif action is CaseAction.return_case:
            self.round_start, self.pauses = None, []

    def _resumed(self) -> None:
        assert self.pauses and self.pauses[-1][1] is None
        self.pauses[-1][1] = self.clock.t

    # --- invariants ----------------------------------------------------------------------------------

    @invariant()
    def status_is_the_model_status(self) -> None:
        if hasattr(self, "case"):
            assert CaseStatus(self.case.status) is self.status

    @invariant()
    def timeline_tells_the_state(self) -> None:
        if not hasattr(self, "case"):
            return
        rows = [r for r in repository.timeline(self.session, self.case.id) if r.action != "merged_in"]
        assert len(rows) == self.done + 1
        assert rows[0].action == "report" and rows[-1].to_status == self.case.status
        for prev, row in itertools.pairwise(rows):
            assert row.from_status == prev.to_status
            tr = transition(row.from_status, row.action)
            assert tr is not None and tr.target == row.to_status

    @invariant()
    def evaluation_facts_follow_the_case(self) -> None:
        """What evaluation stores of the case (written by the ORM hook) is its current state, and gives
        the figures the timestamps give, for periods bounded on the case's own instants."""
        if hasattr(self, "case"):
            check_facts(self.session, self.case, self.rnd, now=self.clock.t, n=2)
            check_facts(self.session, self.sibling, self.rnd, now=self.clock.t, n=0)  # merges touch it

    @invariant()
    def clock_never_loses_time(self) -> None:
        if not hasattr(self, "case"):
            return
        case: CaseRecord = self.case
        if case.status not in HOLDING:
            return
        assert case.handle_started_at == self.round_start
        cal, unit, now = self.cfg.calendar, case.handle_unit, self.clock.t
        assert unit is not None and self.round_start is not None
        # The model's arithmetic: active intervals are the gaps between its own pauses.
        edges = [self.round_start, *[t for p in self.pauses for t in (p[0], p[1] or now)], now]
        active = sum(cal.elapsed(edges[i], edges[i + 1], unit) for i in range(0, len(edges), 2))
        paused = sum(cal.elapsed(edges[i], edges[i + 1], unit) for i in range(1, len(edges) - 1, 2))
        service = deadlines.active_elapsed(
            cal, case.handle_started_at, now, unit, handle_pauses(self.session, case)
        )
        assert service == pytest.approx(active, abs=1e-6)
        assert active + paused == pytest.approx(cal.elapsed(self.round_start, now, unit), abs=1e-6)
        if case.status == CaseStatus.suspended:
            assert case.due_at is None and deadlines.colour(case, now) == "paused"
        else:
            # The deadline is where the active time reaches the limit and its extensions.
            assert case.due_at == case.handle_due_at is not None
            total = (case.handle_limit or 0) + case.extended_amount
            at_due = deadlines.active_elapsed(
                cal, case.handle_started_at, case.due_at, unit, handle_pauses(self.session, case)
            )
            assert at_due == pytest.approx(total, abs=1e-6)
            assert (deadlines.colour(case, now) == "red") is (now > case.due_at)


def test_random_action_sequences_keep_the_case_legal_and_the_clock_honest(db: Database, settings) -> None:
    CaseMachine.db = db
    CaseMachine.cfg = config_for(settings, CaseSettings(max_extensions=3, max_suspensions=3))
    run_state_machine_as_test(
        CaseMachine,
        settings=settings_for_machine(),
    )


def settings_for_machine() -> settings:
    return settings(
        max_examples=int(os.environ.get("CASES_MACHINE_EXAMPLES", "60")),
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
