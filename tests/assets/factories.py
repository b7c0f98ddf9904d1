"""Small typed factories for the assets tests: components at known places, users by name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhili.assets import service
from zhili.assets.models import Component
from zhili.assets.schemas import ComponentCreate
from zhili.identity.models import User

# Points inside Baiyun: 三元里街道 (440111002, the inspector's street) and a town far from it.
SANYUANLI = (113.2603, 23.1623)
TOWN = (113.45, 23.40)
OUTSIDE = (113.33, 23.12)  # Yuexiu, south of the district


def user(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def make_component(
    session: Session,
    *,
    class_code: str = "03005",
    at: tuple[float, float] = SANYUANLI,
    status: str = "intact",
    code: str | None = None,
    department: str | None = "BY-HW",
    attributes: dict[str, Any] | None = None,
    name: str = "测试垃圾箱",
    actor: str = "admin",
    **extra: Any,
) -> Component:
    data = ComponentCreate.model_validate(
        {
            "class_code": class_code,
            "name": name,
            "lon": at[0],
            "lat": at[1],
            "status": status,
            "code": code,
            "department": department,
            "attributes": attributes or {},
            **extra,
        }
    )
    return service.register_component(session, user(session, actor), data)
