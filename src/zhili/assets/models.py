"""Components (管理部件), their version history, per-class serial counters and the map's cell summary."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhili.core.db import Base, JSONType, UTCDateTime


class Component(Base):
    """One city component: GB/T 47678.5 table 2 attributes, its place, and local extension attributes."""

    __tablename__ = "component"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 17 digits: district 6 + class 5 + serial 6 (see ids.py).
    code: Mapped[str] = mapped_column(String(17), unique=True)
    # The 16-digit ID of an older system (GB/T 30428), kept when a component was imported with one.
    legacy_code: Mapped[str | None] = mapped_column(String(16), index=True)
    class_code: Mapped[str] = mapped_column(String(5), index=True)
    major_code: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)  # 主管部门
    owner: Mapped[str | None] = mapped_column(String(100))  # 权属单位
    maintainer: Mapped[str | None] = mapped_column(String(100))  # 养护单位
    status: Mapped[str] = mapped_column(String(12))  # states.STATUSES
    lon: Mapped[float] = mapped_column(Float)  # WGS-84
    lat: Mapped[float] = mapped_column(Float)
    # H3 cell at resolution 9 (~174 m edge): the map's point query reads components cell by cell.
    cell: Mapped[str] = mapped_column(String(16))
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    community_code: Mapped[str] = mapped_column(String(12))
    street_code: Mapped[str] = mapped_column(String(9), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    initial_date: Mapped[date | None] = mapped_column(Date)  # 初始日期
    changed_date: Mapped[date | None] = mapped_column(Date)  # 变更日期
    data_source: Mapped[str] = mapped_column(String(20))  # states.DATA_SOURCES
    accuracy: Mapped[str | None] = mapped_column(String(1))  # CJ/T 214 class A | B | C
    photos: Mapped[list[str]] = mapped_column(JSONType)  # evidence SHA-256s
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType)  # the class's extension schema
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once by SQLAlchemy at mapping
    # Everything the map's point query reads, so it is answered from the index alone (an index-only
    # scan on PostgreSQL): no random visits to table pages scattered by bulk loads.
    __table_args__ = (
        Index("ix_component_map", "cell", "class_code", "status", "street_code", "lon", "lat", "code"),
    )


class ComponentVersion(Base):
    """One change of a component: who, when, what changed, and the whole state after it (append-only)."""

    __tablename__ = "component_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String(100))
    # create | change | import | case_outcome
    action: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType)  # field -> [before, after]
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)  # the component as it was from valid_from on
    case_number: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        UniqueConstraint("component_id", "version"),
        Index("ix_component_version_component_id_valid_from", "component_id", "valid_from"),
    )


class ComponentSerial(Base):
    """The last serial handed out per class; writers lock the row, so two imports never share one."""

    __tablename__ = "component_serial"

    class_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer)


class ComponentCell(Base):
    """Counts of components per H3 cell, street and class at resolutions 6–10, kept current on write.

    The map reads these for every zoom at which points would be too many: a viewport touches a few
    hundred rows whatever the number of components. Coordinate sums give each cell's mean position.
    """

    __tablename__ = "component_cell"

    res: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    cell: Mapped[str] = mapped_column(String(16), primary_key=True)
    street_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    class_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    n_intact: Mapped[int] = mapped_column(Integer, default=0)
    n_damaged: Mapped[int] = mapped_column(Integer, default=0)
    n_missing: Mapped[int] = mapped_column(Integer, default=0)
    n_abandoned: Mapped[int] = mapped_column(Integer, default=0)
    n_removed: Mapped[int] = mapped_column(Integer, default=0)
    sum_lon: Mapped[float] = mapped_column(Float, default=0.0)
    sum_lat: Mapped[float] = mapped_column(Float, default=0.0)
