"""`zhili bench cases`: the case workflow under load against a floor measured in the same run.

(a) floor: a bare FastAPI route doing one INSERT per request on the same database;
(b) case actions through the API (report, register, dispatch, accept, handle, check, close; each one
    request with permission checks, timeline and audit) under the same load generator, and the
    queries each action issues;
(c) with 1,000,000 cases: the case list API and the queue pages at an offered load of half the floor;
(d) evaluation of the year by street and by department.

(b) and (c) also measure their ceilings (bench_ceiling): the statements the requests send, alone in a
route as bare as the floor's. No implementation that sends them is faster; the gap between the
ceiling and the floor is the statements', the gap between the application and the ceiling its own.

Servers and the load generator run in separate processes on 127.0.0.1: both servers as `zhili serve
--workers N` serves (`python -m zhili.serving`, N = ZHILI_BENCH_WORKERS, default one per core), the
generator as `python -m zhili.cases.bench_load` (HTTP/1.1 on asyncio streams, lean enough to leave
the CPU to the servers). Every phase is bounded in requests and seconds.

Each phase also prints what it cost: CPU a request of the server's processes, of a PostgreSQL on
this machine and of the load generator, and the machine's idle share. Where the CPU bounds both
phases, actions at 50 % of the floor's rate cost at most twice the floor's CPU a request.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from zhili.cases.bench_load import ACTOR, CYCLE
from zhili.cases.bench_servers import (
    CONNECTIONS,
    WORKERS,
    cost_line,
    create_app_factory,
    load,
    metered,
    serve,
    wrk_floor,
)

FLOOR_REQUESTS = 4000
FLOOR_ROUNDS = 3  # the floor is their median
ACTION_REQUESTS = 4200  # 600 cycles of 7 requests
PHASE_SECONDS = 90.0
READ_SECONDS = 20.0
N_CASES = 1_000_000
YEAR = 2025
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
    with TestClient(create_app_factory()(settings, db=db)) as client:
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
          f"p50 {r['p50']:6.1f} ms, p99 {r['p99']:6.1f} ms")
    print(f"    {cost_line(r)}")
    if r["errors"]:
        print(f"  errors: {r['errors']}")


def _cpu_a_request(r: dict[str, Any]) -> float:
    return float(r["server_cpu_ms"]) + float(r["db_cpu_ms"] or 0.0)


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
        with serve("floor_app", url, data_dir) as server:
            floor_cfg = {"scenario": "floor", "base": server.base, "connections": CONNECTIONS}
            load({**floor_cfg, "requests": 300, "seconds": 20})  # warm-up
            rounds = sorted((metered(server, lambda: load({**floor_cfg, "requests": FLOOR_REQUESTS,
                                                           "seconds": PHASE_SECONDS}))
                             for _ in range(FLOOR_ROUNDS)), key=lambda r: float(r["rps"]))
            floor = rounds[len(rounds) // 2]
            _print_closed("(a) floor: one INSERT per request", floor)
            each = ", ".join(f"{r['rps']:,.1f}" for r in rounds)
            print(f"    the median of {FLOOR_ROUNDS} rounds ({each} req/s): one short round is too noisy")
            wrk_rps = wrk_floor(server)

        if "b" in phases:
            with serve("zhili_app", url, data_dir) as server:
                photo = _photo()
                r = httpx.post(server.base + "/api/v1/files",
                               files={"file": ("after.jpg", photo, "image/jpeg")},
                               headers={"Authorization": f"Bearer {prep['tokens']['handler']}"})
                r.raise_for_status()
                sha = r.json()["sha256"]
                cfg = {"scenario": "actions", "base": server.base, "connections": CONNECTIONS,
                       "tokens": prep["tokens"], "points": prep["points"], "standard_id": prep["standard_id"],
                       "sha": sha}
                load({**cfg, "requests": 350, "seconds": 30})  # warm-up
                actions = metered(server, lambda: load({**cfg, "requests": ACTION_REQUESTS,
                                                        "seconds": PHASE_SECONDS}))
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
            ceiling = _accept_ceiling(url, data_dir, prep)
            print(f"    the ceiling against the floor: {ceiling['rps'] / floor['rps']:.0%}; the actions "
                  f"against the ceiling: {actions['rps'] / ceiling['rps']:.0%} (the cycle's other actions "
                  "send more statements than accept: the cycle's own ceiling is lower)")
            each_cost = [_cpu_a_request(r) for r in (floor, actions)]
            print(f"    CPU a request, server and database together: {each_cost[1]:.2f} ms an action "
                  f"against {each_cost[0]:.2f} ms the floor ({each_cost[1] / each_cost[0]:.1f} x; where the "
                  "CPU bounds both, 50 % of the floor's rate takes at most 2 x)")
            queries = _queries_per_action(url, data_dir, prep, sha)
            print("    SQL statements per request: " + ", ".join(f"{k} {v}" for k, v in queries.items()))

        if "c" in phases or "d" in phases:
            _with_million(url, data_dir, prep, floor["rps"] / 2, phases)


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
    # The table as autovacuum leaves it some minutes after a bulk load (PostgreSQL vacuums a table
    # after inserts too). Fresh statistics: with the stale ones PostgreSQL scanned a million rows
    # backwards for the queue lists (450 ms, not 1 ms). The visibility map: without it a list's
    # capped count read the table instead of an index only (a street's "10,000+": 53-58 ms against
    # 1.5 ms after VACUUM, measured on this bench's million cases).
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) case_record"))  # not inside a transaction
    else:
        with db.session_scope() as s:
            s.execute(text("ANALYZE"))
    took = time.perf_counter() - t0
    print(f"(c) {total:,} cases in the database ({took:.0f} s to insert {total - have:,} synthetic ones and "
          "bring the table's statistics up to date)")
    db.engine.dispose()
    if "c" in phases:
        _reads(url, data_dir, prep, rate)
    if "d" in phases:
        _evaluation(url)


def _accept_ceiling(url: str, data_dir: Path, prep: dict[str, Any]) -> dict[str, Any]:
    """(b)'s ceiling: the statements of accept alone in a bare route (bench_ceiling), on the cases the
    cycle has just written, under the same load generator."""
    from sqlalchemy import text

    from zhili.core.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        numbers = list(conn.scalars(text("SELECT number FROM case_record ORDER BY id DESC LIMIT 1000")))
    engine.dispose()
    with serve("zhili.cases.bench_ceiling:ceiling_app", url, data_dir) as server:
        cfg = {"scenario": "ceiling", "base": server.base, "connections": CONNECTIONS,
               "token": prep["tokens"]["handler"], "numbers": numbers}
        load({**cfg, "requests": 350, "seconds": 30})  # warm-up
        ceiling = metered(server, lambda: load({**cfg, "requests": ACTION_REQUESTS,
                                                "seconds": PHASE_SECONDS}))
    _print_closed("(b) ceiling: accept's statements alone", ceiling)
    return ceiling


def _reads(url: str, data_dir: Path, prep: dict[str, Any], rate: float) -> None:
    paths = ["/api/v1/cases?queue=to_handle", "/api/v1/cases?queue=overdue", "/api/v1/cases",
             "/api/v1/cases?street_code=440111014&sort=-reported_at", "/cases?tab=to_dispatch",
             "/cases?tab=to_check", "/cases?tab=all"]
    reads = _open_loop("zhili_app", url, data_dir, prep, rate, paths)
    print(f"    offered {rate:.0f} req/s (half the floor) for {READ_SECONDS:.0f} s as the shift leader "
          f"(whole district): served {reads['rps']:.0f} req/s, p50 {reads['p50']:.1f} ms, "
          f"p99 {reads['p99']:.1f} ms (target p99 <= 150 ms)")
    _print_paths(reads, paths, paths)
    _read_ceiling(url, data_dir, prep, rate, paths)


def _read_ceiling(url: str, data_dir: Path, prep: dict[str, Any], rate: float, paths: list[str]) -> None:
    """(c)'s ceiling: the statements each read path sent, recorded in-process with their parameters
    and replayed in a bare route (bench_ceiling) at the same offered rate."""
    import pickle

    from zhili.cases.bench_ceiling import READS_ENV, record_reads
    from zhili.core.db import Database
    from zhili.core.settings import Settings

    db = Database.from_url(url)
    settings = Settings(data_dir=data_dir, database_url=url, secret_key="b" * 48, demo=False)
    recorded = record_reads(create_app_factory()(settings, db=db), db.engine, paths,
                            {"Authorization": f"Bearer {prep['tokens']['shift_leader']}"})
    db.engine.dispose()
    reads_file = data_dir / "reads.pickle"
    reads_file.write_bytes(pickle.dumps(recorded))
    replayed = [f"/ceiling/read/{i}" for i in range(len(paths))]
    reads = _open_loop("zhili.cases.bench_ceiling:ceiling_app", url, data_dir, prep, rate, replayed,
                       {READS_ENV: str(reads_file)})
    print(f"(c) ceiling: the same reads' statements replayed alone ({sum(map(len, recorded))} for the "
          f"{len(paths)} paths): served {reads['rps']:.0f} req/s, p50 {reads['p50']:.1f} ms, p99 "
          f"{reads['p99']:.1f} ms")
    _print_paths(reads, replayed, paths)


def _open_loop(factory: str, url: str, data_dir: Path, prep: dict[str, Any], rate: float, paths: list[str],
               env: dict[str, str] | None = None) -> dict[str, Any]:
    """The paths read in turn at `rate` for READ_SECONDS, as the shift leader, after a warm-up."""
    with serve(factory, url, data_dir, env) as server:
        cfg = {"scenario": "open", "base": server.base, "paths": paths, "connections": CONNECTIONS,
               "token": prep["tokens"]["shift_leader"]}
        load({**cfg, "rate": min(rate, 20.0), "seconds": 5})  # warm-up
        return metered(server, lambda: load({**cfg, "rate": rate, "seconds": READ_SECONDS}))


def _print_paths(reads: dict[str, Any], requested: list[str], shown: list[str]) -> None:
    print(f"    {cost_line(reads)}")
    for path, label in zip(requested, shown, strict=True):
        r = reads["per_path"][path]
        print(f"      {label:<56} n={r['n']:>5}  p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms")
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
