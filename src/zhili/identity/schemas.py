"""Pydantic schemas of the identity API, named by purpose."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, computed_field

from zhili.identity.permissions import permissions_for


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    phone: str | None
    roles: list[str]
    department_id: int | None
    staff_id: int | None
    area_codes: list[str]
    is_active: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def permissions(self) -> list[str]:
        return sorted(permissions_for(tuple(self.roles)))


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=40, examples=["zhang.wei"])
    password: str = Field(min_length=8, max_length=128)
    display_name: str = Field(min_length=1, max_length=60)
    roles: list[str] = Field(min_length=1, max_length=11, examples=[["operator"]])
    department_id: int | None = None
    staff_id: int | None = None
    area_codes: list[str] = Field(
        default_factory=list, max_length=50, description="Street codes (9 digits); empty = whole district"
    )
    phone: str | None = Field(default=None, max_length=20)


class TokenLogin(BaseModel):
    """Username and password exchanged for a bearer token (for programs, not browsers)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=1, max_length=128)
    name: str = Field(default="api", min_length=1, max_length=80, description="What the token is for")
    expires_days: int = Field(default=30, ge=1, le=365)


class ApiTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    expires_days: int = Field(default=90, ge=1, le=365)


class ApiTokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenIssued(BaseModel):
    """The one response that carries the token's plaintext: store it now, it is not shown again."""

    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    details: ApiTokenRead
    user: UserRead | None = None
