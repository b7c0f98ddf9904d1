"""Case schemas, named by purpose: what the API takes in and gives out."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from zhili.assets.states import Status as ComponentStatus
from zhili.cases.states import CaseAction, CaseStatus
from zhili.core.workcalendar import TimeUnit

Colour = Literal["green", "amber", "red", "paused", "none"]

Sha256 = Field(pattern=r"^[0-9a-f]{64}$")
ClassKind = Literal["component", "matter"]
QueueName = Literal[
    "to_verify",
    "to_register",
    "to_dispatch",
    "to_handle",
    "to_check",
    "to_close",
    "suspended",
    "overdue",
    "amber",
    "open",
]  # the keys of states.QUEUES (a unit test keeps them equal)
CaseNumber = Field(pattern=r"^\d{14}$", description="YYYYMMDD + 6-digit serial")


class CaseSource(StrEnum):
    """Where a report came from (信息采集)."""

    inspector = "inspector"  # 监督员上报
    public = "public"  # 公众举报
    hotline = "hotline"  # 12345 热线转办
    video = "video"  # 视频 / AI 告警
    leader = "leader"  # 领导批示
    department = "department"  # 部门转办
    self_handled = "self_handled"  # 监督员自行处置: reported already closed


# Reports that an inspector verifies on site before the shift leader decides (核实).
SOURCES_TO_VERIFY = frozenset({CaseSource.public, CaseSource.hotline, CaseSource.video})
# Reports made by an inspector (a staff member): the reporter's staff id is recorded.
INSPECTOR_SOURCES = frozenset({CaseSource.inspector, CaseSource.self_handled})


class CaseCreate(BaseModel):
    """A report. Coordinates are in `crs`; grid, community and street are looked up from the point."""

    model_config = ConfigDict(extra="forbid")

    source: CaseSource
    class_kind: ClassKind
    class_code: str = Field(pattern=r"^\d{5}$", description="GB/T 47678.5 class code (or a local extension)")
    component_id: str | None = Field(
        default=None, pattern=r"^\d{17}$", description="17-digit component ID, for component cases"
    )
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    address: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=2000)
    evidence: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="SHA-256 of files uploaded to POST /api/v1/files (before photos)",
    )
    after_evidence: list[str] = Field(
        default_factory=list, max_length=20, description="after photos; required for self_handled reports"
    )
    result: str | None = Field(default=None, max_length=2000, description="what was done (self_handled)")
    external_ref: str | None = Field(default=None, max_length=64, description="e.g. the 12345 ticket number")
    reporter_name: str | None = Field(default=None, max_length=60)
    reporter_phone: str | None = Field(default=None, pattern=r"^[0-9+\- ]{5,20}$")

    @model_validator(mode="after")
    def _shas(self) -> CaseCreate:
        for sha in (*self.evidence, *self.after_evidence):
            if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
                raise ValueError(f"evidence {sha!r} is not a lower-case SHA-256")
        return self


class ActionFields(BaseModel):
    """The fields an action may take; each action reads the ones it needs (see the action's docs)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000, description="a remark for the timeline")
    standard_id: int | None = Field(default=None, description="register: the 立案条件 row chosen")
    department_id: int | None = Field(
        default=None, description="dispatch: handling department (default: the suggested one)"
    )
    result: str | None = Field(default=None, max_length=2000, description="handle: what was done")
    evidence: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="SHA-256s: handle → after photos; verify/check → site photos",
    )
    confirmed: bool | None = Field(default=None, description="verify: the problem is there")
    passed: bool | None = Field(default=None, description="check: the 结案条件 is met")
    amount: float | None = Field(
        default=None, gt=0, le=1000, description="request_extension: more time, in the case's handling unit"
    )
    until: datetime | None = Field(default=None, description="request_suspension / suspend: resume at")
    reason: str | None = Field(
        default=None, max_length=2000, description="not_accept, return_case, requests, appeal, cancel, merge"
    )
    target_number: str | None = Field(default=None, pattern=r"^\d{14}$", description="merge: into this case")
    component_status: ComponentStatus | None = Field(
        default=None, description="close: the linked component's status now (intact once a cover is back)"
    )

    @model_validator(mode="after")
    def _shas(self) -> ActionFields:
        for sha in self.evidence:
            if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
                raise ValueError(f"evidence {sha!r} is not a lower-case SHA-256")
        return self


class CaseActionForm(ActionFields):
    version: int = Field(ge=1, description="the version read; a stale one gets 409")


class BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = CaseNumber
    version: int = Field(ge=1)


class CaseBatchActionForm(ActionFields):
    items: list[BatchItem] = Field(min_length=1, max_length=100)


class BatchItemResult(BaseModel):
    number: str
    ok: bool
    status: int = Field(description="HTTP status this item alone would have had")
    version: int | None = None
    case_status: CaseStatus | None = None
    detail: str | None = None


class BatchResult(BaseModel):
    action: CaseAction
    done: int
    failed: int
    results: list[BatchItemResult]


class CaseFilters(BaseModel):
    """List filters; `queue` names a console queue (to_verify … overdue, amber)."""

    queue: QueueName | None = None
    status: list[CaseStatus] | None = None
    street_code: str | None = Field(default=None, pattern=r"^\d{9}$")
    department_id: int | None = None
    class_kind: ClassKind | None = None
    class_code: str | None = Field(default=None, pattern=r"^\d{5}$")
    source: CaseSource | None = None
    component_id: str | None = Field(default=None, pattern=r"^\d{17}$")
    grid_code: str | None = Field(default=None, pattern=r"^\d{15}$")
    mine: bool = Field(default=False, description="only cases whose open verify/check task is mine")
    pending_request: Literal["extension", "suspension", "appeal"] | None = None
    q: str | None = Field(default=None, min_length=1, max_length=60, description="number, address or text")
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    sort: Literal["reported_at", "-reported_at", "due_at", "number", "-number"] = "-reported_at"
    page: int = Field(default=1, ge=1, le=10000)
    page_size: int = Field(default=50, ge=1, le=200)
    with_total: bool = Field(default=False, description="also count all matches (slower on big tables)")


class ClockRead(BaseModel):
    stage: str | None
    unit: TimeUnit | None
    limit: float | None
    used: float | None
    remaining: float | None
    share_used: float | None
    due_at: datetime | None
    amber_at: datetime | None
    remaining_seconds: float | None
    colour: Colour


class CaseListItem(BaseModel):
    number: str
    version: int
    status: CaseStatus
    source: CaseSource
    self_handled: bool
    class_kind: ClassKind
    class_code: str
    component_id: str | None
    address: str
    description: str
    lon: float
    lat: float
    crs: str
    street_code: str
    community_code: str
    grid_code: str
    department_id: int | None
    reported_at: datetime
    due_at: datetime | None
    remaining_seconds: float | None
    colour: Colour
    pending_request: str | None
    urge_count: int


class CasePage(BaseModel):
    items: list[CaseListItem]
    page: int
    page_size: int
    has_more: bool
    total: int | None = None


class ActivityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    actor_name: str
    note: str | None
    data: dict[str, object] | None


class EvidenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sha256: str
    stage: str
    added_at: datetime


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_number: str | None = None
    kind: str
    status: str
    assignee_staff_id: int | None
    responsibility_grid_code: str | None
    created_at: datetime
    due_at: datetime
    done_at: datetime | None
    outcome: bool | None


class CaseRead(CaseListItem):
    """A case with everything the detail page shows."""

    external_ref: str | None
    reporter_name: str | None
    responsibility_grid_code: str | None
    grid_inspector_staff_id: int | None
    standard_id: int | None
    handle_limit: float | None
    handle_unit: str | None
    after_photo_required: bool
    verified_at: datetime | None
    verify_confirmed: bool | None
    registered_at: datetime | None
    dispatched_at: datetime | None
    accepted_at: datetime | None
    handle_started_at: datetime | None
    handled_at: datetime | None
    checked_at: datetime | None
    check_passed: bool | None
    closed_at: datetime | None
    ended_at: datetime | None
    verify_due_at: datetime | None
    register_due_at: datetime | None
    dispatch_due_at: datetime | None
    handle_due_at: datetime | None
    check_due_at: datetime | None
    extension_count: int
    extended_amount: float
    suspension_count: int
    suspended_until: datetime | None
    rework_count: int
    return_count: int
    duplicate_count: int
    merged_into_number: str | None
    appeal_status: str | None
    pending_payload: dict[str, object] | None
    suggested_department_id: int | None
    clock: ClockRead
    allowed_actions: list[CaseAction]
    timeline: list[ActivityRead]
    evidence: list[EvidenceRead]
    tasks: list[TaskRead]


class DuplicateRead(BaseModel):
    number: str
    status: CaseStatus
    reported_at: datetime
    distance_m: float
    address: str


# --- standards ------------------------------------------------------------------------------------


class StandardFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    register_condition: str = Field(min_length=1, max_length=500, description="立案条件")
    close_condition: str = Field(min_length=1, max_length=500, description="结案条件")
    department_id: int
    dispatch_limit: float = Field(gt=0, le=10000)
    dispatch_unit: TimeUnit
    handle_limit: float = Field(gt=0, le=10000)
    handle_unit: TimeUnit
    check_limit: float = Field(gt=0, le=10000)
    check_unit: TimeUnit
    after_photo_required: bool = True
    active: bool = True


class StandardCreate(StandardFields):
    class_kind: ClassKind
    class_code: str = Field(pattern=r"^\d{5}$")
    condition_no: int = Field(ge=1, le=999)


class StandardUpdate(StandardFields):
    version: int = Field(ge=1)


class StandardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    class_kind: ClassKind
    class_code: str
    condition_no: int
    register_condition: str
    close_condition: str
    department_id: int
    dispatch_limit: float
    dispatch_unit: TimeUnit
    handle_limit: float
    handle_unit: TimeUnit
    check_limit: float
    check_unit: TimeUnit
    after_photo_required: bool
    active: bool
    version: int


class StandardFilters(BaseModel):
    class_kind: ClassKind | None = None
    class_code: str | None = Field(default=None, pattern=r"^\d{5}$")
    include_inactive: bool = False


class StandardImportReport(BaseModel):
    dry_run: bool
    created: int
    updated: int
    unchanged: int


class DispatchRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    class_kind: ClassKind
    class_code: str = Field(pattern=r"^\d{5}$")
    street_code: str = Field(pattern=r"^\d{9}$")
    department_id: int


class DispatchRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    class_kind: ClassKind
    class_code: str
    street_code: str
    department_id: int
