"""Roles and the permissions they grant: the one table every route guard is checked against.

Permission strings are "domain:action" and belong to their domain; this module only maps the city's
roles onto them. A route that names a permission missing here fails at import (see deps.require),
so a typo cannot silently lock everyone out of a page.
"""

from __future__ import annotations

# Every permission known to the platform, grouped by the domain that owns it.
ORG = frozenset({"org:read", "org:manage"})
CATALOG = frozenset({"catalog:read", "catalog:manage"})
IDENTITY = frozenset({"identity:manage_users"})
AUDIT = frozenset({"audit:read"})
MAP = frozenset({"map:view"})
ASSETS = frozenset({"assets:read", "assets:manage"})
CASES = frozenset(
    {
        "cases:report",  # 上报: inspectors, citizens, hotline
        "cases:verify",  # 核实: confirm a report before registering
        "cases:register",  # 立案
        "cases:dispatch",  # 派遣 to a handling department
        "cases:handle",  # 处置, by the handling department
        "cases:check",  # 核查: confirm the work was done
        "cases:close",  # 结案
        "cases:read",
        "cases:supervise",  # 督办 and timeout oversight
        "cases:manage_standards",  # 立案/结案条件, 处置时限
    }
)
WORKORDERS = frozenset({"workorders:read", "workorders:manage", "workorders:do"})
EVALUATION = frozenset({"evaluation:read"})

ALL_PERMISSIONS: frozenset[str] = (
    ORG | CATALOG | IDENTITY | AUDIT | MAP | ASSETS | CASES | WORKORDERS | EVALUATION
)

# What every console (staff) role can look up: the reference data behind any case or map.
_REFERENCE = frozenset({"org:read", "catalog:read", "assets:read", "map:view"})
_READ_ONLY = frozenset(p for p in ALL_PERMISSIONS if p.endswith(":read")) | {"map:view"}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": ALL_PERMISSIONS,
    # 受理员: takes reports in, asks inspectors to verify and check.
    "operator": _REFERENCE | {"cases:read", "cases:report", "cases:verify", "cases:check", "workorders:read"},
    # 值班长: decides to register and to close, and supervises the shift.
    "shift_leader": _REFERENCE
    | {
        "cases:read",
        "cases:report",
        "cases:verify",
        "cases:register",
        "cases:check",
        "cases:close",
        "cases:supervise",
        "workorders:read",
        "evaluation:read",
    },
    # 派遣员: sends registered cases and routine work to the handling departments.
    "dispatcher": _REFERENCE
    | {"cases:read", "cases:dispatch", "cases:supervise", "workorders:read", "workorders:manage"},
    # 处置人员: staff of a handling department; sees and handles its own department's work only.
    "handler": _REFERENCE | {"cases:read", "cases:handle", "workorders:read", "workorders:manage"},
    # 监督员: patrols a grid, reports, verifies and checks on site.
    "inspector": _REFERENCE | {"cases:read", "cases:report", "cases:verify", "cases:check"},
    # 作业人员: cleaners, gardeners, repair crews doing work orders.
    "field_worker": frozenset(
        {"map:view", "assets:read", "catalog:read", "workorders:read", "workorders:do"}
    ),
    "finance_officer": frozenset({"org:read", "map:view", "evaluation:read"}),
    "gas_officer": _REFERENCE | {"cases:read", "cases:report"},
    # 领导: dashboards and every list, changes nothing.
    "leader": frozenset(_READ_ONLY),
    "citizen": frozenset({"cases:report"}),
}

# English msgids; the zh_CN catalogue carries the city's own words.
ROLE_LABELS: dict[str, str] = {
    "admin": "Administrator",
    "operator": "Operator",
    "shift_leader": "Shift leader",
    "dispatcher": "Dispatcher",
    "handler": "Handling staff",
    "inspector": "Inspector",
    "field_worker": "Field worker",
    "finance_officer": "Finance officer",
    "gas_officer": "Gas safety officer",
    "leader": "Leader",
    "citizen": "Citizen",
}

ROLES: tuple[str, ...] = tuple(ROLE_PERMISSIONS)

# Roles whose members only see their own department's work (see scope.department_id_for).
DEPARTMENT_ROLES = frozenset({"handler", "field_worker"})
# Roles that oversee the whole workflow; they override department scoping when a user holds both.
OVERSIGHT_ROLES = frozenset({"admin", "operator", "shift_leader", "dispatcher", "leader"})
# Roles that work out on the street with a phone (the /m pages).
FIELD_ROLES = frozenset({"inspector", "field_worker", "handler"})


def permissions_for(roles: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The union of what the roles grant; an unknown role grants nothing."""
    granted: frozenset[str] = frozenset()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return granted
