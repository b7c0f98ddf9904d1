"""`zhili bench assets`: the component map's viewport query at 1,000,000 components, a 100,000-row
GeoJSON import into those million and into an empty inventory (rows/s, peak memory of the importing
process, load average) and the map page in headless Chromium. ZHILI_BENCH_ASSETS=import runs only
the imports (see bench_assets)."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

N_COMPONENTS = 1_000_000
N_IMPORT = 100_000
# A 1366 × 800 px screen: the viewport's size in degrees at each zoom (Web Mercator, latitude 23.2°).
SCREEN = (1366, 800)


def _prepare(url: str) -> Any:
    from zhili.core import migrate
    from zhili.core.db import Database
    from zhili.identity import demo as identity_demo
    from zhili.org import demo as org_demo

    migrate.upgrade(url)
    db = Database.from_url(url)
    with db.session_scope() as s:
        org_demo.seed_demo_org(s)
        s.flush()
        identity_demo.seed_demo_users(s)
    return db


def _fill(db: Any, n: int) -> float:
    """n components in the class mix of the demo, spread over the district's grids (denser in the city)."""
    from zhili.assets import ids, repository
    from zhili.assets.demo import MIX
    from zhili.assets.models import Component
    from zhili.assets.service.bulk import insert_records
    from zhili.assets.service.common import CellDeltas, reference, stored_array
    from zhili.core import clock

    with db.session_scope() as s:
        have = int(s.scalar(select(func.count()).select_from(Component)) or 0)
        if have >= n:
            return 0.0
        if have:
            raise RuntimeError(f"the database already holds {have} components; give an empty database")
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    with db.session_scope() as s:
        repository.tune_for_bulk(s)
        ref = reference(s)
        grids = ref.index.grids
        # Built-up streets (街道, codes 001–099) weigh 8× the towns per grid.
        weights = np.array([8.0 if int(g.code[6:9]) < 100 else 1.0 for g in grids])
        weights /= weights.sum()
        shares = np.array([m[1] for m in MIX])
        shares /= shares.sum()
        serials: dict[str, int] = {}
        batch = 50_000
        for start in range(0, n, batch):
            size = min(batch, n - start)
            picks = rng.choice(len(grids), size=size, p=weights)
            classes = rng.choice([m[0] for m in MIX], size=size, p=shares)
            records = []
            for pos, klass in zip(picks.tolist(), classes.tolist(), strict=True):
                serials[klass] = serials.get(klass, 0) + 1
                records.append({"pos": pos, "class_code": klass, "serial": serials[klass]})
            # Jitter inside each grid's box, kept only where the point is inside that grid.
            boxes = np.array([_bbox(grids[r["pos"]].geometry) for r in records])
            lons = boxes[:, 0] + rng.random(size) * (boxes[:, 2] - boxes[:, 0])
            lats = boxes[:, 1] + rng.random(size) * (boxes[:, 3] - boxes[:, 1])
            lons, lats = stored_array(lons), stored_array(lats)  # located where they are stored
            found = ref.index.locate_many(lons, lats)
            rows = []
            for r, lon, lat, p in zip(records, lons.tolist(), lats.tolist(), found.tolist(), strict=True):
                if p < 0:
                    continue
                loc = ref.index.location_at(p)
                rows.append(
                    {
                        "code": ids.compose(ref.district, r["class_code"], r["serial"]),
                        "class_code": r["class_code"],
                        "name": "基准部件",
                        "status": "intact" if rng.random() > 0.04 else "damaged",
                        "lon": lon,
                        "lat": lat,
                        "grid_code": loc.grid_code,
                        "community_code": loc.community_code,
                        "street_code": loc.street_code,
                    }
                )
            deltas = CellDeltas()
            insert_records(s, ref, rows, "system:bench", "create", clock.now(), deltas)
            deltas.write(s)
            s.flush()
            s.expunge_all()
            print(f"  filled {start + size:,} / {n:,}", flush=True)
    return time.perf_counter() - t0


def _analyse(db: Any) -> None:
    """What autovacuum (PostgreSQL) or `ANALYZE` (SQLite) would have done after a bulk load."""
    from sqlalchemy import text

    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("VACUUM ANALYZE component"))
            conn.execute(text("VACUUM ANALYZE component_cell"))
        else:
            conn.execute(text("ANALYZE"))


def _bbox(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    coords = np.array(
        geometry["coordinates"][0] if geometry["type"] == "Polygon" else geometry["coordinates"][0][0]
    )
    return (
        float(coords[:, 0].min()),
        float(coords[:, 1].min()),
        float(coords[:, 0].max()),
        float(coords[:, 1].max()),
    )


def _viewports(db: Any, rounds: int = 120) -> None:
    from zhili.assets import service
    from zhili.org import service as org_service

    rng = np.random.default_rng(2)
    with db.session_scope() as s:
        index = org_service.area_index(s)
        city = [g for g in index.grids if int(g.code[6:9]) < 100]
        print(f"{'zoom':>4} {'mode':>7} {'items p50':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for zoom in range(10, 20):
            deg_per_px = 360 / (256 * 2**zoom)
            w, h = SCREEN[0] * deg_per_px, SCREEN[1] * deg_per_px * 0.92
            times, sizes, modes = [], [], set()
            service.viewport(s, None, bbox=(113.2, 23.1, 113.2 + w, 23.1 + h), zoom=zoom, crs="wgs84")  # warm
            for _ in range(rounds):
                g = city[int(rng.integers(len(city)))]
                cx, cy = _bbox(g.geometry)[:2]
                box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                t = time.perf_counter()
                body = service.viewport(s, None, bbox=box, zoom=zoom, crs="gcj02")
                json.dumps(body)
                times.append((time.perf_counter() - t) * 1000)
                sizes.append(len(body["points"]) + len(body["cells"]))
                modes.add(body["mode"])
            times.sort()
            p95 = times[int(0.95 * (len(times) - 1))]
            print(
                f"{zoom:>4} {'/'.join(sorted(modes)):>7} {statistics.median(sizes):>9.0f} "
                f"{statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}"
            )
    print("target: p95 <= 50 ms at every zoom")


def _write_import_file(path: Path, n: int, db: Any) -> None:
    from zhili.org import service as org_service

    rng = np.random.default_rng(3)
    with db.session_scope() as s:
        index = org_service.area_index(s)
        grids = [g for g in index.grids if int(g.code[6:9]) < 100]
        boxes = np.array([_bbox(g.geometry) for g in grids])
        picks = rng.integers(0, len(grids), size=n * 2)
        lons = boxes[picks, 0] + rng.random(n * 2) * (boxes[picks, 2] - boxes[picks, 0])
        lats = boxes[picks, 1] + rng.random(n * 2) * (boxes[picks, 3] - boxes[picks, 1])
        inside = index.locate_many(lons, lats) >= 0  # a valid file: every point in a unit grid
        lons, lats = lons[inside][:n], lats[inside][:n]
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"type": "FeatureCollection", "features": [\n')
        for i in range(n):
            feature = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lons[i], lats[i]]},
                "properties": {
                    "class_code": "03005",
                    "name": f"导入垃圾箱{i}",
                    "status": "完好",
                    "department": "BY-HW",
                    "owner": "白云区环境卫生管理中心",
                    "address": f"白云大道{i % 900}号",
                    "accuracy": "B",
                    "source": "实测",
                },
            }
            fh.write(("," if i else "") + json.dumps(feature, ensure_ascii=False) + "\n")
        fh.write("]}\n")


_IMPORT_SCRIPT = """
import sys, time, resource
from pathlib import Path
from zhili import model_registry
from zhili.core.db import Database
from zhili.assets import service
model_registry.load_all()
db = Database.from_url(sys.argv[1])
t0 = time.perf_counter()
with db.session_scope() as s:
    report = service.import_components(s, None, Path(sys.argv[2]), crs="wgs84")
elapsed = time.perf_counter() - t0
print(report.summary())
# VmHWM is this process image's own peak; ru_maxrss would carry the parent's size over the fork.
status = Path("/proc/self/status")
lines = status.read_text().splitlines() if status.exists() else []
hwm = [line for line in lines if line.startswith("VmHWM:")]
peak_mb = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{report.rows / elapsed:,.0f} rows/s in {elapsed:.1f} s, peak RSS {peak_mb:.0f} MB")
"""


def _import(url: str, db: Any, into: str) -> None:
    """A 100,000-row GeoJSON import in a process of its own (its peak memory is the import's)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "components.geojson"
        _write_import_file(path, N_IMPORT, db)
        size_mb = path.stat().st_size / 1e6
        proc = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", _IMPORT_SCRIPT, url, str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    load = os.getloadavg()[0]
    print(
        f"import {N_IMPORT:,} rows from GeoJSON ({size_mb:.0f} MB) into {into}: "
        f"{proc.stdout.strip().splitlines()[-1]} (load average {load:.1f})"
    )


def _import_fresh(database_url: str | None, tmp: str) -> None:
    """The import into an empty inventory: a new SQLite file, or a PostgreSQL database made beside
    the given one for the purpose (and dropped after)."""
    if not database_url or database_url.startswith("sqlite"):
        fresh = f"sqlite:///{Path(tmp) / 'import.db'}"
        db = _prepare(fresh)
        _import(fresh, db, "an empty inventory")
        db.engine.dispose()
        return
    from sqlalchemy import create_engine, make_url, text

    base = make_url(database_url)
    name = f"{base.database}_import"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        fresh = base.set(database=name).render_as_string(hide_password=False)
        db = _prepare(fresh)
        _import(fresh, db, "an empty inventory")
        db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _page(url: str | None) -> None:
    """The map page with the demo data: navigation to the first drawn aggregates, in headless Chromium."""
    import shutil

    from playwright.sync_api import sync_playwright

    from zhili.identity.demo import DEMO_PASSWORD

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    shots = Path(os.environ.get("ZHILI_SCREENSHOT_DIR", "/tmp/zhili-screens"))  # noqa: S108 - as tests/e2e
    shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        t0 = time.perf_counter()
        proc = _start_demo(Path(tmp) / "zhili-data", port, url)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base + "/", timeout_s=300)
            print(f"demo (with the component inventory) serving after {time.perf_counter() - t0:.1f} s")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1366, "height": 800}, locale="zh-CN")
                page.goto(base + "/login?next=/components")
                page.fill("input[name=username]", "shift_leader")
                page.fill("input[name=password]", DEMO_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(base + "/components*")
                times = []
                for _ in range(5):
                    t = time.perf_counter()
                    page.goto(base + "/components")
                    page.wait_for_function(
                        "Number(document.getElementById('map').dataset.loaded || 0) >= 1 && "
                        "document.querySelectorAll('.cmp-cell, path.leaflet-interactive').length"
                        " > 0",
                        timeout=20000,
                    )
                    times.append(time.perf_counter() - t)
                page.screenshot(path=str(shots / "components-bench.png"))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        f"map page to drawn map: median {statistics.median(times):.2f} s, max {max(times):.2f} s "
        f"(target <= 2 s); screenshot {shots / 'components-bench.png'}"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_demo(data_dir: Path, port: int, url: str | None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ZHILI_DATA_DIR": str(data_dir)}
    if url:
        env["ZHILI_DATABASE_URL"] = url
    return subprocess.Popen(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "zhili.cli", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_ready(url: str, timeout_s: float) -> None:
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        try:
            if httpx.get(url + "healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not become ready in {timeout_s} s")


def bench_assets(database_url: str | None) -> None:
    """Every figure of the issue. ZHILI_BENCH_ASSETS=import runs only the imports: into an empty
    inventory, and into the given database when it already holds the million (a full run fills it)."""
    from zhili.assets import repository

    parts = os.environ.get("ZHILI_BENCH_ASSETS", "viewport,import,page").split(",")
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = _prepare(url)
        engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        if "viewport" in parts:
            print(f"filling {N_COMPONENTS:,} components ({engine})")
            fill_s = _fill(db, N_COMPONENTS)
            if fill_s:
                print(f"filled in {fill_s:.0f} s ({N_COMPONENTS / fill_s:,.0f} rows/s, bulk path)")
            _analyse(db)
            _viewports(db)
        if "import" in parts:
            with db.session_scope() as s:
                have = repository.count_components(s)
            db.engine.dispose()
            if have >= N_COMPONENTS * 0.9:  # the fill places a few of its random points nowhere
                _import(url, db, f"the {have:,} components already there ({engine})")
            _import_fresh(database_url, tmp)
            print("target: >= 10,000 rows/s, <= 500 MB, into an empty inventory and into the million")
        db.engine.dispose()
    if "page" in parts:
        _page(database_url)


if __name__ == "__main__":  # pragma: no cover
    bench_assets(sys.argv[1] if len(sys.argv) > 1 else None)
