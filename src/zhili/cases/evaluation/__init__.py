"""Evaluation (综合评价): the domain note's indicators by street, department, post or inspector over a period.

`compute()` is the one entry point (API, page, Excel export and the benchmark call it); the SQL is in
`queries`, the row and the composite score in `indicators`, the formulas in docs/evaluation.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhili.cases.evaluation import queries
from zhili.cases.evaluation.indicators import (
    COLUMNS,
    GROUPINGS,
    EvaluationSettings,
    IndicatorRow,
    composite_score,
    evaluation_settings,
    ratio,
)
from zhili.cases.models import CaseEvaluationFact, CaseRecord
from zhili.core import clock
from zhili.core.errors import Invalid
from zhili.identity.models import User as UserAccount
from zhili.org import repository as org_repository
from zhili.org.models import Staff

if TYPE_CHECKING:
    from zhili.identity.models import User

__all__ = ["COLUMNS", "GROUPINGS", "EvaluationSettings", "IndicatorRow", "compute"]

MAX_PERIOD = timedelta(days=3 * 366)


def _check_period(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("'start' and 'end' need a time zone (e.g. 2026-01-01T00:00:00+08:00).")
    if not start < end:
        raise Invalid("'start' must lie before 'end'.")
    if end - start > MAX_PERIOD:
        raise Invalid("An evaluation period may span at most three years.")


def _fill_rates(row: IndicatorRow) -> None:
    row.valid_report_rate = ratio(row.valid_reported, row.reported)
    if row.registered is not None:
        row.register_rate = ratio(row.registered, (row.registered or 0) + (row.not_accepted or 0))
        row.on_time_register_rate = ratio(row.on_time_registered, row.registered)
    if row.dispatched is not None and row.returned is not None:
        row.return_rate = ratio(row.returned, row.dispatched)
        row.accurate_dispatch_rate = ratio(row.dispatched - row.returned, row.dispatched)
    row.handle_rate = ratio(row.handled, row.to_handle)
    row.on_time_handle_rate = ratio(row.on_time_handled, row.to_handle)
    row.close_rate = ratio(row.closed, row.to_close)
    row.on_time_close_rate = ratio(row.on_time_closed, row.to_close)
    row.rework_rate = ratio(row.reworked, row.handled)
    row.extension_rate = ratio(row.extended, row.to_handle)


def _row(group_by: str, key: str, name: str, values: dict[str, Any], post: str | None = None) -> IndicatorRow:
    row = IndicatorRow(group_by=group_by, key=key, name=name, post=post)
    for field in (
        "reported", "valid_reported", "self_handled", "registered", "not_accepted", "on_time_registered",
        "dispatched", "returned", "to_handle", "handled", "on_time_handled", "to_close", "closed",
        "on_time_closed", "reworked", "extended", "suspended", "overdue", "overdue_raw", "appeal_exempt",
        "verified", "checked",
    ):
        if field in values:
            setattr(row, field, int(values[field] or 0))
    for field in ("avg_accept_hours", "avg_handle_hours", "avg_close_hours"):
        if values.get(field) is not None:
            setattr(row, field, round(float(values[field]), 2))
    _fill_rates(row)
    if "dispatched" in values:
        row.on_time_dispatch_rate = ratio(values.get("on_time_dispatched"), row.dispatched)
    if "verified" in values:
        row.on_time_verify_rate = ratio(values.get("on_time_verified"), row.verified)
    if "checked" in values:
        row.on_time_check_rate = ratio(values.get("on_time_checked"), row.checked)
    return row


def compute(
    session: Session,
    *,
    group_by: Literal["street", "department", "post", "inspector"],
    start: datetime,
    end: datetime,
    user: User | None = None,
) -> list[IndicatorRow]:
    """The indicators of every object of `group_by` with figures in [start, end), within the user's scope
    (None: the whole district), sorted by name. Rates are fractions; see docs/evaluation.md."""
    if group_by not in GROUPINGS:
        raise Invalid(f"group_by must be one of {', '.join(GROUPINGS)}, not {group_by!r}.")
    _check_period(start, end)
    period = queries.Period(start, end, clock.now())
    scope = queries.scope_of(user)
    rows: list[IndicatorRow] = []
    if group_by == "street":
        data = queries.case_aggregates(session, CaseEvaluationFact.street_code, period, scope)
        areas = org_repository.areas_by_codes(session, list(data))
        rows = [_row(group_by, k, areas[k].name if k in areas else k, v) for k, v in data.items()]
    elif group_by == "department":
        data = queries.case_aggregates(session, CaseEvaluationFact.department_id, period, scope)
        depts = {d.id: d for d in org_repository.departments(session, active_only=False)}
        for k, v in data.items():
            dept = depts.get(k)
            rows.append(_row(group_by, dept.code if dept else str(k), dept.name if dept else str(k), v))
    elif group_by == "inspector":
        data = queries.inspector_aggregates(session, period, scope)
        found = session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(list(data))))
        names = {int(i): str(nm) for i, nm in found}
        rows = [_row(group_by, str(k), names.get(k, str(k)), v) for k, v in data.items()]
    else:
        posts = queries.post_aggregates(session, period, queries.scope_of(user, CaseRecord))
        ids = sorted({uid for _, uid in posts})
        found_users = session.execute(
            select(UserAccount.id, UserAccount.username, UserAccount.display_name)
            .where(UserAccount.id.in_(ids))
        )
        users = {int(uid): (str(username), str(display)) for uid, username, display in found_users}
        for (post, uid), values in posts.items():
            username, display = users.get(uid, (str(uid), str(uid)))
            rows.append(_row(group_by, f"{post}:{username}", display, values, post=post))
    weights = evaluation_settings().weights_for(group_by)
    for row in rows:
        row.score = composite_score(row, weights)
    rows.sort(key=lambda r: (r.post or "", r.key))
    return rows

