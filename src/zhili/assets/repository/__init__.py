"""Assets queries: components in the caller's street scope, history, serial counters and the map's cells.

Scope has one home here: every list, detail, map and export query takes the street codes the user
is limited to (`None` = the whole district, from zhili.identity.scope.street_codes_for). The bulk
writes of imports and the demo are in bulk.py, re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, case, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import Table

from zhili.assets.models import Component, ComponentCell, ComponentSerial, ComponentVersion
from zhili.assets.repository.bulk import CELL_VALUE_COLUMNS as CELL_VALUE_COLUMNS
from zhili.assets.repository.bulk import CellKey as CellKey
from zhili.assets.repository.bulk import apply_cell_deltas as apply_cell_deltas
from zhili.assets.repository.bulk import copy_rows as copy_rows
from zhili.assets.repository.bulk import insert_many as insert_many
from zhili.assets.repository.bulk import insert_tuples as insert_tuples
from zhili.assets.repository.bulk import max_component_id as max_component_id
from zhili.assets.repository.bulk import next_component_ids as next_component_ids
from zhili.assets.repository.bulk import tune_for_bulk as tune_for_bulk
from zhili.assets.schemas import ComponentFilters
from zhili.assets.states import STATUSES

Streets = Sequence[str] | None
_SERIALS = cast(Table, ComponentSerial.__table__)
# Stay well under SQLite's bound-parameter limit in IN lists.
IN_CHUNK = 900
STATUS_COLUMNS: dict[str, Any] = {s: getattr(ComponentCell, f"n_{s}") for s in STATUSES}


def _in_scope(streets: Streets) -> ColumnElement[bool] | None:
    if streets is None:
        return None
    return Component.street_code.in_(list(streets)) if streets else literal(False)


def scoped(stmt: Select[Any], streets: Streets) -> Select[Any]:
    cond = _in_scope(streets)
    return stmt if cond is None else stmt.where(cond)


def by_code(session: Session, code: str, streets: Streets = None) -> Component | None:
    return session.scalars(scoped(select(Component).where(Component.code == code), streets)).one_or_none()


def by_codes(session: Session, codes: Sequence[str], *, for_update: bool = False) -> dict[str, Component]:
    """Components by ID (locked for the rest of the transaction when for_update, on PostgreSQL)."""
    found: dict[str, Component] = {}
    codes = list(codes)
    for i in range(0, len(codes), IN_CHUNK):
        stmt = select(Component).where(Component.code.in_(codes[i : i + IN_CHUNK]))
        if for_update:
            stmt = stmt.with_for_update()
        for c in session.scalars(stmt):
            found[c.code] = c
    return found


def _filtered(
    stmt: Select[Any], f: ComponentFilters, streets: Streets, department_id: int | None
) -> Select[Any]:
    stmt = scoped(stmt, streets)
    if f.q:
        q = f.q.strip()
        if q.isascii() and q.isdigit():
            stmt = stmt.where(Component.code >= q, Component.code < q + ":")  # prefix, by the index
        else:
            like = f"%{q.replace('%', '').replace('_', '')}%"
            stmt = stmt.where(or_(Component.name.like(like), Component.address.like(like)))
    if f.class_codes:
        stmt = stmt.where(Component.class_code.in_(f.class_codes))
    if f.major_codes:
        stmt = stmt.where(Component.major_code.in_(f.major_codes))
    if f.statuses:
        stmt = stmt.where(Component.status.in_(f.statuses))
    if f.street_codes:
        stmt = stmt.where(Component.street_code.in_(f.street_codes))
    if f.department is not None:
        stmt = stmt.where(Component.department_id == department_id)
    if f.grid_code:
        stmt = stmt.where(Component.grid_code == f.grid_code)
    if f.bbox:
        minx, miny, maxx, maxy = f.bbox
        stmt = stmt.where(Component.lon.between(minx, maxx), Component.lat.between(miny, maxy))
    return stmt


def search(
    session: Session,
    f: ComponentFilters,
    streets: Streets,
    department_id: int | None,
    *,
    limit: int,
    offset: int,
) -> tuple[int, Sequence[Component]]:
    total = session.scalar(_filtered(select(func.count()).select_from(Component), f, streets, department_id))
    rows = session.scalars(
        _filtered(select(Component), f, streets, department_id)
        .order_by(Component.code)
        .limit(limit)
        .offset(offset)
    ).all()
    return int(total or 0), rows


def iter_filtered(
    session: Session, f: ComponentFilters, streets: Streets, department_id: int | None, *, chunk: int = 5000
) -> Iterator[Sequence[Component]]:
    """Every matching component, a chunk at a time in ID order (keyset paging: memory stays flat)."""
    last = 0
    while True:
        rows = session.scalars(
            _filtered(select(Component), f, streets, department_id)
            .where(Component.id > last)
            .order_by(Component.id)
            .limit(chunk)
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id
        session.expunge_all()


def versions(session: Session, component_id: int) -> Sequence[ComponentVersion]:
    return session.scalars(
        select(ComponentVersion)
        .where(ComponentVersion.component_id == component_id)
        .order_by(ComponentVersion.version.desc())
    ).all()


def version_at(session: Session, component_id: int, when: datetime) -> ComponentVersion | None:
    """The version in force at `when`: the last one that started at or before it."""
    return session.scalars(
        select(ComponentVersion)
        .where(ComponentVersion.component_id == component_id, ComponentVersion.valid_from <= when)
        .order_by(ComponentVersion.valid_from.desc(), ComponentVersion.version.desc())
        .limit(1)
    ).one_or_none()


# --- serials ---------------------------------------------------------------------------------------


def _ensure_serial_row(session: Session, class_code: str, district: str) -> None:
    table = _SERIALS
    if session.execute(select(table.c.class_code).where(table.c.class_code == class_code)).first():
        return
    # First use of the class here: start above any ID already stored (e.g. imported with IDs).
    top = session.scalar(
        select(func.max(Component.code)).where(
            Component.class_code == class_code, Component.code.like(f"{district}%")
        )
    )
    try:
        with session.begin_nested():  # a concurrent first use may insert the row first
            session.execute(
                insert(table).values(class_code=class_code, last_serial=int(top[11:]) if top else 0)
            )
    except IntegrityError:
        pass


def allocate_serials(session: Session, class_code: str, n: int, district: str) -> int:
    """Reserve `n` consecutive serials of a class; returns the first. The counter row stays locked by
    this transaction (PostgreSQL row lock; on SQLite the transaction is the one writer), so concurrent
    imports queue."""
    _ensure_serial_row(session, class_code, district)
    table = _SERIALS
    last = session.execute(
        update(table)
        .where(table.c.class_code == class_code)
        .values(last_serial=table.c.last_serial + n)
        .returning(table.c.last_serial)
    ).scalar_one()
    return int(last) - n + 1


def raise_serial_floor(session: Session, class_code: str, serial: int, district: str) -> None:
    """Make sure later allocations start above `serial` (an ID given explicitly)."""
    _ensure_serial_row(session, class_code, district)
    table = _SERIALS
    session.execute(
        update(table)
        .where(table.c.class_code == class_code)
        .values(last_serial=case((table.c.last_serial < serial, serial), else_=table.c.last_serial))
    )


def _total(statuses: Sequence[str]) -> ColumnElement[Any]:
    cols = [STATUS_COLUMNS[s] for s in (statuses or STATUSES)]
    expr: ColumnElement[Any] = cols[0]
    for c in cols[1:]:
        expr = expr + c
    return expr


def _cell_filters(classes: Sequence[str] | None, streets: Streets) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if classes is not None:
        conds.append(ComponentCell.class_code.in_(list(classes)) if classes else literal(False))
    if streets is not None:
        conds.append(ComponentCell.street_code.in_(list(streets)) if streets else literal(False))
    return conds


def cell_summary(
    session: Session,
    res: int,
    cells: Sequence[str],
    classes: Sequence[str] | None,
    statuses: Sequence[str],
    streets: Streets,
) -> list[tuple[str, int, int, float, float]]:
    """(cell, count, damaged+missing, mean lon, mean lat) for the non-empty cells among `cells`."""
    total = _total(statuses)
    alert_statuses = [s for s in ("damaged", "missing") if not statuses or s in statuses]
    alert = _total(alert_statuses) if alert_statuses else literal(0)
    everything = _total(STATUSES)
    out = []
    conds = _cell_filters(classes, streets)
    for i in range(0, len(cells), IN_CHUNK):
        stmt = (
            select(
                ComponentCell.cell,
                func.sum(total),
                func.sum(alert),
                func.sum(ComponentCell.sum_lon),
                func.sum(ComponentCell.sum_lat),
                func.sum(everything),
            )
            .where(ComponentCell.res == res, ComponentCell.cell.in_(list(cells[i : i + IN_CHUNK])), *conds)
            .group_by(ComponentCell.cell)
        )
        for cell, n, n_alert, slon, slat, n_all in session.execute(stmt):
            if n and n_all:
                out.append((cell, int(n), int(n_alert or 0), float(slon) / n_all, float(slat) / n_all))
    return out


def points(
    session: Session,
    cells9: Sequence[str],
    bbox: tuple[float, float, float, float],
    classes: Sequence[str] | None,
    statuses: Sequence[str],
    streets: Streets,
    limit: int,
) -> list[tuple[str, str, str, float, float]]:
    """(code, class_code, status, lon, lat) of the components in the box, at most `limit` (index only)."""
    minx, miny, maxx, maxy = bbox
    conds: list[ColumnElement[bool]] = [Component.lon.between(minx, maxx), Component.lat.between(miny, maxy)]
    if classes is not None:
        conds.append(Component.class_code.in_(list(classes)) if classes else literal(False))
    if statuses:
        conds.append(Component.status.in_(list(statuses)))
    scope = _in_scope(streets)
    if scope is not None:
        conds.append(scope)
    out: list[tuple[str, str, str, float, float]] = []
    for i in range(0, len(cells9), IN_CHUNK):
        stmt = (
            select(
                Component.code,
                Component.class_code,
                Component.status,
                Component.lon,
                Component.lat,
            )
            .where(Component.cell.in_(list(cells9[i : i + IN_CHUNK])), *conds)
            .limit(limit + 1 - len(out))
        )
        out.extend(tuple(r) for r in session.execute(stmt))  # type: ignore[misc]
        if len(out) > limit:
            break
    return out


def class_counts(session: Session, streets: Streets, statuses: Sequence[str] = ()) -> dict[str, int]:
    """Components per class in the scope, from the coarsest cells (a few thousand rows at most)."""
    stmt = (
        select(ComponentCell.class_code, func.sum(_total(statuses)))
        .where(ComponentCell.res == 6, *_cell_filters(None, streets))
        .group_by(ComponentCell.class_code)
    )
    return {code: int(n) for code, n in session.execute(stmt) if n}


def count_components(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Component)) or 0)


def cells_consistent(session: Session) -> bool:
    """True when the summary's finest level counts exactly the stored components (a health check)."""
    stored = session.scalar(select(func.count()).select_from(Component)) or 0
    counted = session.scalar(select(func.sum(_total(STATUSES))).where(ComponentCell.res == 10)) or 0
    return int(stored) == int(counted)
