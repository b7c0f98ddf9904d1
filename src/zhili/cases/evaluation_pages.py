"""The evaluation page (/evaluation): period picker, grouping tabs, sortable table, chart, Excel download."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from zhili.cases import evaluation
from zhili.cases.evaluation.indicators import COLUMNS, GROUPING_LABELS, POST_LABELS
from zhili.core import clock
from zhili.core.errors import Invalid
from zhili.core.settings import get_settings
from zhili.core.web import render, t
from zhili.identity.deps import DbSession, require
from zhili.identity.models import User

router = APIRouter(include_in_schema=False)

Evaluator = Annotated[User, Depends(require("evaluation:read"))]
PERIODS = {"month": "Month", "quarter": "Quarter", "year": "Year", "custom": "Custom"}


def period_bounds(
    kind: str, today: date, month: str | None, year: int | None, quarter: int | None,
    start: date | None, end: date | None,
) -> tuple[date, date]:
    """[first day, day after the last) of the chosen period; defaults to the one containing today."""
    if kind == "month":
        first = date.fromisoformat(f"{month}-01") if month else today.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1)
    if kind == "quarter":
        y, q = year or today.year, quarter or (today.month - 1) // 3 + 1
        first = date(y, 3 * (q - 1) + 1, 1)
        return first, date(y + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    if kind == "year":
        y = year or today.year
        return date(y, 1, 1), date(y + 1, 1, 1)
    first = start or today.replace(day=1)
    last = end or today
    if last < first:
        raise Invalid("The custom period ends before it starts.")
    return first, last + timedelta(days=1)


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind in ("hours", "score"):
        return f"{value:.2f}"
    return str(value)


@router.get("/evaluation", response_class=HTMLResponse)
def evaluation_page(
    request: Request,
    session: DbSession,
    user: Evaluator,
    group_by: Literal["street", "department", "post", "inspector"] = "street",
    period: Literal["month", "quarter", "year", "custom"] = "month",
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
    start: date | None = None,
    end: date | None = None,
) -> HTMLResponse:
    tz = ZoneInfo(get_settings().timezone)
    today = clock.now().astimezone(tz).date()
    try:
        first, after = period_bounds(period, today, month, year, quarter, start, end)
    except ValueError as exc:
        raise Invalid(f"Not a valid period: {exc}.") from exc
    s, e = datetime.combine(first, time(0), tzinfo=tz), datetime.combine(after, time(0), tzinfo=tz)
    rows = evaluation.compute(session, group_by=group_by, start=s, end=e, user=user)
    columns = list(COLUMNS)
    if group_by == "post":
        columns.insert(1, ("post", "Post", "岗位", "text"))
    table = [
        [
            (_cell(POST_LABELS[r.post][0] if f == "post" and r.post else getattr(r, f), kind),
             getattr(r, f) if kind != "text" else None)
            for f, _, _, kind in columns
        ]
        for r in rows
    ]
    query = {"group_by": group_by, "start": first.isoformat(), "end": after.isoformat()}
    chart = {
        "names": [r.name + (f" · {t(request, POST_LABELS[r.post][0])}" if r.post else "") for r in rows],
        "score": [r.score for r in rows],
        "on_time_close_rate": [
            round(r.on_time_close_rate * 100, 1) if r.on_time_close_rate is not None else None for r in rows
        ],
    }
    base = {"period": period, "month": month or "", "year": year or "", "quarter": quarter or "",
            "start": start.isoformat() if start else "", "end": end.isoformat() if end else ""}
    tabs = [(g, label, "/evaluation?" + urlencode({**base, "group_by": g}))
            for g, (label, _) in GROUPING_LABELS.items()]
    return render(request, "cases/evaluation.html", {
        "group_by": group_by, "period": period, "periods": PERIODS, "tabs": tabs,
        "month_value": month or first.strftime("%Y-%m"), "year_value": year or first.year,
        "quarter_value": quarter or (first.month - 1) // 3 + 1,
        "start_value": first.isoformat(), "end_value": (after - timedelta(days=1)).isoformat(),
        "first": first, "last": after - timedelta(days=1),
        "columns": columns, "table": table, "chart": chart,
        "export_url": "/api/v1/evaluation/export.xlsx?" + urlencode(query),
        "json_url": "/api/v1/evaluation?" + urlencode(query),
    })
