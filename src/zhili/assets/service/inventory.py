"""Component use cases: register, change, close-a-case outcome, read now or at a past date, history, lists."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from zhili.assets import cells, extensions, ids, repository
from zhili.assets.models import Component, ComponentVersion
from zhili.assets.schemas import (
    ComponentChange,
    ComponentCreate,
    ComponentFilters,
    ComponentListItem,
    ComponentPage,
    ComponentRead,
    VersionRead,
)
from zhili.assets.service.common import (
    CellDeltas,
    Reference,
    actor_name,
    diff,
    reference,
    state_of,
    stored,
)
from zhili.assets.states import STATUSES
from zhili.core import audit, clock, geo
from zhili.core.errors import Conflict, Invalid, NotFound
from zhili.evidence import service as evidence_service
from zhili.identity import scope

if TYPE_CHECKING:
    from zhili.identity.models import User


def streets_of(user: User | None) -> list[str] | None:
    """The streets a user's component queries are limited to (None: the whole district)."""
    return None if user is None else scope.street_codes_for(user)


def _not_found(code: str) -> NotFound:
    return NotFound(f"No component with ID {code} (or it is outside your streets).")


def _located(ref: Reference, lon: float, lat: float, crs: str) -> tuple[float, float, Any]:
    geo.check_lonlat(lon, lat)
    wlon, wlat = geo.to_wgs84(float(lon), float(lat), crs)
    wlon, wlat = stored(wlon), stored(wlat)  # located where it is stored
    return wlon, wlat, ref.index.require_location(wlon, wlat)


def _record_version(
    session: Session,
    c: Component,
    ref: Reference,
    actor: str | None,
    action: str,
    changes: dict[str, Any],
    *,
    case_number: str | None = None,
    note: str | None = None,
) -> ComponentVersion:
    session.flush()  # the ORM has bumped c.version
    row = ComponentVersion(
        component_id=c.id,
        version=c.version,
        valid_from=c.updated_at,
        actor=actor,
        action=action,
        changes=changes,
        state=state_of(c, ref),
        case_number=case_number,
        note=note,
    )
    session.add(row)
    return row


def _check_photos(session: Session, shas: list[str]) -> None:
    """Photos are evidence files uploaded first (POST /api/v1/files); refuse a SHA-256 never stored."""
    for sha in shas:
        try:
            evidence_service.get_evidence(session, sha)
        except NotFound as exc:
            raise Invalid(
                f"No uploaded file has SHA-256 {sha}; upload the photo first (POST /api/v1/files)."
            ) from exc


def _check_in_scope(user: User | None, street_code: str) -> None:
    streets = streets_of(user)
    if streets is not None and street_code not in streets:
        raise Invalid(f"The location is in street {street_code}, outside the streets you work in.")


def register_component(
    session: Session, user: User | None, data: ComponentCreate, *, client_ip: str | None = None
) -> Component:
    """Record a new component; assigns the 17-digit ID when none is given."""
    ref = reference(session)
    klass = ref.klass(data.class_code)
    lon, lat, loc = _located(ref, data.lon, data.lat, data.crs)
    _check_in_scope(user, loc.street_code)
    dept = ref.department(data.department)
    attributes = extensions.clean_attributes(klass.code, data.attributes)
    _check_photos(session, data.photos)
    legacy = None
    if data.code and len(data.code) == 16:
        legacy, parsed = data.code, ids.from_legacy(data.code, ref.district, ref.class_for_legacy)
    elif data.code:
        parsed = ids.parse(data.code, ref.district)
    else:
        parsed = None
    if parsed is not None:
        if parsed.class_code != klass.code:
            raise Invalid(f"ID {parsed.code} is of class {parsed.class_code}, not {klass.code}.")
        if repository.by_codes(session, [parsed.code]):
            raise Conflict(f"A component with ID {parsed.code} exists already.")
        repository.raise_serial_floor(session, klass.code, parsed.serial, ref.district)
        code = parsed.code
    else:
        code = ids.compose(
            ref.district, klass.code, repository.allocate_serials(session, klass.code, 1, ref.district)
        )
    now = clock.now()
    c = Component(
        code=code,
        legacy_code=legacy,
        class_code=klass.code,
        major_code=klass.major_code,
        name=data.name,
        department_id=dept.id if dept else None,
        owner=data.owner,
        maintainer=data.maintainer,
        status=data.status,
        lon=lon,
        lat=lat,
        cell=_cell9(lon, lat),
        grid_code=loc.grid_code,
        community_code=loc.community_code,
        street_code=loc.street_code,
        address=data.address,
        initial_date=data.initial_date or now.date(),
        changed_date=data.changed_date,
        data_source=data.data_source,
        accuracy=data.accuracy,
        photos=list(data.photos),
        attributes=attributes,
        notes=data.notes,
        created_at=now,
        updated_at=now,
    )
    session.add(c)
    session.flush()
    version = _record_version(session, c, ref, actor_name(user), "create", {})
    deltas = CellDeltas()
    deltas.add(c, +1)
    deltas.write(session)
    audit.record(
        session,
        actor=actor_name(user),
        action="assets.register_component",
        entity_type="component",
        entity_id=c.code,
        after=version.state,
        client_ip=client_ip,
    )
    return c


def _cell9(lon: float, lat: float) -> str:
    return cells.point_cells([lon], [lat])[0][cells.POINT_CELL_RES]


def _load(session: Session, user: User | None, code: str) -> Component:
    c = repository.by_code(session, code, streets_of(user))
    if c is None:
        raise _not_found(code)
    return c


def change_component(
    session: Session, user: User | None, code: str, data: ComponentChange, *, client_ip: str | None = None
) -> Component:
    """Change what is given; a change that changes nothing writes no new version."""
    ref = reference(session)
    c = _load(session, user, code)
    if c.version != data.version:
        raise Conflict(
            f"Component {code} is at version {c.version}, you changed version {data.version}; "
            "reload it and try again.",
            current_version=c.version,
        )
    before = state_of(c, ref)
    given = data.model_dump(exclude_unset=True)
    if ("lon" in given) != ("lat" in given):
        raise Invalid("Give both lon and lat to move a component.")
    deltas = CellDeltas()
    deltas.add(c, -1)
    if "lon" in given and data.lon is not None and data.lat is not None:
        lon, lat, loc = _located(ref, data.lon, data.lat, data.crs)
        _check_in_scope(user, loc.street_code)
        c.lon, c.lat, c.cell = lon, lat, _cell9(lon, lat)
        c.grid_code, c.community_code, c.street_code = loc.grid_code, loc.community_code, loc.street_code
    if "department" in given:
        dept = ref.department(data.department)
        c.department_id = dept.id if dept else None
    if given.get("photos"):
        _check_photos(session, given["photos"])
    if "attributes" in given:
        c.attributes = extensions.clean_attributes(c.class_code, data.attributes or {})
    for field in (
        "name",
        "owner",
        "maintainer",
        "status",
        "address",
        "initial_date",
        "changed_date",
        "data_source",
        "accuracy",
        "photos",
        "notes",
    ):
        if field in given:
            if field in ("name", "status", "data_source") and given[field] is None:
                raise Invalid(f"{field} cannot be emptied.")
            setattr(c, field, given[field])
    after = state_of(c, ref)
    changes = diff(before, after)
    if not changes:
        session.expire(c)
        return c
    now = clock.now()
    c.updated_at = now
    if "changed_date" not in given and {"status", "lon", "lat"} & changes.keys():
        c.changed_date = now.date()  # 变更日期 follows a change of state or place unless given
        changes = diff(before, state_of(c, ref))
    _record_version(session, c, ref, actor_name(user), "change", changes, note=data.note)
    deltas.add(c, +1)
    deltas.write(session)
    audit.record(
        session,
        actor=actor_name(user),
        action="assets.change_component",
        entity_type="component",
        entity_id=c.code,
        before={k: v[0] for k, v in changes.items()},
        after={k: v[1] for k, v in changes.items()},
        client_ip=client_ip,
    )
    return c


def apply_case_outcome(
    session: Session,
    actor: User | str | None,
    component_code: str,
    new_status: str,
    *,
    case_number: str,
    note: str | None = None,
) -> ComponentRead:
    """For the cases domain: a closed case about a component sets its status (e.g. 丢失 → 完好).

    Idempotent: the same outcome again writes nothing. The version row carries the case number.
    """
    if new_status not in STATUSES:
        raise Invalid(f"unknown component status {new_status!r}; use one of {', '.join(STATUSES)}")
    ref = reference(session)
    c = repository.by_code(session, component_code)
    if c is None:
        raise NotFound(f"No component with ID {component_code}.")
    if c.status != new_status:
        before = state_of(c, ref)
        deltas = CellDeltas()
        deltas.add(c, -1)
        now = clock.now()
        c.status, c.updated_at, c.changed_date = new_status, now, now.date()
        changes = diff(before, state_of(c, ref))
        _record_version(
            session, c, ref, actor_name(actor), "case_outcome", changes, case_number=case_number, note=note
        )
        deltas.add(c, +1)
        deltas.write(session)
        audit.record(
            session,
            actor=actor_name(actor),
            action="assets.apply_case_outcome",
            entity_type="component",
            entity_id=c.code,
            before={"status": changes["status"][0]},
            after={"status": new_status, "case_number": case_number},
        )
    return to_read(ref, state_of(c, ref), c.version, c.updated_at, "wgs84")


def find_component(session: Session, code: str) -> ComponentRead | None:
    """For other domains (cases): the component with this ID, whoever asks, or None."""
    c = repository.by_code(session, code)
    if c is None:
        return None
    ref = reference(session)
    return to_read(ref, state_of(c, ref), c.version, c.updated_at, "wgs84")


def to_read(
    ref: Reference,
    state: dict[str, Any],
    version: int,
    updated_at: datetime,
    crs: str,
    as_of: datetime | None = None,
) -> ComponentRead:
    klass = ref.classes.get(state["class_code"])
    dept = ref.departments.get(state["department_code"] or "")
    community = ref.index.areas.get(state["community_code"])
    street = ref.index.areas.get(state["street_code"])
    lon, lat = geo.from_wgs84(float(state["lon"]), float(state["lat"]), crs)
    return ComponentRead.model_validate(
        {
            **state,
            "lon": stored(lon),
            "lat": stored(lat),
            "crs": crs,
            "class_name": klass.name if klass else state["class_code"],
            "major_code": state["class_code"][:2],
            "major_name": klass.major_name if klass else "",
            "is_local_class": bool(klass and klass.is_local),
            "department_name": dept.name if dept else None,
            "community_name": community.name if community else "",
            "street_name": street.name if street else "",
            "version": version,
            "updated_at": updated_at,
            "as_of": as_of,
        }
    )


def read_component(
    session: Session, user: User | None, code: str, *, crs: str = "wgs84", at: datetime | None = None
) -> ComponentRead:
    """The component now, or as it stood at `at` (from its version history)."""
    crs_name = geo.parse_crs(crs)
    c = _load(session, user, code)
    ref = reference(session)
    if at is None:
        return to_read(ref, state_of(c, ref), c.version, c.updated_at, crs_name)
    v = repository.version_at(session, c.id, at)
    if v is None:
        raise NotFound(
            f"Component {code} was not yet recorded at {at.isoformat()} "
            f"(first recorded {c.created_at.isoformat()})."
        )
    return to_read(ref, v.state, v.version, v.valid_from, crs_name, as_of=at)


def history(session: Session, user: User | None, code: str) -> list[VersionRead]:
    c = _load(session, user, code)
    return [VersionRead.model_validate(v, from_attributes=True) for v in repository.versions(session, c.id)]


def list_components(
    session: Session,
    user: User | None,
    filters: ComponentFilters,
    *,
    limit: int = 50,
    offset: int = 0,
    crs: str = "wgs84",
) -> ComponentPage:
    """A page of the components the user may see, coordinates in `crs`."""
    crs_name = geo.parse_crs(crs)
    ref = reference(session)
    dept_id = _department_filter(ref, filters)
    total, rows = repository.search(session, filters, streets_of(user), dept_id, limit=limit, offset=offset)
    items = [_list_item(ref, c) for c in rows]
    for item in items:
        item.lon, item.lat = (stored(v) for v in geo.from_wgs84(item.lon, item.lat, crs_name))
    return ComponentPage(total=total, limit=limit, offset=offset, items=items)


def _department_filter(ref: Reference, filters: ComponentFilters) -> int | None:
    if filters.department is None:
        return None
    dept = ref.department(filters.department)
    return dept.id if dept else None


def _list_item(ref: Reference, c: Component) -> ComponentListItem:
    klass = ref.classes.get(c.class_code)
    dept = ref.departments_by_id.get(c.department_id) if c.department_id else None
    return ComponentListItem(
        code=c.code,
        class_code=c.class_code,
        class_name=klass.name if klass else "",
        name=c.name,
        status=c.status,  # type: ignore[arg-type]  # stored from the closed vocabulary
        lon=c.lon,
        lat=c.lat,
        street_code=c.street_code,
        grid_code=c.grid_code,
        address=c.address,
        department_code=dept.code if dept else None,
    )


def end_of_day(day: date, tz: str) -> datetime:
    """The last instant of a local calendar day, as aware UTC (a date in ?at= means 'by the end of it')."""
    local = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=ZoneInfo(tz))
    return (local - timedelta(microseconds=1)).astimezone(UTC)
