"""Row scope for other domains' repositories: which streets and which department a user may see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhili.identity.permissions import DEPARTMENT_ROLES, OVERSIGHT_ROLES

if TYPE_CHECKING:
    from zhili.identity.models import User


def street_codes_for(user: User) -> list[str] | None:
    """The street codes the user is limited to, or None when they see the whole district."""
    return list(user.area_codes) if user.area_codes else None


def department_scoped(user: User) -> bool:
    """Whether the user sees only their department's work (handling staff, field workers).

    A user who also holds an oversight role (dispatcher, leader, …) is not narrowed by it.
    """
    roles = set(user.roles)
    return bool(roles & DEPARTMENT_ROLES and not roles & OVERSIGHT_ROLES)


def department_id_for(user: User) -> int | None:
    """The department whose work alone the user sees, else None (see department_scoped)."""
    return user.department_id if department_scoped(user) else None
