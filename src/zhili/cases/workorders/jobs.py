"""Scheduled work: generate orders ahead of time from the plans, and draw done orders for checks.

Both are idempotent. Generation creates only the (plan, window start) pairs not there yet — the
same pair is the table's unique key, so even two workers racing cannot double an order (the loser's
transaction fails and its next run finds nothing to do). The draw considers only done orders never
drawn and marks every one it considered, so a second run draws nothing new.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from zhili.cases.workorders import repository
from zhili.cases.workorders.models import WorkOrder, WorkOrderActivity, WorkPlan
from zhili.cases.workorders.plans import site_tz
from zhili.cases.workorders.recurrence import day_start, days, local_day, windows_on
from zhili.cases.workorders.schemas import Recurrence
from zhili.core import audit, clock

GENERATE_DAYS = 2  # the scheduled job keeps today and tomorrow generated
_CHUNK = 500


def order_rows(
    plans: Sequence[WorkPlan],
    first_day: Any,
    count: int,
    tz: ZoneInfo,
    existing: set[tuple[int, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Rows for the windows of `plans` on `count` local days from `first_day` that are not in `existing`."""
    rows: list[dict[str, Any]] = []
    for plan in plans:
        rec = Recurrence.model_validate(plan.recurrence)
        grace = timedelta(minutes=plan.grace_minutes)
        for day in days(first_day, count):
            if day < plan.starts_on or (plan.ends_on is not None and day > plan.ends_on):
                continue
            for start, end in windows_on(rec, day, tz):
                # A window already over when the plan was made cannot be owed by anyone.
                if end <= plan.created_at or (plan.id, start) in existing:
                    continue
                rows.append(
                    {
                        "plan_id": plan.id,
                        "window_start": start,
                        "window_end": end,
                        "due_at": end + grace,
                        "status": "planned",
                        "title": plan.name,
                        "task_type": plan.task_type,
                        "street_code": plan.street_code,
                        "department_id": plan.department_id,
                        "team_id": plan.team_id,
                        "assignee_staff_id": plan.assignee_staff_id,
                        "min_photos": plan.min_photos,
                        "tolerance_m": plan.tolerance_m,
                        "sampled": False,
                        "check_count": 0,
                        "check_fail_count": 0,
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                )
    return rows


def generate_orders(
    session: Session,
    *,
    days_ahead: int = GENERATE_DAYS,
    plans: Sequence[WorkPlan] | None = None,
    now: datetime | None = None,
    tz: ZoneInfo | None = None,
    actor: str | None = None,
) -> int:
    """Create the missing orders of the next `days_ahead` local days (today first); returns how many."""
    now = now or clock.now()
    tz = tz or site_tz()
    chosen = list(plans) if plans is not None else list(repository.active_plans(session))
    chosen = [p for p in chosen if p.active]
    if not chosen or days_ahead < 1:
        return 0
    today = local_day(now, tz)
    existing = repository.window_starts(
        session,
        [p.id for p in chosen],
        day_start(today, tz),
        day_start(today + timedelta(days=days_ahead), tz),
    )
    rows = order_rows(chosen, today, days_ahead, tz, existing, now)
    if rows:
        session.execute(insert(WorkOrder), rows)
        audit.record(
            session,
            actor=actor,
            action="workorders.generate",
            entity_type="work_order",
            entity_id=f"{today.isoformat()}+{days_ahead}d",
            after={"created": len(rows), "plans": len({r["plan_id"] for r in rows})},
        )
    return len(rows)


def draw_stratified(by_plan: dict[int, list[int]], rate: float, seed: int | str) -> list[int]:
    """round(rate × n) of all the ids, spread over the plans in proportion (largest remainder).

    Every plan gets at least floor(rate × its count), so a small team is not left unchecked by
    chance; within a plan the ids are drawn by a generator seeded with (seed, rate, plan).
    """
    total = sum(len(ids) for ids in by_plan.values())
    k = min(total, math.floor(rate * total + 0.5))
    quotas = {pid: rate * len(ids) for pid, ids in by_plan.items()}
    take = {pid: math.floor(q) for pid, q in quotas.items()}
    rest = sorted(by_plan, key=lambda pid: (-(quotas[pid] - take[pid]), pid))
    for pid in rest[: max(0, k - sum(take.values()))]:
        take[pid] += 1
    drawn: list[int] = []
    for pid in sorted(by_plan):
        rng = random.Random(f"{seed}:{rate}:{pid}")
        drawn.extend(rng.sample(sorted(by_plan[pid]), min(take[pid], len(by_plan[pid]))))
    return sorted(drawn)


def draw_checks(
    session: Session,
    *,
    until: datetime | None = None,
    seed: int | None = None,
    now: datetime | None = None,
    tz: ZoneInfo | None = None,
    actor: str | None = None,
    department_id: int | None = None,
) -> tuple[int, list[int]]:
    """抽查: among done orders never drawn (done before `until`), draw each plan rate's share for a check.

    Orders are grouped by their plan's sample rate and each group gets round(rate × n) draws, spread
    over the plans in proportion, so the share is the configured one and no plan is skipped by chance.
    The seed defaults to the local date, which makes a day's draw reproducible for whoever audits it.
    Returns (considered, drawn ids).
    """
    now = now or clock.now()
    until = until or now
    seed = seed if seed is not None else local_day(now, tz or site_tz()).toordinal()
    rows = repository.undrawn_done(session, until, department_id=department_id)
    if not rows:
        return 0, []
    groups: dict[float, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for order_id, plan_id, rate in rows:
        groups[rate][plan_id].append(order_id)
    drawn: list[int] = []
    for rate in sorted(groups):
        drawn.extend(draw_stratified(groups[rate], rate, seed))
    drawn.sort()
    considered = [order_id for order_id, _plan, _rate in rows]
    for i in range(0, len(considered), _CHUNK):
        session.execute(
            update(WorkOrder)
            .where(WorkOrder.id.in_(considered[i : i + _CHUNK]))
            .values(drawn_at=now, version=WorkOrder.version + 1),
            execution_options={"synchronize_session": False},
        )
    for i in range(0, len(drawn), _CHUNK):
        session.execute(
            update(WorkOrder).where(WorkOrder.id.in_(drawn[i : i + _CHUNK])).values(sampled=True),
            execution_options={"synchronize_session": False},
        )
    if drawn:
        session.execute(
            insert(WorkOrderActivity),
            [
                {
                    "order_id": order_id,
                    "at": now,
                    "action": "draw",
                    "from_status": "done",
                    "to_status": "done",
                    "actor_user_id": None,
                    "actor_name": actor or "system",
                    "note": None,
                    "data": {"seed": seed},
                }
                for order_id in drawn
            ],
        )
    session.expire_all()  # bulk updates: objects loaded earlier must re-read drawn_at, sampled, version
    audit.record(
        session,
        actor=actor,
        action="workorders.draw_checks",
        entity_type="work_order",
        entity_id=str(seed),
        after={"considered": len(considered), "drawn": drawn},
    )
    return len(considered), drawn


# --- the scheduled jobs (wiring.SCHEDULED_JOBS) -----------------------------------------------------


def generate_ahead(session: Session) -> int:
    """Keep today's and tomorrow's orders generated."""
    return generate_orders(session)


def draw_yesterday_and_before(session: Session) -> int:
    """Draw the checks among orders done before today (local), seeded by today's date."""
    tz = site_tz()
    now = clock.now()
    _considered, drawn = draw_checks(session, until=day_start(local_day(now, tz), tz), now=now, tz=tz)
    return len(drawn)
