"""The year's cases, simulated: each is reported, then walked along the main line (verify, register or
not accept, dispatch, return, accept, handle, check, rework, close) through the transition table,
taking side flows on the way, until it ends or its next step lies after "now". Every column is set
as the engine's handlers set it (service/intake.py, service/workflow.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from zhili.cases.demo_history.plan import (
    CLASSES,
    PLACES,
    REASONS_NOT_ACCEPT,
    RESULTS,
    RETURN_REASONS,
    REWORK_REASONS,
    ROADS,
    SOURCES,
    places,
    points_in,
    report_times,
)
from zhili.cases.demo_history.side_flows import SideFlows
from zhili.cases.demo_history.simulation import A, S, Sim, activity
from zhili.cases.service import deadlines
from zhili.core.workcalendar import HolidayDataMissing
from zhili.org import service as org_service

log = logging.getLogger(__name__)
RECENT = timedelta(days=2)  # the reports that are still work in hand when the demo starts


class Generator(SideFlows):
    """Makes the simulated cases of the period (`generate`)."""

    def generate(self, n: int) -> list[Sim]:
        lons, lats, pos = places(self.session, self.nprng, n)
        times = report_times(self.rng, self.cfg.calendar.tz, self.now, self.days, n)
        index = org_service.area_index(self.session)
        # One report in three of the last two days falls in a grid the demo inspector patrols:
        # whoever logs in as the inspector finds reports to verify and cases to check on the phone.
        staff = self.cast.users["inspector"].staff_id
        own = [i for i, g in enumerate(index.grids) if staff is not None and g.inspector_staff_id == staff]
        recent = [i for i, at in enumerate(times) if self.now - at < RECENT and self.rng.random() < 1 / 3]
        if own and recent:
            moved = points_in(index, self.nprng, self.nprng.choice(own, size=len(recent)))
            lons[recent], lats[recent], pos[recent] = moved
        classes = list(CLASSES)
        class_choice = self.rng.choices(classes, weights=[c[2] for c in classes], k=n)
        sources = self.rng.choices([s for s, _ in SOURCES], weights=[w for _, w in SOURCES], k=n)
        sims: list[Sim] = []
        latest: dict[tuple[str, str, str], Sim] = {}
        for i, at in enumerate(times):
            kind, code, _w, _dept, texts = class_choice[i]
            if (kind, code) not in self.cast.standards:
                continue
            loc = index.location_at(int(pos[i]))
            sim = self._report(at, sources[i], kind, code, texts, float(lons[i]), float(lats[i]), loc)
            key = (kind, code, str(loc.responsibility_grid_code))
            target = latest.get(key)
            try:
                if not (target is not None and sim.status in (S.to_verify, S.to_register)
                        and self.rng.random() < 0.6 and self._merge(sim, target, index)):
                    self._run(sim)
            except HolidayDataMissing as exc:  # a deadline past the installed holiday data
                log.info("demo case skipped: %s", exc.detail)
                continue
            latest[key] = sim
            sims.append(sim)
        return sims

    def _report(self, at: datetime, source: str, kind: str, code: str, texts: tuple[str, ...],
                lon: float, lat: float, loc: Any) -> Sim:
        u = self.cast.users
        rng = self.rng
        inspector_staff = loc.inspector_staff_id
        # The grid's inspector: the demo login where it is bound to that staff member, else the name.
        inspector_actor = (u["inspector"].id if inspector_staff == u["inspector"].staff_id else None,
                           self.cast.staff_names.get(inspector_staff or -1, "监督员"))
        if source in ("inspector", "self_handled"):
            reporter: tuple[int | None, int | None, str | None] = (
                inspector_actor[0], inspector_staff, inspector_actor[1])
            actor = inspector_actor
        elif source == "public":
            reporter = (u["citizen"].id, None, rng.choice(("市民", "热心市民", None)))
            actor = (u["citizen"].id, u["citizen"].display_name)
        else:  # hotline, video, leader, department: keyed in by the centre's operator
            label = {"hotline": "12345市民", "video": "AI视频识别", "leader": "区领导批示",
                     "department": "区住建局转办"}[source]
            reporter = (u["operator"].id, None, label)
            actor = (u["operator"].id, u["operator"].display_name)
        status = S.closed if source == "self_handled" else (
            S.to_verify if source in ("public", "hotline", "video") else S.to_register)
        road = rng.choice(ROADS)
        sim = Sim(
            status=status.value, source=source,
            external_ref=f"GZ12345-{at:%Y%m%d}-{rng.randrange(100000):05d}" if source == "hotline" else None,
            self_handled=source == "self_handled", class_kind=kind, class_code=code, component_id=None,
            description=rng.choice(texts), lon=lon, lat=lat,
            address=f"白云区{loc.street_name}{road}{rng.randint(1, 999)}号{rng.choice(PLACES)}",
            grid_code=loc.grid_code, community_code=loc.community_code, street_code=loc.street_code,
            responsibility_grid_code=loc.responsibility_grid_code, grid_inspector_staff_id=inspector_staff,
            reporter_user_id=reporter[0], reporter_staff_id=reporter[1], reporter_name=reporter[2],
            reporter_phone=f"13{rng.randrange(10**9):09d}" if source in ("hotline", "public") else None,
            standard_id=None, dispatch_limit=None, dispatch_unit=None, handle_limit=None, handle_unit=None,
            check_limit=None, check_unit=None, after_photo_required=False, department_id=None,
            reported_at=at, verified_at=None, verified_by_staff_id=None, verify_confirmed=None,
            registered_at=None, registered_by_user_id=None, dispatched_at=None, first_dispatched_at=None,
            dispatched_by_user_id=None, accepted_at=None, handle_started_at=None, handled_at=None,
            checked_at=None, checked_by_staff_id=None, check_passed=None, closed_at=None,
            closed_by_user_id=None, ended_at=None, verify_due_at=None, register_due_at=None,
            dispatch_due_at=None, handle_due_at=None, check_due_at=None, stage_started_at=at, due_at=None,
            amber_at=None, extended_amount=0.0, extension_count=0, suspension_count=0, suspended_until=None,
            rework_count=0, return_count=0, urge_count=0, duplicate_count=0, merged_into_id=None,
            appeal_status=None, pending_request=None, pending_payload=None, pending_since=None,
            created_at=at, updated_at=at, version=1,
        )
        sim.actor_inspector = inspector_actor
        data: dict[str, Any] = {"source": source, "class": f"{kind}:{code}", "grid_code": loc.grid_code,
                                "evidence": []}
        if status is S.closed:  # 自行处置: every step at once, by the inspector on the spot
            sim.verified_at = sim.registered_at = sim.handled_at = sim.checked_at = at
            sim.closed_at = sim.ended_at = at
            sim.verify_confirmed = sim.check_passed = True
            sim.verified_by_staff_id = sim.checked_by_staff_id = inspector_staff
            data.update(after_evidence=[], result=rng.choice(RESULTS))
        self._clock(sim)
        if status is S.to_verify and sim.verify_due_at is not None:
            self._open_task(sim, "verify", at, sim.verify_due_at)
        sim.activities.append(activity(at, "report", None, status.value, actor, None, data))
        return sim

    def _run(self, sim: Sim) -> None:
        """Walk the main line and its side flows until the case ends or the next step lies after now."""
        u, rng, now = self.cast.users, self.rng, self.now
        leader = (u["shift_leader"].id, u["shift_leader"].display_name)
        inspector = sim.actor_inspector
        if sim.status == S.closed:
            return
        if sim.status == S.to_verify:
            at = self._when(sim, sim.reported_at, sim.due_at, late=0.05)
            if at > now:
                return
            confirmed = rng.random() < 0.93
            sim.verified_at, sim.verify_confirmed = at, confirmed
            sim.verified_by_staff_id = sim.grid_inspector_staff_id
            sim.stage_started_at = at
            self._finish_task(sim, "verify", at, confirmed, inspector[0])
            self._act(sim, at, A.verify, inspector, data={"confirmed": confirmed, "evidence": []},
                      reclock=True)
        # 立案 or not
        at = self._when(sim, sim.stage_started_at, sim.due_at, late=0.03)
        if at > now:
            return
        if sim.verify_confirmed is False or rng.random() < 0.03:
            reason = (REASONS_NOT_ACCEPT[0] if sim.verify_confirmed is False
                      else rng.choice(REASONS_NOT_ACCEPT))
            sim.ended_at = at
            self._cancel_tasks(sim, at)
            self._act(sim, at, A.not_accept, leader, data={"reason": reason})
            return
        if rng.random() < 0.004:
            self._cancel(sim, at, leader, "误报，作废")
            return
        standard = rng.choice(self.cast.standards[(sim.class_kind, sim.class_code)])
        sim.standard_id = standard.id
        sim.dispatch_limit, sim.dispatch_unit = standard.dispatch_limit, standard.dispatch_unit
        sim.handle_limit, sim.handle_unit = standard.handle_limit, standard.handle_unit
        sim.check_limit, sim.check_unit = standard.check_limit, standard.check_unit
        sim.after_photo_required = standard.after_photo_required
        sim.registered_at, sim.registered_by_user_id = at, leader[0]
        sim.stage_started_at = at
        self._act(sim, at, A.register, leader, reclock=True,
                  data={"standard_id": standard.id, "register_condition": standard.register_condition})
        suggested = standard.department_id
        wrong_first = rng.random() < 0.04
        for attempt in range(2):
            if not self._dispatch(sim, suggested, wrong=wrong_first and attempt == 0):
                return
            if not (wrong_first and attempt == 0):
                break
            at = self._when(sim, sim.handle_started_at, sim.due_at, lo=0.02, hi=0.2, late=0)
            if at > now:
                return
            previous = sim.department_id
            sim.return_count += 1
            sim.department_id = sim.handle_started_at = None
            sim.stage_started_at = at
            self._act(sim, at, A.return_case, self._handler(previous), reclock=True,
                      data={"reason": rng.choice(RETURN_REASONS), "department_id": previous})
        self._handling(sim)

    def _handler(self, department_id: int | None) -> tuple[int | None, str]:
        u = self.cast.users["handler"]
        if department_id is not None and department_id == u.department_id and self.rng.random() < 0.5:
            return u.id, u.display_name
        names = self.cast.handlers.get(department_id or -1) or ["处置人员"]
        return None, self.rng.choice(names)

    def _dispatch(self, sim: Sim, suggested: int, *, wrong: bool) -> bool:
        u, rng = self.cast.users, self.rng
        at = self._when(sim, sim.stage_started_at, sim.due_at, late=0.03)
        if at > self.now:
            return False
        department_id = suggested
        street_office = self.cast.departments.get(f"ST-{sim.street_code}")
        if wrong or (street_office is not None and self.cast.department_by_id[suggested].code == "BY-ZF"
                     and rng.random() < 0.35):
            # the street office enforces street trading and parking on its own streets; a wrong
            # first dispatch goes there too and comes back
            department_id = street_office.id if street_office is not None else suggested
            if wrong and department_id == suggested:
                department_id = self.cast.departments["BY-HW"].id
        department = self.cast.department_by_id[department_id]
        sim.department_id = department_id
        sim.dispatched_at = at
        sim.first_dispatched_at = sim.first_dispatched_at or at
        sim.dispatched_by_user_id = u["dispatcher"].id
        sim.accepted_at = None
        sim.handle_started_at = at
        sim.extended_amount = 0.0
        self._act(sim, at, A.dispatch, (u["dispatcher"].id, u["dispatcher"].display_name), reclock=True,
                  data={"department_id": department_id, "department": department.name,
                        "suggested_department_id": suggested})
        return True

    def _handling(self, sim: Sim) -> None:
        rng, now = self.rng, self.now
        u = self.cast.users
        leader = (u["shift_leader"].id, u["shift_leader"].display_name)
        inspector = sim.actor_inspector
        handler = self._handler(sim.department_id)
        at = self._when(sim, sim.handle_started_at, sim.due_at, lo=0.01, hi=0.15, late=0.01)
        if at > now:
            return
        sim.accepted_at = at
        self._act(sim, at, A.accept, handler)
        rounds = 0
        while True:
            rounds += 1
            if not self._side_flows(sim, handler, leader):
                return
            start = sim.handle_started_at
            at = self._when(sim, start, sim.due_at, late=0.07)
            if sim.due_at is not None and at > sim.due_at and now > sim.due_at and rng.random() < 0.3:
                urge_at = max(sim.due_at + (min(at, now) - sim.due_at) * rng.uniform(0.1, 0.9),
                              sim.updated_at + timedelta(minutes=1))
                sim.urge_count += 1
                self._act(sim, urge_at, A.urge, leader, note="请尽快处置",
                          data={"urge_count": sim.urge_count})
            if at > now:
                return
            sim.handled_at = at
            sim.pending_request = sim.pending_payload = sim.pending_since = None
            check_due = deadlines.due_instant(self.cfg.calendar, at, sim.check_limit, sim.check_unit)
            assert check_due is not None
            self._open_task(sim, "check", at, check_due)
            self._act(sim, at, A.handle, handler, reclock=True,
                      data={"result": rng.choice(RESULTS), "evidence": []})
            at = self._when(sim, at, sim.due_at, late=0.05)
            if at > now:
                return
            passed = rounds > 1 or rng.random() < 0.95
            sim.checked_at, sim.check_passed = at, passed
            sim.checked_by_staff_id = sim.grid_inspector_staff_id
            self._finish_task(sim, "check", at, passed, inspector[0])
            self._act(sim, at, A.check, inspector, data={"passed": passed, "evidence": []})
            at = at + timedelta(minutes=rng.uniform(5, 180))
            if at > now:
                return
            if passed:
                break
            reason = REWORK_REASONS[0]
            sim.rework_count += 1
            sim.handle_started_at = at
            sim.extended_amount = 0.0
            sim.handled_at = None
            sim.check_passed = None
            self._act(sim, at, A.rework, leader, reclock=True,
                      data={"reason": reason, "department_id": sim.department_id})
        sim.closed_at = sim.ended_at = at
        sim.closed_by_user_id = leader[0]
        self._act(sim, at, A.close, leader)
        overdue = sim.handle_due_at is not None and sim.handled_at is not None \
            and sim.handled_at > sim.handle_due_at
        if overdue and rng.random() < 0.25:
            self._appeal(sim, at, handler, leader)
