"""`zhili bench case-pages`: p50/p95 of the case console's queues and detail on a few thousand cases.

The cases are made through the engine's own services (intake, then a prefix of the main line), so
their deadlines, tasks and timelines are what production writes; then a real server runs in a
subprocess and a logged-in client times each page, one request at a time.
"""

from __future__ import annotations

import io
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from PIL import Image
from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhili.cases.config import config_for
from zhili.cases.pages_common import TABS
from zhili.cases.schemas import ActionFields, CaseCreate, CaseSource
from zhili.cases.service import seed_demo_standards
from zhili.cases.service.intake import report_case
from zhili.cases.service.timeline import Actor
from zhili.cases.service.workflow import apply_action
from zhili.cases.states import CaseAction
from zhili.core import clock, migrate
from zhili.core.db import Database
from zhili.core.settings import Settings
from zhili.evidence import service as evidence_service
from zhili.identity import demo as identity_demo
from zhili.identity.demo import DEMO_PASSWORD
from zhili.identity.models import User
from zhili.org import demo as org_demo
from zhili.org import service as org_service

CLASSES = ("06010", "06012", "06042", "06001", "07001", "09006")
STEPS = (
    (CaseAction.register, "shift_leader"),
    (CaseAction.dispatch, "dispatcher"),
    (CaseAction.accept, "handler"),
    (CaseAction.handle, "handler"),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _baseline(session: Session) -> None:
    """The demo geography, departments, users and case standard (zhili.demo's baseline, from below)."""
    org_demo.seed_demo_org(session)
    session.flush()
    identity_demo.seed_demo_users(session)
    seed_demo_standards(session)


def make_cases(db: Database, settings: Settings, n: int, seed: int = 11) -> list[str]:
    """n cases over the last ten days, spread along the main line; returns their numbers."""
    from zhili.cases import repository
    from zhili.cases.schemas import StandardFilters

    with db.session_scope() as s:
        _baseline(s)
    rng = random.Random(seed)
    cfg = config_for(settings)
    numbers: list[str] = []
    with db.session_scope() as s:
        users = {u.username: u for u in s.scalars(select(User))}
        buf = io.BytesIO()
        Image.new("RGB", (32, 32), (40, 140, 80)).save(buf, "PNG")
        buf.seek(0)
        photo = evidence_service.store_evidence(s, users["handler"], buf, "after.png", "image/png", settings)
        sha = photo.sha256
        rows = repository.list_standards(s, StandardFilters(class_kind="matter"))
        standards = {r.class_code: r for r in rows if r.condition_no == 1}
        grids = [g for g in org_service.area_index(s).grids if g.inspector_staff_id is not None]
        points = [shape(g.geometry).representative_point() for g in rng.sample(grids, 400)]
    now = clock.now()
    done = 0
    while done < n:
        with db.session_scope() as s:
            users = {u.username: u for u in s.scalars(select(User))}
            for _ in range(min(500, n - done)):
                code = rng.choice([c for c in CLASSES if c in standards])
                p = rng.choice(points)
                at = now - timedelta(minutes=rng.randint(30, 10 * 24 * 60))
                public = rng.random() < 0.15
                data = CaseCreate(
                    source=CaseSource.public if public else CaseSource.inspector, class_kind="matter",
                    class_code=code, lon=p.x, lat=p.y, address=f"白云区测试路{rng.randint(1, 999)}号",
                    description="基准测试案件",
                )
                case = report_case(s, users["operator" if public else "inspector"], data, cfg, now=at)
                depth = 0 if public else rng.choice((0, 1, 1, 2, 2, 3, 4))
                for action, username in STEPS[:depth]:
                    if username == "handler" and case.department_id != users["handler"].department_id:
                        break
                    at += timedelta(minutes=rng.randint(3, 90))
                    if at >= now:
                        break
                    if action is CaseAction.register:
                        fields = ActionFields(standard_id=standards[code].id)
                    elif action is CaseAction.handle:
                        fields = ActionFields(result="已处理", evidence=[sha])
                    else:
                        fields = ActionFields()
                    apply_action(s, Actor(users[username]), case, action, fields, cfg, version=None, now=at)
                numbers.append(case.number)
                done += 1
    return numbers


def _login(c: httpx.Client, username: str) -> None:
    c.cookies.clear()
    form = c.get("/login")
    csrf = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    if csrf is None:
        raise RuntimeError("the login form has no login_csrf field")
    c.post("/login", data={"username": username, "password": DEMO_PASSWORD, "login_csrf": csrf.group(1),
                           "next": "/"})


def _time(c: httpx.Client, paths: list[str]) -> tuple[float, float, float]:
    c.get(paths[0])  # warm caches as a returning user would have them
    times = []
    for path in paths:
        t = time.perf_counter()
        r = c.get(path)
        times.append((time.perf_counter() - t) * 1000)
        if r.status_code >= 400:
            raise RuntimeError(f"{path} answered {r.status_code}: {r.text[:200]}")
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], times[-1]


def bench_case_pages(database_url: str | None, n_cases: int = 3000, rounds: int = 40) -> None:
    """The caller has loaded every domain's models (model_registry) before."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        settings = Settings(data_dir=data_dir, database_url=url, secret_key=secrets.token_urlsafe(48))
        db = Database.from_url(url)
        t0 = time.perf_counter()
        numbers = make_cases(db, settings, n_cases)
        took = time.perf_counter() - t0
        print(f"made {len(numbers):,} cases through the engine's services in {took:.1f} s")
        db.engine.dispose()
        port = _free_port()
        env = {**os.environ, "ZHILI_DATA_DIR": str(data_dir), "ZHILI_DATABASE_URL": url,
               "ZHILI_SECRET_KEY": settings.secret_key}
        proc = subprocess.Popen(  # noqa: S603 - our own entry point
            [sys.executable, "-m", "zhili.cli", "serve", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            rng = random.Random(3)
            print(f"{'user':<13} {'page':<40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
            with httpx.Client(base_url=base, timeout=30) as c:
                for username, tabs in (("shift_leader", [t for t, _ in TABS if t != "mine"]),
                                       ("handler", ["to_handle", "all"]), ("inspector", ["mine", "all"])):
                    _login(c, username)
                    for tab in tabs:
                        path = f"/cases?tab={tab}"
                        p50, p95, worst = _time(c, [path] * rounds)
                        print(f"{username:<13} {path:<40} {p50:8.1f} {p95:8.1f} {worst:8.1f}")
                _login(c, "shift_leader")
                path = "/cases?tab=all&q=测试路1"
                p50, p95, worst = _time(c, [path] * rounds)
                print(f"{'shift_leader':<13} {path:<40} {p50:8.1f} {p95:8.1f} {worst:8.1f}")
                sample = [f"/cases/{n}" for n in rng.sample(numbers, rounds)]
                p50, p95, worst = _time(c, sample)
                print(f"{'shift_leader':<13} {'/cases/{number} (' + str(rounds) + ' cases)':<40} "
                      f"{p50:8.1f} {p95:8.1f} {worst:8.1f}")
                _login(c, "inspector")
                p50, p95, worst = _time(c, ["/m"] * rounds)
                print(f"{'inspector':<13} {'/m':<40} {p50:8.1f} {p95:8.1f} {worst:8.1f}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print("one request at a time from one client; the server is one `zhili serve` process")
