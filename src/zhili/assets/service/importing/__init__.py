"""Import components from a file with a declared CRS: checked row by row, upserted by ID, all or nothing.

The file is read and processed in chunks, so memory stays flat whatever its length. Each chunk is
validated (ID, class, department, status, dates, attributes, position inside the district, duplicate
IDs in the file; see checks.py); while no row has failed, the chunk is written at once (new IDs
assigned per class, existing IDs updated, unchanged rows left alone; see writes.py). A failed row
anywhere makes the whole import raise Invalid with every row's problems, and the caller's transaction
rolls back what was written. A dry run validates everything and writes nothing. Re-running the same
file changes nothing.

Reading and checking are Python work; on PostgreSQL most of writing is the server's. So there, chunk
N is written by a helper thread while the caller's thread reads and checks chunk N + 1 (the session
is used by one thread at a time: the caller's thread touches it only before the first chunk and
after waiting for the last write). SQLite's inserts run in this process and take the GIL back after
every row, so a second thread would only wait: there the chunks are written in turn.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from zhili.assets import formats, repository
from zhili.assets.service.bulk import insert_records
from zhili.assets.service.common import CellDeltas, Reference, actor_name, reference
from zhili.assets.service.importing.checks import Lookups, check_chunk
from zhili.assets.service.importing.report import ImportReport
from zhili.assets.service.importing.writes import upsert
from zhili.assets.service.inventory import streets_of
from zhili.core import audit, geo
from zhili.core.errors import Invalid

if TYPE_CHECKING:
    from zhili.identity.models import User

# insert_records stays importable from here for the callers that bulk-load components.
__all__ = ["CHUNK_ROWS", "ImportReport", "import_components", "insert_records"]

CHUNK_ROWS = 10_000


def _check_and_write(
    session: Session,
    ref: Reference,
    chunks: Iterator[list[formats.RawRow]],
    crs: geo.CRS,
    user: User | None,
    actor: str | None,
    report: ImportReport,
    deltas: CellDeltas,
    progress: Callable[[int], None] | None,
) -> None:
    """Every chunk checked, then upserted while no row has failed (counted only, in a dry run)."""
    look = Lookups(ref)
    seen: dict[str, int] = {}
    streets = streets_of(user)
    # PostgreSQL: chunk N is written by a helper thread while this one reads and checks chunk N + 1.
    threaded = session.get_bind().dialect.name == "postgresql"
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zhili-import") if threaded else None
    pending: Future[ImportReport] | None = None
    try:
        for chunk in chunks:
            report.rows += len(chunk)
            rows = check_chunk(chunk, look, crs, seen, streets, report)
            if pending is not None:
                report.merge(pending.result())
                pending = None
            # A row that failed anywhere so far means nothing more is written (all is rolled back).
            writing = report.ok and not report.dry_run
            part = ImportReport(format=report.format, crs=crs, dry_run=report.dry_run)
            if writer is None:
                report.merge(upsert(session, ref, rows, actor, part, deltas, write=writing, streets=streets))
            else:
                pending = writer.submit(
                    upsert, session, ref, rows, actor, part, deltas, write=writing, streets=streets
                )
            if progress is not None:
                progress(len(chunk))
        if pending is not None:
            report.merge(pending.result())
    finally:
        if writer is not None:
            writer.shutdown()  # waits for a write still running (failing here: before the rollback)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while the chunks go through.

    An import allocates millions of short-lived containers (rows, dicts, tuples), each freed by
    reference counting as its chunk is done; the collector would still walk the live ones again and
    again as they pass (about a tenth of the import's time). Cycles made meanwhile wait for its next
    run after the import.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
    # The map's cell counts change by key; summed over the whole file they are written once, not
    # once per chunk (most low-resolution cells are touched by every chunk).
    deltas = CellDeltas()
    actor = actor_name(user)
    chunks = formats.read_chunks(path, file_format, chunk_rows)
    with _cycle_collector_paused():
        _check_and_write(session, ref, chunks, crs_name, user, actor, report, deltas, progress)
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
            actor=actor,
            action="assets.import_components",
            entity_type="component",
            entity_id=path.name[:80],
            after={k: v for k, v in report.as_dict().items() if k != "errors"},
            client_ip=client_ip,
        )
    return report
