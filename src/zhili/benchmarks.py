"""Benchmark scenarios behind `zhili bench NAME`: they print figures, they do not pass or fail."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, timeout_s: float = 120.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        try:
            if httpx.get(url + "healthz", timeout=1.0).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not become ready in {timeout_s} s")


def _start_demo(data_dir: Path, port: int, database_url: str | None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ZHILI_DATA_DIR": str(data_dir)}
    if database_url:
        env["ZHILI_DATABASE_URL"] = database_url
    return subprocess.Popen(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "zhili.cli", "demo", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def bench_demo(database_url: str | None) -> None:
    """`zhili demo` from an empty data dir to the first successful HTTP response."""
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        t0 = time.perf_counter()
        proc = _start_demo(Path(tmp) / "zhili-data", port, database_url)
        try:
            _wait_ready(f"http://127.0.0.1:{port}/", timeout_s=300)
            total = time.perf_counter() - t0
        finally:
            proc.terminate()
            out = proc.communicate(timeout=30)[0].decode(errors="replace")
    print(out.strip().splitlines()[1] if len(out.splitlines()) > 1 else out.strip())
    print(f"demo: empty -> serving in {total:.1f} s (target <= 30 s)")


def bench_pages(database_url: str | None, rounds: int = 60) -> None:
    """p50/p95 of the console pages and their JSON, as a logged-in shift leader, on the demo data."""
    from zhili.identity.demo import DEMO_PASSWORD

    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        proc = _start_demo(Path(tmp) / "zhili-data", port, database_url)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base + "/", timeout_s=300)
            with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as c:
                token = c.post("/api/v1/auth/token",
                               json={"username": "admin", "password": DEMO_PASSWORD}).json()["token"]
                login = c.get("/login")
                csrf = login.text.split('name="login_csrf" value="')[1].split('"')[0]
                c.post("/login", data={"username": "admin", "password": DEMO_PASSWORD, "login_csrf": csrf,
                                       "next": "/"})
                grid = c.get("/api/v1/grids", params={"bbox": "113.26,23.17,113.27,23.18"},
                             headers={"Authorization": f"Bearer {token}"}).json()["features"][0]
                targets = _page_targets(grid["properties"]["code"])
                print(f"{'page':<48} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
                for path in targets:
                    c.get(path)  # warm caches as a returning user would have them
                    times = []
                    for _ in range(rounds):
                        t = time.perf_counter()
                        r = c.get(path)
                        times.append((time.perf_counter() - t) * 1000)
                        if r.status_code >= 400:
                            raise RuntimeError(f"{path} answered {r.status_code}: {r.text[:200]}")
                    times.sort()
                    p95 = times[int(0.95 * (len(times) - 1))]
                    print(f"{path:<48} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _page_targets(grid_code: str) -> list[str]:
    return [
        "/map",
        "/api/v1/areas?level=street",
        "/api/v1/grids?bbox=113.26,23.17,113.275,23.18",
        f"/api/v1/grids/{grid_code}",
        "/api/v1/locate?lon=113.27&lat=23.175",
        "/org",
        "/components",
        "/cases",
        "/evaluation",
        "/workorders",
        "/admin/users",
        "/audit",
    ]


def bench_lookup(database_url: str | None, n_points: int = 1_000_000) -> None:
    """Point → unit grid lookups per second on the demo grids, in bulk and one call per point."""
    import numpy as np
    from shapely.geometry import shape

    from zhili import model_registry
    from zhili.core import migrate
    from zhili.core.db import Database
    from zhili.org import demo, service

    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        model_registry.load_all()
        db = Database.from_url(url)
        with db.session_scope() as s:
            demo.seed_demo_org(s)
        with db.session_scope() as s:
            t0 = time.perf_counter()
            index = service.area_index(s)
            build_s = time.perf_counter() - t0
        db.engine.dispose()
    if index.district is None:
        raise RuntimeError("no district was seeded")
    minx, miny, maxx, maxy = shape(index.district.geometry).bounds
    rng = np.random.default_rng(7)
    lons, lats = rng.uniform(minx, maxx, n_points), rng.uniform(miny, maxy, n_points)
    print(f"index: {len(index.grids)} unit grids, built in {build_s * 1000:.0f} ms")

    t0 = time.perf_counter()
    found = index.locate_many(lons, lats)
    bulk = n_points / (time.perf_counter() - t0)
    print(f"bulk   locate_many(): {bulk:12,.0f} lookups/s ({n_points:,} random points in the district's "
          f"box, {int((found >= 0).sum()):,} inside a grid)")
    t0 = time.perf_counter()
    index.locate(lons[0], lats[0])  # builds the one-point lookup lattice, once per geography revision
    print(f"one-point lattice built in {(time.perf_counter() - t0) * 1000:.0f} ms")
    singles = 200_000
    t0 = time.perf_counter()
    hits = sum(1 for lon, lat in zip(lons[:singles].tolist(), lats[:singles].tolist(), strict=True)
               if index.locate(lon, lat) is not None)
    single = singles / (time.perf_counter() - t0)
    print(f"single locate():      {single:12,.0f} lookups/s ({singles:,} calls of one point, {hits:,} hits)")
    ins = found[:singles] >= 0
    in_lons, in_lats = lons[:singles][ins].tolist(), lats[:singles][ins].tolist()
    t0 = time.perf_counter()
    for lon, lat in zip(in_lons, in_lats, strict=True):
        index.locate(lon, lat)
    inside_rate = len(in_lons) / (time.perf_counter() - t0)
    print(f"single locate(), inside grids only: {inside_rate:10,.0f} lookups/s ({len(in_lons):,} calls)")
    print("target: >= 200,000 lookups/s on one core")


def bench_assets(database_url: str | None) -> None:
    """Component map viewport at 1M components, 100k-row GeoJSON import, map page in Chromium."""
    from zhili.assets import bench

    bench.bench_assets(database_url)


def bench_evaluation(database_url: str | None) -> None:
    """Evaluation (综合评价) over 1,000,000 synthetic cases of a year, by street and by department."""
    from zhili.cases.evaluation import bench

    bench.bench_evaluation(database_url)


def bench_cases(database_url: str | None) -> None:
    """Case actions through the API against a one-INSERT floor; reads and evaluation at 1M cases."""
    from zhili.cases import bench

    bench.bench_cases(database_url)


def bench_case_pages(database_url: str | None) -> None:
    """p50/p95 of the case console's queues (each tab) and detail on a few thousand cases."""
    from zhili import model_registry
    from zhili.cases import pages_bench

    model_registry.load_all()
    pages_bench.bench_case_pages(database_url)


SCENARIOS: dict[str, Callable[[str | None], None]] = {
    "demo": bench_demo,
    "pages": bench_pages,
    "lookup": bench_lookup,
    "case-pages": bench_case_pages,
    "assets": bench_assets,
    "evaluation": bench_evaluation,
    "cases": bench_cases,
}
