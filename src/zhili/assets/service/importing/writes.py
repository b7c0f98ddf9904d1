"""An import's checked rows written: new IDs per class, new components in bulk, changed ones versioned.

Existing components are read (and locked on PostgreSQL) by ID; an unchanged row is left alone. The
map's cell counts are summed into the import's CellDeltas, written when they grow past a bound and
once at the end.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from zhili.assets import cells, ids, repository
from zhili.assets.models import Component, ComponentVersion
from zhili.assets.service import bulk
from zhili.assets.service.common import (
    STATE_FIELDS,
    CellDeltas,
    Reference,
    diff,
    jsonable_state,
    state_of,
)
from zhili.assets.service.importing.checks import Row, day_of
from zhili.assets.service.importing.report import ImportReport
from zhili.core import clock

# About 40 MB of pending cell counts; past that they are written and summing starts again.
MAX_PENDING_CELL_KEYS = 100_000
# Fields an import may set (a column missing from the file leaves the field as it is): the kept state
# but the identity (ID, legacy ID, class) and the photos, which an import file does not carry.
_UPDATABLE = tuple(f for f in STATE_FIELDS if f not in ("code", "legacy_code", "class_code", "photos"))
_CHANGEABLE_COLUMNS = (
    "name",
    "owner",
    "maintainer",
    "status",
    "grid_code",
    "community_code",
    "street_code",
    "address",
    "data_source",
    "accuracy",
    "attributes",
    "notes",
    "lon",
    "lat",
)
Change = tuple[Row, Component, dict[str, Any], dict[str, Any]]


def upsert(
    session: Session,
    ref: Reference,
    rows: list[Row],
    actor: str | None,
    report: ImportReport,
    deltas: CellDeltas,
    *,
    write: bool,
    streets: list[str] | None,
) -> ImportReport:
    """Count what the rows would do (created, updated, unchanged) into `report` and, when `write`, do
    it; returns the report."""
    existing = repository.by_codes(session, [r.code for r in rows if r.code], for_update=write)
    if streets is not None:
        outside = {code for code, c in existing.items() if c.street_code not in streets}
        for r in rows:
            if r.code in outside:
                report.error(r.number, f"component {r.code} is in a street outside yours", r.code)
        rows = [r for r in rows if r.code not in outside]
        write = write and report.ok
    new_rows = [r for r in rows if r.code is None or r.code not in existing]
    changed: list[Change] = []
    for r in rows:
        c = existing.get(r.code) if r.code else None
        if c is None:
            continue
        before = state_of(c, ref)
        after = {**before, **{k: r.values[k] for k in _UPDATABLE if k in r.values}}
        after = jsonable_state(after)
        if diff(before, after):
            changed.append((r, c, before, after))
        else:
            report.unchanged += 1
    report.created += len(new_rows)
    report.updated += len(changed)
    if not write or not rows:
        return report
    _assign_codes(session, ref, new_rows)
    now = clock.now()
    _insert_new(session, ref, new_rows, actor, now, deltas)
    _apply_changes(session, ref, changed, actor, now, deltas)
    if len(deltas.deltas) > MAX_PENDING_CELL_KEYS:  # bound the memory the summed counts take
        deltas.write(session)
    session.flush()
    return report


def _assign_codes(session: Session, ref: Reference, new_rows: list[Row]) -> None:
    floors: dict[str, int] = {}
    wanting: dict[str, list[Row]] = defaultdict(list)
    for r in new_rows:
        klass = r.values["class_code"]
        if r.code is not None and r.serial is not None:
            floors[klass] = max(floors.get(klass, 0), r.serial)
        else:
            wanting[klass].append(r)
    for klass, serial in sorted(floors.items()):  # explicit IDs first: assigned ones go above them
        repository.raise_serial_floor(session, klass, serial, ref.district)
    for klass, group in sorted(wanting.items()):
        first = repository.allocate_serials(session, klass, len(group), ref.district)
        ids.compose(ref.district, klass, first + len(group) - 1)  # refuses a serial past 999999
        prefix = ref.district + klass
        for serial, r in enumerate(group, start=first):
            r.code = f"{prefix}{serial:06d}"


def _insert_new(
    session: Session, ref: Reference, rows: list[Row], actor: str | None, now: datetime, deltas: CellDeltas
) -> None:
    departments = ref.departments
    values: list[tuple[Any, ...]] = []
    for r in rows:
        v = r.values
        dept = departments.get(v.get("department_code") or "")
        values.append(
            (  # bulk.FIELDS
                r.code,
                r.legacy,
                v["class_code"],
                v["name"],
                dept.id if dept else None,
                v.get("owner"),
                v.get("maintainer"),
                v.get("status") or "intact",
                v["lon"],
                v["lat"],
                v["grid_code"],
                v["community_code"],
                v["street_code"],
                v.get("address"),
                v.get("initial_date"),  # None: the day of the import
                v.get("changed_date"),
                v.get("data_source") or "other",
                v.get("accuracy"),
                [],
                v.get("attributes") or {},
                v.get("notes"),
            )
        )
    bulk.insert_rows(session, ref, values, actor, "import", now, deltas)


def _apply_changes(
    session: Session,
    ref: Reference,
    changed: list[Change],
    actor: str | None,
    now: datetime,
    deltas: CellDeltas,
) -> None:
    if not changed:
        return
    for _r, c, _before, after in changed:
        deltas.add(c, -1)
        for f in _CHANGEABLE_COLUMNS:
            setattr(c, f, after[f])
        c.initial_date = day_of(after["initial_date"])
        c.changed_date = day_of(after["changed_date"])
        dept = ref.departments.get(after["department_code"] or "")
        c.department_id = dept.id if dept else None
        c.cell = cells.point_cells([c.lon], [c.lat])[0][cells.POINT_CELL_RES]
        c.updated_at = now
        deltas.add(c, +1)
    session.flush()  # versions bumped by the ORM
    session.execute(
        insert(ComponentVersion),
        [
            {
                "component_id": c.id,
                "version": c.version,
                "valid_from": now,
                "actor": actor,
                "action": "import",
                "changes": diff(before, after),
                "state": after,
                "case_number": None,
                "note": None,
            }
            for _r, c, before, after in changed
        ],
    )
