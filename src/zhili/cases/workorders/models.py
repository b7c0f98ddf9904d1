"""Work-order tables: plans (作业计划), the orders they generate, each order's timeline and photos.

An order copies what it needs from its plan when it is generated (who, where, the evidence rule and
its due instant = window end + grace), so a later edit of the plan does not move orders already out.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhili.core.db import Base, BigId, JSONType, UTCDateTime


class WorkPlan(Base):
    """作业计划: what, where, who, when (a recurrence), the evidence required and the check sampling rate."""

    __tablename__ = "work_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # What: a free task type (sweep, empty_bins, …), optionally a catalogue class it maintains.
    task_type: Mapped[str] = mapped_column(String(30))
    class_kind: Mapped[str | None] = mapped_column(String(10))
    class_code: Mapped[str | None] = mapped_column(String(5))
    description: Mapped[str | None] = mapped_column(Text)
    # Where: a WGS-84 GeoJSON geometry (from the input, or the unit grid / community named).
    geometry: Mapped[dict[str, Any]] = mapped_column(JSONType)
    area_code: Mapped[str | None] = mapped_column(String(15))
    street_code: Mapped[str] = mapped_column(String(9), index=True)
    # Who: the responsible department, and a team or a person of it.
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    assignee_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # When: see schemas.Recurrence (freq, windows, weekdays, month_day), in the site's time zone.
    recurrence: Mapped[dict[str, Any]] = mapped_column(JSONType)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    grace_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # Evidence and checks.
    min_photos: Mapped[int] = mapped_column(Integer, default=1)
    tolerance_m: Mapped[float] = mapped_column(Float, default=50.0)
    sample_rate: Mapped[float] = mapped_column(Float, default=0.1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once by SQLAlchemy at mapping


class WorkOrder(Base):
    """作业工单: one time window of a plan, assigned to a team or a person, done on site."""

    __tablename__ = "work_order"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("work_plan.id"))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # window end + grace: missed after this
    status: Mapped[str] = mapped_column(String(12))
    # Snapshot of the plan at generation (lists and scope need no join).
    title: Mapped[str] = mapped_column(String(100))
    task_type: Mapped[str] = mapped_column(String(30))
    street_code: Mapped[str] = mapped_column(String(9))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    assignee_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    min_photos: Mapped[int] = mapped_column(Integer)
    tolerance_m: Mapped[float] = mapped_column(Float)
    # What happened on site.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    done_lon: Mapped[float | None] = mapped_column(Float)
    done_lat: Mapped[float | None] = mapped_column(Float)
    done_distance_m: Mapped[float | None] = mapped_column(Float)
    # Checks by sampling (抽查): drawn once; the last check's result; how many checks and failures.
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sampled: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    check_passed: Mapped[bool | None] = mapped_column(Boolean)
    check_count: Mapped[int] = mapped_column(Integer, default=0)
    check_fail_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        UniqueConstraint("plan_id", "window_start"),  # generation is idempotent on this key
        Index("ix_work_order_team_window", "team_id", "window_start"),
        Index("ix_work_order_department_window", "department_id", "window_start"),
        Index("ix_work_order_status_due", "status", "due_at"),
        Index("ix_work_order_window", "window_start"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once by SQLAlchemy at mapping


class WorkOrderActivity(Base):
    """One line of an order's timeline: who did what when, from which status to which."""

    __tablename__ = "work_order_activity"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (Index("ix_work_order_activity_order_id", "order_id", "id"),)


class WorkOrderEvidence(Base):
    """A photo of an order by SHA-256 (uploaded to /api/v1/files), at a stage: done or check."""

    __tablename__ = "work_order_evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"))
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence_file.sha256"))
    stage: Mapped[str] = mapped_column(String(10))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    added_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    __table_args__ = (
        UniqueConstraint("order_id", "sha256", "stage"),
        Index("ix_work_order_evidence_order_id", "order_id"),
    )
