"""Areas (district > street/town > community), unit and responsibility grids, departments, teams, staff."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhili.core.db import Base, JSONType, UTCDateTime


class Footprint:
    """The shape of an area or grid: GeoJSON in WGS-84, its box, a point inside it, its size."""

    geometry: Mapped[dict[str, Any]] = mapped_column(JSONType)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)
    area_m2: Mapped[float] = mapped_column(Float)
    # True where the boundary was generated for the demo rather than surveyed (shown in the UI).
    approximate: Mapped[bool] = mapped_column(Boolean, default=False)


class AdminArea(Footprint, Base):
    """An administrative area (行政区划): district, street (街道) or town (镇), community (社区/村)."""

    __tablename__ = "admin_area"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 6 digits (district), 9 (street/town, GB/T 2260 + 3), 12 (community/village).
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(12), index=True)  # district | street | town | community
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_area.id"), index=True)
    source: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once by SQLAlchemy at mapping


class ResponsibilityGrid(Base):
    """责任网格: several unit grids patrolled by one inspector."""

    __tablename__ = "responsibility_grid"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    street_id: Mapped[int] = mapped_column(ForeignKey("admin_area.id"), index=True)
    inspector_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)


class UnitGrid(Footprint, Base):
    """单元网格: the 15-digit cell every located record belongs to."""

    __tablename__ = "unit_grid"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("admin_area.id"), index=True)
    responsibility_grid_id: Mapped[int | None] = mapped_column(
        ForeignKey("responsibility_grid.id"), index=True)

    __table_args__ = (Index("ix_unit_grid_bbox", "min_lon", "min_lat"),)


class Department(Base):
    """专业部门 / 处置部门: a handling department, or a unit of the bureau itself."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # sanitation | greening | municipal | enforcement | gas | street_office | command_centre | other
    kind: Mapped[str] = mapped_column(String(30))
    handles_cases: Mapped[bool] = mapped_column(Boolean, default=True)
    # A street office's department serves one street; district-wide departments leave it empty.
    street_id: Mapped[int | None] = mapped_column(ForeignKey("admin_area.id"), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18))  # 统一社会信用代码
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Team(Base):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class Staff(Base):
    """A person who works for the bureau or a department (a login, if any, is in identity)."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_no: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20))
    # inspector | field_worker | handler | operator | dispatcher | shift_leader | officer | leader
    post: Mapped[str] = mapped_column(String(30))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class GeographyRevision(Base):
    """One row whose token changes with every change to areas or grids.

    Each process keeps its point → grid index in memory and rebuilds it when the token it read last
    differs, so an import in one process reaches the others without a restart. A random token (not a
    counter) keeps a rolled-back change from ever matching a later one.
    """

    __tablename__ = "geography_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
