"""The `zhili` commands as an administrator runs them, on a fresh embedded (SQLite) data dir."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from zhili.cli import app
from zhili.core import geo
from zhili.core.settings import get_settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ZHILI_DATA_DIR", str(tmp_path / "zhili-data"))
    monkeypatch.delenv("ZHILI_DATABASE_URL", raising=False)
    monkeypatch.delenv("ZHILI_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "zhili-data"
    get_settings.cache_clear()


def _community_file(path, code: str) -> None:
    gcj = geo.transform_geojson_geometry(mapping(box(113.2700, 23.1700, 113.2720, 23.1718)), "wgs84", "gcj02")
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code, "name": "命令行社区"}, "geometry": gcj}]}))


def test_demo_import_user_and_audit_commands(data_dir, tmp_path) -> None:
    runner = CliRunner()
    demo = runner.invoke(app, ["demo", "--no-serve"])
    assert demo.exit_code == 0, demo.output
    assert "grids 16375" in demo.output and "shift_leader" in demo.output and "Zhili@2026" in demo.output
    again = runner.invoke(app, ["demo", "--no-serve"])
    assert again.exit_code == 0 and "already loaded" in again.output

    good = tmp_path / "good.geojson"
    _community_file(good, "440111002950")
    args = ["import", "areas", str(good), "--crs", "gcj02", "--level", "community"]
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0 and "1 new" in dry.output and "nothing written" in dry.output
    real = runner.invoke(app, args)
    assert real.exit_code == 0 and "1 created" in real.output

    bad = tmp_path / "bad.geojson"
    _community_file(bad, "440111099950")
    refused = runner.invoke(app, ["import", "areas", str(bad), "--crs", "gcj02", "--level", "community"])
    assert refused.exit_code != 0 and "440111099 does not exist" in refused.output

    user = runner.invoke(app, ["user", "create", "wang.li", "-r", "operator", "--street", "440111002",
                               "--password", "Baiyun#2026x"])
    assert user.exit_code == 0 and "operator" in user.output
    unknown_street = runner.invoke(app, ["user", "create", "li.na", "-r", "operator", "--street", "440111999",
                                         "--password", "Baiyun#2026x"])
    assert unknown_street.exit_code == 2 and "440111999" in unknown_street.output

    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0 and "intact" in intact.output
    with sqlite3.connect(data_dir / "zhili.db") as conn:
        conn.execute("UPDATE audit_entry SET actor = 'mallory' WHERE id = "
                     "(SELECT entry_id FROM audit_seal WHERE seq = 1)")
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and "BROKEN at entry 1" in broken.output


def test_serve_refuses_the_default_secret(data_dir) -> None:
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2 and "ZHILI_SECRET_KEY" in result.output


def _established_on(port: int) -> set[str]:
    """Socket inodes of the established TCP connections whose local port is `port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # 01: ESTABLISHED
                inodes.add(fields[9])
    return inodes


def _children_of(pid: int) -> list[str]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # the field after the parenthesised command is the state, then the parent's pid
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(stat.parent.name)
    return children


def _sockets_of(pid: str) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                found.add(target[8:-1])
    return found


def test_serve_with_two_workers_spreads_connections_and_shares_one_database(data_dir) -> None:
    env = {**os.environ, "ZHILI_DATA_DIR": str(data_dir), "ZHILI_SECRET_KEY": "s" * 48}
    env.pop("ZHILI_DATABASE_URL", None)  # the embedded SQLite file, shared by both processes
    zhili = [sys.executable, "-c", "from zhili.cli import app; app()"]
    for command in (["db", "upgrade"], ["user", "create", "zhao.min", "-r", "operator", "--password",
                                        "Baiyun#2026x"]):
        done = subprocess.run([*zhili, *command], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([*zhili, "serve", "--port", str(port), "--workers", "2"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.communicate()[1][-2000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "zhili serve --workers 2 did not answer in 90 s"
            time.sleep(0.2)
        workers = [pid for pid in _children_of(server.pid)
                   if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2, workers

        # A client that opens its keep-alive pool at once finds both processes behind the port (on
        # one shared listening socket, the first process to wake accepts the whole batch).
        pool = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(32)]
        try:
            for conn in pool:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            for conn in pool:
                assert conn.recv(65536).startswith(b"HTTP/1.1 200")
            open_here = _established_on(port)
            held = {pid: len(_sockets_of(pid) & open_here) for pid in workers}
            assert all(n > 0 for n in held.values()) and sum(held.values()) == 32, held
        finally:
            for conn in pool:
                conn.close()

        # Writes from both processes land in one database: the fifth wrong password, over
        # connections spread across the workers, locks the account for all of them.
        clients = [httpx.Client(base_url=base, timeout=10) for _ in range(8)]
        try:
            wrong = {"username": "zhao.min", "password": "not-the-password"}
            answers = [c.post("/api/v1/auth/token", json=wrong).status_code for c in clients[:5]]
            assert answers == [401, 401, 401, 401, 429]
            right = {"username": "zhao.min", "password": "Baiyun#2026x"}
            assert {c.post("/api/v1/auth/token", json=right).status_code for c in clients[5:]} == {429}
        finally:
            for client in clients:
                client.close()
    finally:
        server.terminate()
        server.communicate(timeout=60)
    assert server.returncode == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_port_in_use_says_so(data_dir, monkeypatch, workers) -> None:
    monkeypatch.setenv("ZHILI_SECRET_KEY", "s" * 48)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port), "--workers", workers])
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.output, result.output
