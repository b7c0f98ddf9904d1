"""Plans (作业计划): what, where (a geometry in any CRS, or a grid / community), who, when; made and changed.

Also the two rules the orders reuse: where a work area is (`distance_to_area`) and who may be
assigned (`resolve_who`: a team or person of the responsible department).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry import Point, shape
from shapely.ops import nearest_points
from sqlalchemy.orm import Session

from zhili.cases.workorders import repository
from zhili.cases.workorders.models import WorkPlan
from zhili.cases.workorders.schemas import PlanCreate, PlanUpdate
from zhili.catalog import service as catalog_service
from zhili.core import audit, clock, geo
from zhili.core.errors import Conflict, Invalid, NotFound, NotPermitted
from zhili.core.settings import get_settings
from zhili.identity.scope import department_scoped
from zhili.org import service as org_service

if TYPE_CHECKING:
    from zhili.identity.models import User

GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def site_tz(name: str | None = None) -> ZoneInfo:
    """The site's time zone (settings.timezone): plans' windows are local wall-clock times there."""
    return _zone(name or get_settings().timezone)


# --- where: geometry and distance ------------------------------------------------------------------


def distance_to_area(geometry: dict[str, Any], lon: float, lat: float) -> float:
    """Metres from a WGS-84 point to a WGS-84 area, line or point (0 inside a polygon).

    The nearest point is found in a plane where longitude is shrunk by cos(latitude), so that it is
    the nearest on the ground too; the distance itself is the haversine one.
    """
    k = math.cos(math.radians(lat))

    def squash(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        out[:, 0] *= k
        return out

    area = shapely.transform(shape(geometry), squash)
    here = Point(lon * k, lat)
    if area.covers(here):
        return 0.0
    near = nearest_points(area, here)[0]
    return float(geo.distance_m(near.x / k, near.y, lon, lat))


def _resolve_where(
    session: Session, geometry: dict[str, Any] | None, crs: str, area_code: str | None
) -> tuple[dict[str, Any], str, str | None]:
    """(WGS-84 geometry, street code, area code) from a geometry in `crs`, or a grid / community code."""
    index = org_service.area_index(session)
    if area_code is not None:
        if len(area_code) == 15:
            grid = index.grid(area_code)
            if grid is None:
                raise Invalid(f"No unit grid {area_code}.", errors=[{"loc": ["area_code"], "msg": "unknown"}])
            return grid.geometry, area_code[:9], area_code
        community = next((a for a in index.areas_at("community") if a.code == area_code), None)
        if community is None:
            raise Invalid(f"No community {area_code}.", errors=[{"loc": ["area_code"], "msg": "unknown"}])
        return community.geometry, area_code[:9], area_code
    assert geometry is not None
    gtype = geometry.get("type")
    if gtype not in GEOMETRY_TYPES:
        raise Invalid(
            f"A work area is a Point, LineString or Polygon (or Multi-), not {gtype!r}.",
            errors=[{"loc": ["geometry", "type"], "msg": "unsupported"}],
        )
    wgs = geo.transform_geojson_geometry(geometry, crs, "wgs84")
    geom = shape(wgs)
    if geom.is_empty or not geom.is_valid:
        raise Invalid("The work area's geometry is empty or invalid (self-intersecting?).")
    anchor = geom.representative_point()
    location = index.require_location(float(anchor.x), float(anchor.y))
    return wgs, location.street_code, None


# --- who: department, team, person -----------------------------------------------------------------


def resolve_who(
    session: Session, user: User, department_id: int | None, team_id: int | None, staff_id: int | None
) -> tuple[int, int | None, int | None]:
    if team_id is None and staff_id is None:
        raise Invalid("A plan is assigned to a team ('team_id') or a person ('assignee_staff_id').")
    dept_id = department_id if department_id is not None else user.department_id
    if team_id is not None and dept_id is None:
        team = repository.team_row(session, team_id)
        dept_id = team.department_id if team is not None else None
    if dept_id is None:
        raise Invalid("Name the responsible department in 'department_id'.")
    department = repository.department_row(session, dept_id)
    if department is None or not department.active:
        raise Invalid(f"Department {dept_id} does not exist or is inactive.")
    if user.department_id is not None and user.department_id != dept_id and department_scoped(user):
        raise NotPermitted("You may plan work for your own department only.")
    if team_id is not None:
        team = repository.team_row(session, team_id)
        if team is None or team.department_id != dept_id:
            raise Invalid(f"Team {team_id} is not a team of department {department.name}.")
    if staff_id is not None:
        staff = repository.staff_row(session, staff_id)
        if staff is None or not staff.active or staff.department_id != dept_id:
            raise Invalid(f"Staff {staff_id} is not an active member of department {department.name}.")
        if team_id is not None and staff.team_id != team_id:
            raise Invalid(f"Staff {staff_id} is not in team {team_id}.")
    return dept_id, team_id, staff_id


# --- plans ---------------------------------------------------------------------------------------


def _plan_snapshot(plan: WorkPlan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "task_type": plan.task_type,
        "street_code": plan.street_code,
        "department_id": plan.department_id,
        "team_id": plan.team_id,
        "assignee_staff_id": plan.assignee_staff_id,
        "recurrence": plan.recurrence,
        "min_photos": plan.min_photos,
        "tolerance_m": plan.tolerance_m,
        "sample_rate": plan.sample_rate,
        "active": plan.active,
    }


def create_plan(session: Session, user: User, data: PlanCreate, *, client_ip: str | None = None) -> WorkPlan:
    """作业计划: validate what, where, who and when; orders follow from the generation job."""
    if data.class_kind is not None and data.class_code is not None:
        try:
            catalog_service.require_class(session, data.class_kind, data.class_code)
        except NotFound as exc:
            raise Invalid(f"Unknown {data.class_kind} class {data.class_code}.") from exc
    geometry, street_code, area_code = _resolve_where(session, data.geometry, data.crs, data.area_code)
    streets = user.area_codes or None
    if streets is not None and street_code not in streets:
        raise NotPermitted(f"The work area lies in street {street_code}, outside your streets.")
    dept_id, team_id, staff_id = resolve_who(
        session, user, data.department_id, data.team_id, data.assignee_staff_id
    )
    now = clock.now()
    plan = WorkPlan(
        name=data.name,
        task_type=data.task_type,
        class_kind=data.class_kind,
        class_code=data.class_code,
        description=data.description,
        geometry=geometry,
        area_code=area_code,
        street_code=street_code,
        department_id=dept_id,
        team_id=team_id,
        assignee_staff_id=staff_id,
        recurrence=data.recurrence.model_dump(mode="json"),
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        grace_minutes=data.grace_minutes,
        min_photos=data.min_photos,
        tolerance_m=data.tolerance_m,
        sample_rate=data.sample_rate,
        active=data.active,
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    session.flush()
    audit.record(
        session,
        actor=user.username,
        action="workorders.create_plan",
        entity_type="work_plan",
        entity_id=plan.id,
        after=_plan_snapshot(plan),
        client_ip=client_ip,
    )
    return plan


def visible_plan(session: Session, user: User, plan_id: int) -> WorkPlan:
    """The plan if the user may see it; 404 otherwise (also when it does not exist)."""
    plan = repository.get_plan_visible(session, user, plan_id)
    if plan is None:
        raise NotFound(f"No work plan {plan_id} that you may see.")
    return plan


def update_plan(
    session: Session, user: User, plan_id: int, data: PlanUpdate, *, client_ip: str | None = None
) -> WorkPlan:
    """Change a plan; orders already generated keep their copy (only new windows follow the change)."""
    plan = visible_plan(session, user, plan_id)
    if data.version != plan.version:
        raise Conflict(
            f"Work plan {plan_id} has changed since you read it (your version {data.version}, "
            f"now {plan.version}); reload and try again.",
            current_version=plan.version,
        )
    before = _plan_snapshot(plan)
    changes = data.model_dump(exclude_unset=True, exclude={"version", "crs", "geometry", "area_code"})
    if data.geometry is not None or data.area_code is not None:
        if data.geometry is not None and data.area_code is not None:
            raise Invalid("Give either 'geometry' or 'area_code', not both.")
        plan.geometry, plan.street_code, plan.area_code = _resolve_where(
            session, data.geometry, data.crs, data.area_code
        )
    if "team_id" in changes or "assignee_staff_id" in changes:
        _, team_id, staff_id = resolve_who(
            session,
            user,
            plan.department_id,
            changes.get("team_id", plan.team_id),
            changes.get("assignee_staff_id", plan.assignee_staff_id),
        )
        plan.team_id, plan.assignee_staff_id = team_id, staff_id
    if data.recurrence is not None:
        plan.recurrence = data.recurrence.model_dump(mode="json")
    for name in (
        "name",
        "description",
        "ends_on",
        "grace_minutes",
        "min_photos",
        "tolerance_m",
        "sample_rate",
    ):
        if name in changes and changes[name] is not None:
            setattr(plan, name, changes[name])
    if data.active is not None:
        plan.active = data.active
    if plan.ends_on is not None and plan.ends_on < plan.starts_on:
        raise Invalid("'ends_on' is before the plan's 'starts_on'.")
    plan.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=user.username,
        action="workorders.update_plan",
        entity_type="work_plan",
        entity_id=plan.id,
        before=before,
        after=_plan_snapshot(plan),
        client_ip=client_ip,
    )
    return plan
