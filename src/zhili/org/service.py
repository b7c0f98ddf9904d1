"""Org use cases: the shared area index, point location, and binding inspectors to responsibility grids."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from zhili.core import audit, geo
from zhili.core.errors import Invalid, NotFound
from zhili.org import repository
from zhili.org.spatial import AreaIndex, Location

_lock = threading.Lock()
# One index per database (tests and benches open several), with the revision token it was built at.
_indexes: dict[str, tuple[str, AreaIndex]] = {}


def area_index(session: Session) -> AreaIndex:
    """The area index for the session's database, rebuilt when the geography revision has changed."""
    token = repository.geography_revision(session)
    key = str(session.get_bind().engine.url)
    cached = _indexes.get(key)
    if cached is not None and cached[0] == token:
        return cached[1]
    with _lock:
        cached = _indexes.get(key)
        if cached is not None and cached[0] == token:
            return cached[1]
        index = AreaIndex(*repository.index_rows(session))
        _indexes[key] = (token, index)
        return index


def locate(session: Session, lon: float, lat: float, crs: geo.CRS = "wgs84") -> Location:
    """The grid, community and street of a point given in any supported CRS; 422 outside the district."""
    geo.check_lonlat(lon, lat)
    wlon, wlat = geo.to_wgs84(lon, lat, crs)
    return area_index(session).require_location(float(wlon), float(wlat))


def assign_inspector(session: Session, actor: str | None, responsibility_grid_code: str,
                     employee_no: str | None, *, client_ip: str | None = None) -> None:
    """Bind (or, with None, unbind) the inspector who patrols a responsibility grid."""
    rgrid = repository.responsibility_grid_by_code(session, responsibility_grid_code)
    if rgrid is None:
        raise NotFound(f"No responsibility grid with code {responsibility_grid_code!r}.")
    before = {"inspector_staff_id": rgrid.inspector_staff_id}
    staff_id = None
    if employee_no is not None:
        staff = repository.staff_by_employee_no(session, employee_no)
        if staff is None:
            raise NotFound(f"No staff member with employee number {employee_no!r}.")
        if staff.post != "inspector" or not staff.active:
            raise Invalid(f"Staff member {employee_no} is not an active inspector (post: {staff.post}).")
        staff_id = staff.id
    rgrid.inspector_staff_id = staff_id
    repository.bump_geography_revision(session)
    audit.record(session, actor=actor, action="org.assign_inspector",
                 entity_type="responsibility_grid", entity_id=rgrid.code, before=before,
                 after={"inspector_staff_id": staff_id}, client_ip=client_ip)
