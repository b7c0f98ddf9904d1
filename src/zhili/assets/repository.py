"""Assets queries: components in the caller's street scope, history, serial counters and the map's cells.

Scope has one home here: every list, detail, map and export query takes the street codes the user
is limited to (`None` = the whole district, from zhili.identity.scope.street_codes_for).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import Table

from zhili.assets.models import Component, ComponentCell, ComponentSerial, ComponentVersion
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
        if q.isdigit():
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


def tune_for_bulk(session: Session) -> None:
    """A larger SQLite page cache for this connection: bulk writes into big indexes stay in memory."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA cache_size=-65536"))  # 64 MB


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
    this transaction (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE), so concurrent imports queue."""
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


# --- the map's cell summary ------------------------------------------------------------------------

CellKey = tuple[int, str, str, str]  # res, cell, street_code, class_code
CELL_VALUE_COLUMNS = (*(f"n_{s}" for s in STATUSES), "sum_lon", "sum_lat")


def apply_cell_deltas(session: Session, deltas: dict[CellKey, list[float]]) -> None:
    """Add counts (and coordinate sums) to the cells, creating rows as needed: one upsert per key.

    Deltas add to what is stored (n = n + delta), so concurrent writers never lose each other's counts.
    """
    rows = [
        {
            "res": k[0],
            "cell": k[1],
            "street_code": k[2],
            "class_code": k[3],
            **{
                col: (int(v) if col.startswith("n_") else float(v))
                for col, v in zip(CELL_VALUE_COLUMNS, vals, strict=True)
            },
        }
        for k, vals in deltas.items()
        if any(vals)
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    table = cast(Table, ComponentCell.__table__)  # Core, not the ORM bulk path: far less per-row work
    rows.sort(key=lambda r: (r["res"], r["cell"], r["street_code"], r["class_code"]))  # lock order
    if dialect == "postgresql" and len(rows) > 200:
        _upsert_cells_by_copy(session, rows)
        return
    if dialect == "sqlite":
        updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in CELL_VALUE_COLUMNS)
        insert_many(
            session,
            table,
            rows,
            suffix=f" ON CONFLICT (res, cell, street_code, class_code) DO UPDATE SET {updates}",
        )
        return
    ins: Any = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    stmt = ins.on_conflict_do_update(
        index_elements=["res", "cell", "street_code", "class_code"],
        set_={col: table.c[col] + ins.excluded[col] for col in CELL_VALUE_COLUMNS},
    )
    for i in range(0, len(rows), 5000):
        session.execute(stmt, rows[i : i + 5000])


def _upsert_cells_by_copy(session: Session, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: COPY the deltas into a temporary table, then one INSERT … ON CONFLICT from it."""
    columns = ["res", "cell", "street_code", "class_code", *CELL_VALUE_COLUMNS]
    session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS component_cell_delta "
            "(LIKE component_cell INCLUDING DEFAULTS) ON COMMIT DROP"
        )
    )
    copy_rows(session, "component_cell_delta", columns, ([r[c] for c in columns] for r in rows))
    updates = ", ".join(f"{c} = component_cell.{c} + excluded.{c}" for c in CELL_VALUE_COLUMNS)
    names = ", ".join(columns)
    session.execute(
        text(
            f"INSERT INTO component_cell ({names}) SELECT {names} FROM component_cell_delta "  # noqa: S608 - fixed names
            f"ORDER BY res, cell, street_code, class_code "
            f"ON CONFLICT (res, cell, street_code, class_code) DO UPDATE SET {updates}"
        )
    )
    session.execute(text("TRUNCATE component_cell_delta"))


def insert_many(session: Session, table: Table, rows: Sequence[dict[str, Any]], *, suffix: str = "") -> None:
    """SQLite: one driver-level executemany of rows (dicts with the same keys), values converted by the
    columns' own bind processors, so they are stored exactly as the ORM would store them. SQLAlchemy's
    per-row parameter handling cost more than SQLite's insert itself."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    columns = list(rows[0])
    processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    # Dates and timestamps repeat (one `now` per import): convert each distinct value once.
    memo: list[dict[Any, Any] | None] = [
        None if p is None or isinstance(table.c[c].type, JSON) else {}
        for c, p in zip(columns, processors, strict=True)
    ]
    converters = [_converter(p, m) for p, m in zip(processors, memo, strict=True)]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - names from the table
        f"VALUES ({', '.join('?' for _ in columns)}){suffix}"
    )
    for i in range(0, len(rows), 10_000):
        batch = rows[i : i + 10_000]
        # Column by column, then zipped into rows: a fraction of the interpreter work of row by row.
        values = [
            [r[c] for r in batch] if conv is None else [conv(r[c]) for r in batch]
            for c, conv in zip(columns, converters, strict=True)
        ]
        conn.exec_driver_sql(sql, list(zip(*values, strict=True)))


def _converter(processor: Any, memo: dict[Any, Any] | None) -> Any:
    if processor is None:
        return None
    if memo is None:
        return lambda v: None if v is None else processor(v)

    def convert(v: Any) -> Any:
        if v is None:
            return None
        found = memo.get(v, memo)
        if found is memo:
            found = memo[v] = processor(v)
        return found

    return convert


def next_component_ids(session: Session, n: int) -> list[int]:
    """PostgreSQL: `n` fresh ids from component.id's sequence (in increasing order), for a COPY."""
    return list(
        session.scalars(
            text("SELECT nextval(pg_get_serial_sequence('component', 'id')) FROM generate_series(1, :n)"),
            {"n": n},
        )
    )


def copy_rows(session: Session, table: str, columns: list[str], rows: Iterable[list[Any]]) -> None:
    """PostgreSQL's COPY FROM STDIN on the session's own connection (same transaction), instead of one
    round trip per row. JSON values must come already encoded as text."""
    dbapi: Any = session.connection().connection.dbapi_connection  # a psycopg 3 Connection
    with dbapi.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


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
