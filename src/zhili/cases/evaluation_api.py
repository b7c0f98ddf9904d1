"""Evaluation (综合评价) JSON API and Excel export: indicators by street, department, post, inspector."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from zhili.cases import evaluation
from zhili.cases.evaluation.excel import workbook_bytes
from zhili.cases.evaluation.indicators import evaluation_settings
from zhili.core.errors import Invalid
from zhili.core.settings import get_settings
from zhili.identity.deps import DbSession, require
from zhili.identity.models import User

router = APIRouter(tags=["evaluation"])

Evaluator = Annotated[User, Depends(require("evaluation:read"))]
GroupByParam = Annotated[
    Literal["street", "department", "post", "inspector"],
    Query(description="street | department | post | inspector"),
]
StartParam = Annotated[
    str, Query(max_length=40, description="period start, inclusive: a date (local midnight) or ISO datetime")
]
EndParam = Annotated[
    str, Query(max_length=40, description="period end, exclusive: a date (local midnight) or an ISO datetime")
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def parse_instant(value: str, name: str) -> datetime:
    """A date is local midnight (the bureau's time zone); a datetime without offset is local time."""
    tz = ZoneInfo(get_settings().timezone)
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=tz)
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(
            f"'{name}' must be a date (2026-01-01) or an ISO datetime, not {value!r}.",
            errors=[{"loc": ["query", name], "msg": "not a date or datetime"}],
        ) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _evaluate(
    session: Any, user: User, group_by: str, start: str, end: str
) -> tuple[list[evaluation.IndicatorRow], datetime, datetime]:
    s, e = parse_instant(start, "start"), parse_instant(end, "end")
    return evaluation.compute(session, group_by=group_by, start=s, end=e, user=user), s, e  # type: ignore[arg-type]


@router.get("/evaluation", summary="Evaluation indicators (综合评价) of a period")
def get_evaluation(
    session: DbSession, user: Evaluator, group_by: GroupByParam, start: StartParam, end: EndParam
) -> dict[str, Any]:
    """Rates are fractions (0.95 = 95 %), times in hours; the formulas are in docs/evaluation.md."""
    rows, s, e = _evaluate(session, user, group_by, start, end)
    return {
        "group_by": group_by,
        "start": s.isoformat(),
        "end": e.isoformat(),
        "weights": evaluation_settings().weights_for(group_by),
        "rows": [r.as_dict() for r in rows],
    }


@router.get("/evaluation/export.xlsx", summary="Evaluation indicators as an Excel workbook")
def export_evaluation(
    session: DbSession, user: Evaluator, group_by: GroupByParam, start: StartParam, end: EndParam
) -> Response:
    rows, s, e = _evaluate(session, user, group_by, start, end)
    name = f"evaluation-{group_by}-{s:%Y%m%d}-{e:%Y%m%d}.xlsx"
    return Response(
        workbook_bytes(rows, group_by=group_by, start=s, end=e),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
