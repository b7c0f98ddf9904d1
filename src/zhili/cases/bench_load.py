"""The load generator of `zhili bench cases`, run in a process of its own (`python -m
zhili.cases.bench_load`, a JSON config on stdin, one JSON line of results out): closed loop (N
connections, each sending its next request when the last one answered) for the floor, the case
actions and the ceiling's accept, open loop (requests started at a fixed rate whatever the
answers) for the reads.

It speaks HTTP/1.1 over keep-alive connections with asyncio streams, and nothing more: on a 2-core
machine the generator shares the CPU with the server it measures, and the general-purpose client it
replaces (httpx) took most of a core at 160-190 requests/s, so that the figures were the client's as
much as the server's. Each result carries the generator's own CPU time per request (`client_cpu_ms`)
so that a run shows what it cost.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

REQUEST_SECONDS = 60.0  # one request's bound: a server that stops answering ends as errors, not a hang
CYCLE = ("report", "register", "dispatch", "accept", "handle", "check", "close")
ACTOR = {"report": "inspector", "register": "shift_leader", "dispatch": "dispatcher", "accept": "handler",
         "handle": "handler", "check": "inspector", "close": "shift_leader"}


class ProtocolError(Exception):
    """The server's answer was not HTTP/1.1 as this client reads it (or the connection closed)."""


class Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole answer, then the next request."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: bytes = b"",
                      body: bytes | None = None) -> tuple[int, bytes]:
        """(status, body). Any failure closes the connection; the next request opens a new one."""
        try:
            async with asyncio.timeout(REQUEST_SECONDS):
                return await self._exchange(method, path, headers, body)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            self.close()  # TimeoutError is an OSError
            raise ProtocolError(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            self.close()
            raise

    async def _exchange(self, method: str, path: str, headers: bytes,
                        body: bytes | None) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n".encode() + headers
        if body is not None:
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        self._writer.write(head + b"\r\n" + (body or b""))
        answer = await self._reader.readuntil(b"\r\n\r\n")
        if not answer.startswith(b"HTTP/1.1 "):
            raise ProtocolError(f"not an HTTP/1.1 answer: {answer[:40]!r}")
        status = int(answer[9:12])
        lower = answer.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at < 0:  # the application answers with a length; chunked answers are not read here
            raise ProtocolError(f"an answer without Content-Length: {answer[:200]!r}")
        length = int(lower[at + 17:lower.index(b"\r\n", at + 2)])
        content = await self._reader.readexactly(length)
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, content

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


class Errors(dict[str, Any]):
    """Errors counted by kind ("report 409", "floor ConnectionResetError"), with the first answer's
    text of each HTTP status kept beside its count."""

    def count(self, key: str, first_text: str | None = None) -> None:
        self[key] = self.get(key, 0) + 1
        if first_text is not None and self[key] == 1:
            self[f"{key} first"] = first_text


def _summary(latencies: dict[str, list[float]], started: float, cpu_started: float, errors: Errors,
             by: str) -> dict[str, Any]:
    """Counts, rate and percentiles overall and per name (`by`: per_action or per_path), and this
    process's own CPU per request: what the generator took from the machine it shares."""
    everything = [v for vs in latencies.values() for v in vs]
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"requests": len(everything), "seconds": elapsed, "rps": len(everything) / elapsed,
            "p50": _pct(everything, 0.5), "p99": _pct(everything, 0.99), "errors": errors,
            "client_cpu_ms": cpu * 1000 / max(1, len(everything)),
            by: {k: {"n": len(v), "p50": _pct(v, 0.5), "p99": _pct(v, 0.99)}
                 for k, v in latencies.items() if v}}


def _address(base: str) -> tuple[str, int]:
    parts = urlsplit(base)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _auth(token: str, *, minimal: bool = False) -> bytes:
    return f"Authorization: Bearer {token}\r\n".encode() + (b"Prefer: return=minimal\r\n" if minimal else b"")


async def _closed_loop(cfg: dict[str, Any]) -> dict[str, Any]:
    """N connections, each sending its next request when the last one answered, up to a total or a time."""
    host, port = _address(cfg["base"])
    total, deadline = cfg["requests"], time.perf_counter() + cfg["seconds"]
    by_name: dict[str, list[float]] = {}
    errors = Errors()
    sent = 0

    def take() -> bool:
        nonlocal sent
        if sent >= total or time.perf_counter() > deadline:
            return False
        sent += 1
        return True

    async def call(conn: Connection, name: str, method: str, path: str, headers: bytes = b"",
                   body: Any = None) -> bytes | None:
        t = time.perf_counter()
        try:
            status, content = await conn.request(method, path, headers,
                                                 None if body is None else json.dumps(body).encode())
        except ProtocolError as exc:  # a reset, a time-out, or a keep-alive connection closed under us
            errors.count(f"{name} {str(exc).split(':')[0]}")
            return None
        by_name.setdefault(name, []).append((time.perf_counter() - t) * 1000)
        if status >= 400:
            errors.count(f"{name} {status}", content[:200].decode(errors="replace"))
            return None
        return content

    async def floor_worker() -> None:
        conn = Connection(host, port)
        while take():
            await call(conn, "floor", "POST", "/floor")
        conn.close()

    async def cycle_worker(w: int) -> None:
        conn = Connection(host, port)
        h = {u: _auth(t, minimal=True) for u, t in cfg["tokens"].items()}
        i = 0
        while True:
            lon, lat = cfg["points"][(w * 7919 + i) % len(cfg["points"])]
            i += 1
            if not take():
                break
            content = await call(conn, "report", "POST", "/api/v1/cases", h["inspector"], {
                "source": "inspector", "class_kind": "matter", "class_code": "06010", "lon": lon,
                "lat": lat, "address": "白云区机场路100号", "description": "路边有暴露垃圾"})
            if content is None:
                continue
            answer = json.loads(content)
            number, version = answer["number"], answer["version"]
            for action in CYCLE[1:]:
                if not take():
                    conn.close()
                    return
                form: dict[str, Any] = {"version": version}
                if action == "register":
                    form["standard_id"] = cfg["standard_id"]
                elif action == "handle":
                    form.update(result="已清理完毕", evidence=[cfg["sha"]])
                elif action == "check":
                    form["passed"] = True
                content = await call(conn, action, "POST", f"/api/v1/cases/{number}/actions/{action}",
                                     h[ACTOR[action]], form)
                if content is None:
                    break
                version = json.loads(content)["version"]
        conn.close()

    async def ceiling_worker(w: int) -> None:
        # Each connection accepts its own share of the cases, one after the other: no two requests
        # in flight on one case, as in the cycle.
        conn = Connection(host, port)
        header = _auth(cfg["token"])
        mine = cfg["numbers"][w :: cfg["connections"]]
        i = 0
        while take():
            await call(conn, "accept", "POST", f"/ceiling/accept/{mine[i % len(mine)]}", header)
            i += 1
        conn.close()

    started, cpu_started = time.perf_counter(), time.process_time()
    if cfg["scenario"] == "floor":
        await asyncio.gather(*(floor_worker() for _ in range(cfg["connections"])))
    elif cfg["scenario"] == "ceiling":
        await asyncio.gather(*(ceiling_worker(w) for w in range(cfg["connections"])))
    else:
        await asyncio.gather(*(cycle_worker(w) for w in range(cfg["connections"])))
    return _summary(by_name, started, cpu_started, errors, "per_action")


async def _open_loop(cfg: dict[str, Any]) -> dict[str, Any]:
    """Requests started at a fixed rate whatever the answers, on at most N connections; latency is
    counted from the planned start, so time spent waiting for a free connection counts too."""
    host, port = _address(cfg["base"])
    rate, seconds = cfg["rate"], cfg["seconds"]
    paths: list[str] = cfg["paths"]
    headers = _auth(cfg["token"])
    by_path: dict[str, list[float]] = {p: [] for p in paths}
    errors = Errors()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(cfg["connections"]):
        idle.put_nowait(Connection(host, port))
    start, cpu_started = time.perf_counter(), time.process_time()
    n = int(rate * seconds)

    async def one(i: int) -> None:
        planned = start + i / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        path = paths[i % len(paths)]
        conn = await idle.get()
        try:
            status, content = await conn.request("GET", path, headers)
        except ProtocolError as exc:
            errors.count(f"{path} {str(exc).split(':')[0]}")
            return
        finally:
            idle.put_nowait(conn)
        by_path[path].append((time.perf_counter() - planned) * 1000)
        if status >= 400:
            errors.count(f"{path} {status}", content[:200].decode(errors="replace"))

    tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
    # Bounded: whatever has not answered 30 s after the last planned start is counted and dropped.
    _done, late = await asyncio.wait(tasks, timeout=seconds + 30)
    for task in late:
        task.cancel()
    if late:
        errors["unanswered at the end"] = len(late)
    return _summary(by_path, start, cpu_started, errors, "per_path")


if __name__ == "__main__":
    config = json.loads(sys.stdin.read())
    runner = _open_loop if config["scenario"] == "open" else _closed_loop
    print(json.dumps(asyncio.run(runner(config))))
