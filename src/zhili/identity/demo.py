"""Demo logins: one user per role, bound to the demo departments and staff when org has seeded them."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from zhili.identity import repository, service

log = logging.getLogger(__name__)

DEMO_PASSWORD = "Zhili@2026"  # noqa: S105 - printed by `zhili demo`; never used outside the demo
DEMO_STREET = "440111002"

# (username = role, display name); district-wide unless bound below.
_DEMO_USERS: tuple[tuple[str, str], ...] = (
    ("admin", "系统管理员 王建国"),
    ("operator", "受理员 李晓敏"),
    ("shift_leader", "值班长 陈志强"),
    ("dispatcher", "派遣员 刘芳"),
    ("handler", "环卫处置员 黄伟"),
    ("inspector", "监督员 周杰"),
    ("field_worker", "保洁员 吴秀兰"),
    ("finance_officer", "财务 郑丽"),
    ("gas_officer", "燃气专管员 孙磊"),
    ("leader", "分管领导 林海"),
    ("citizen", "市民 赵小明"),
)


def seed_demo_users(session: Session) -> list[tuple[str, str, str]]:
    """Create the demo logins that do not exist yet; returns (username, password, role) for all of them."""
    sanitation = repository.department_by_kind(session, "sanitation")
    gas = repository.department_by_kind(session, "gas")
    inspector_staff = repository.street_inspector_staff(session, DEMO_STREET)
    logins: list[tuple[str, str, str]] = []
    for role, display_name in _DEMO_USERS:
        department_id: int | None = None
        staff_id: int | None = None
        area_codes: list[str] = []
        if role in ("handler", "field_worker"):
            if sanitation is None:
                log.info("no sanitation department: demo user %r skipped", role)
                continue
            department_id = sanitation
        elif role == "gas_officer":
            department_id = gas
        elif role == "inspector" and inspector_staff is not None:
            staff_id, area_codes = inspector_staff, [DEMO_STREET]
        if repository.user_by_username(session, role) is None:
            service.create_user(
                session,
                None,
                username=role,
                password=DEMO_PASSWORD,
                display_name=display_name,
                roles=[role],
                department_id=department_id,
                staff_id=staff_id,
                area_codes=area_codes,
            )
        logins.append((role, DEMO_PASSWORD, role))
    return logins
