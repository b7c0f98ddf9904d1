"""`zhili bench cases`: the case workflow under load against a floor measured in the same run.

(a) floor: a bare FastAPI route doing one INSERT per request on the same database;
(b) case actions through the API (report, register, dispatch, accept, handle, check, close; each one
    request with permission checks, timeline and audit) under the same load generator, and the
    queries each action issues;
(c) with 1,000,000 cases: the case list API and the queue pages at an offered load of half the floor;
(d) evaluation of the year by street and by department.

Servers and the load generator run in separate processes on 127.0.0.1: both servers as `zhili serve
--workers N` serves (`python -m zhili.serving`, N = ZHILI_BENCH_WORKERS, default one per core), the
generator as `python -m zhili.cases.bench_load` (HTTP/1.1 on asyncio streams, lean enough to leave
the CPU to the servers). Every phase is bounded in requests and seconds.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI

from zhili.cases.bench_load import ACTOR, CYCLE

CONNECTIONS = 50
FLOOR_REQUESTS = 4000
ACTION_REQUESTS = 4200  # 600 cycles of 7 requests
PHASE_SECONDS = 90.0
READ_SECONDS = 20.0
N_CASES = 1_000_000
# Server processes of both servers, the floor's and the application's (`zhili serve --workers`): one
# per core by default, as the application would be served on this machine.
WORKERS = int(os.environ.get("ZHILI_BENCH_WORKERS") or os.cpu_count() or 1)
YEAR = 2025
# --- the servers (run by uvicorn in their own process) ---------------------------------------------


def floor_app() -> FastAPI:
    """The floor: one INSERT per request through a SQLAlchemy session, as bare as a route gets."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from zhili.core.db import make_engine

    engine = make_engine(os.environ["ZHILI_DATABASE_URL"])
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/floor")
    def floor() -> dict[str, bool]:
        with Session(engine) as s, s.begin():
            s.execute(text("INSERT INTO bench_floor (at, payload) VALUES (:at, :p)"),
                      {"at": time.time(), "p": "x" * 64})
        return {"ok": True}

    return app


def zhili_app() -> FastAPI:
    """The whole application, as `zhili serve` runs it (from the environment's settings)."""
    return _create_app()()


def _create_app() -> Any:
    # The bench drives the whole application as a client would; it is looked up at run time
    # because the cases package sits below the composition root (zhili.app) in the layers.
    return importlib.import_module("zhili.app").create_app


@contextmanager
def _server(factory: str, url: str, data_dir: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "ZHILI_DATABASE_URL": url, "ZHILI_DATA_DIR": str(data_dir),
           "ZHILI_SECRET_KEY": "b" * 48}
    proc = subprocess.Popen(  # noqa: S603 - our own module, served as `zhili serve` serves
        [sys.executable, "-m", "zhili.serving", f"zhili.cases.bench:{factory}", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(WORKERS), "--log-level", "warning", "--no-access-log"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/"
    try:
        started = time.perf_counter()
        while True:  # ready, or a clear error when the server process has died
            if proc.poll() is not None:
                died: bytes = proc.communicate()[1]
                raise RuntimeError(f"{factory} exited: {died.decode(errors='replace')[-1500:]}")
            try:
                if httpx.get(base + "healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - started > 120:
                raise RuntimeError(f"{factory} at {base} did not become ready in 120 s")
            time.sleep(0.1)
        yield base.rstrip("/")
    finally:
        proc.terminate()
        err: bytes
        try:
            err = proc.communicate(timeout=30)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            err = proc.communicate()[1]
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        if any("Error" in line for line in tail):
            print("  server stderr:", *tail, sep="\n    ")


def _load(cfg: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator in a separate process; it answers with one JSON line."""
    proc = subprocess.run(
        [sys.executable, "-m", "zhili.cases.bench_load"], input=json.dumps(cfg).encode(),
        capture_output=True, timeout=cfg.get("seconds", 60) * 3 + 120, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"load generator failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result


# --- setup and the phases --------------------------------------------------------------------------


def _prepare(url: str) -> dict[str, Any]:
    """Migrate, load the demo baseline, make the floor table, issue tokens, upload one after-photo."""
    import shapely
    from shapely.geometry import shape
    from sqlalchemy import select, text

    from zhili.cases.models import CaseStandard
    from zhili.cases.service import standards as case_standards
    from zhili.core import migrate
    from zhili.core.db import Database
    from zhili.identity import demo as identity_demo
    from zhili.identity import service as identity_service
    from zhili.identity.models import User
    from zhili.org import demo as org_demo
    from zhili.org import service as org_service

    migrate.upgrade(url)
    db = Database.from_url(url)
    pg = db.engine.dialect.name == "postgresql"
    with db.session_scope() as s:
        org_demo.seed_demo_org(s)  # the demo baseline, as zhili.demo.seed_baseline loads it
        s.flush()
        identity_demo.seed_demo_users(s)
        case_standards.seed_demo_standards(s)
        s.execute(text("DROP TABLE IF EXISTS bench_floor"))
        s.execute(text("CREATE TABLE bench_floor (id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION, "
                       "payload TEXT)" if pg else
                       "CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, at REAL, payload TEXT)"))
        users = {u.username: u for u in s.scalars(select(User))}
        tokens = {}
        for name in ("inspector", "shift_leader", "dispatcher", "handler"):
            _row, tokens[name] = identity_service.issue_api_token(
                s, users["admin"], users[name], name="bench", expires_days=1)
        standard_id = s.scalars(select(CaseStandard.id).where(
            CaseStandard.class_code == "06010", CaseStandard.condition_no == 1)).one()
        index = org_service.area_index(s)
        staff = users["inspector"].staff_id
        points = []
        for g in index.grids:
            if g.inspector_staff_id == staff:
                p = shape(g.geometry).representative_point()
                points.append((float(shapely.get_x(p)), float(shapely.get_y(p))))
    db.engine.dispose()
    return {"tokens": tokens, "standard_id": standard_id, "points": points}


def _queries_per_action(url: str, data_dir: Path, prep: dict[str, Any], sha: str) -> dict[str, int]:
    """One cycle in-process with a cursor listener: how many SQL statements each request issues."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from zhili.core.db import Database
    from zhili.core.settings import Settings

    db = Database.from_url(url)
    counter = {"n": 0}

    def count(*_args: Any) -> None:
        counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    settings = Settings(data_dir=data_dir, database_url=url, secret_key="b" * 48, demo=False)
    out: dict[str, int] = {}
    with TestClient(_create_app()(settings, db=db)) as client:
        h = {u: {"Authorization": f"Bearer {t}", "Prefer": "return=minimal"}
             for u, t in prep["tokens"].items()}
        lon, lat = prep["points"][0]
        for _warm in range(2):  # the second round is the one counted: caches warm as in the load test
            counter["n"] = 0
            r = client.post("/api/v1/cases", headers=h["inspector"], json={
                "source": "inspector", "class_kind": "matter", "class_code": "06010", "lon": lon, "lat": lat,
                "address": "白云区机场路1号", "description": "路边有暴露垃圾"})
            out["report"] = counter["n"]
            number, version = r.json()["number"], r.json()["version"]
            for action in CYCLE[1:]:
                form: dict[str, Any] = {"version": version}
                if action == "register":
                    form["standard_id"] = prep["standard_id"]
                elif action == "handle":
                    form.update(result="已清理完毕", evidence=[sha])
                elif action == "check":
                    form["passed"] = True
                counter["n"] = 0
                r = client.post(f"/api/v1/cases/{number}/actions/{action}", headers=h[ACTOR[action]],
                                json=form)
                if r.status_code >= 400:
                    raise RuntimeError(f"{action}: {r.status_code} {r.text[:300]}")
                out[action] = counter["n"]
                version = r.json()["version"]
    db.engine.dispose()
    return out


def _photo() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 60)).save(buf, "JPEG")
    return buf.getvalue()


def _print_closed(name: str, r: dict[str, Any]) -> None:
    print(f"{name:<34} {r['requests']:>7,} req in {r['seconds']:5.1f} s: {r['rps']:7.1f} req/s, "
          f"p50 {r['p50']:6.1f} ms, p99 {r['p99']:6.1f} ms (load generator: {r['client_cpu_ms']:.2f} ms "
          "of CPU a request)")
    if r["errors"]:
        print(f"  errors: {r['errors']}")


def bench_cases(database_url: str | None) -> None:
    # ZHILI_BENCH_PHASES=ab runs only the floor and the actions (the million-case phases take minutes).
    phases = os.environ.get("ZHILI_BENCH_PHASES", "abcd")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "zhili-data"
        data_dir.mkdir()
        # ZHILI_BENCH_SQLITE=path keeps the SQLite file (and its million cases) for the next run.
        url = database_url or f"sqlite:///{os.environ.get('ZHILI_BENCH_SQLITE') or data_dir / 'bench.db'}"
        print(f"database: {url.split('@')[-1]}; {os.cpu_count()} CPU(s); {CONNECTIONS} connections; "
              f"each server in {WORKERS} process(es) (ZHILI_BENCH_WORKERS); the load generator in "
              "a separate process; all on 127.0.0.1")
        prep = _prepare(url)
        with _server("floor_app", url, data_dir) as base:
            _load({"scenario": "floor", "base": base, "requests": 300, "seconds": 20,
                   "connections": CONNECTIONS})  # warm-up
            floor = _load({"scenario": "floor", "base": base, "requests": FLOOR_REQUESTS,
                           "seconds": PHASE_SECONDS, "connections": CONNECTIONS})
            _print_closed("(a) floor: one INSERT per request", floor)
            wrk_rps = _wrk_floor(base)

        if "b" in phases:
            with _server("zhili_app", url, data_dir) as base:
                photo = _photo()
                r = httpx.post(base + "/api/v1/files", files={"file": ("after.jpg", photo, "image/jpeg")},
                               headers={"Authorization": f"Bearer {prep['tokens']['handler']}"})
                r.raise_for_status()
                sha = r.json()["sha256"]
                cfg = {"scenario": "actions", "base": base, "connections": CONNECTIONS,
                       "tokens": prep["tokens"], "points": prep["points"], "standard_id": prep["standard_id"],
                       "sha": sha}
                _load({**cfg, "requests": 350, "seconds": 30})  # warm-up
                actions = _load({**cfg, "requests": ACTION_REQUESTS, "seconds": PHASE_SECONDS})
            _print_closed("(b) case actions through the API", actions)
            for name in CYCLE:
                a = actions["per_action"].get(name)
                if a:
                    print(f"      {name:<10} n={a['n']:>5}  p50 {a['p50']:6.1f} ms  p99 {a['p99']:6.1f} ms")
            ratio = actions["rps"] / floor["rps"]
            print(f"    ratio to the floor: {ratio:.0%} (target >= 50 %)")
            if wrk_rps:
                print(f"    ratio to the floor as wrk drives it: {actions['rps'] / wrk_rps:.0%} (a check on"
                      " the load generator: the two floors should agree)")
            queries = _queries_per_action(url, data_dir, prep, sha)
            print("    SQL statements per request: " + ", ".join(f"{k} {v}" for k, v in queries.items()))

        if "c" in phases or "d" in phases:
            _with_million(url, data_dir, prep, floor["rps"] / 2, phases)


def _wrk_floor(base: str) -> float | None:
    """The same floor route driven by wrk (a C client, when installed): a check that the floor figure
    above is the server's and not the load generator's limit. None without wrk."""
    import re
    import shutil

    wrk = shutil.which("wrk")
    if wrk is None:
        print("    (wrk is not installed: the floor is measured with this Python client only)")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write('wrk.method = "POST"\n')
    try:
        def run(seconds: str) -> str:
            cmd = [wrk, "-t", "2", "-c", str(CONNECTIONS), "-d", seconds, "--latency", "-s", script.name,
                   base + "/floor"]
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout  # noqa: S603

        run("5s")  # warm-up
        out = run("15s")
    finally:
        Path(script.name).unlink()
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    if found is None:
        print(f"    wrk gave no figure: {out[-300:]}")
        return None
    rps = float(found.group(1))
    print(f"(a) the same floor driven by wrk (2 threads, {CONNECTIONS} connections, 15 s): {rps:,.1f} req/s, "
          f"p99 {p99.group(1) if p99 else '?'}")
    return rps


def _with_million(url: str, data_dir: Path, prep: dict[str, Any], rate: float, phases: str) -> None:
    from sqlalchemy import func, select, text

    from zhili.cases import synthetic
    from zhili.cases.models import CaseRecord
    from zhili.core.db import Database

    db = Database.from_url(url)
    with db.session_scope() as s:
        have = int(s.scalar(select(func.count()).select_from(CaseRecord)) or 0)
    t0 = time.perf_counter()
    if have < N_CASES:
        with db.session_scope() as s:
            synthetic.insert_synthetic_cases(s, N_CASES - have, year=YEAR, seed=11)
    with db.session_scope() as s:
        total = int(s.scalar(select(func.count()).select_from(CaseRecord)) or 0)
        # Fresh statistics, as autovacuum would have them some minutes after a bulk load: with the
        # stale ones PostgreSQL scans a million rows backwards for the queue lists (450 ms, not 1 ms).
        s.execute(text("ANALYZE case_record" if db.engine.dialect.name == "postgresql" else "ANALYZE"))
    took = time.perf_counter() - t0
    print(f"(c) {total:,} cases in the database ({took:.0f} s to insert the synthetic ones)")
    db.engine.dispose()
    if "c" in phases:
        _reads(url, data_dir, prep, rate)
    if "d" in phases:
        _evaluation(url)


def _reads(url: str, data_dir: Path, prep: dict[str, Any], rate: float) -> None:
    paths = ["/api/v1/cases?queue=to_handle", "/api/v1/cases?queue=overdue", "/api/v1/cases",
             "/api/v1/cases?street_code=440111014&sort=-reported_at", "/cases?tab=to_dispatch",
             "/cases?tab=to_check", "/cases?tab=all"]
    with _server("zhili_app", url, data_dir) as base:
        _load({"scenario": "open", "base": base, "rate": min(rate, 20.0), "seconds": 5, "paths": paths,
               "token": prep["tokens"]["shift_leader"], "connections": CONNECTIONS})  # warm-up
        reads = _load({"scenario": "open", "base": base, "rate": rate, "seconds": READ_SECONDS,
                       "paths": paths, "token": prep["tokens"]["shift_leader"], "connections": CONNECTIONS})
    print(f"    offered {rate:.0f} req/s (half the floor) for {READ_SECONDS:.0f} s as the shift leader "
          f"(whole district): served {reads['rps']:.0f} req/s, p50 {reads['p50']:.1f} ms, "
          f"p99 {reads['p99']:.1f} ms (target p99 <= 150 ms; load generator: {reads['client_cpu_ms']:.2f} ms "
          "of CPU a request)")
    for path, r in reads["per_path"].items():
        print(f"      {path:<56} n={r['n']:>5}  p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms")
    if reads["errors"]:
        print(f"  errors: {reads['errors']}")


def _evaluation(url: str) -> None:
    try:
        from zhili.cases import evaluation
    except ImportError:
        print("(d) evaluation: zhili.cases.evaluation is not installed in this build")
        return
    from zhili.core.db import Database

    tz = ZoneInfo("Asia/Shanghai")
    start, end = datetime(YEAR, 1, 1, tzinfo=tz), datetime(YEAR + 1, 1, 1, tzinfo=tz)
    db = Database.from_url(url)
    for group in ("street", "department"):
        times = []
        rows = 0
        for _round in range(2):
            with db.session_scope() as s:
                t = time.perf_counter()
                rows = len(evaluation.compute(s, group_by=group, start=start, end=end))  # type: ignore[arg-type]
                times.append(time.perf_counter() - t)
        print(f"(d) evaluation of {YEAR} by {group:<10}: {min(times):.2f} s best, {max(times):.2f} s worst "
              f"of 2 ({rows} rows; target <= 2 s)")
    db.engine.dispose()
