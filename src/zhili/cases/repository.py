"""Case queries. Row scope is `visibility`'s: every list and detail query starts from `visible_to(user)`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Row,
    Select,
    bindparam,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhili.cases.models import (
    CaseActivity,
    CaseDispatchRule,
    CaseEvidence,
    CaseIdempotencyKey,
    CaseNumberSequence,
    CasePause,
    CaseRecord,
    CaseStandard,
    CaseTask,
)
from zhili.cases.schemas import CaseFilters, CaseListItem, StandardFilters
from zhili.cases.states import QUEUES, TERMINAL, CaseStatus
from zhili.cases.visibility import Scope, clause_of, scope_of, visible_to
from zhili.core.db import side_transaction

if TYPE_CHECKING:
    from zhili.identity.models import User


@lru_cache(maxsize=512)
def _visible_by_number(scope: Scope, for_update: bool) -> Select[Any]:
    """Built once per scope, the number bound per call: every action and detail looks a case up, and
    building the statement cost a good part of running it."""
    stmt = select(CaseRecord).where(clause_of(scope), CaseRecord.number == bindparam("number"))
    return stmt.with_for_update() if for_update else stmt


def get_visible(session: Session, user: User, number: str, *, for_update: bool = False) -> CaseRecord | None:
    stmt = _visible_by_number(scope_of(user), for_update)
    return session.scalars(stmt, {"number": number}).one_or_none()


def get_by_number(session: Session, number: str) -> CaseRecord | None:
    """Unscoped: for the service's own checks (a merge target) and jobs, never for a user's view."""
    return session.scalars(select(CaseRecord).where(CaseRecord.number == number)).one_or_none()


def apply_filters(stmt: Select[Any], f: CaseFilters, *, now: datetime, staff_id: int | None) -> Select[Any]:
    if f.queue:
        stmt = stmt.where(CaseRecord.status.in_([s.value for s in QUEUES[f.queue]]))
        if f.queue == "overdue":
            stmt = stmt.where(CaseRecord.due_at < now)
        elif f.queue == "amber":
            stmt = stmt.where(CaseRecord.amber_at <= now, CaseRecord.due_at >= now)
    if f.status:
        stmt = stmt.where(CaseRecord.status.in_([s.value for s in f.status]))
    if f.street_code:
        stmt = stmt.where(CaseRecord.street_code == f.street_code)
    if f.department_id is not None:
        stmt = stmt.where(CaseRecord.department_id == f.department_id)
    if f.class_kind:
        stmt = stmt.where(CaseRecord.class_kind == f.class_kind)
    if f.class_code:
        stmt = stmt.where(CaseRecord.class_code == f.class_code)
    if f.source:
        stmt = stmt.where(CaseRecord.source == f.source.value)
    if f.component_id:
        stmt = stmt.where(CaseRecord.component_id == f.component_id)
    if f.grid_code:
        stmt = stmt.where(CaseRecord.grid_code == f.grid_code)
    if f.pending_request:
        stmt = stmt.where(CaseRecord.pending_request == f.pending_request)
    if f.mine:
        mine = select(CaseTask.case_id).where(
            CaseTask.assignee_staff_id == staff_id, CaseTask.status == "open"
        )
        stmt = stmt.where(CaseRecord.id.in_(mine) if staff_id is not None else false())
    if f.q:
        if f.q.isascii() and f.q.isdigit() and len(f.q) == 14:
            stmt = stmt.where(CaseRecord.number == f.q)
        else:
            like = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(
                or_(
                    CaseRecord.address.like(like, escape="\\"),
                    CaseRecord.description.like(like, escape="\\"),
                    CaseRecord.number.like(like, escape="\\"),
                )
            )
    if f.reported_from:
        stmt = stmt.where(CaseRecord.reported_at >= f.reported_from)
    if f.reported_to:
        stmt = stmt.where(CaseRecord.reported_at < f.reported_to)
    return stmt


def list_order(session: Session, f: CaseFilters) -> tuple[Any, ...]:
    """ORDER BY for a list. SQLite, a queue by report time: `reported_at || ''` (the same text, the
    same order) keeps the planner off the reported_at index. Its statistics hold one average per
    index, not the skew of status (a million closed cases, a few hundred open), so it would walk the
    whole history newest first (seconds) instead of taking the few open ones by the status index and
    sorting them (milliseconds). PostgreSQL's statistics see the skew and need no such help."""
    if f.queue and f.sort in ("reported_at", "-reported_at") and session.get_bind().dialect.name == "sqlite":
        at = CaseRecord.reported_at.op("||")(literal(""))
        return (at.desc(), CaseRecord.id.desc()) if f.sort.startswith("-") else (at, CaseRecord.id)
    return _SORTS[f.sort]


_SORTS = {
    "reported_at": (CaseRecord.reported_at, CaseRecord.id),
    "-reported_at": (CaseRecord.reported_at.desc(), CaseRecord.id.desc()),
    "due_at": (CaseRecord.due_at, CaseRecord.id),
    "number": (CaseRecord.number,),
    "-number": (CaseRecord.number.desc(),),
}


# What a list shows of a case (the API's list item, the console's rows, the phone's cards): lists load
# the list item's columns only, and amber_at for its colour (a case row has about seventy). Reading
# another column of a listed case costs a query.
LIST_COLUMNS = (*(f for f in CaseListItem.model_fields if f in CaseRecord.__table__.c), "amber_at")


# A case as the lists read it: a row of LIST_COLUMNS, its values read by name (`row.number`) as an
# entity's would be. Not an entity: building those was a quarter of a list request's CPU.
CaseRow = Row[Any]


def list_rows(session: Session, stmt: Select[Any]) -> Sequence[CaseRow]:
    """The list columns of the cases `stmt` selects, in its order (see CaseRow)."""
    return session.execute(stmt.with_only_columns(*(getattr(CaseRecord, n) for n in LIST_COLUMNS))).all()


def list_cases(
    session: Session, user: User, f: CaseFilters, *, now: datetime
) -> tuple[Sequence[CaseRow], bool, int | None]:
    """One page of visible cases: (rows, has_more, total if asked)."""
    base = apply_filters(visible_to(user), f, now=now, staff_id=user.staff_id)
    page = base.order_by(*list_order(session, f)).offset((f.page - 1) * f.page_size).limit(f.page_size + 1)
    rows = list_rows(session, page)
    total = None
    if f.with_total:
        total = int(session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0)
    return rows[: f.page_size], len(rows) > f.page_size, total


# A list says "more than 10,000" rather than count a million rows for each page it shows.
COUNT_CAP = 10_000


def capped_count(session: Session, stmt: Select[Any], cap: int = COUNT_CAP) -> int:
    """How many rows `stmt` selects, counting no further than cap + 1 (cap + 1 means "more than cap")."""
    bounded = stmt.order_by(None).with_only_columns(CaseRecord.id).limit(cap + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(bounded)) or 0)


def queue_counts(session: Session, stmt: Select[Any], now: datetime) -> dict[str, int]:
    """How many of the cases `stmt` selects sit in each queue (and are overdue), from one grouped
    scan of the open ones: queues hold open cases, which stay few however long the history grows."""
    open_ = [s.value for s in QUEUES["open"]]
    grouped = (
        stmt.order_by(None)
        .where(CaseRecord.status.in_(open_))
        .with_only_columns(CaseRecord.status, func.count(), func.count().filter(CaseRecord.due_at < now))
        .group_by(CaseRecord.status)
    )
    n: dict[str, int] = {}
    late: dict[str, int] = {}
    for status, count, overdue in session.execute(grouped):
        n[status], late[status] = int(count), int(overdue)
    out = {queue: sum(n.get(s.value, 0) for s in statuses) for queue, statuses in QUEUES.items()}
    out["overdue"] = sum(late.get(s.value, 0) for s in QUEUES["overdue"])
    out.pop("amber", None)  # amber is a colour of the list, not a count kept here
    return out


def numbers_of(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(CaseRecord.id, CaseRecord.number).where(CaseRecord.id.in_(ids)))
    return {int(i): str(n) for i, n in rows}


def timeline(session: Session, case_id: int) -> Sequence[CaseActivity]:
    return session.scalars(
        select(CaseActivity).where(CaseActivity.case_id == case_id).order_by(CaseActivity.id)
    ).all()


def evidence_of(session: Session, case_id: int) -> Sequence[CaseEvidence]:
    return session.scalars(
        select(CaseEvidence).where(CaseEvidence.case_id == case_id).order_by(CaseEvidence.id)
    ).all()


def tasks_of(session: Session, case_id: int) -> Sequence[CaseTask]:
    return session.scalars(select(CaseTask).where(CaseTask.case_id == case_id).order_by(CaseTask.id)).all()


def open_task(session: Session, case_id: int, kind: str) -> CaseTask | None:
    return session.scalars(
        select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.kind == kind, CaseTask.status == "open")
    ).first()


def open_tasks_for(session: Session, staff_id: int, *, limit: int = 200) -> Sequence[tuple[CaseTask, str]]:
    """An inspector's open verify/check tasks with their case numbers, the most urgent first."""
    rows = session.execute(
        select(CaseTask, CaseRecord.number)
        .join(CaseRecord, CaseRecord.id == CaseTask.case_id)
        .where(CaseTask.assignee_staff_id == staff_id, CaseTask.status == "open")
        .order_by(CaseTask.due_at)
        .limit(limit)
    ).all()
    return [(task, str(number)) for task, number in rows]


def pauses_of(session: Session, case_id: int) -> Sequence[CasePause]:
    return session.scalars(
        select(CasePause).where(CasePause.case_id == case_id).order_by(CasePause.started_at)
    ).all()


def open_pause(session: Session, case_id: int) -> CasePause | None:
    return session.scalars(
        select(CasePause).where(CasePause.case_id == case_id, CasePause.resumed_at.is_(None))
    ).first()


def suspensions_due(session: Session, now: datetime, *, limit: int = 500) -> Sequence[str]:
    """Numbers of suspended cases whose planned resumption has come."""
    return session.scalars(
        select(CaseRecord.number)
        .where(CaseRecord.status == CaseStatus.suspended.value, CaseRecord.suspended_until <= now)
        .order_by(CaseRecord.suspended_until)
        .limit(limit)
    ).all()


def near_same_class(
    session: Session,
    case: CaseRecord,
    *,
    window: timedelta,
    dlat: float,
    dlon: float,
    scope: Any = None,
    limit: int = 50,
) -> Sequence[CaseRecord]:
    """Open cases of the same class reported within the window and inside a lon/lat box around the case."""
    return session.scalars(
        select(CaseRecord)
        .where(
            true() if scope is None else scope,
            CaseRecord.class_kind == case.class_kind,
            CaseRecord.class_code == case.class_code,
            CaseRecord.reported_at >= case.reported_at - window,
            CaseRecord.reported_at <= case.reported_at + window,
            CaseRecord.lat.between(case.lat - dlat, case.lat + dlat),
            CaseRecord.lon.between(case.lon - dlon, case.lon + dlon),
            CaseRecord.id != case.id,
            CaseRecord.status.not_in([s.value for s in TERMINAL]),
        )
        .order_by(CaseRecord.reported_at)
        .limit(limit)
    ).all()


def next_serial(session: Session, day: str) -> int:
    """The next serial of a local day, taken in a side transaction (core.db.side_transaction).

    On PostgreSQL that is a short transaction of its own, so the day's row is locked for one
    statement, not for the whole report (reports from 50 clients queued on it): a report that fails
    after taking its serial leaves a gap, as a sequence would; numbers stay unique and in report order.
    It need not be durable by itself: the report's own commit, synchronous and later in the WAL, makes
    it so, so a committed case never carries a serial that a crash could hand out again.
    On SQLite it is the report's transaction: no gaps."""
    with side_transaction(session, durable=False) as executor:
        return _take_serial(executor, day)


def _take_serial(executor: Session | Connection, day: str) -> int:
    stmt = (
        update(CaseNumberSequence)
        .where(CaseNumberSequence.day == day)
        .values(last=CaseNumberSequence.last + 1)
        .returning(CaseNumberSequence.last)
    )
    serial = executor.execute(stmt).scalar_one_or_none()
    if serial is not None:
        return int(serial)
    try:
        with executor.begin_nested():  # the day's first report; a concurrent first one may win
            executor.execute(insert(CaseNumberSequence).values(day=day, last=1))
        return 1
    except IntegrityError:
        return int(executor.execute(stmt).scalar_one())


# --- standards and dispatch rules -----------------------------------------------------------------


def list_standards(session: Session, f: StandardFilters) -> Sequence[CaseStandard]:
    stmt = select(CaseStandard).order_by(
        CaseStandard.class_kind, CaseStandard.class_code, CaseStandard.condition_no
    )
    if f.class_kind:
        stmt = stmt.where(CaseStandard.class_kind == f.class_kind)
    if f.class_code:
        stmt = stmt.where(CaseStandard.class_code == f.class_code)
    if not f.include_inactive:
        stmt = stmt.where(CaseStandard.active.is_(True))
    return session.scalars(stmt).all()


def all_standards(session: Session) -> Sequence[CaseStandard]:
    return list_standards(session, StandardFilters(include_inactive=True))


def standard_by_key(session: Session, kind: str, code: str, condition_no: int) -> CaseStandard | None:
    return session.scalars(
        select(CaseStandard).where(
            CaseStandard.class_kind == kind,
            CaseStandard.class_code == code,
            CaseStandard.condition_no == condition_no,
        )
    ).one_or_none()


def dispatch_rule_for(session: Session, kind: str, code: str, street_code: str) -> CaseDispatchRule | None:
    return session.scalars(
        select(CaseDispatchRule).where(
            CaseDispatchRule.class_kind == kind,
            CaseDispatchRule.class_code == code,
            CaseDispatchRule.street_code == street_code,
        )
    ).one_or_none()


def list_dispatch_rules(session: Session) -> Sequence[CaseDispatchRule]:
    return session.scalars(
        select(CaseDispatchRule).order_by(
            CaseDispatchRule.class_kind, CaseDispatchRule.class_code, CaseDispatchRule.street_code
        )
    ).all()


# --- idempotency -----------------------------------------------------------------------------------


def idempotency_key(session: Session, user_id: int, key: str) -> CaseIdempotencyKey | None:
    return session.scalars(
        select(CaseIdempotencyKey).where(CaseIdempotencyKey.user_id == user_id, CaseIdempotencyKey.key == key)
    ).one_or_none()


def purge_idempotency_keys(session: Session, before: datetime) -> int:
    rows = session.scalars(
        select(CaseIdempotencyKey.id).where(CaseIdempotencyKey.created_at < before).limit(5000)
    ).all()
    if rows:
        session.execute(delete(CaseIdempotencyKey).where(CaseIdempotencyKey.id.in_(rows)))
    return len(rows)
