"""Users, browser login sessions and API tokens (secrets are stored only as SHA-256 digests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhili.core.db import Base, JSONType, UTCDateTime
from zhili.identity.permissions import permissions_for


class User(Base):
    """A login: console staff, field staff or a registered citizen."""

    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSONType)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    # Street codes (9 digits) the user works in; empty means the whole district.
    area_codes: Mapped[list[str]] = mapped_column(JSONType)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once by SQLAlchemy at mapping

    @property
    def permissions(self) -> frozenset[str]:
        return permissions_for(tuple(self.roles or ()))

    def has(self, perm: str) -> bool:
        return perm in self.permissions

    @property
    def is_district_wide(self) -> bool:
        return not self.area_codes

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username} {self.roles}>"


class LoginSession(Base):
    """A browser session: the cookie holds an opaque token, the table only its digest."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class ApiToken(Base):
    """A bearer token for programs; the plaintext is shown once, at issue."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # The first characters of the token, so a person can tell their tokens apart in a list.
    prefix: Mapped[str] = mapped_column(String(12))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class UserView:
    """A plain copy of the caller for templates (request.state.user).

    Error pages are rendered after the request's transaction has rolled back and its session closed;
    an ORM User is expired and detached by then, this copy still reads.
    """

    id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    department_id: int | None
    staff_id: int | None
    area_codes: tuple[str, ...]
    permissions: frozenset[str]

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            roles=tuple(user.roles),
            department_id=user.department_id,
            staff_id=user.staff_id,
            area_codes=tuple(user.area_codes),
            permissions=user.permissions,
        )

    def has(self, perm: str) -> bool:
        return perm in self.permissions

    @property
    def is_district_wide(self) -> bool:
        return not self.area_codes
