"""Org queries: areas, grids, departments, teams and staff, and the rows the area index is built from."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhili.core import clock
from zhili.org.models import (
    AdminArea,
    Department,
    GeographyRevision,
    ResponsibilityGrid,
    Staff,
    Team,
    UnitGrid,
)
from zhili.org.spatial import AreaRow, GridRow


def geography_revision(session: Session) -> str:
    """The current token ('' before any geography exists): one primary-key read."""
    token = session.scalar(select(GeographyRevision.token).where(GeographyRevision.id == 1))
    return token or ""


def bump_geography_revision(session: Session) -> str:
    token = uuid.uuid4().hex
    row = session.get(GeographyRevision, 1)
    if row is None:
        session.add(GeographyRevision(id=1, token=token, changed_at=clock.now()))
    else:
        row.token, row.changed_at = token, clock.now()
    session.flush()
    return token


def index_rows(session: Session) -> tuple[list[AreaRow], list[GridRow]]:
    """Everything the area index needs, in three queries."""
    parent = AdminArea.__table__.alias("parent")
    areas = [
        AreaRow(code=r.code, name=r.name, level=r.level, parent_code=r.parent_code, geometry=r.geometry,
                approximate=r.approximate, area_m2=r.area_m2)
        for r in session.execute(
            select(AdminArea.code, AdminArea.name, AdminArea.level, parent.c.code.label("parent_code"),
                   AdminArea.geometry, AdminArea.approximate, AdminArea.area_m2)
            .outerjoin(parent, parent.c.id == AdminArea.parent_id)
        )
    ]
    community = AdminArea.__table__.alias("community")
    grids = [
        GridRow(code=r.code, community_code=r.community_code, geometry=r.geometry, area_m2=r.area_m2,
                approximate=r.approximate, responsibility_grid_code=r.rgrid_code,
                inspector_staff_id=r.staff_id, inspector_name=r.staff_name)
        for r in session.execute(
            select(UnitGrid.code, community.c.code.label("community_code"), UnitGrid.geometry,
                   UnitGrid.area_m2, UnitGrid.approximate, ResponsibilityGrid.code.label("rgrid_code"),
                   Staff.id.label("staff_id"), Staff.name.label("staff_name"))
            .join(community, community.c.id == UnitGrid.community_id)
            .outerjoin(ResponsibilityGrid, ResponsibilityGrid.id == UnitGrid.responsibility_grid_id)
            .outerjoin(Staff, Staff.id == ResponsibilityGrid.inspector_staff_id)
        )
    ]
    return areas, grids


def area_by_code(session: Session, code: str) -> AdminArea | None:
    return session.scalars(select(AdminArea).where(AdminArea.code == code)).one_or_none()


def areas_by_codes(session: Session, codes: Sequence[str]) -> dict[str, AdminArea]:
    if not codes:
        return {}
    rows = session.scalars(select(AdminArea).where(AdminArea.code.in_(list(codes))))
    return {a.code: a for a in rows}


def grids_by_codes(session: Session, codes: Sequence[str]) -> dict[str, UnitGrid]:
    found: dict[str, UnitGrid] = {}
    chunk = list(codes)
    for i in range(0, len(chunk), 1000):  # stay under SQLite's bound-parameter limit
        for g in session.scalars(select(UnitGrid).where(UnitGrid.code.in_(chunk[i:i + 1000]))):
            found[g.code] = g
    return found


def district(session: Session) -> AdminArea | None:
    return session.scalars(select(AdminArea).where(AdminArea.level == "district")).first()


def count_areas(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AdminArea)) or 0)


def departments(session: Session, *, active_only: bool = True) -> Sequence[Department]:
    stmt = select(Department).order_by(Department.code)
    if active_only:
        stmt = stmt.where(Department.active.is_(True))
    return session.scalars(stmt).all()


def get_department(session: Session, department_id: int) -> Department | None:
    return session.get(Department, department_id)


def department_by_code(session: Session, code: str) -> Department | None:
    return session.scalars(select(Department).where(Department.code == code)).one_or_none()


def teams_of(session: Session, department_ids: Sequence[int]) -> Sequence[Team]:
    return session.scalars(select(Team).where(Team.department_id.in_(list(department_ids)))
                           .order_by(Team.code)).all()


def staff_counts_by_department(session: Session) -> dict[int, int]:
    rows = session.execute(select(Staff.department_id, func.count()).where(Staff.active.is_(True))
                           .group_by(Staff.department_id))
    return {r[0]: int(r[1]) for r in rows if r[0] is not None}


def staff_by_employee_no(session: Session, employee_no: str) -> Staff | None:
    return session.scalars(select(Staff).where(Staff.employee_no == employee_no)).one_or_none()


def responsibility_grid_by_code(session: Session, code: str) -> ResponsibilityGrid | None:
    return session.scalars(select(ResponsibilityGrid).where(ResponsibilityGrid.code == code)).one_or_none()


RGridRow = tuple[str, str, int, str | None, str | None]


def responsibility_grids_of_street(session: Session, street_code: str) -> list[RGridRow]:
    """(code, name, unit-grid count, inspector name, inspector employee no) of one street's grids."""
    street = AdminArea.__table__.alias("street")
    counts = (select(UnitGrid.responsibility_grid_id, func.count().label("n"))
              .group_by(UnitGrid.responsibility_grid_id).subquery())
    rows = session.execute(
        select(ResponsibilityGrid.code, ResponsibilityGrid.name, func.coalesce(counts.c.n, 0),
               Staff.name, Staff.employee_no)
        .join(street, street.c.id == ResponsibilityGrid.street_id)
        .outerjoin(counts, counts.c.responsibility_grid_id == ResponsibilityGrid.id)
        .outerjoin(Staff, Staff.id == ResponsibilityGrid.inspector_staff_id)
        .where(street.c.code == street_code)
        .order_by(ResponsibilityGrid.code)
    )
    return [(r[0], r[1], int(r[2]), r[3], r[4]) for r in rows]
