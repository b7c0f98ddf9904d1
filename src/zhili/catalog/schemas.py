"""Catalogue schemas, named by purpose."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["component", "matter"]


class ClassRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: Kind
    code: str
    major_code: str
    major_name: str
    name: str
    is_local: bool
    legacy_code: str | None
    description: str | None
    active: bool


class ClassFilters(BaseModel):
    kind: Kind | None = None
    major_code: str | None = Field(default=None, pattern=r"^\d{2}$")
    q: str | None = Field(default=None, max_length=40)
    include_inactive: bool = False


class LocalClassCreate(BaseModel):
    """A local extension class (e.g. 压缩站): minor code 900–999 inside an existing major class."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    code: str = Field(pattern=r"^\d{2}9\d{2}$", description="major 2 digits + 9xx")
    name: str = Field(min_length=1, max_length=60)
    description: str | None = Field(default=None, max_length=2000)
    legacy_code: str | None = Field(default=None, pattern=r"^\d{4}$")
