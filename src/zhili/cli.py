"""`zhili ...`: demo, serve, db upgrade, user create, import, bench, audit verify."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from zhili.core.settings import InsecureSettings, Settings, get_settings

app = typer.Typer(help="zhili 智理 — smart city-management platform", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema (Alembic migrations)", no_args_is_help=True)
user_app = typer.Typer(help="User accounts", no_args_is_help=True)
import_app = typer.Typer(help="Import reference data", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(import_app, name="import")
app.add_typer(audit_app, name="audit")

HostOpt = Annotated[str, typer.Option(help="Address to listen on")]
PortOpt = Annotated[int, typer.Option(help="Port to listen on")]


def _database(settings: Settings):  # type: ignore[no-untyped-def]
    from zhili import model_registry
    from zhili.core.db import Database

    model_registry.load_all()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database.from_url(settings.effective_database_url)


def _fail(message: str) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.command()
def demo(host: HostOpt = "127.0.0.1", port: PortOpt = 8000,
         no_serve: Annotated[bool, typer.Option("--no-serve", help="Prepare only, do not serve")] = False,
         ) -> None:
    """Create ./zhili-data (SQLite), migrate, load the Baiyun demo, and serve on one process."""
    from zhili import demo as demo_data
    from zhili.core import migrate

    started = time.perf_counter()
    settings = get_settings().with_demo_secret()
    typer.echo(f"数据目录 data dir: {settings.data_dir.resolve()}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.effective_database_url)
    db = _database(settings)
    with db.session_scope() as s:
        summary = demo_data.seed_full(s)
    if summary.counts:
        # Bulk loads leave the planners without statistics; queue pages would scan instead of seek.
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    ready = time.perf_counter() - started
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"  # noqa: S104
    loaded = ", ".join(f"{k} {v}" for k, v in summary.counts.items()) or "already loaded, kept as it was"
    typer.echo(f"演示数据已就绪 demo ready in {ready:.1f} s: {loaded}")
    typer.echo("演示账号 demo logins (用户名 / 密码 / 角色):")
    for username, password, role in summary.logins:
        typer.echo(f"  {username:<16} {password:<12} {role}")
    typer.secho(f"打开 open: {url}", fg=typer.colors.GREEN, bold=True)
    db.engine.dispose()
    if no_serve:
        return
    _serve(settings, host, port)


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    from zhili import serving

    try:
        if workers == 1:
            from zhili.app import create_app

            serving.serve(create_app(settings), host=host, port=port)
            return
        # Each worker process builds its own app (engine, pools, caches) from the same environment;
        # on SQLite their writers take turns on the database's writer lock, their readers do not wait.
        status = serving.serve("zhili.app:create_app", host=host, port=port, workers=workers)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    raise typer.Exit(status)


WorkersOpt = Annotated[int, typer.Option(min=1, max=64, help="Server processes sharing the port")]


@app.command()
def serve(host: HostOpt = "127.0.0.1", port: PortOpt = 8000, workers: WorkersOpt = 1) -> None:
    """Serve the web console and API (production: refuses default secrets)."""
    settings = get_settings()
    try:
        settings.ensure_production_secrets()
    except InsecureSettings as exc:
        _fail(str(exc))
    typer.echo(f"serving on http://{host}:{port}/ in {workers} process(es)")
    _serve(settings, host, port, workers)


@app.command()
def worker() -> None:
    """Deliver outbox events and run scheduled jobs until stopped."""
    from zhili.worker import Worker

    settings = get_settings()
    try:
        settings.ensure_production_secrets()
    except InsecureSettings as exc:
        _fail(str(exc))
    Worker(_database(settings)).run_forever()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default head)."""
    from zhili.core import migrate

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.effective_database_url, revision)
    typer.echo(f"database at {revision}")


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[list[str], typer.Option("--role", "-r", help="Role name; repeat for several")],
    display_name: Annotated[str, typer.Option(help="Name shown in the console")] = "",
    department: Annotated[str, typer.Option(help="Department code")] = "",
    street: Annotated[list[str] | None, typer.Option(help="Scope to a street code; repeat")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a login."""
    from sqlalchemy import select

    from zhili.core.errors import DomainError
    from zhili.identity import service as identity_service
    from zhili.org.models import Department

    db = _database(get_settings())
    try:
        with db.session_scope() as s:
            dept_id = None
            if department:
                dept_id = s.scalar(select(Department.id).where(Department.code == department))
                if dept_id is None:
                    _fail(f"no department with code {department!r}")
            user = identity_service.create_user(
                s, None, username=username, password=password, display_name=display_name or username,
                roles=role, department_id=dept_id, area_codes=street or [])
            typer.echo(f"created user {user.username} with roles {', '.join(user.roles)}")
    except DomainError as exc:
        _fail(exc.detail)


@import_app.command("areas")
def import_areas(
    file: Path,
    crs: Annotated[str, typer.Option(help="CRS of the coordinates: wgs84, gcj02 or bd09")],
    level: Annotated[str, typer.Option(help="street, town or community (grids: use 'grid')")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only, write nothing")] = False,
) -> None:
    """Import areas from a GeoJSON FeatureCollection (all rows or none)."""
    from zhili.core.errors import DomainError
    from zhili.org import importer

    db = _database(get_settings())
    try:
        with db.session_scope() as s:
            report = importer.import_areas(s, None, file, crs=crs, level=level, dry_run=dry_run)
            typer.echo(report.summary())
            if not report.ok:
                for err in report.errors[:200]:
                    typer.echo(f"  {err}")
                raise typer.Exit(1)
    except DomainError as exc:
        for problem in exc.errors[:200]:
            typer.secho(f"  {problem.get('msg', problem)}", err=True)
        _fail(exc.detail)


@import_app.command("components")
def import_components(
    file: Path,
    crs: Annotated[str, typer.Option(help="CRS of the coordinates: wgs84, gcj02 or bd09")],
    format: Annotated[str, typer.Option("--format", help="geojson, shp (zipped), gpkg, csv or xlsx; "
                                                          "default: from the file name")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only, write nothing")] = False,
) -> None:
    """Import city components (all rows or none; existing IDs are updated, so a re-run changes nothing)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from zhili.assets import service as assets_service
    from zhili.core.errors import DomainError

    db = _database(get_settings())
    try:
        with db.session_scope() as s, Progress(TextColumn("{task.description}"), BarColumn(),
                                               MofNCompleteColumn(), TimeElapsedColumn(),
                                               transient=False) as bar:
            task = bar.add_task("校验 checking" if dry_run else "导入 importing", total=None)
            report = assets_service.import_components(
                s, None, file, crs=crs, fmt=format or None, dry_run=dry_run,
                progress=lambda n: bar.advance(task, n))
            bar.update(task, total=report.rows)
        typer.echo(report.summary())
        if not report.ok:
            for err in report.errors[:200]:
                typer.echo(f"  row {err['row']}: {err['msg']}")
            raise typer.Exit(1)
    except DomainError as exc:
        for problem in exc.errors[:200]:
            where = f"row {problem['row']}: " if "row" in problem else ""
            typer.secho(f"  {where}{problem.get('msg', problem)}", err=True)
        _fail(exc.detail)


export_app = typer.Typer(help="Export data", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("components")
def export_components(
    file: Path,
    format: Annotated[str, typer.Option("--format", help="geojson, shp, gpkg, csv or xlsx; "
                                                          "default: from the file name")] = "",
    crs: Annotated[str, typer.Option(help="CRS to write: wgs84, gcj02 or bd09")] = "wgs84",
    class_code: Annotated[list[str] | None, typer.Option("--class", help="5-digit class; repeat")] = None,
    status: Annotated[list[str] | None, typer.Option(help="intact, damaged, …; repeat")] = None,
    street: Annotated[list[str] | None, typer.Option(help="9-digit street code; repeat")] = None,
    q: Annotated[str, typer.Option(help="ID prefix, name or address")] = "",
) -> None:
    """Export city components (optionally filtered) to a file the import reads back."""
    from zhili.assets import service as assets_service
    from zhili.assets.schemas import ComponentFilters
    from zhili.core.errors import DomainError

    db = _database(get_settings())
    try:
        filters = ComponentFilters(q=q or None, class_codes=class_code or [], statuses=status or [],  # type: ignore[arg-type]
                                   street_codes=street or [])
        with db.session_scope() as s:
            n = assets_service.export_components(s, None, filters, file, fmt=format or "", crs=crs)
        typer.echo(f"exported {n} components to {file} ({crs})")
    except DomainError as exc:
        _fail(exc.detail)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit chain; exit 1 at the first entry that was altered or removed."""
    from zhili.core import audit

    db = _database(get_settings())
    with db.session_scope() as s:
        audit.seal_all(s)  # what the worker has not chained yet
    with db.session_scope() as s:
        result = audit.verify(s)
    if result.ok:
        typer.echo(f"audit chain intact: {result.checked} entries"
                   + (f" ({result.unsealed} not sealed yet)" if result.unsealed else ""))
    else:
        typer.secho(f"audit chain BROKEN at entry {result.first_bad_seq}: {result.reason} "
                    f"({result.checked} entries verified before it)", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)


@app.command()
def bench(name: Annotated[str, typer.Argument(help="lookup | pages | demo | assets | cases")],
          database_url: Annotated[str, typer.Option(help="Database URL (default: a temp SQLite)")] = "",
          ) -> None:
    """Run a benchmark scenario and print its figures (not a pass/fail test)."""
    from zhili import benchmarks

    runner = benchmarks.SCENARIOS.get(name)
    if runner is None:
        _fail(f"unknown benchmark {name!r}; choose one of: {', '.join(sorted(benchmarks.SCENARIOS))}")
        return
    runner(database_url or None)


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
