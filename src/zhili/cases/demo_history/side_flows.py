"""The simulated side flows: extension, suspension and resumption while handling, appeal after a late
close, cancel, and the merge of a second report into an open case (as service/side_flows.py does)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from zhili.cases.demo_history.plan import APPEAL_REASONS, EXTENSION_REASONS, SUSPEND_REASONS
from zhili.cases.demo_history.simulation import A, Sim, Simulator, status_at
from zhili.cases.service.jobs import RESUME_JOB
from zhili.cases.states import TERMINAL


class SideFlows(Simulator):
    """The side flows a simulated case may take; the main line (`generator.Generator`) calls them."""

    def _side_flows(self, sim: Sim, handler: tuple[int | None, str], leader: tuple[int | None, str]) -> bool:
        """Extension or suspension while handling; False when the case stops before now."""
        rng, now = self.rng, self.now
        rules = self.cfg.rules
        r = rng.random()
        start, due = sim.handle_started_at, sim.due_at
        if due is None:
            return True
        at = max(start + (due - start) * rng.uniform(0.2, 0.6), sim.updated_at + timedelta(minutes=5))
        if r < 0.03 and sim.extension_count < rules.max_extensions and at < due:
            if at > now:
                return False
            amount = float(sim.handle_limit)
            reason = rng.choice(EXTENSION_REASONS)
            sim.pending_request, sim.pending_since = "extension", at
            sim.pending_payload = {"amount": amount, "unit": sim.handle_unit, "reason": reason,
                                   "requested_by": handler[1]}
            self._act(sim, at, A.request_extension, handler,
                      data={"amount": amount, "unit": sim.handle_unit, "reason": reason})
            at = at + (due - at) * rng.uniform(0.1, 0.5)
            if at > now:
                return False
            sim.extended_amount += amount
            sim.extension_count += 1
            sim.pending_request = sim.pending_payload = sim.pending_since = None
            self._act(sim, at, A.approve_extension, leader, reclock=True,
                      data={"amount": amount, "unit": sim.handle_unit})
        elif 0.03 <= r < 0.04 and sim.suspension_count < rules.max_suspensions:
            if at > now:
                return False
            until = at + timedelta(days=rng.randint(5, 40))
            reason = rng.choice(SUSPEND_REASONS)
            sim.pending_request, sim.pending_since = "suspension", at
            sim.pending_payload = {"until": until.isoformat(), "reason": reason, "requested_by": handler[1]}
            self._act(sim, at, A.request_suspension, handler,
                      data={"until": until.isoformat(), "reason": reason})
            at = at + timedelta(minutes=rng.uniform(20, 240))
            if at > now:
                return False
            sim.suspension_count += 1
            sim.suspended_until = until
            sim.pending_request = sim.pending_payload = sim.pending_since = None
            sim.pauses.append({"started_at": at, "until_at": until, "resumed_at": None, "reason": reason})
            self._act(sim, at, A.suspend, leader, data={"until": until.isoformat(), "reason": reason})
            if until > now:
                return False
            sim.pauses[-1]["resumed_at"] = until
            sim.suspended_until = None
            self._act(sim, until, A.resume, (None, RESUME_JOB), note="resumed at the end of the suspension",
                      data={"paused_seconds": round((until - at).total_seconds())}, reclock=True)
        return True

    def _appeal(self, sim: Sim, at: datetime, handler: tuple[int | None, str],
                leader: tuple[int | None, str]) -> None:
        at = at + timedelta(hours=self.rng.uniform(1, 48))
        if at > self.now:
            return
        reason = self.rng.choice(APPEAL_REASONS)
        sim.appeal_status = "pending"
        sim.pending_request, sim.pending_since = "appeal", at
        sim.pending_payload = {"reason": reason, "requested_by": handler[1]}
        self._act(sim, at, A.appeal, handler, data={"reason": reason})
        at = at + timedelta(hours=self.rng.uniform(1, 72))
        if at > self.now:
            return
        sim.pending_request = sim.pending_payload = sim.pending_since = None
        if self.rng.random() < 0.6:
            sim.appeal_status = "approved"
            self._act(sim, at, A.approve_appeal, leader)
        else:
            sim.appeal_status = "rejected"
            self._act(sim, at, A.reject_request, leader, data={"request": "appeal", "reason": "理由不充分"})

    def _cancel(self, sim: Sim, at: datetime, actor: tuple[int | None, str], reason: str) -> None:
        sim.ended_at = at
        sim.pending_request = sim.pending_payload = sim.pending_since = None
        self._cancel_tasks(sim, at)
        self._act(sim, at, A.cancel, actor, data={"reason": reason})

    def _merge(self, sim: Sim, target: Sim, index: Any) -> bool:
        """A second report of an open case's problem: the shift leader merges it (side_flows.merge_case)."""
        at = sim.reported_at + timedelta(minutes=self.rng.uniform(10, 90))
        window = timedelta(hours=self.cfg.rules.merge_window_hours)
        if at > self.now or sim.reported_at - target.reported_at > window:
            return False
        if status_at(target, at) in TERMINAL:
            return False
        # Reported from a few metres away: within the merge radius, in the same unit grid.
        lon = target.lon + self.rng.uniform(-5e-5, 5e-5)
        lat = target.lat + self.rng.uniform(-5e-5, 5e-5)
        # locate_many, not locate: one point does not justify building the one-point lookup lattice
        found = index.locate_many(np.array([lon]), np.array([lat]))[0]
        if found < 0 or index.location_at(int(found)).grid_code != target.grid_code:
            lon, lat = target.lon, target.lat
        sim.lon, sim.lat = lon, lat
        for col in ("grid_code", "community_code", "street_code", "responsibility_grid_code",
                    "grid_inspector_staff_id"):
            setattr(sim, col, getattr(target, col))
        sim.activities[0]["data"]["grid_code"] = target.grid_code
        for t in sim.tasks:
            t.update(assignee_staff_id=target.grid_inspector_staff_id,
                     responsibility_grid_code=target.responsibility_grid_code)
        leader = (self.cast.users["shift_leader"].id, self.cast.users["shift_leader"].display_name)
        sim.ended_at = at
        self._cancel_tasks(sim, at)
        sim.merged_target = target
        target.duplicate_count += 1
        target.merged_in.append((at, leader[1], sim))
        self._act(sim, at, A.merge, leader, data={"into": None, "reason": "重复上报"})
        return True
