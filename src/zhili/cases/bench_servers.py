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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

CONNECTIONS = 50
# Server processes of both servers, the floor's and the application's (`zhili serve --workers`): one
# per core by default, as the application would be served on this machine.
WORKERS = int(os.environ.get("ZHILI_BENCH_WORKERS") or os.cpu_count() or 1)




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
    return create_app_factory()()


def create_app_factory() -> Any:
    # The bench drives the whole application as a client would; it is looked up at run time
    # because the cases package sits below the composition root (zhili.app) in the layers.
    return importlib.import_module("zhili.app").create_app


@contextmanager
def serve(factory: str, url: str, data_dir: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "ZHILI_DATABASE_URL": url, "ZHILI_DATA_DIR": str(data_dir),
           "ZHILI_SECRET_KEY": "b" * 48}
    proc = subprocess.Popen(  # noqa: S603 - our own module, served as `zhili serve` serves
        [sys.executable, "-m", "zhili.serving", f"zhili.cases.bench_servers:{factory}", "--host", "127.0.0.1",
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


def load(cfg: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator in a separate process; it answers with one JSON line."""
    proc = subprocess.run(
        [sys.executable, "-m", "zhili.cases.bench_load"], input=json.dumps(cfg).encode(),
        capture_output=True, timeout=cfg.get("seconds", 60) * 3 + 120, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"load generator failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result


def wrk_floor(base: str) -> float | None:
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
