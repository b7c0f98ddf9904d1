"""Org request and response shapes (the GeoJSON answers are rendered as text by the area index)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AreaLevel = Literal["district", "street", "community"]
ImportLevel = Literal["street", "town", "community", "grid"]


class LocationRead(BaseModel):
    grid_code: str = Field(description="15-digit unit grid code")
    community_code: str
    community_name: str
    street_code: str
    street_name: str
    responsibility_grid_code: str | None
    inspector_staff_id: int | None
    inspector_name: str | None


class GridRead(BaseModel):
    code: str
    community_code: str
    community_name: str
    street_code: str
    street_name: str
    responsibility_grid_code: str | None
    inspector_name: str | None
    area_m2: int
    approximate: bool


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str


class DepartmentRead(BaseModel):
    code: str
    name: str
    kind: str
    handles_cases: bool
    street_code: str | None
    teams: list[TeamRead]
    staff_count: int


class InspectorAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_no: str | None = Field(max_length=40, description="Employee number; null unbinds the grid")


class ImportReportRead(BaseModel):
    ok: bool
    dry_run: bool
    level: str
    crs: str
    features: int
    created: int
    updated: int
    errors: list[str]
