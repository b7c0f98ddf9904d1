"""Import components from a file with a declared CRS: checked row by row, upserted by ID, all or nothing.

The file is read and processed in chunks, so memory stays flat whatever its length. Each chunk is
validated (ID, class, department, status, dates, attributes, position inside the district, duplicate
IDs in the file); while no row has failed, the chunk is written at once (new IDs assigned per class,
existing IDs updated, unchanged rows left alone). A failed row anywhere makes the whole import raise
Invalid with every row's problems, and the caller's transaction rolls back what was written. A dry
run validates everything and writes nothing. Re-running the same file changes nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from sqlalchemy import JSON, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import Table

from zhili.assets import cells, extensions, formats, ids, repository
from zhili.assets.models import Component, ComponentVersion
from zhili.assets.service.common import (
    CellDeltas,
    Reference,
    actor_name,
    diff,
    jsonable_state,
    reference,
    state_of,
)
from zhili.assets.service.inventory import streets_of
from zhili.assets.states import ACCURACIES, parse_data_source, parse_status
from zhili.core import audit, clock, geo
from zhili.core.errors import DomainError, Invalid

if TYPE_CHECKING:
    from zhili.identity.models import User

CHUNK_ROWS = 5000
MAX_REPORTED_ERRORS = 1000
_TEXT_LIMITS = {"name": 100, "owner": 100, "maintainer": 100, "address": 200, "notes": 2000}
# Fields an import may set; a column missing from the file leaves that field as it is.
_UPDATABLE = (
    "name",
    "department_code",
    "owner",
    "maintainer",
    "status",
    "lon",
    "lat",
    "grid_code",
    "community_code",
    "street_code",
    "address",
    "initial_date",
    "changed_date",
    "data_source",
    "accuracy",
    "attributes",
    "notes",
)


@dataclass
class ImportReport:
    format: str
    crs: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def error(self, row: int, message: str, code: str | None = None) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "code": code, "msg": message})

    def summary(self) -> str:
        mode = "dry run" if self.dry_run else "import"
        if not self.ok:
            return f"{mode}: {self.rows} rows, {self.error_count} with errors; nothing written"
        if self.dry_run:
            return (
                f"dry run: {self.rows} rows valid ({self.created} new, {self.updated} to update, "
                f"{self.unchanged} unchanged); nothing written"
            )
        return (
            f"imported {self.rows} rows: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "format": self.format,
            "crs": self.crs,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "errors_truncated": self.error_count > len(self.errors),
        }


@dataclass
class _Row:
    number: int
    code: str | None  # 17 digits once known
    legacy: str | None
    serial: int | None
    values: dict[str, Any]  # state fields given by the file (department as code)
    lon: float = 0.0
    lat: float = 0.0


def import_components(
    session: Session,
    user: User | None,
    path: Path,
    *,
    crs: str,
    fmt: str | None = None,
    dry_run: bool = False,
    client_ip: str | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportReport:
    """Import a file (see the module doc). Raises Invalid listing the row errors when a real import fails."""
    crs_name = geo.parse_crs(crs)
    file_format = formats.detect_format(path, fmt)
    if not path.is_file():
        raise Invalid(f"Cannot read {path}: no such file.")
    ref = reference(session)
    repository.tune_for_bulk(session)
    report = ImportReport(format=file_format, crs=crs_name, dry_run=dry_run)
    seen: dict[str, int] = {}
    streets = streets_of(user)
    # The map's cell counts change by key; summed over the whole file they are written once, not
    # once per chunk (most low-resolution cells are touched by every chunk).
    deltas = CellDeltas()
    for chunk in formats.read_chunks(path, file_format, chunk_rows):
        report.rows += len(chunk)
        rows = _check_chunk(chunk, ref, crs_name, seen, streets, report)
        writing = report.ok and not dry_run
        _upsert(session, ref, rows, actor_name(user), report, deltas, write=writing, streets=streets)
        if progress is not None:
            progress(len(chunk))
    if report.rows == 0:
        raise Invalid("The file holds no rows.")
    if not report.ok:
        if dry_run:
            return report
        raise Invalid(report.summary(), errors=report.errors, error_count=report.error_count)
    if not dry_run:
        deltas.write(session)
        audit.record(
            session,
            actor=actor_name(user),
            action="assets.import_components",
            entity_type="component",
            entity_id=path.name[:80],
            after={k: v for k, v in report.as_dict().items() if k != "errors"},
            client_ip=client_ip,
        )
    return report


# --- checks ------------------------------------------------------------------------------------------


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    return s or None


def _date(v: Any) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v).strip()[:10].replace("/", "-"))
    except ValueError as exc:
        raise ValueError(f"{v!r} is not a date (YYYY-MM-DD)") from exc


def _number(v: Any, name: str) -> float:
    if isinstance(v, bool) or v is None or v == "":
        raise ValueError(f"{name} is missing")
    try:
        return float(v)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} {v!r} is not a number") from exc


def _check_row(number: int, raw: dict[str, Any], ref: Reference) -> _Row:
    """One row's fields checked and normalised; raises ValueError or DomainError saying what is wrong."""
    if "_error" in raw:
        raise ValueError(raw["_error"])
    code_text = _text(raw.get("code"))
    legacy = None
    parsed = None
    if code_text:
        if len(code_text) == 16:
            legacy = code_text
            parsed = ids.from_legacy(code_text, ref.district, ref.class_for_legacy)
        else:
            parsed = ids.parse(code_text, ref.district)
    class_text = _text(raw.get("class_code"))
    if class_text is not None and len(class_text) == 4 and class_text.isdigit():
        class_text = class_text.zfill(5)  # a spreadsheet dropped the leading zero
    class_code = class_text or (parsed.class_code if parsed else None)
    if class_code is None:
        raise ValueError("class_code is missing (and there is no ID to take it from)")
    klass = ref.klass(class_code)
    if parsed is not None and parsed.class_code != klass.code:
        raise ValueError(
            f"ID {parsed.code} is of class {parsed.class_code}, but class_code says {klass.code}"
        )
    values: dict[str, Any] = {"class_code": klass.code}
    for name, limit in _TEXT_LIMITS.items():
        if name in raw:
            text = _text(raw[name])
            if text is not None and len(text) > limit:
                raise ValueError(f"{name} is longer than {limit} characters")
            values[name] = text
    if not values.get("name"):
        values["name"] = klass.name  # unnamed inventory rows (a litter bin) take their class's name
    if "department" in raw:
        dept = ref.department(_text(raw["department"]))
        values["department_code"] = dept.code if dept else None
    if "status" in raw or parsed is None:
        status_text = _text(raw.get("status")) or "intact"
        status = parse_status(status_text)
        if status is None:
            raise ValueError(
                f"status {status_text!r} is not one of 完好/破损/丢失/废弃/移除 "
                "(intact, damaged, missing, abandoned, removed)"
            )
        values["status"] = status
    if "data_source" in raw or parsed is None:
        source_text = _text(raw.get("data_source")) or "other"
        source = parse_data_source(source_text)
        if source is None:
            raise ValueError(f"data source {source_text!r} is not one of 实测/地形图/基础地理数据/其他")
        values["data_source"] = source
    if "accuracy" in raw:
        acc = _text(raw["accuracy"])
        if acc is not None and acc.upper() not in ACCURACIES:
            raise ValueError(f"accuracy {acc!r} is not A, B or C")
        values["accuracy"] = acc.upper() if acc else None
    for name, key in (("initial_date", "initial_date"), ("changed_date", "changed_date")):
        if key in raw:
            d = _date(raw[key])
            values[name] = d.isoformat() if d else None
    if "attributes" in raw:
        attrs: Any = raw["attributes"]
        if isinstance(attrs, str):
            try:
                attrs = json.loads(attrs) if attrs.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"attributes are not valid JSON: {exc.msg}") from exc
        cleaned, problems = extensions.check_attributes(klass.code, attrs)
        if problems:
            raise ValueError("; ".join(problems))
        values["attributes"] = cleaned
    row = _Row(number, parsed.code if parsed else None, legacy, parsed.serial if parsed else None, values)
    row.lon, row.lat = _number(raw.get("lon"), "lon"), _number(raw.get("lat"), "lat")
    return row


def _check_chunk(
    chunk: list[formats.RawRow],
    ref: Reference,
    crs: geo.CRS,
    seen: dict[str, int],
    streets: list[str] | None,
    report: ImportReport,
) -> list[_Row]:
    rows: list[_Row] = []
    for number, raw in chunk:
        try:
            rows.append(_check_row(number, raw, ref))
        except (ValueError, DomainError) as exc:
            report.error(
                number, exc.detail if isinstance(exc, DomainError) else str(exc), _text(raw.get("code"))
            )
    if not rows:
        return rows
    lons = np.array([r.lon for r in rows], dtype=np.float64)
    lats = np.array([r.lat for r in rows], dtype=np.float64)
    in_range = np.isfinite(lons) & np.isfinite(lats) & (np.abs(lons) <= 180) & (np.abs(lats) <= 90)
    wlons, wlats = geo.to_wgs84(np.where(in_range, lons, 0.0), np.where(in_range, lats, 0.0), crs)
    positions = ref.index.locate_many(wlons, wlats)
    kept: list[_Row] = []
    for i, r in enumerate(rows):
        if not in_range[i]:
            report.error(r.number, f"lon/lat ({r.lon}, {r.lat}) is not a longitude/latitude pair", r.code)
            continue
        if positions[i] < 0:
            report.error(
                r.number,
                f"({r.lon}, {r.lat}) in {crs} is outside the district "
                f"(or in no unit grid); is the declared CRS right?",
                r.code,
            )
            continue
        loc = ref.index.location_at(int(positions[i]))
        if streets is not None and loc.street_code not in streets:
            report.error(r.number, f"the point is in street {loc.street_code}, outside your streets", r.code)
            continue
        r.values.update(
            lon=round(float(wlons[i]), 7),
            lat=round(float(wlats[i]), 7),
            grid_code=loc.grid_code,
            community_code=loc.community_code,
            street_code=loc.street_code,
        )
        if r.code is not None:
            first = seen.get(r.code)
            if first is not None:
                report.error(r.number, f"duplicate ID {r.code}: row {first} has it too", r.code)
                continue
            seen[r.code] = r.number
        kept.append(r)
    return kept


# --- writes ------------------------------------------------------------------------------------------


# About 40 MB of pending cell counts; past that they are written and summing starts again.
MAX_PENDING_CELL_KEYS = 100_000


def _upsert(
    session: Session,
    ref: Reference,
    rows: list[_Row],
    actor: str | None,
    report: ImportReport,
    deltas: CellDeltas,
    *,
    write: bool,
    streets: list[str] | None,
) -> None:
    existing = repository.by_codes(session, [r.code for r in rows if r.code], for_update=write)
    if streets is not None:
        outside = {code for code, c in existing.items() if c.street_code not in streets}
        for r in rows:
            if r.code in outside:
                report.error(r.number, f"component {r.code} is in a street outside yours", r.code)
        rows = [r for r in rows if r.code not in outside]
        write = write and report.ok
    new_rows = [r for r in rows if r.code is None or r.code not in existing]
    changed: list[tuple[_Row, Component, dict[str, Any], dict[str, Any]]] = []
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
        return
    _assign_codes(session, ref, new_rows, report)
    now = clock.now()
    _insert_new(session, ref, new_rows, actor, now, deltas)
    _apply_changes(session, ref, changed, actor, now, deltas)
    if len(deltas.deltas) > MAX_PENDING_CELL_KEYS:  # bound the memory the summed counts take
        deltas.write(session)
    session.flush()


def _assign_codes(session: Session, ref: Reference, new_rows: list[_Row], report: ImportReport) -> None:
    floors: dict[str, int] = {}
    wanting: dict[str, list[_Row]] = defaultdict(list)
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
        for offset, r in enumerate(group):
            r.code = ids.compose(ref.district, klass, first + offset)


def _insert_new(
    session: Session, ref: Reference, rows: list[_Row], actor: str | None, now: datetime, deltas: CellDeltas
) -> None:
    records = []
    for r in rows:
        v = r.values
        dept = ref.departments.get(v.get("department_code") or "")
        records.append(
            {
                "code": r.code,
                "legacy_code": r.legacy,
                "class_code": v["class_code"],
                "name": v["name"],
                "department_id": dept.id if dept else None,
                "owner": v.get("owner"),
                "maintainer": v.get("maintainer"),
                "status": v.get("status") or "intact",
                "lon": v["lon"],
                "lat": v["lat"],
                "grid_code": v["grid_code"],
                "community_code": v["community_code"],
                "street_code": v["street_code"],
                "address": v.get("address"),
                "initial_date": _date(v.get("initial_date")) or now.date(),
                "changed_date": _date(v.get("changed_date")),
                "data_source": v.get("data_source") or "other",
                "accuracy": v.get("accuracy"),
                "photos": [],
                "attributes": v.get("attributes") or {},
                "notes": v.get("notes"),
            }
        )
    insert_records(session, ref, records, actor, "import", now, deltas)


def insert_records(
    session: Session,
    ref: Reference,
    records: list[dict[str, Any]],
    actor: str | None,
    action: str,
    now: datetime,
    deltas: CellDeltas,
) -> None:
    """Bulk-insert new components (column values; IDs and locations already settled) with their first
    version and their cell counts. Used by the importer and the demo."""
    if not records:
        return
    point_cells = cells.point_cells([r["lon"] for r in records], [r["lat"] for r in records])
    for rec, pc in zip(records, point_cells, strict=True):
        rec.update(
            cell=pc[cells.POINT_CELL_RES],
            major_code=rec["class_code"][:2],
            created_at=now,
            updated_at=now,
            version=1,
        )
    table = cast(Table, Component.__table__)
    ids_by_code: dict[str, int] = {}
    if session.get_bind().dialect.name == "postgresql":
        # Ids drawn from the table's sequence up front and COPYed with the rows: no RETURNING (psycopg
        # would parse statements of tens of thousands of placeholders) and no look-up afterwards.
        new_ids = repository.next_component_ids(session, len(records))
        for rec, cid in zip(records, new_ids, strict=True):
            rec["id"] = cid
            ids_by_code[rec["code"]] = cid
        _bulk_insert(session, table, records)
    else:
        # A driver-level executemany, then the new ids by code: SQLite's batched RETURNING goes through
        # SQLAlchemy's per-row parameter handling, slower than the insert itself.
        _bulk_insert(session, table, records)
        codes = [r["code"] for r in records]
        for i in range(0, len(codes), repository.IN_CHUNK):
            chunk = codes[i : i + repository.IN_CHUNK]
            rows = session.execute(select(table.c.code, table.c.id).where(table.c.code.in_(chunk)))
            ids_by_code.update((code, cid) for code, cid in rows)
    versions = []
    for rec in records:
        state = jsonable_state(
            {
                **rec,
                "department_code": (
                    ref.departments_by_id[rec["department_id"]].code if rec["department_id"] else None
                ),
            }
        )
        versions.append(
            {
                "component_id": ids_by_code[rec["code"]],
                "version": 1,
                "valid_from": now,
                "actor": actor,
                "action": action,
                "changes": {},
                "state": state,
                "case_number": None,
                "note": None,
            }
        )
    _bulk_insert(session, cast(Table, ComponentVersion.__table__), versions)
    deltas.add_many(
        [r["lon"] for r in records],
        [r["lat"] for r in records],
        [r["street_code"] for r in records],
        [r["class_code"] for r in records],
        [r["status"] for r in records],
        +1,
        point_cells,
    )


def _bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Executemany on SQLite; COPY on PostgreSQL (row-by-row INSERTs there cost a round trip each)."""
    if session.get_bind().dialect.name != "postgresql":
        repository.insert_many(session, table, rows)
        return
    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if c.name in columns and isinstance(c.type, JSON)}
    repository.copy_rows(
        session,
        table.name,
        columns,
        (
            [json.dumps(r[c], ensure_ascii=False) if c in json_columns else r[c] for c in columns]
            for r in rows
        ),
    )


def _apply_changes(
    session: Session,
    ref: Reference,
    changed: list[tuple[_Row, Component, dict[str, Any], dict[str, Any]]],
    actor: str | None,
    now: datetime,
    deltas: CellDeltas,
) -> None:
    if not changed:
        return
    for _r, c, _before, after in changed:
        deltas.add(c, -1)
        for f in (
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
        ):
            setattr(c, f, after[f])
        c.initial_date = _date(after["initial_date"])
        c.changed_date = _date(after["changed_date"])
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
