"""Identity queries: users, sessions, tokens, and the org look-ups that validate a user's bindings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import Boolean, Integer, Select, String, bindparam, column, func, select, table
from sqlalchemy.orm import Session

from zhili.core.audit import AuditEntry
from zhili.identity.models import ApiToken, LoginSession, User

# Read-only views of org's tables, by name. identity does not import org, so that org's own routes
# can use identity's guards without an import cycle between the two domains.
_department = table(
    "department",
    column("id", Integer),
    column("code", String),
    column("name", String),
    column("kind", String),
    column("active", Boolean),
)
_staff = table("staff", column("id", Integer), column("post", String), column("active", Boolean))
_area = table("admin_area", column("id", Integer), column("code", String), column("level", String))
_grid = table("responsibility_grid", column("street_id", Integer), column("inspector_staff_id", Integer))


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.username)).all()


def session_by_digest(session: Session, digest: str) -> LoginSession | None:
    return session.scalars(select(LoginSession).where(LoginSession.token_digest == digest)).one_or_none()


_Credential = TypeVar("_Credential", LoginSession, ApiToken)


def _with_user_query(model: type[_Credential]) -> Select[_Credential, User]:
    return select(model, User).join(User, User.id == model.user_id).where(
        model.token_digest == bindparam("digest"))


# Built once, the digest bound per call: every request asks, and building the joined SELECT cost
# about as much as running it (its operators and coercions, every time).
_SESSION_WITH_USER = _with_user_query(LoginSession)
_TOKEN_WITH_USER = _with_user_query(ApiToken)


def session_with_user(session: Session, digest: str) -> tuple[LoginSession, User] | None:
    """A login session and its user in one query (every browser request asks)."""
    return _with_user(session, _SESSION_WITH_USER, digest)


def api_token_with_user(session: Session, digest: str) -> tuple[ApiToken, User] | None:
    """An API token and its user in one query (every program's request asks)."""
    return _with_user(session, _TOKEN_WITH_USER, digest)


def _with_user(
    session: Session, query: Select[_Credential, User], digest: str
) -> tuple[_Credential, User] | None:
    row = session.execute(query, {"digest": digest}).one_or_none()
    return None if row is None else (row[0], row[1])


def get_api_token(session: Session, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def tokens_of(session: Session, user_id: int) -> Sequence[ApiToken]:
    return session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
    ).all()


def department_exists(session: Session, department_id: int) -> bool:
    return session.scalar(select(_department.c.id).where(_department.c.id == department_id)) is not None


def staff_exists(session: Session, staff_id: int) -> bool:
    return session.scalar(select(_staff.c.id).where(_staff.c.id == staff_id)) is not None


def known_street_codes(session: Session, codes: Sequence[str]) -> set[str]:
    """Which of the codes name a street or town (the level users are scoped at)."""
    if not codes:
        return set()
    rows = session.scalars(
        select(_area.c.code).where(_area.c.code.in_(list(codes)), _area.c.level.in_(("street", "town")))
    )
    return set(rows)


def departments(session: Session) -> list[tuple[int, str, str]]:
    """(id, code, name) of active departments, for the user form."""
    rows = session.execute(
        select(_department.c.id, _department.c.code, _department.c.name)
        .where(_department.c.active.is_(True))
        .order_by(_department.c.code)
    )
    return [(r[0], r[1], r[2]) for r in rows]


def department_by_kind(session: Session, kind: str) -> int | None:
    return session.scalars(
        select(_department.c.id).where(_department.c.kind == kind).order_by(_department.c.id)
    ).first()


def street_inspector_staff(session: Session, street_code: str) -> int | None:
    """An active inspector assigned to a responsibility grid of the street (for the demo)."""
    return session.scalars(
        select(_staff.c.id)
        .join(_grid, _grid.c.inspector_staff_id == _staff.c.id)
        .join(_area, _area.c.id == _grid.c.street_id)
        .where(_area.c.code == street_code, _staff.c.post == "inspector", _staff.c.active.is_(True))
        .order_by(_staff.c.id)
    ).first()


def audit_page(session: Session, *, page: int, per_page: int) -> tuple[Sequence[AuditEntry], int]:
    """Newest first; returns the page's rows and the total count."""
    total = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    rows = session.scalars(
        select(AuditEntry).order_by(AuditEntry.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return rows, total
