"""Row scope of cases: what a user may see of case_record. The one home of it: every list and detail
query starts from `visible_to(user)` (or the clause of the user's `Scope`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, false, select, true

from zhili.cases.models import CaseRecord
from zhili.identity.scope import department_id_for, department_scoped, street_codes_for

if TYPE_CHECKING:
    from zhili.identity.models import User


def department_scope(user: User) -> tuple[bool, int | None]:
    """(scoped, department id): a handler sees only their department's cases; scoped with None sees none."""
    return department_scoped(user), department_id_for(user)


@dataclass(frozen=True)
class Scope:
    """What a user may see of case_record, as a value: equal scopes give the same WHERE clause."""

    reporter_id: int | None  # set when the user may only see the cases they reported
    department: tuple[bool, int | None] = (False, None)  # department_scope
    streets: tuple[str, ...] | None = None  # street_codes_for


def scope_of(user: User) -> Scope:
    if not user.has("cases:read"):
        # Citizens and systems that only report see the cases they reported themselves.
        return Scope(reporter_id=user.id)
    streets = street_codes_for(user)
    return Scope(None, department_scope(user), None if streets is None else tuple(streets))


def clause_of(scope: Scope) -> Any:
    """The WHERE clause of a scope."""
    if scope.reporter_id is not None:
        return CaseRecord.reporter_user_id == scope.reporter_id
    clauses: list[Any] = []
    scoped, dept = scope.department
    if scoped:
        clauses.append(CaseRecord.department_id == dept if dept is not None else false())
    if scope.streets is not None:
        clauses.append(CaseRecord.street_code.in_(scope.streets))
    if not clauses:
        return true()
    return clauses[0] if len(clauses) == 1 else clauses[0] & clauses[1]


def scope_clause(user: User) -> Any:
    """The WHERE clause of what `user` may see of case_record."""
    return clause_of(scope_of(user))


def visible_to(user: User) -> Select[Any]:
    return select(CaseRecord).where(scope_clause(user))
