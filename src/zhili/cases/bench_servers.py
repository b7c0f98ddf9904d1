"""The servers of `zhili bench cases` and what drives them: the floor (one INSERT per request) and the
whole application, each served as `zhili serve --workers N` serves (`python -m zhili.serving`) in a
process of its own; the load generator's process (`zhili.cases.bench_load`); and wrk, when installed,
driving the floor as a check on that generator."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from fastapi import FastAPI
from sqlalchemy import make_url

CONNECTIONS = 50
FLOOR_THREADS = 40  # anyio's default limit on worker threads, which run the floor's sync route
# Server processes of both servers, the floor's and the application's (`zhili serve --workers`): one
# per core by default, as the application would be served on this machine.
WORKERS = int(os.environ.get("ZHILI_BENCH_WORKERS") or os.cpu_count() or 1)




def bare_app() -> FastAPI:
    """An app with nothing but a health check and, in `state.engine`, an engine on the environment's
    database that keeps a connection for each of the sync routes' worker threads (anyio's 40): with
    the platform's pool of 10 the floor opened a PostgreSQL connection for one request in seven (778
    new sessions for 5,228 requests in 10 s under wrk), which is not the cost of an INSERT. The floor
    and the ceilings (bench_ceiling) are built on it, so that they differ in their routes only."""
    from zhili.core.db import make_engine

    app = FastAPI()
    app.state.engine = make_engine(os.environ["ZHILI_DATABASE_URL"], pool_size=FLOOR_THREADS, max_overflow=0)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


def floor_app() -> FastAPI:
    """The floor: one INSERT per request through a SQLAlchemy session, as bare as a route gets."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    app = bare_app()
    engine = app.state.engine

    @app.post("/floor")
    def floor() -> dict[str, bool]:
        with Session(engine) as s, s.begin():
            s.execute(text("INSERT INTO bench_floor (at, payload) VALUES (:at, :p)"),
                      {"at": time.time(), "p": "x" * 64})
        return {"ok": True}

    return app


def zhili_app() -> FastAPI:
    """The whole application, as `zhili serve` runs it (from the environment's settings)."""
    return create_app_factory()()


def create_app_factory() -> Any:
    # The bench drives the whole application as a client would; it is looked up at run time
    # because the cases package sits below the composition root (zhili.app) in the layers.
    return importlib.import_module("zhili.app").create_app


def local_postgresql(url: str) -> bool:
    """Whether the database is a PostgreSQL server on this machine (no host: its local socket)."""
    db_url = make_url(url)
    loopback = (None, "", "127.0.0.1", "localhost", "::1")
    return db_url.get_backend_name() == "postgresql" and db_url.host in loopback


@dataclass(frozen=True)
class Server:
    """A server started by `serve`: its address and the process that supervises its workers."""

    base: str
    pid: int
    local_postgresql: bool = False  # its database is a PostgreSQL server on this machine


@contextmanager
def serve(factory: str, url: str, data_dir: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Serve an app factory of this module (or "module:factory") on a free port until the block ends."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "ZHILI_DATABASE_URL": url, "ZHILI_DATA_DIR": str(data_dir),
           "ZHILI_SECRET_KEY": "b" * 48, **(env or {})}
    spec = factory if ":" in factory else f"zhili.cases.bench_servers:{factory}"
    proc = subprocess.Popen(  # noqa: S603 - our own module, served as `zhili serve` serves
        [sys.executable, "-m", "zhili.serving", spec, "--host", "127.0.0.1",
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
        yield Server(base.rstrip("/"), proc.pid, local_postgresql(url))
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


def _cpu_seconds(procs: list[psutil.Process]) -> dict[int, float]:
    out = {}
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.Error:  # gone meanwhile
            continue
        out[p.pid] = t.user + t.system
    return out


def _database_processes() -> list[psutil.Process]:
    """The local PostgreSQL server's processes (its backends run the statements), if any: all of
    them, its background writers and other databases' backends too, so the figure is the bench's
    only on a server that nothing else uses meanwhile."""
    found = []
    for p in psutil.process_iter(["name"]):
        if p.info["name"] in ("postgres", "postmaster"):
            found.append(p)
    return found


# Linux counts a guest's time in user and nice as well.
_COUNTED_TWICE = ("guest", "guest_nice")


def metered(server: Server, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one load phase and add what it cost the machine, per request answered: the CPU of the
    server's processes (`server_cpu_ms`), of the database server's when it runs on this machine
    (`db_cpu_ms`; None for SQLite, which runs inside the server's processes), and the shares of the
    machine's CPU left idle (`idle_share`) and taken by the host (`steal_share`). The rate alone does
    not say whether a phase was bound by the CPU or by waiting, nor what other work took."""

    def tree() -> list[psutil.Process]:
        root = psutil.Process(server.pid)
        return [root, *root.children(recursive=True)]

    def database() -> list[psutil.Process]:
        return _database_processes() if server.local_postgresql else []

    machine0 = psutil.cpu_times()
    server0, db0 = _cpu_seconds(tree()), _cpu_seconds(database())
    result = run()
    server1, db1 = _cpu_seconds(tree()), _cpu_seconds(database())
    machine1 = psutil.cpu_times()
    n = max(1, int(result.get("requests") or 0))
    # A process that started during the phase counts whole (its CPU before the phase is none); one
    # that ended during it is not counted at all. The servers' workers and the backends of their
    # pooled connections live through a phase; a server that opens and closes connections as it
    # goes (as the floor did with too small a pool) hides the cost of doing so here.
    result["server_cpu_ms"] = sum(t - server0.get(pid, 0.0) for pid, t in server1.items()) * 1000 / n
    result["db_cpu_ms"] = (sum(t - db0.get(pid, 0.0) for pid, t in db1.items()) * 1000 / n) if db1 else None
    spent = {f: getattr(machine1, f) - getattr(machine0, f) for f in machine1._fields}
    total = sum(t for f, t in spent.items() if f not in _COUNTED_TWICE)
    idle = spent["idle"] + spent.get("iowait", 0.0)
    result["idle_share"] = idle / total if total > 0 else 0.0
    # Time the hypervisor gave to other machines: a virtual machine's slow minutes show here.
    result["steal_share"] = spent.get("steal", 0.0) / total if total > 0 else 0.0
    return result


def cost_line(r: dict[str, Any]) -> str:
    """What a metered phase cost: CPU a request of the server, the database server and the load
    generator, and the machine's idle share."""
    db = f", database {r['db_cpu_ms']:.2f} ms" if r.get("db_cpu_ms") is not None else ""
    client = f", load generator {r['client_cpu_ms']:.2f} ms" if "client_cpu_ms" in r else ""
    return (f"CPU a request: server {r['server_cpu_ms']:.2f} ms{db}{client}; "
            f"the machine {r['idle_share']:.0%} idle, {r.get('steal_share', 0.0):.0%} stolen by the host")


def load(cfg: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator in a separate process; it answers with one JSON line."""
    proc = subprocess.run(
        [sys.executable, "-m", "zhili.cases.bench_load"], input=json.dumps(cfg).encode(),
        capture_output=True, timeout=cfg.get("seconds", 60) * 3 + 120, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"load generator failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result


def wrk_floor(server: Server) -> float | None:
    """The same floor route driven by wrk (a C client, when installed): a check that the floor figure
    above is the server's and not the load generator's limit. None without wrk."""
    wrk = shutil.which("wrk")
    if wrk is None:
        print("    (wrk is not installed: the floor is measured with this Python client only)")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write('wrk.method = "POST"\n')
    try:
        def run(seconds: str) -> str:
            cmd = [wrk, "-t", "2", "-c", str(CONNECTIONS), "-d", seconds, "--latency", "-s", script.name,
                   server.base + "/floor"]
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout  # noqa: S603

        run("5s")  # warm-up

        def measured() -> dict[str, Any]:
            out = run("15s")
            done = re.search(r"(\d+) requests in", out)
            return {"out": out, "requests": int(done.group(1)) if done else 0}

        result = metered(server, measured)
    finally:
        Path(script.name).unlink()
    out = result["out"]
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    if found is None:
        print(f"    wrk gave no figure: {out[-300:]}")
        return None
    rps = float(found.group(1))
    print(f"(a) the same floor driven by wrk (2 threads, {CONNECTIONS} connections, 15 s): {rps:,.1f} req/s, "
          f"p99 {p99.group(1) if p99 else '?'}")
    print(f"    {cost_line(result)}")
    return rps
