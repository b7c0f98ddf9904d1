"""Bulk writes at the driver level: executemany on SQLite, COPY on PostgreSQL, and the map's cell counts
upserted from a whole use case's deltas (see service.common.CellDeltas)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import JSON, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import Table

from zhili.assets.models import Component, ComponentCell
from zhili.assets.states import STATUSES


def tune_for_bulk(session: Session) -> None:
    """A larger SQLite page cache for this connection: bulk writes into big indexes stay in memory.

    128 MB: importing into a million components, the inserts took about a third longer with 64 MB
    (index pages evicted and read again); 256 MB would take the importing process past 500 MB."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA cache_size=-131072"))  # KiB


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
    """SQLite: `insert_tuples` for rows given as dicts with the same keys."""
    if rows:
        columns = list(rows[0])
        insert_tuples(session, table, columns, [tuple(r[c] for c in columns) for r in rows], suffix=suffix)


def insert_tuples(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, suffix: str = ""
) -> None:
    """SQLite: one driver-level executemany (SQLAlchemy's per-row parameter handling costs more than
    SQLite's insert itself). Values pass through the columns' own bind processors, so they are stored
    exactly as the ORM would store them; JSON columns take their text already encoded."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    converters = []
    for c in columns:
        processor = table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
        # Dates and timestamps repeat (one `now` per import): each distinct value is converted once.
        plain = processor is None or isinstance(table.c[c].type, JSON)
        converters.append(None if plain else _memo(processor))
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - names from the table
        f"VALUES ({', '.join('?' for _ in columns)}){suffix}"
    )
    if any(converters):  # column by column, then zipped back into rows: little interpreter work
        values = [
            col if conv is None else list(map(conv, col))
            for col, conv in zip(zip(*rows, strict=True), converters, strict=True)
        ]
        rows = list(zip(*values, strict=True))
    conn.exec_driver_sql(sql, list(rows))


def _memo(processor: Any) -> Any:
    memo: dict[Any, Any] = {}

    def convert(v: Any) -> Any:
        if v is None:
            return None
        found = memo.get(v, memo)
        if found is memo:
            found = memo[v] = processor(v)
        return found

    return convert


def max_component_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Component.id))) or 0)


def next_component_ids(session: Session, n: int) -> list[int]:
    """PostgreSQL: `n` fresh ids from component.id's sequence (in increasing order), for a COPY."""
    ids = session.scalar(
        text(
            "SELECT array_agg(nextval(pg_get_serial_sequence('component', 'id'))) "
            "FROM generate_series(1, :n)"
        ),
        {"n": n},
    )
    return sorted(ids)


def copy_rows(session: Session, table: str, columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL's COPY FROM STDIN on the session's own connection (same transaction), instead of one
    round trip per row. JSON values must come already encoded as text."""
    dbapi: Any = session.connection().connection.dbapi_connection  # a psycopg 3 Connection
    with dbapi.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
