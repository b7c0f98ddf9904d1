"""Read models: a case as the list and the detail page show it, coordinates in the caller's CRS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from zhili.cases import repository
from zhili.cases.config import CaseConfig
from zhili.cases.models import CaseRecord
from zhili.cases.schemas import (
    ActivityRead,
    CaseListItem,
    CaseRead,
    ClockRead,
    EvidenceRead,
    TaskRead,
)
from zhili.cases.service import deadlines, rules
from zhili.cases.service.timeline import handle_pauses
from zhili.cases.service.workflow import suggest_department
from zhili.cases.states import CaseStatus
from zhili.core import geo

if TYPE_CHECKING:
    from zhili.identity.models import User

_LIST_FIELDS = tuple(
    f for f in CaseListItem.model_fields if f not in ("lon", "lat", "crs", "colour", "remaining_seconds")
)


def _point(case: CaseRecord | repository.CaseRow, crs: geo.CRS) -> tuple[float, float]:
    if crs == "wgs84":
        return case.lon, case.lat
    lon, lat = geo.from_wgs84(case.lon, case.lat, crs)
    return round(float(lon), 7), round(float(lat), 7)


def list_item(case: CaseRecord | repository.CaseRow, now: datetime, crs: geo.CRS = "wgs84") -> CaseListItem:
    """A case as lists show it, from its entity or its list row (repository.list_rows)."""
    return CaseListItem(**{f: getattr(case, f) for f in _LIST_FIELDS}, **_shown(case, now, crs))


def list_item_json(
    case: CaseRecord | repository.CaseRow, now: datetime, crs: geo.CRS = "wgs84"
) -> dict[str, Any]:
    """`list_item(...).model_dump(mode="json")`, built directly: what the list API and a minimal
    action answer send. Building the items as models was about a fifth of a list request's CPU
    (py-spy), and FastAPI validated the returned page in one more trip through a worker thread.
    tests/cases/test_api.py holds the two equal on every field."""
    values = case._asdict() if isinstance(case, Row) else {f: getattr(case, f) for f in _LIST_FIELDS}
    item = {f: values[f] for f in _LIST_FIELDS}
    item["reported_at"] = _json_instant(item["reported_at"])
    item["due_at"] = _json_instant(item["due_at"])
    item.update(_shown(case, now, crs))
    return item


def _shown(case: CaseRecord | repository.CaseRow, now: datetime, crs: geo.CRS) -> dict[str, Any]:
    """What a list item derives rather than reads: the point in the caller's CRS and the clock."""
    lon, lat = _point(case, crs)
    remaining = (case.due_at - now).total_seconds() if case.due_at is not None else None
    return {"lon": lon, "lat": lat, "crs": crs, "colour": deadlines.colour(case, now),
            "remaining_seconds": remaining}


def _json_instant(at: datetime | None) -> str | None:
    """An instant as pydantic writes it in JSON: ISO 8601, UTC as 'Z'."""
    if at is None:
        return None
    text = at.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def case_detail(
    session: Session, user: User, case: CaseRecord, cfg: CaseConfig, now: datetime, crs: geo.CRS = "wgs84"
) -> CaseRead:
    item = list_item(case, now, crs)
    clock_view = deadlines.clock_view(case, cfg, now, handle_pauses(session, case))
    merged_into = (
        repository.numbers_of(session, [case.merged_into_id]).get(case.merged_into_id)
        if case.merged_into_id is not None
        else None
    )
    suggested = suggest_department(session, case) if case.status == CaseStatus.to_dispatch else None
    extra = {
        f: getattr(case, f)
        for f in CaseRead.model_fields
        if f not in CaseListItem.model_fields and hasattr(CaseRecord, f)
    }
    return CaseRead(
        **item.model_dump(),
        **extra,
        merged_into_number=merged_into,
        suggested_department_id=suggested,
        clock=ClockRead(**clock_view.__dict__),
        allowed_actions=rules.allowed_actions_for(session, user, case, cfg, now),
        timeline=[ActivityRead.model_validate(a) for a in repository.timeline(session, case.id)],
        evidence=[EvidenceRead.model_validate(e) for e in repository.evidence_of(session, case.id)],
        tasks=[TaskRead.model_validate(t) for t in repository.tasks_of(session, case.id)],
    )
