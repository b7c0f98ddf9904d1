"""Role-fitting navigation for the console's top bar, and the base template's per-request context."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from starlette.routing import Match

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
    NavItem("/org", "Organisation", "org:read"),
    NavItem("/admin/users", "Users", "identity:manage_users"),
    NavItem("/audit", "Audit log", "audit:read"),
)


def nav_for(user: User | UserView, served: Collection[str] | None = None) -> list[NavItem]:
    """The pages this user may open, in menu order; with `served`, only those this build serves."""
    perms, roles = user.permissions, set(user.roles)
    return [item for item in NAV_ITEMS if item.perm in perms and (not item.roles or item.roles & roles)
            and (served is None or item.href in served)]


def served_pages(app: FastAPI) -> frozenset[str]:
    """The menu pages the app answers, so that the menu never links to a domain not installed yet."""
    cached = getattr(app.state, "served_pages", None)
    if cached is None:
        cached = frozenset(item.href for item in NAV_ITEMS if _serves(app, item.href))
        app.state.served_pages = cached
    return cached


def _serves(app: FastAPI, path: str) -> bool:
    scope = {"type": "http", "path": path, "method": "GET", "root_path": "", "headers": [],
             "query_string": b""}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


def page_context(request: Request) -> dict[str, Any]:
    """Hooked into core.web.render as app.state.page_context: what base.html needs on every page."""
    user: UserView | None = getattr(request.state, "user", None)
    if user is None:
        return {"nav_items": [], "role_labels": [], "csrf_token": None}
    return {
        "nav_items": nav_for(user, served_pages(request.app)),
        "role_labels": [t(request, ROLE_LABELS.get(r, r)) for r in user.roles],
        "csrf_token": getattr(request.state, "csrf_token", None),
    }
