"""Bulk insert of new components with their first version and their map cell counts (import, demo, bench).

A new component's first version carries its whole state as JSON, which is most of the work. On
SQLite the database builds it from the rows just stored (one INSERT … SELECT with json_object, in C,
in the same process). On PostgreSQL, jsonb_build_object costs the server about three times what
parsing the text costs, so the state is formatted here (a fixed template, no json.dumps per row) and
both tables are COPYed: the client formats while the server parses, on two cores.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from itertools import chain
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import column, func, insert, literal, literal_column, select, table
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import Table

from zhili.assets import cells, repository
from zhili.assets.models import Component, ComponentVersion
from zhili.assets.service.common import STATE_FIELDS, CellDeltas, Reference, stored
from zhili.core.db import UTCDateTime, become_writer

# org's department table, read by name (assets uses org's services, not its models).
_DEPARTMENT = table("department", column("id"), column("code"))
# What a caller gives for each new component, in this order (insert_rows takes tuples of them): the
# fields a version keeps, the department by id. initial_date is a date, ISO text, or None for the
# day of the insert; lists and dicts (photos, attributes) are encoded here.
FIELDS = tuple("department_id" if name == "department_code" else name for name in STATE_FIELDS)
# The component columns written after the id, in this order: the fields, then what follows from them.
COLUMNS = (*FIELDS, "major_code", "cell", "created_at", "updated_at", "version")
# What a record given to insert_records may leave out, and what it then gets; the rest it must give.
OPTIONAL: dict[str, Any] = {
    "legacy_code": None, "department_id": None, "owner": None, "maintainer": None, "address": None,
    "initial_date": None, "changed_date": None, "data_source": "other", "accuracy": None, "photos": [],
    "attributes": {}, "notes": None,
}
_all_fields_of = itemgetter(*FIELDS)


def _fields_of(record: dict[str, Any]) -> tuple[Any, ...]:
    try:
        return _all_fields_of(record)  # type: ignore[no-any-return]  # the common case: every key given
    except KeyError:
        missing = [name for name in FIELDS if name not in record and name not in OPTIONAL]
        if missing:
            raise ValueError(f"a component record needs {', '.join(missing)}") from None
        return tuple(record[name] if name in record else OPTIONAL[name] for name in FIELDS)


def insert_records(
    session: Session,
    ref: Reference,
    records: list[dict[str, Any]],
    actor: str | None,
    action: str,
    now: datetime,
    deltas: CellDeltas,
) -> None:
    """Insert new components given as dicts with the keys of FIELDS, those of OPTIONAL may be left
    out (see insert_rows)."""
    insert_rows(session, ref, [_fields_of(r) for r in records], actor, action, now, deltas)


def insert_rows(
    session: Session,
    ref: Reference,
    values: list[tuple[Any, ...]],
    actor: str | None,
    action: str,
    now: datetime,
    deltas: CellDeltas,
) -> None:
    """Insert new components (tuples in FIELDS order; IDs and locations already settled) with their
    first version, and add them to the cell counts."""
    if not values:
        return
    # Positions are kept to 7 decimals (about 1 cm), as everywhere in assets; the state's JSON then
    # holds exactly the stored number (SQLite writes 15 significant digits).
    lons = [stored(v[8]) for v in values]
    lats = [stored(v[9]) for v in values]
    ladders = cells.point_cells(lons, lats)
    today = now.date()
    rows = [
        (
            *v[:8],
            lon,
            lat,
            *v[10:14],
            _day(v[14], today),
            _day(v[15], None),
            v[16],
            v[17],
            _json(v[18]),
            _json(v[19]),
            v[20],
            v[2][:2],
            ladder[cells.POINT_CELL_RES],
            now,
            now,
            1,
        )
        for v, lon, lat, ladder in zip(values, lons, lats, ladders, strict=True)
    ]
    if session.get_bind().dialect.name == "postgresql":
        _copy_new(session, ref, rows, actor, action, now)
    else:
        _insert_new_sqlite(session, rows, actor, action, now)
    streets, classes, statuses = [v[12] for v in values], [v[2] for v in values], [v[7] for v in values]
    deltas.add_many(lons, lats, streets, classes, statuses, +1, ladders)


# Rows go in ordered by their map cell, the first column of the map's index: neighbouring entries of
# that (largest, randomly ordered) index are written one after the other instead of all over it.
_by_cell = itemgetter(1 + COLUMNS.index("cell"))


def _day(value: date | str | None, default: date | None) -> date | None:
    if value is None:
        return default
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(value)


def _json(value: Any) -> str:
    """JSON text as SQLAlchemy's JSON type would store it (json.dumps with its defaults)."""
    if not value:
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(value)


def _copy_new(
    session: Session,
    ref: Reference,
    rows: list[tuple[Any, ...]],
    actor: str | None,
    action: str,
    now: datetime,
) -> None:
    """PostgreSQL: ids drawn from the sequence up front (COPY returns nothing), then two COPYs."""
    new_ids = repository.next_component_ids(session, len(rows))
    with_ids = sorted(((cid, *row) for cid, row in zip(new_ids, rows, strict=True)), key=_by_cell)
    repository.copy_rows(session, "component", ["id", *COLUMNS], with_ids)
    departments = {d.id: d.code for d in ref.departments_by_id.values()}
    repository.copy_rows(
        session,
        "component_version",
        ["component_id", "version", "valid_from", "actor", "action", "changes", "state"],
        (
            (cid, 1, now, actor, action, "{}", state_json(row, departments.get(row[4])))
            for cid, row in zip(new_ids, rows, strict=True)
        ),
    )


def state_json(row: tuple[Any, ...], department_code: str | None) -> str:
    """A version's state (common.STATE_FIELDS, in order) as JSON text, from a row in COLUMNS order
    (photos and attributes already JSON text)."""
    (code, legacy, klass, name, _dept, owner, maintainer, status, lon, lat, grid, community, street,
     address, initial, changed, source, accuracy, photos, attributes, notes) = row[:21]  # fmt: skip
    return (
        f'{{"code": {_s(code)}, "legacy_code": {_s(legacy)}, "class_code": {_s(klass)}, "name": {_s(name)}, '
        f'"department_code": {_s(department_code)}, "owner": {_s(owner)}, '
        f'"maintainer": {_s(maintainer)}, "status": {_s(status)}, "lon": {lon!r}, "lat": {lat!r}, '
        f'"grid_code": {_s(grid)}, "community_code": {_s(community)}, "street_code": {_s(street)}, '
        f'"address": {_s(address)}, "initial_date": {_d(initial)}, "changed_date": {_d(changed)}, '
        f'"data_source": {_s(source)}, "accuracy": {_s(accuracy)}, "photos": {photos}, '
        f'"attributes": {attributes}, "notes": {_s(notes)}}}'
    )


def _s(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _d(value: date | None) -> str:
    return "null" if value is None else f'"{value.isoformat()}"'


def _insert_new_sqlite(
    session: Session, rows: list[tuple[Any, ...]], actor: str | None, action: str, now: datetime
) -> None:
    """SQLite: as the one writer until it commits, this transaction may give the ids after the
    current largest; the versions are then built by SQLite itself."""
    components = cast(Table, Component.__table__)
    become_writer(session)
    first = repository.max_component_id(session) + 1
    with_ids = sorted(((first + i, *row) for i, row in enumerate(rows)), key=_by_cell)
    repository.insert_tuples(session, components, ("id", *COLUMNS), with_ids)
    state = func.json_object(
        *chain.from_iterable(
            (
                literal_column(f"'{name}'"),
                _DEPARTMENT.c.code
                if name == "department_code"
                # photos and attributes are stored as text: embedded as JSON, not as strings
                else func.json(components.c[name])
                if name in ("photos", "attributes")
                else components.c[name],
            )
            for name in STATE_FIELDS
        )
    )
    versions = cast(Table, ComponentVersion.__table__)
    query = (
        select(
            components.c.id,
            literal(1),
            literal(now, UTCDateTime()),
            literal(actor, versions.c.actor.type),
            literal(action, versions.c.action.type),
            literal_column("'{}'"),
            state,
        )
        .select_from(components.outerjoin(_DEPARTMENT, _DEPARTMENT.c.id == components.c.department_id))
        .where(components.c.id.between(first, first + len(rows) - 1))
    )
    session.execute(
        insert(versions).from_select(
            ["component_id", "version", "valid_from", "actor", "action", "changes", "state"], query
        )
    )
