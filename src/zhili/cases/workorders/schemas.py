"""Work-order schemas, named by purpose: plans in and out, order lists, actions, the team summary."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zhili.cases.schemas import ActivityRead, EvidenceRead
from zhili.cases.workorders.states import OrderAction, OrderStatus

Sha256Pattern = r"^[0-9a-f]{64}$"
CRSName = Literal["wgs84", "gcj02", "bd09"]
# The task types the console offers (English msgids in TASK_TYPE_LABELS); any other lower-case word
# is accepted as a free task type.
TASK_TYPE_LABELS: dict[str, str] = {
    "sweep": "Road sweeping",
    "empty_bins": "Bin emptying",
    "check_station": "Compression station check",
    "green_maintenance": "Green maintenance",
    "prune": "Tree pruning",
    "inspect_grid": "Grid inspection",
    "other": "Other",
}
Freq = Literal["daily", "weekly", "monthly"]
# Order filters accept the stored statuses and the derived one.
StatusFilter = Literal["planned", "in_progress", "done", "checked", "redo", "cancelled", "missed"]


class TimeWindow(BaseModel):
    """A window in local time; an end before the start runs past midnight (night sweeping 22:00–02:00)."""

    model_config = ConfigDict(extra="forbid")

    start: time
    end: time

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start == self.end:
            raise ValueError("a time window needs an end different from its start")
        if self.start.tzinfo or self.end.tzinfo:
            raise ValueError("window times are local wall-clock times, without a zone")
        return self


class Recurrence(BaseModel):
    """When: daily, weekly on days (1 = Monday … 7 = Sunday) or monthly on a day; windows per day.

    Several windows make "N times a day" (inspect grid Y at 09:00–10:00 and 15:00–16:00). A monthly
    day past the month's end falls on its last day (31 → 30 April, 28/29 February).
    """

    model_config = ConfigDict(extra="forbid")

    freq: Freq
    windows: list[TimeWindow] = Field(min_length=1, max_length=12)
    weekdays: list[int] = Field(default_factory=list, max_length=7)
    month_day: int | None = Field(default=None, ge=1, le=31)

    @model_validator(mode="after")
    def _consistent(self) -> Recurrence:
        if self.freq == "weekly":
            if not self.weekdays:
                raise ValueError("a weekly recurrence needs 'weekdays' (1 = Monday … 7 = Sunday)")
            if any(d < 1 or d > 7 for d in self.weekdays):
                raise ValueError("weekdays are 1 (Monday) … 7 (Sunday)")
            self.weekdays = sorted(set(self.weekdays))
        elif self.weekdays:
            raise ValueError(f"'weekdays' is only for a weekly recurrence, not {self.freq}")
        if self.freq == "monthly" and self.month_day is None:
            raise ValueError("a monthly recurrence needs 'month_day' (1–31)")
        if self.freq != "monthly" and self.month_day is not None:
            raise ValueError(f"'month_day' is only for a monthly recurrence, not {self.freq}")
        starts = [w.start for w in self.windows]
        if len(set(starts)) != len(starts):
            raise ValueError("two windows start at the same time")
        self.windows = sorted(self.windows, key=lambda w: w.start)
        return self


class _PlanFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=100)
    task_type: str = Field(
        pattern=r"^[a-z][a-z_]{1,29}$", description="sweep, empty_bins, prune, … or your own"
    )
    class_kind: Literal["component", "matter"] | None = None
    class_code: str | None = Field(
        default=None, pattern=r"^\d{5}$", description="a catalogue class, optional"
    )
    description: str | None = Field(default=None, max_length=2000)
    geometry: dict[str, Any] | None = Field(
        default=None, description="GeoJSON Point, LineString or Polygon (or Multi-) in `crs`"
    )
    crs: CRSName = Field(default="wgs84", description="CRS of `geometry`")
    area_code: str | None = Field(
        default=None,
        pattern=r"^(\d{12}|\d{15})$",
        description="instead of a geometry: a community or unit grid",
    )
    department_id: int | None = Field(default=None, description="default: your own department")
    team_id: int | None = None
    assignee_staff_id: int | None = None
    recurrence: Recurrence
    starts_on: date
    ends_on: date | None = None
    grace_minutes: int = Field(default=30, ge=0, le=24 * 60, description="missed this long after the window")
    min_photos: int = Field(default=1, ge=0, le=10)
    tolerance_m: float = Field(
        default=50, ge=0, le=5000, description="how far from the area counts as on site"
    )
    sample_rate: float = Field(default=0.1, ge=0, le=1, description="share of done orders drawn for a check")
    active: bool = True


class PlanCreate(_PlanFields):
    """A plan: what, where (a geometry or an area code), who (a team or a person), when, evidence."""

    @model_validator(mode="after")
    def _where_and_when(self) -> PlanCreate:
        if (self.geometry is None) == (self.area_code is None):
            raise ValueError("give either 'geometry' (with 'crs') or 'area_code', not both or neither")
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("'ends_on' is before 'starts_on'")
        if (self.class_kind is None) != (self.class_code is None):
            raise ValueError("'class_kind' and 'class_code' go together")
        return self


class PlanUpdate(BaseModel):
    """Changes to a plan (orders already generated keep what they copied); `version` as read."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="the version read; a stale one gets 409")
    name: str | None = Field(default=None, min_length=2, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    geometry: dict[str, Any] | None = None
    crs: CRSName = "wgs84"
    area_code: str | None = Field(default=None, pattern=r"^(\d{12}|\d{15})$")
    team_id: int | None = None
    assignee_staff_id: int | None = None
    recurrence: Recurrence | None = None
    ends_on: date | None = None
    grace_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    min_photos: int | None = Field(default=None, ge=0, le=10)
    tolerance_m: float | None = Field(default=None, ge=0, le=5000)
    sample_rate: float | None = Field(default=None, ge=0, le=1)
    active: bool | None = None


class PlanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    task_type: str
    class_kind: str | None
    class_code: str | None
    description: str | None
    geometry: dict[str, Any]
    crs: str = "wgs84"
    area_code: str | None
    street_code: str
    department_id: int
    team_id: int | None
    assignee_staff_id: int | None
    recurrence: Recurrence
    starts_on: date
    ends_on: date | None
    grace_minutes: int
    min_photos: int
    tolerance_m: float
    sample_rate: float
    active: bool
    version: int


class GenerateReport(BaseModel):
    created: int
    days: int


class OrderFilters(BaseModel):
    """List filters; dates are local days of the window start (from inclusive, to inclusive)."""

    model_config = ConfigDict(extra="forbid")

    date_from: date | None = None
    date_to: date | None = None
    status: list[StatusFilter] = Field(default_factory=list, description="'missed' is derived from the clock")
    team_id: int | None = None
    department_id: int | None = None
    plan_id: int | None = None
    street_code: str | None = Field(default=None, pattern=r"^\d{9}$")
    task_type: str | None = Field(default=None, max_length=30)
    sampled: bool | None = Field(default=None, description="drawn for a check")
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=50, ge=1, le=200)


class OrderListItem(BaseModel):
    id: int
    plan_id: int
    title: str
    task_type: str
    status: OrderStatus
    missed: bool
    on_time: bool | None = Field(description="done by the due instant; None while not done")
    window_start: datetime
    window_end: datetime
    due_at: datetime
    street_code: str
    department_id: int
    team_id: int | None
    team_name: str | None
    assignee_staff_id: int | None
    done_at: datetime | None
    sampled: bool
    check_passed: bool | None
    version: int


class OrderPage(BaseModel):
    items: list[OrderListItem]
    page: int
    page_size: int
    has_more: bool
    total: int


class OrderEvidenceRead(EvidenceRead):
    pass  # a case's evidence row, under its own name in the OpenAPI schema


class OrderRead(OrderListItem):
    """An order with its plan's area (in `crs`), evidence rule, timeline, photos and allowed actions."""

    geometry: dict[str, Any]
    crs: str
    min_photos: int
    tolerance_m: float
    started_at: datetime | None
    done_lon: float | None
    done_lat: float | None
    done_distance_m: float | None
    checked_at: datetime | None
    check_count: int
    check_fail_count: int
    timeline: list[ActivityRead]
    evidence: list[OrderEvidenceRead]
    allowed_actions: list[OrderAction]


class OrderActionForm(BaseModel):
    """What an action takes: start/complete → the worker's position; complete → photos; reassign → who."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="the version read; a stale one gets 409")
    lon: float | None = Field(default=None, description="start/complete: where the worker is, in `crs`")
    lat: float | None = None
    crs: CRSName = "wgs84"
    evidence: list[str] = Field(
        default_factory=list, max_length=20, description="SHA-256s from /api/v1/files"
    )
    note: str | None = Field(default=None, max_length=2000)
    team_id: int | None = Field(default=None, description="reassign: the new team")
    assignee_staff_id: int | None = Field(default=None, description="reassign: the new person")

    @field_validator("evidence")
    @classmethod
    def _shas(cls, value: list[str]) -> list[str]:
        for sha in value:
            if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
                raise ValueError(f"evidence {sha!r} is not a lower-case SHA-256")
        return value


class DrawForm(BaseModel):
    """Draw checks among done orders not drawn yet (done before `until`, default: now)."""

    model_config = ConfigDict(extra="forbid")

    seed: int | None = Field(default=None, description="default: the local date, so a draw can be replayed")
    until: datetime | None = None


class DrawReport(BaseModel):
    considered: int
    drawn: int
    order_ids: list[int]


class TeamSummaryRow(BaseModel):
    """A team's record over a period; missed and late count against it."""

    department_id: int
    department_name: str
    team_id: int | None
    team_name: str | None
    planned: int = Field(description="orders in the period, cancelled ones left out")
    done_on_time: int
    late: int
    missed: int
    pending: int = Field(description="not done yet, not due yet")
    checks: int
    checks_passed: int
    check_pass_rate: float | None
    on_time_rate: float | None


class TeamSummary(BaseModel):
    date_from: date
    date_to: date
    rows: list[TeamSummaryRow]
