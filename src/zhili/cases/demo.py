"""A small set of demo cases so the queues are not empty: reports of the last fortnight, up to handling.

Each case is made through the real services (intake, then a prefix of the main line), so its
timeline, deadlines and audit are what production would write. They stop before the handling
result, which needs after-photos the demo does not have; a year of evaluation data is a separate,
bulk generator.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

import shapely
from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhili.cases import repository
from zhili.cases.config import config_for
from zhili.cases.models import CaseRecord
from zhili.cases.schemas import ActionFields, CaseCreate, CaseSource, StandardFilters
from zhili.cases.service.intake import report_case
from zhili.cases.service.timeline import Actor
from zhili.cases.service.workflow import apply_action
from zhili.cases.states import CaseAction
from zhili.core import clock
from zhili.core.errors import DomainError
from zhili.identity.models import User
from zhili.org import service as org_service

log = logging.getLogger(__name__)

ADDRESSES = ("白云大道北", "机场路", "广园路", "同和路", "云城西路", "石井大道", "太和镇沙太北路", "嘉禾望岗")
DESCRIPTIONS = {
    "06010": "路边有暴露垃圾",
    "06012": "道路不洁，落叶和纸屑成片",
    "06042": "垃圾桶满溢",
    "06001": "正在搭建违章棚",
    "06029": "夜间露天烧烤",
    "07001": "电线杆上贴满小广告",
    "09001": "游商占道叫卖",
    "09006": "店铺占道经营",
}
STEPS = (
    (CaseAction.register, "shift_leader"),
    (CaseAction.dispatch, "dispatcher"),
    (CaseAction.accept, "handler"),
)


def seed_demo_cases(session: Session, *, count: int = 60, seed: int = 2026) -> int:
    """Make `count` demo cases once (none if the database already has cases); returns how many."""
    if session.scalar(select(func.count()).select_from(CaseRecord)):
        return 0
    users = {
        u.username: u
        for u in session.scalars(
            select(User).where(
                User.username.in_(["inspector", "operator", "shift_leader", "dispatcher", "handler"])
            )
        )
    }
    if len(users) < 5:
        log.info("demo cases skipped: the demo users are missing")
        return 0
    standards = [
        s
        for s in repository.list_standards(session, StandardFilters(class_kind="matter"))
        if s.class_code in DESCRIPTIONS and s.condition_no == 1
    ]
    index = org_service.area_index(session)
    street_grids = [g for g in index.grids if g.inspector_staff_id is not None]
    # One case in five is a citizen's or the hotline's report in a grid the demo inspector patrols,
    # waiting for them to verify it on site: whoever logs in as the inspector has work on the phone.
    own_grids = [g for g in street_grids if g.inspector_staff_id == users["inspector"].staff_id]
    rng = random.Random(seed)
    cfg = config_for()
    now = clock.now()
    made = 0
    for i in range(count):
        own = bool(own_grids) and i % 5 == 0
        standard = rng.choice(standards)
        grid = rng.choice(own_grids if own else street_grids)
        point = shape(grid.geometry).representative_point()
        lon, lat = shapely.get_x(point), shapely.get_y(point)
        at = now - timedelta(minutes=rng.randint(60, 14 * 24 * 60))
        source = rng.choice(("public", "hotline") if own else ("inspector", "inspector", "public", "hotline"))
        data = CaseCreate(
            source=CaseSource(source),
            class_kind="matter",
            class_code=standard.class_code,
            lon=lon,
            lat=lat,
            address=f"白云区{rng.choice(ADDRESSES)}{rng.randint(1, 999)}号",
            description=DESCRIPTIONS[standard.class_code],
        )
        try:
            with session.begin_nested():
                reporter = users["inspector"] if source == "inspector" else users["operator"]
                case = report_case(session, reporter, data, cfg, now=at)
                if case.status == "to_verify" and not own and rng.random() < 0.6:
                    # Confirmed by the command centre (a call back, a camera): the task is another
                    # inspector's, and the demo inspector may verify only in their own grids.
                    at += timedelta(minutes=rng.randint(10, 90))
                    apply_action(
                        session,
                        Actor(users["operator"]),
                        case,
                        CaseAction.verify,
                        ActionFields(confirmed=True),
                        cfg,
                        version=None,
                        now=at,
                    )
                depth = rng.randint(0, len(STEPS)) if case.status == "to_register" else 0
                for action, username in STEPS[:depth]:
                    if (
                        action is CaseAction.dispatch
                        and standard.department_id != users["handler"].department_id
                    ):
                        break  # the demo handler belongs to sanitation only
                    at += timedelta(minutes=rng.randint(5, 240))
                    if at > now:
                        break
                    fields = ActionFields(standard_id=standard.id)
                    apply_action(
                        session, Actor(users[username]), case, action, fields, cfg, version=None, now=at
                    )
            made += 1
        except DomainError as exc:  # e.g. a deadline in a year without holiday data
            log.info("demo case skipped: %s", exc.detail)
    return made
