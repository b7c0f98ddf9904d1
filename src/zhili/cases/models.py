"""Case tables: the record, its timeline, evidence, tasks, pauses, standards, dispatch rules, idempotency.

Table names avoid the SQL keyword CASE. Every timestamp the evaluation (综合评价) needs is a column:
when each step happened (`*_at`) and when each stage was due (`*_due_at`, computed on the working
calendar when the stage starts). Whether a stage was on time is derived (`done_at <= due_at`), and
so is the traffic light of the running stage (`amber_at` / `due_at` against now): nothing is a flag
that someone must remember to set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from zhili.cases.evaluation_facts import INPUTS, fact_row_of
from zhili.core.db import Base, BigId, JSONType, UTCDateTime


class CaseStandard(Base):
    """One row of the 立结案标准: a class × condition with its conditions, department and stage limits."""

    __tablename__ = "case_standard"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_kind: Mapped[str] = mapped_column(String(10))  # component | matter
    class_code: Mapped[str] = mapped_column(String(5))
    condition_no: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the class
    register_condition: Mapped[str] = mapped_column(Text)  # 立案条件
    close_condition: Mapped[str] = mapped_column(Text)  # 结案条件
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    dispatch_limit: Mapped[float] = mapped_column(Float)
    dispatch_unit: Mapped[str] = mapped_column(String(16))
    handle_limit: Mapped[float] = mapped_column(Float)
    handle_unit: Mapped[str] = mapped_column(String(16))
    check_limit: Mapped[float] = mapped_column(Float)
    check_unit: Mapped[str] = mapped_column(String(16))
    after_photo_required: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (UniqueConstraint("class_kind", "class_code", "condition_no"),)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once by SQLAlchemy at mapping


class CaseDispatchRule(Base):
    """An area rule that overrides a standard's department: this class in this street goes to X."""

    __tablename__ = "case_dispatch_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_kind: Mapped[str] = mapped_column(String(10))
    class_code: Mapped[str] = mapped_column(String(5))
    street_code: Mapped[str] = mapped_column(String(9))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("class_kind", "class_code", "street_code"),)


class CaseRecord(Base):
    """A case (案件): one problem in the city with an owner, deadlines, evidence and a timeline."""

    __tablename__ = "case_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # YYYYMMDD + 6-digit serial, sortable
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))  # see schemas.CaseSource
    external_ref: Mapped[str | None] = mapped_column(String(64))  # e.g. the 12345 ticket number
    self_handled: Mapped[bool] = mapped_column(Boolean, default=False)  # 自行处置
    # What: a catalogue class, optionally the component (17-digit ID, assets' key) it concerns.
    class_kind: Mapped[str] = mapped_column(String(10))
    class_code: Mapped[str] = mapped_column(String(5))
    component_id: Mapped[str | None] = mapped_column(String(17), index=True)
    description: Mapped[str] = mapped_column(Text)
    # Where: WGS-84 point, the address as reported, and what the area index says about the point.
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(200))
    grid_code: Mapped[str] = mapped_column(String(15))
    community_code: Mapped[str] = mapped_column(String(12))
    street_code: Mapped[str] = mapped_column(String(9))
    responsibility_grid_code: Mapped[str | None] = mapped_column(String(20))
    grid_inspector_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # Who reported (the evaluation's 上报数 by inspector and by post).
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reporter_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reporter_name: Mapped[str | None] = mapped_column(String(60))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    # The standard row chosen at registration, and a snapshot of its limits (a later edit of the
    # standard must not move the deadlines of cases already running).
    standard_id: Mapped[int | None] = mapped_column(ForeignKey("case_standard.id"), index=True)
    dispatch_limit: Mapped[float | None] = mapped_column(Float)
    dispatch_unit: Mapped[str | None] = mapped_column(String(16))
    handle_limit: Mapped[float | None] = mapped_column(Float)
    handle_unit: Mapped[str | None] = mapped_column(String(16))
    check_limit: Mapped[float | None] = mapped_column(Float)
    check_unit: Mapped[str | None] = mapped_column(String(16))
    after_photo_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # The handling department (处置部门) while it holds the case; kept after handling for evaluation.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    # Steps: when each happened, and who did the centre's steps (evaluation by post).
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    verify_confirmed: Mapped[bool | None] = mapped_column(Boolean)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last dispatch
    first_dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handle_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the current round's start
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    check_passed: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # closed, not accepted, cancelled, merged
    # Stage deadlines (working calendar, pauses and approved extensions included).
    verify_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    register_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatch_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handle_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The running stage's clock: NULL when no clock runs (paused, waiting for the shift leader, ended).
    stage_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    amber_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Side flows.
    extended_amount: Mapped[float] = mapped_column(Float, default=0.0)  # this round, in handle_unit
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    suspension_count: Mapped[int] = mapped_column(Integer, default=0)
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    urge_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)  # duplicates merged into this one
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id"), index=True)
    # 超时申诉: None | pending | approved | rejected. Approved exempts the case from overdue figures;
    # the timestamps still tell that it was late.
    appeal_status: Mapped[str | None] = mapped_column(String(10))
    # One pending request (extension | suspension | appeal) awaiting the centre's decision.
    pending_request: Mapped[str | None] = mapped_column(String(12))
    pending_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index("ix_case_record_status_department", "status", "department_id"),
        Index("ix_case_record_status_due", "status", "due_at"),
        Index("ix_case_record_status_reported", "status", "reported_at"),
        Index("ix_case_record_street_reported", "street_code", "reported_at"),
        Index("ix_case_record_department_dispatched", "department_id", "dispatched_at"),
        Index("ix_case_record_class_reported", "class_kind", "class_code", "reported_at"),
        Index("ix_case_record_reporter_staff_reported", "reporter_staff_id", "reported_at"),
        Index("ix_case_record_grid_inspector", "grid_inspector_staff_id", "status"),
        Index("ix_case_record_reported", "reported_at"),
        Index("ix_case_record_pending", "pending_request"),
        Index("ix_case_record_suspended_until", "status", "suspended_until"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once by SQLAlchemy at mapping


class CaseEvaluationFact(Base):
    """What evaluation (综合评价) reads of a case, one narrow row per case_record row, kept in step with it.

    Written only from `evaluation_facts`' one definition (by the ORM hooks at the end of this module for
    the engine, by the bulk writers and by the migration's backfill); never edited by hand. `facts`
    packs the period-independent facts (on time or not, returned, reworked, which steps happened …)
    into bits; the step times are epoch microseconds, so a period query compares integers instead of
    parsing text (SQLite) and reads ~150 bytes a case instead of ~1 KB.
    """

    __tablename__ = "case_evaluation_fact"

    case_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("case_record.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    # The objects of evaluation and of row scope, copied from the case.
    street_code: Mapped[str] = mapped_column(String(9))
    department_id: Mapped[int | None] = mapped_column(Integer)
    reporter_staff_id: Mapped[int | None] = mapped_column(Integer)
    verified_by_staff_id: Mapped[int | None] = mapped_column(Integer)
    checked_by_staff_id: Mapped[int | None] = mapped_column(Integer)
    facts: Mapped[int] = mapped_column(BigInteger)  # evaluation_facts.STATIC bits
    # The earliest and latest of the step times below: a case whose steps all lie in the period
    # needs no comparison step by step.
    span_start_us: Mapped[int] = mapped_column(BigInteger)
    span_end_us: Mapped[int] = mapped_column(BigInteger)
    reported_us: Mapped[int] = mapped_column(BigInteger)
    registered_us: Mapped[int | None] = mapped_column(BigInteger)
    first_dispatched_us: Mapped[int | None] = mapped_column(BigInteger)
    accepted_us: Mapped[int | None] = mapped_column(BigInteger)
    handled_us: Mapped[int | None] = mapped_column(BigInteger)
    closed_us: Mapped[int | None] = mapped_column(BigInteger)
    ended_us: Mapped[int | None] = mapped_column(BigInteger)
    verified_us: Mapped[int | None] = mapped_column(BigInteger)
    checked_us: Mapped[int | None] = mapped_column(BigInteger)
    handle_due_us: Mapped[int | None] = mapped_column(BigInteger)
    # Stage durations in seconds of wall clock (the averages' terms).
    accept_seconds: Mapped[float | None] = mapped_column(Float)  # accepted_at − dispatched_at
    handle_seconds: Mapped[float | None] = mapped_column(Float)  # handled_at − dispatched_at
    close_seconds: Mapped[float | None] = mapped_column(Float)  # closed_at − reported_at

    # Evaluation by street and by department reads the cases whose steps all lie in the period from
    # these, in (key, facts) order: what it groups by, so that SQLite (no hash aggregate) sorts nothing.
    __table_args__ = (
        Index("ix_case_evaluation_fact_street", "street_code", "facts", "span_start_us", "span_end_us",
              "handle_due_us", "department_id", "accept_seconds", "handle_seconds", "close_seconds"),
        Index("ix_case_evaluation_fact_department", "department_id", "facts", "span_start_us", "span_end_us",
              "handle_due_us", "street_code", "accept_seconds", "handle_seconds", "close_seconds"),
    )


class CaseActivity(Base):
    """One line of the case timeline: an action, who did it, the status before and after."""

    __tablename__ = "case_activity"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(24))  # a CaseAction, or "report" / "self_handle" / "merged_in"
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(100))  # display name, or "system:<job>"
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (
        Index("ix_case_activity_case_id", "case_id", "id"),
        # Evaluation counts side-flow events (returns per department, reworks, extensions) per period.
        Index("ix_case_activity_action_at", "action", "at"),
    )


class CaseEvidence(Base):
    """An evidence file attached to a case at a stage (before, after, verify, check photos)."""

    __tablename__ = "case_evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"))
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence_file.sha256"))
    stage: Mapped[str] = mapped_column(String(10))  # report | verify | after | check
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    added_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    __table_args__ = (
        UniqueConstraint("case_id", "sha256", "stage"),
        Index("ix_case_evidence_sha256", "sha256"),
    )


class CaseTask(Base):
    """A verify (核实) or check (核查) task sent to the inspector of the case's grid, with its own limit."""

    __tablename__ = "case_task"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # verify | check
    status: Mapped[str] = mapped_column(String(10))  # open | done | cancelled
    assignee_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    responsibility_grid_code: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    outcome: Mapped[bool | None] = mapped_column(Boolean)  # verify: problem confirmed; check: passed

    __table_args__ = (Index("ix_case_task_assignee_status", "assignee_staff_id", "status", "due_at"),)


class CasePause(Base):
    """A suspension (挂账): the handling clock stops from started_at until resumed_at."""

    __tablename__ = "case_pause"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    until_at: Mapped[datetime] = mapped_column(UTCDateTime)  # planned automatic resumption
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)


class CaseNumberSequence(Base):
    """Per local day, the last serial handed out: numbers read YYYYMMDD + 6 digits and sort by time."""

    __tablename__ = "case_number_sequence"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class CaseIdempotencyKey(Base):
    """A client's Idempotency-Key: the first result is replayed to a retry with the same body."""

    __tablename__ = "case_idempotency_key"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    key: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (UniqueConstraint("user_id", "key"),)


# --- evaluation facts: every ORM write of a case_record row writes its fact row in the same flush ------
# The hooks are registered with the mapping, so no session can write a case without them; what a fact
# row holds is `evaluation_facts.fact_row_of`, the function the bulk writers and the backfill use too.

_FACT = cast(Table, CaseEvaluationFact.__table__)
# Built once: a statement made per flush with .values() costs more than the UPDATE itself.
_INSERT_FACT = _FACT.insert()
_UPDATE_FACT = _FACT.update().where(_FACT.c.case_id == bindparam("fact_of_case"))


@event.listens_for(CaseRecord, "after_insert")
def _case_inserted(_mapper: Mapper[Any], connection: Connection, case: CaseRecord) -> None:
    connection.execute(_INSERT_FACT, [fact_row_of(case)])


@event.listens_for(CaseRecord, "after_update")
def _case_updated(_mapper: Mapper[Any], connection: Connection, case: CaseRecord) -> None:
    attrs = inspect(case).attrs
    if any(attrs[name].history.has_changes() for name in INPUTS):
        write_facts(connection, case)
    # else e.g. an urge, a pending request: nothing evaluation reads has changed


def write_facts(connection: Connection, case: CaseRecord) -> None:
    """Rewrite the fact row of a case whose `INPUTS` changed (the hook above; cases.writes)."""
    row = fact_row_of(case)
    changes = {k: v for k, v in row.items() if k != "case_id"}
    updated = connection.execute(_UPDATE_FACT, {**changes, "fact_of_case": row["case_id"]})
    if updated.rowcount == 0:  # a case written before its facts existed (rows of other writers)
        connection.execute(_INSERT_FACT, [row])
