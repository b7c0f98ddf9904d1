"""Assets schemas, named by purpose: what the API takes and gives for components, history, map and import."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zhili.assets.states import Accuracy, DataSource, Status

Sha256 = str
CrsName = Literal["wgs84", "gcj02", "bd09"]


def _check_shas(shas: list[str]) -> list[str]:
    for sha in shas:
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ValueError(f"{sha!r} is not a SHA-256 (64 lowercase hex digits)")
    return shas


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ComponentCreate(_Form):
    """A new component; the 17-digit ID is assigned when `code` is empty."""

    code: str | None = Field(
        default=None,
        pattern=r"^\d{16,17}$",
        description="17-digit ID, or a legacy 16-digit one; empty = assign",
    )
    class_code: str = Field(pattern=r"^\d{5}$")
    name: str = Field(min_length=1, max_length=100)
    department: str | None = Field(default=None, max_length=100, description="主管部门: code, e.g. BY-HW")
    owner: str | None = Field(default=None, max_length=100)
    maintainer: str | None = Field(default=None, max_length=100)
    status: Status = "intact"
    lon: float
    lat: float
    crs: CrsName = "wgs84"
    address: str | None = Field(default=None, max_length=200)
    initial_date: date | None = None
    changed_date: date | None = None
    data_source: DataSource = "surveyed"
    accuracy: Accuracy | None = None
    photos: list[Sha256] = Field(default_factory=list, max_length=20)
    attributes: dict[str, Any] = Field(default_factory=dict)
    notes: str | None = Field(default=None, max_length=2000)

    @field_validator("photos")
    @classmethod
    def _shas(cls, v: list[str]) -> list[str]:
        return _check_shas(v)


class ComponentChange(_Form):
    """A change to a component; fields left out stay as they are. `version` is the one you read."""

    version: int = Field(ge=1, description="The version you read (optimistic locking)")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    department: str | None = Field(default=None, max_length=100)
    owner: str | None = Field(default=None, max_length=100)
    maintainer: str | None = Field(default=None, max_length=100)
    status: Status | None = None
    lon: float | None = None
    lat: float | None = None
    crs: CrsName = "wgs84"
    address: str | None = Field(default=None, max_length=200)
    initial_date: date | None = None
    changed_date: date | None = None
    data_source: DataSource | None = None
    accuracy: Accuracy | None = None
    photos: list[Sha256] | None = Field(default=None, max_length=20)
    attributes: dict[str, Any] | None = None
    notes: str | None = Field(default=None, max_length=2000)
    note: str | None = Field(default=None, max_length=500, description="Why (kept in the history)")

    @field_validator("photos")
    @classmethod
    def _shas(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _check_shas(v)


class ComponentRead(BaseModel):
    code: str
    legacy_code: str | None = None
    class_code: str
    class_name: str
    major_code: str
    major_name: str
    is_local_class: bool
    name: str
    department_code: str | None
    department_name: str | None
    owner: str | None
    maintainer: str | None
    status: Status
    lon: float
    lat: float
    crs: CrsName
    grid_code: str
    community_code: str
    community_name: str
    street_code: str
    street_name: str
    address: str | None
    initial_date: date | None
    changed_date: date | None
    data_source: DataSource
    accuracy: Accuracy | None
    photos: list[Sha256]
    attributes: dict[str, Any]
    notes: str | None
    version: int
    updated_at: datetime
    as_of: datetime | None = Field(default=None, description="Set when this is the state at a past date")


class ComponentListItem(BaseModel):
    code: str
    class_code: str
    class_name: str
    name: str
    status: Status
    lon: float
    lat: float
    street_code: str
    grid_code: str
    address: str | None
    department_code: str | None


class ComponentPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ComponentListItem]


class ComponentFilters(BaseModel):
    """Filters shared by the list, the map and the export."""

    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(default=None, max_length=100, description="ID (prefix), name or address")
    class_codes: list[str] = Field(default_factory=list)
    major_codes: list[str] = Field(default_factory=list)
    statuses: list[Status] = Field(default_factory=list)
    street_codes: list[str] = Field(default_factory=list)
    department: str | None = Field(default=None, max_length=40)
    grid_code: str | None = Field(default=None, pattern=r"^\d{15}$")
    bbox: tuple[float, float, float, float] | None = Field(default=None, description="WGS-84")

    @field_validator("class_codes")
    @classmethod
    def _classes(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if not (len(c) == 5 and c.isascii() and c.isdigit())]
        if bad:
            raise ValueError(f"class codes have 5 digits: {bad[:5]}")
        return v

    @field_validator("major_codes")
    @classmethod
    def _majors(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if not (len(c) == 2 and c.isascii() and c.isdigit())]
        if bad:
            raise ValueError(f"major class codes have 2 digits: {bad[:5]}")
        return v


class VersionRead(BaseModel):
    version: int
    valid_from: datetime
    actor: str | None
    action: str
    changes: dict[str, Any]
    case_number: str | None
    note: str | None


class ClassLayer(BaseModel):
    code: str
    name: str
    major_code: str
    major_name: str
    is_local: bool
    count: int


class ImportReportRead(BaseModel):
    ok: bool
    dry_run: bool
    format: str
    crs: str
    rows: int
    created: int
    updated: int
    unchanged: int
    errors: list[dict[str, Any]]
    errors_truncated: bool
