"""What the case pages (console and field) share: labels, queues per role, the list query, form parsing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fastapi import Request
from markupsafe import Markup, escape
from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhili.cases import repository, visibility
from zhili.cases.config import CaseConfig, config_for
from zhili.cases.models import CaseRecord
from zhili.cases.schemas import ActionFields, CaseFilters
from zhili.cases.states import TRANSITIONS, CaseAction
from zhili.catalog import repository as catalog_repository
from zhili.core import geo
from zhili.core.errors import Invalid, invalid_from
from zhili.org import repository as org_repository
from zhili.org import service as org_service

if TYPE_CHECKING:
    from zhili.identity.models import User

# English msgids; the templates translate them (zh-CN in messages.po under "# cases pages").
STATUS_LABELS = {
    "to_verify": "To verify",
    "to_register": "To register",
    "to_dispatch": "To dispatch",
    "to_accept": "To accept",
    "handling": "Handling",
    "suspended": "Suspended",
    "to_check": "To check",
    "to_close": "To close",
    "closed": "Closed",
    "not_accepted": "Not accepted",
    "cancelled": "Cancelled",
    "merged": "Merged",
}
ACTION_LABELS = {
    "report": "Case reported",
    "self_handle": "Self-handled",
    "merged_in": "Duplicate merged in",
    "verify": "Verify",
    "register": "Register",
    "not_accept": "Do not accept",
    "dispatch": "Dispatch",
    "accept": "Accept",
    "handle": "Report handling result",
    "return_case": "Return to dispatcher",
    "check": "Check",
    "close": "Close case",
    "rework": "Send back for rework",
    "request_extension": "Request extension",
    "approve_extension": "Approve extension",
    "request_suspension": "Request suspension",
    "suspend": "Suspend",
    "resume": "Resume",
    "reject_request": "Reject request",
    "appeal": "Appeal overdue verdict",
    "approve_appeal": "Approve appeal",
    "urge": "Urge",
    "cancel": "Cancel case",
    "merge": "Merge into another case",
}
SOURCE_LABELS = {
    "inspector": "Inspector report",
    "public": "Public report",
    "hotline": "12345 hotline",
    "video": "Video/AI alarm",
    "leader": "Leader's instruction",
    "department": "Department transfer",
    "self_handled": "Self-handled",
}
COLOUR_LABELS = {"green": "On time", "amber": "Nearly due", "red": "Overdue", "paused": "Paused", "none": "—"}
STAGE_LABELS = {
    "verify": "Verify",
    "register": "Register",
    "dispatch": "Dispatch",
    "handle": "Handle",
    "check": "Check",
}
UNIT_LABELS = {
    "urgent_hours": "urgent hours",
    "working_hours": "working hours",
    "working_days": "working days",
    "calendar_days": "calendar days",
}
EVIDENCE_STAGES = {"report": "Before", "verify": "At verification", "after": "After", "check": "At check"}

# The console's tabs: a named queue of the engine, or "mine" (my open verify/check tasks).
TABS: tuple[tuple[str, str], ...] = (
    ("mine", "My tasks"),
    ("to_verify", "To verify"),
    ("to_register", "To register"),
    ("to_dispatch", "To dispatch"),
    ("to_handle", "To handle"),
    ("to_check", "To check"),
    ("to_close", "To close"),
    ("overdue", "Overdue"),
    ("all", "All cases"),
)
TAB_NAMES = frozenset(name for name, _ in TABS)
# The first role a user holds in this order picks the tab they open on.
DEFAULT_TAB_BY_ROLE: tuple[tuple[str, str], ...] = (
    ("shift_leader", "to_register"),
    ("dispatcher", "to_dispatch"),
    ("operator", "to_verify"),
    ("handler", "to_handle"),
    ("inspector", "mine"),
    ("leader", "overdue"),
    ("admin", "to_register"),
)
# What each action's form asks for (the engine's ActionFields names); "evidence" is a photo upload.
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "verify": ("confirmed", "evidence", "note"),
    "register": ("standard_id", "note"),
    "not_accept": ("reason",),
    "dispatch": ("department_id", "note"),
    "accept": ("note",),
    "handle": ("result", "evidence", "note"),
    "return_case": ("reason",),
    "check": ("passed", "evidence", "note"),
    "close": ("component_status", "note"),
    "rework": ("reason",),
    "request_extension": ("amount", "reason"),
    "approve_extension": ("amount", "note"),
    "request_suspension": ("until", "reason"),
    "suspend": ("until", "reason"),
    "resume": ("note",),
    "reject_request": ("reason",),
    "appeal": ("reason",),
    "approve_appeal": ("note",),
    "urge": ("note",),
    "cancel": ("reason",),
    "merge": ("target_number", "reason"),
}
# Actions whose button is drawn as a warning (they end or reverse something).
DANGER_ACTIONS = frozenset({"not_accept", "return_case", "rework", "cancel", "merge", "reject_request"})
# Actions a list page may apply to several cases at once, with the queue whose rows they fit.
BATCH_ACTIONS: dict[str, tuple[str, ...]] = {
    "to_register": ("register",),
    "to_dispatch": ("dispatch",),
    "to_handle": ("accept",),
    "to_close": ("close",),
}
PAGE_SIZE = 30
ACTION_PERMISSIONS: dict[str, frozenset[str]] = {
    a.value: frozenset(tr.permission for tr in TRANSITIONS if tr.action is a) for a in CaseAction
}


async def case_config(request: Request) -> CaseConfig:
    return config_for(request.app.state.settings)


def tz_of(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.timezone)


def default_tab(user: User) -> str:
    roles = set(user.roles)
    for role, tab in DEFAULT_TAB_BY_ROLE:
        if role in roles:
            return tab
    return "all"


def may_batch(user: User, action: str) -> bool:
    return any(user.has(p) for p in ACTION_PERMISSIONS[action])


@dataclass
class ListQuery:
    """The console's filters as typed in the form (strings kept for re-display) and as engine filters."""

    tab: str
    filters: CaseFilters
    colour: str | None
    values: dict[str, str]


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(
            f"'{value}' is not a date (YYYY-MM-DD).", errors=[{"loc": [field], "msg": "date"}]
        ) from exc


def parse_list_query(request: Request, user: User) -> ListQuery:
    """Read the list's query string; a bad value is a 422 naming the field, as everywhere."""
    q = request.query_params
    values = {k: q.get(k, "").strip() for k in ("tab", "status", "cls", "source", "street", "department",
                                                  "from", "to", "colour", "q", "page")}
    tab = values["tab"] or default_tab(user)
    if tab not in TAB_NAMES:
        raise Invalid(f"Unknown queue '{tab}'.", errors=[{"loc": ["tab"], "msg": "unknown queue"}])
    values["tab"] = tab
    tz = tz_of(request)
    start, end = _day(values["from"], "from"), _day(values["to"], "to")
    kind, _, code = values["cls"].partition(":")
    raw: dict[str, Any] = {
        "queue": tab if tab not in ("mine", "all") else None,
        "mine": tab == "mine",
        "status": [values["status"]] if values["status"] else None,
        "class_kind": kind or None,
        "class_code": code or None,
        "source": values["source"] or None,
        "street_code": values["street"] or None,
        "department_id": values["department"] or None,
        "q": values["q"] or None,
        "reported_from": datetime.combine(start, time(), tz) if start else None,
        "reported_to": datetime.combine(end + timedelta(days=1), time(), tz) if end else None,
        "page": values["page"] or 1,
        "page_size": PAGE_SIZE,
        "sort": "due_at" if tab in ("overdue", "to_handle", "mine") else "-reported_at",
    }
    try:
        filters = CaseFilters.model_validate(raw)
    except ValidationError as exc:
        raise invalid_from(exc) from exc
    colour = values["colour"] or None
    if colour not in (None, "amber", "red"):
        raise Invalid(
            f"Unknown colour '{colour}': amber or red.", errors=[{"loc": ["colour"], "msg": "colour"}]
        )
    return ListQuery(tab, filters, colour, values)


def _scoped(user: User, lq: ListQuery, now: datetime, *, filters: CaseFilters | None = None) -> Any:
    f = filters or lq.filters
    stmt = repository.apply_filters(visibility.visible_to(user), f, now=now, staff_id=user.staff_id)
    if lq.colour == "red":
        stmt = stmt.where(CaseRecord.due_at < now)
    elif lq.colour == "amber":
        stmt = stmt.where(CaseRecord.amber_at <= now, CaseRecord.due_at >= now)
    return stmt


def list_page(
    session: Session, user: User, lq: ListQuery, now: datetime, *, total: int | None = None
) -> tuple[Sequence[repository.CaseRow], int]:
    """One page of the visible cases under the filters, and how many match in all (`total` when the
    caller has counted the tab already: tab_counts counts each tab under the same filters)."""
    stmt = _scoped(user, lq, now)
    f = lq.filters
    ordered = stmt.order_by(*repository.list_order(session, f))
    page = ordered.offset((f.page - 1) * f.page_size).limit(f.page_size)
    rows = repository.list_rows(session, page)
    return rows, repository.capped_count(session, stmt) if total is None else total


def tab_counts(session: Session, user: User, lq: ListQuery, now: datetime) -> dict[str, int]:
    """How many visible cases each tab holds under the same filters: the queues from one grouped
    count, "my tasks" from the task index, "all" counted up to repository.COUNT_CAP + 1."""
    plain = lq.filters.model_copy(update={"queue": None, "mine": False})
    base = _scoped(user, lq, now, filters=plain)
    queues = repository.queue_counts(session, base, now)
    mine = _scoped(user, lq, now, filters=plain.model_copy(update={"mine": True}))
    counts = {name: queues[name] for name, _ in TABS if name in queues}
    counts["mine"] = repository.capped_count(session, mine)
    counts["all"] = repository.capped_count(session, base)
    return counts


def area_names(session: Session) -> dict[str, str]:
    """Street and community names by code, from the shared in-memory area index."""
    return {code: a.name for code, a in org_service.area_index(session).areas.items()}


def streets(session: Session) -> list[tuple[str, str]]:
    index = org_service.area_index(session)
    return sorted((a.code, a.name) for a in index.areas.values() if a.level in ("street", "town"))


def departments(session: Session) -> list[Any]:
    return [d for d in org_repository.departments(session) if d.handles_cases]


def class_names(session: Session) -> dict[str, str]:
    """'kind:code' → class name, for every active class of the catalogue."""
    return {f"{kind}:{code}": name for kind, code, name in catalog_repository.active_class_names(session)}


def class_options(classes: dict[str, list[tuple[str, str]]], selected: str | None) -> dict[str, Markup]:
    """The class filter's <option>s per kind, `selected` ("kind:code") marked. The catalogue's 400-odd
    options are rendered once per catalogue content, not by the template on every list page (they were
    a third of the page's time)."""
    rendered = _rendered_options(tuple((kind, tuple(pairs)) for kind, pairs in classes.items()))
    if not selected:
        return rendered
    mark = f'value="{escape(selected)}"'  # as the options were rendered: escaped
    # Plain str.replace on the rendered (already escaped) text; Markup.replace would escape the quotes.
    return {
        kind: Markup(str(html).replace(mark, f"{mark} selected", 1))  # noqa: S704 - escaped parts only
        for kind, html in rendered.items()
    }


@lru_cache(maxsize=4)
def _rendered_options(classes: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]) -> dict[str, Markup]:
    return {
        kind: Markup("").join(
            Markup('<option value="{0}:{1}">{1} {2}</option>').format(kind, code, name)
            for code, name in pairs
        )
        for kind, pairs in classes
    }


def classes_by_kind(session: Session) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {"matter": [], "component": []}
    for kind, code, name in catalog_repository.active_class_names(session):
        out.setdefault(kind, []).append((code, name))
    return out


def to_map_crs(request: Request, lon: float, lat: float) -> tuple[float, float]:
    """A stored WGS-84 point in the base map's CRS (the map script converts nothing)."""
    crs = request.app.state.settings.tile_crs or "wgs84"
    if crs == "wgs84":
        return lon, lat
    x, y = geo.from_wgs84(lon, lat, crs)
    return round(float(x), 7), round(float(y), 7)


def remaining_text(request: Request, seconds: float | None) -> str:
    """'3 h 20 min left' / '1 d 2 h overdue', in the request's language."""
    from zhili.core.web import t

    if seconds is None:
        return ""
    late = seconds < 0
    s = int(abs(seconds))
    days, hours, minutes = s // 86400, (s % 86400) // 3600, (s % 3600) // 60
    if days:
        span = t(request, "%(d)s d %(h)s h", d=str(days), h=str(hours))
    elif hours:
        span = t(request, "%(h)s h %(m)s min", h=str(hours), m=str(minutes))
    else:
        span = t(request, "%(m)s min", m=str(max(minutes, 1)))
    return t(request, "%(span)s overdue", span=span) if late else t(request, "%(span)s left", span=span)


# Every field an action form may post (ACTION_FIELDS' names, the version, the phone's position).
_POSTED_TEXT = ("version", "note", "reason", "result", "confirmed", "passed", "standard_id", "department_id",
                "amount", "until", "target_number", "component_status", "lon", "lat")


async def posted_action_form(request: Request) -> dict[str, Any]:
    """An action form as posted, for the console and the phone alike (one list of fields to keep)."""
    form = await request.form()  # already parsed by the CSRF check; Starlette caches it
    values: dict[str, Any] = {name: str(form.get(name) or "") for name in _POSTED_TEXT}
    values["evidence"] = [str(v) for v in form.getlist("evidence") if v]
    return values


def action_fields(form: dict[str, Any], tz: ZoneInfo) -> ActionFields:
    """An action form's strings as the engine's ActionFields; a bad value is a readable 422."""
    raw: dict[str, Any] = {}
    for name in ("note", "reason", "result", "target_number", "component_status"):
        value = str(form.get(name) or "").strip()
        if value:
            raw[name] = value
    for name in ("confirmed", "passed"):
        value = str(form.get(name) or "")
        if value:
            raw[name] = value == "yes"
    for name in ("standard_id", "department_id", "amount"):
        value = str(form.get(name) or "").strip()
        if value:
            raw[name] = value
    until = str(form.get("until") or "").strip()
    day = _day(until, "until")
    if day is not None:
        # A suspension ends at the start of that day's office hours.
        raw["until"] = datetime.combine(day, time(8, 30), tz)
    raw["evidence"] = [s for s in form.get("evidence", []) if s]
    try:
        return ActionFields.model_validate(raw)
    except ValidationError as exc:
        raise invalid_from(exc) from exc
