"""`zhili bench evaluation`: 1,000,000 synthetic cases of a year, then compute() by each grouping."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

N_CASES = 1_000_000
YEAR = 2025


def bench_evaluation(database_url: str | None, n: int = N_CASES, rounds: int = 3) -> None:
    from zhili.cases import evaluation, synthetic
    from zhili.core import migrate
    from zhili.core.db import Database
    from zhili.identity import demo as identity_demo
    from zhili.org import demo as org_demo

    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        db = Database.from_url(url)
        with db.session_scope() as s:
            org_demo.seed_demo_org(s)
            s.flush()
            identity_demo.seed_demo_users(s)
        t0 = time.perf_counter()
        with db.session_scope() as s:
            made = synthetic.insert_synthetic_cases(s, n, year=YEAR, seed=7)
        build_s = time.perf_counter() - t0
        with db.engine.begin() as conn:  # planner statistics, as a running database would have them
            conn.exec_driver_sql("ANALYZE")
        print(f"build: {made:,} cases of {YEAR} inserted in {build_s:.1f} s ({made / build_s:,.0f} rows/s), "
              f"{db.engine.dialect.name}")
        tz = ZoneInfo("Asia/Shanghai")
        start, end = datetime(YEAR, 1, 1, tzinfo=tz), datetime(YEAR + 1, 1, 1, tzinfo=tz)
        for group_by in ("street", "department", "inspector", "post"):
            times = []
            for _ in range(rounds):
                with db.session_scope() as s:
                    t = time.perf_counter()
                    rows = evaluation.compute(s, group_by=group_by, start=start, end=end)  # type: ignore[arg-type]
                    times.append(time.perf_counter() - t)
            top = max(rows, key=lambda r: r.reported or r.to_handle or 0, default=None)
            sample = (f"e.g. {top.name}: reported {top.reported}, to close {top.to_close}, "
                      f"on-time close rate {top.on_time_close_rate or 0:.1%}") if top else ""
            load = os.getloadavg()[0]  # a shared machine: the figures mean little without it
            print(f"compute(group_by={group_by!r:<12}) year: best {min(times):6.2f} s, "
                  f"worst {max(times):6.2f} s over {rounds} runs (load {load:.1f}), {len(rows)} rows  "
                  f"{sample}")
        print("target: street and department <= 2 s")
        db.engine.dispose()
