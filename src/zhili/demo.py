"""The Baiyun demo: what `zhili demo` loads and what the test suite starts from."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhili.assets import demo as assets_demo
from zhili.cases import demo_history as cases_demo_history
from zhili.cases.service import standards as case_standards
from zhili.cases.workorders import demo as workorders_demo
from zhili.identity import demo as identity_demo
from zhili.org import demo as org_demo

log = logging.getLogger(__name__)

DEMO_PASSWORD = identity_demo.DEMO_PASSWORD


@dataclass
class DemoSummary:
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, role)
    counts: dict[str, int] = field(default_factory=dict)


def seed_baseline(session: Session) -> DemoSummary:
    """Geography, departments, staff and one user per role. Idempotent."""
    counts = org_demo.seed_demo_org(session)
    session.flush()
    summary = DemoSummary(logins=identity_demo.seed_demo_users(session), counts=dict(counts))
    added = case_standards.seed_demo_standards(session)
    if added:  # a second run reports nothing new, as the other counts do
        summary.counts["case_standards"] = added
    return summary


def seed_full(session: Session) -> DemoSummary:
    """Everything the demo shows: the baseline plus the scenario data of the domains that have it."""
    summary = seed_baseline(session)
    for name, seeder in _scenario_seeders():
        session.flush()
        count = seeder(session)
        if isinstance(count, int) and count:
            summary.counts[name] = count
    return summary


def _scenario_seeders() -> list[tuple[str, Callable[[Session], object]]]:
    # The year of case history is simulated in bulk (consistent with the engine, checked by its
    # tests); cases_demo.seed_demo_cases, which walks cases through the services, is for tests.
    return [
        ("components", assets_demo.seed_demo_components),
        ("case_history", cases_demo_history.seed_demo_year),
        ("work_orders", workorders_demo.seed_demo_workorders),
    ]


def table_count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)
