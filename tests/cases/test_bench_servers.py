"""The cases bench's CPU accounting: a phase is charged the CPU of the server's whole process tree
(its supervisor and the workers below it), per request answered, and no more."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from zhili.cases.bench_servers import Server, cost_line, local_postgresql, metered

# A supervisor that starts one worker and waits; the worker burns CPU for the time given on each line
# of its input, then answers "done". Only the worker, a grandchild of the test, does work.
_WORKER = """
import sys, time
for line in sys.stdin:
    end = time.process_time() + float(line)
    while time.process_time() < end:
        pass
    print("done", flush=True)
"""
_SUPERVISOR = f"""
import subprocess, sys
subprocess.run([sys.executable, "-c", {_WORKER!r}], check=True)
"""


def test_a_phase_is_charged_the_cpu_of_the_workers_below_the_server_process() -> None:
    proc = subprocess.Popen([sys.executable, "-c", _SUPERVISOR], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("0.01\n")  # the worker is up and has run once before the phase starts
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "done"

        def phase() -> dict[str, Any]:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("0.4\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "done"
            return {"requests": 100}

        result = metered(Server("http://127.0.0.1:1", proc.pid), phase)
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    # 0.4 s of the worker's CPU over 100 requests: 4 ms a request (the supervisor adds next to nothing).
    assert 3.8 <= result["server_cpu_ms"] <= 5.0, result
    assert 0.0 <= result["idle_share"] <= 1.0
    assert result["db_cpu_ms"] is None  # no database server named: none is charged
    assert f"server {result['server_cpu_ms']:.2f} ms" in cost_line(result)


def test_a_phase_without_work_is_charged_next_to_nothing() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.2)  # past the interpreter's start

        def idle_phase() -> dict[str, Any]:
            time.sleep(0.3)
            return {"requests": 10}

        result = metered(Server("http://127.0.0.1:1", proc.pid), idle_phase)
    finally:
        proc.kill()
        proc.wait()
    assert result["server_cpu_ms"] < 1.0, result


def test_the_floor_keeps_a_connection_for_each_of_its_threads(tmp_path: Path, monkeypatch: Any) -> None:
    """The floor's route runs in up to 40 worker threads at once: each keeps its connection, so no
    request pays for opening one (with a pool of 10 and 30 overflow, 30 of 40 were closed and
    opened again, one PostgreSQL session for one request in seven)."""
    from sqlalchemy import event

    from zhili.cases.bench_servers import FLOOR_THREADS, floor_app

    monkeypatch.setenv("ZHILI_DATABASE_URL", f"sqlite:///{tmp_path / 'floor.db'}")
    engine = floor_app().state.engine
    opened = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    for _round in range(2):  # all threads busy at once, then all done, twice
        busy = [engine.connect() for _ in range(FLOOR_THREADS)]
        for conn in busy:
            conn.close()
    assert len(opened) == FLOOR_THREADS
    engine.dispose()


def test_only_a_postgresql_on_this_machine_is_charged_as_the_database() -> None:
    assert local_postgresql("postgresql+psycopg://postgres@127.0.0.1:5432/bench")
    assert local_postgresql("postgresql+psycopg://postgres@localhost/bench")
    assert local_postgresql("postgresql+psycopg:///bench")  # the local socket
    assert not local_postgresql("postgresql+psycopg://postgres@db.example.org/bench")
    assert not local_postgresql("sqlite:////tmp/bench.db")  # inside the server's own processes
