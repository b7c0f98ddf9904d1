"""Role-fitting navigation for the console's top bar, and the base template's per-request context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request

from zhili.core.web import t
from zhili.identity.permissions import FIELD_ROLES, ROLE_LABELS

if TYPE_CHECKING:
    from zhili.identity.models import User, UserView


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str  # English msgid; the template translates it
    perm: str
    # When set, the item is also limited to holders of one of these roles.
    roles: frozenset[str] = frozenset()


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("/map", "Map", "map:view"),
    NavItem("/cases", "Cases", "cases:read"),
    NavItem("/workorders", "Work orders", "workorders:read"),
    NavItem("/components", "Components", "assets:read"),
    NavItem("/evaluation", "Evaluation", "evaluation:read"),
    NavItem("/m", "Field", "map:view", roles=FIELD_ROLES),
    NavItem("/admin/users", "Users", "identity:manage_users"),
    NavItem("/audit", "Audit log", "audit:read"),
)


def nav_for(user: User | UserView) -> list[NavItem]:
    """The pages this user may open, in menu order."""
    perms, roles = user.permissions, set(user.roles)
    return [item for item in NAV_ITEMS if item.perm in perms and (not item.roles or item.roles & roles)]


def page_context(request: Request) -> dict[str, Any]:
    """Hooked into core.web.render as app.state.page_context: what base.html needs on every page."""
    user: UserView | None = getattr(request.state, "user", None)
    if user is None:
        return {"nav_items": [], "role_labels": [], "csrf_token": None}
    return {
        "nav_items": nav_for(user),
        "role_labels": [t(request, ROLE_LABELS.get(r, r)) for r in user.roles],
        "csrf_token": getattr(request.state, "csrf_token", None),
    }
