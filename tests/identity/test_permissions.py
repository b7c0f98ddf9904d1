"""The role table, row scope and navigation: pure rules, no database."""

from __future__ import annotations

import pytest

from zhili.identity import nav, scope
from zhili.identity.deps import require
from zhili.identity.models import User
from zhili.identity.permissions import ALL_PERMISSIONS, ROLE_LABELS, ROLE_PERMISSIONS, permissions_for

EXPECTED_ROLES = {
    "admin",
    "operator",
    "shift_leader",
    "dispatcher",
    "handler",
    "inspector",
    "field_worker",
    "finance_officer",
    "gas_officer",
    "leader",
    "citizen",
}
CONTRACT_PERMISSIONS = {
    "org:read",
    "org:manage",
    "catalog:read",
    "catalog:manage",
    "identity:manage_users",
    "audit:read",
    "map:view",
    "assets:read",
    "assets:manage",
    "cases:report",
    "cases:verify",
    "cases:register",
    "cases:dispatch",
    "cases:handle",
    "cases:check",
    "cases:close",
    "cases:read",
    "cases:supervise",
    "cases:manage_standards",
    "workorders:read",
    "workorders:manage",
    "workorders:do",
    "evaluation:read",
}


def _user(*roles: str, department_id: int | None = None, area_codes: list[str] | None = None) -> User:
    return User(
        username="u",
        display_name="U",
        roles=list(roles),
        department_id=department_id,
        area_codes=area_codes or [],
    )


def test_the_contract_roles_and_permissions_all_exist() -> None:
    assert set(ROLE_PERMISSIONS) == EXPECTED_ROLES
    assert set(ROLE_LABELS) == EXPECTED_ROLES
    assert CONTRACT_PERMISSIONS <= ALL_PERMISSIONS


def test_every_granted_permission_is_a_known_domain_action() -> None:
    for role, perms in ROLE_PERMISSIONS.items():
        assert perms <= ALL_PERMISSIONS, role
        for perm in perms:
            domain, _, action = perm.partition(":")
            assert domain and action, perm


def test_admin_holds_every_permission() -> None:
    assert ROLE_PERMISSIONS["admin"] == ALL_PERMISSIONS


def test_leader_reads_everything_and_changes_nothing() -> None:
    leader = ROLE_PERMISSIONS["leader"]
    assert {"cases:read", "audit:read", "evaluation:read", "map:view", "workorders:read"} <= leader
    assert all(p.endswith(":read") or p == "map:view" for p in leader)


def test_citizen_may_only_report() -> None:
    assert ROLE_PERMISSIONS["citizen"] == frozenset({"cases:report"})


def test_workflow_steps_belong_to_their_posts() -> None:
    assert permissions_for(["dispatcher"]) >= {"cases:dispatch"}
    assert "cases:close" not in permissions_for(["dispatcher"])
    assert "cases:dispatch" not in permissions_for(["handler"])
    assert "cases:handle" in permissions_for(["handler"])
    assert {"cases:register", "cases:close"} <= permissions_for(["shift_leader"])
    assert {"cases:report", "cases:verify", "cases:check"} <= permissions_for(["inspector"])
    assert "cases:read" not in permissions_for(["field_worker"])
    assert "workorders:do" in permissions_for(["field_worker"])
    assert "identity:manage_users" not in permissions_for(list(EXPECTED_ROLES - {"admin"}))


def test_permissions_of_several_roles_are_the_union_and_unknown_roles_grant_nothing() -> None:
    assert permissions_for(["inspector", "citizen"]) == ROLE_PERMISSIONS["inspector"]
    assert permissions_for(["no_such_role"]) == frozenset()
    assert _user("handler", "dispatcher").has("cases:dispatch")


def test_require_refuses_a_misspelt_permission_at_import_time() -> None:
    with pytest.raises(ValueError, match="cases:dispach"):
        require("cases:dispach")


def test_street_scope_is_none_for_district_wide_users() -> None:
    assert scope.street_codes_for(_user("operator")) is None
    assert _user("operator").is_district_wide
    scoped = _user("inspector", area_codes=["440111002"])
    assert scope.street_codes_for(scoped) == ["440111002"]
    assert not scoped.is_district_wide


def test_department_scope_applies_to_department_staff_only() -> None:
    assert scope.department_id_for(_user("handler", department_id=7)) == 7
    assert scope.department_id_for(_user("field_worker", department_id=8)) == 8
    assert scope.department_id_for(_user("dispatcher", department_id=7)) is None
    # An oversight role widens the view even if the user also works in a department.
    assert scope.department_id_for(_user("handler", "dispatcher", department_id=7)) is None


def test_navigation_lists_only_pages_the_role_may_open() -> None:
    def hrefs(*roles: str) -> list[str]:
        return [item.href for item in nav.nav_for(_user(*roles))]

    assert hrefs("admin")[0] == "/map"
    assert "/admin/users" in hrefs("admin") and "/audit" in hrefs("admin")
    assert "/m" not in hrefs("admin")
    assert "/admin/users" not in hrefs("leader") and "/audit" in hrefs("leader")
    assert "/m" in hrefs("inspector") and "/m" in hrefs("field_worker") and "/m" in hrefs("handler")
    assert "/cases" not in hrefs("field_worker")
    assert hrefs("citizen") == []
    for roles in (("operator",), ("leader",), ("handler",), ("finance_officer",)):
        user = _user(*roles)
        assert all(user.has(item.perm) for item in nav.nav_for(user))


def test_navigation_leaves_out_pages_this_build_does_not_serve() -> None:
    served = {"/map", "/audit"}
    assert [item.href for item in nav.nav_for(_user("admin"), served)] == ["/map", "/audit"]
