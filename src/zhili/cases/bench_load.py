"""The load generator of `zhili bench cases`, run in a process of its own (`python -m
zhili.cases.bench_load`, a JSON config on stdin, one JSON line of results out): closed loop (N
connections, each sending its next request when the last one answered) for the floor and the case
actions, open loop (requests started at a fixed rate whatever the answers) for the reads.

It speaks HTTP/1.1 over keep-alive connections with asyncio streams, and nothing more: on a 2-core
machine the generator shares the CPU with the server it measures, and a general-purpose client
(httpx: about 1 ms of CPU a request) took most of a core at 200 requests/s, so that the figures were
the client's as much as the server's. This one spends a few tens of microseconds a request.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

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
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            self.close()
            raise ProtocolError(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _summary(by_name: dict[str, list[float]], elapsed: float, errors: dict[str, Any]) -> dict[str, Any]:
    everything = [v for vs in by_name.values() for v in vs]
    return {"requests": len(everything), "seconds": elapsed, "rps": len(everything) / elapsed,
            "p50": _pct(everything, 0.5), "p99": _pct(everything, 0.99), "errors": errors,
            "per_action": {k: {"n": len(v), "p50": _pct(v, 0.5), "p99": _pct(v, 0.99)}
                           for k, v in by_name.items() if v}}


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
    errors: dict[str, Any] = {}
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
        except ProtocolError as exc:  # a reset, or a keep-alive connection closed under us
            key = f"{name} {str(exc).split(':')[0]}"
            errors[key] = errors.get(key, 0) + 1
            return None
        by_name.setdefault(name, []).append((time.perf_counter() - t) * 1000)
        if status >= 400:
            key = f"{name} {status}"
            errors[key] = errors.get(key, 0) + 1
            if errors[key] == 1:
                errors[f"{key} first"] = content[:200].decode(errors="replace")
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

    t0 = time.perf_counter()
    if cfg["scenario"] == "floor":
        await asyncio.gather(*(floor_worker() for _ in range(cfg["connections"])))
    else:
        await asyncio.gather(*(cycle_worker(w) for w in range(cfg["connections"])))
    return _summary(by_name, time.perf_counter() - t0, errors)


async def _open_loop(cfg: dict[str, Any]) -> dict[str, Any]:
    """Requests started at a fixed rate whatever the answers, on at most N connections; latency is
    counted from the planned start, so time spent waiting for a free connection counts too."""
    host, port = _address(cfg["base"])
    rate, seconds = cfg["rate"], cfg["seconds"]
    paths: list[str] = cfg["paths"]
    headers = _auth(cfg["token"])
    by_path: dict[str, list[float]] = {p: [] for p in paths}
    errors: dict[str, Any] = {}
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(cfg["connections"]):
        idle.put_nowait(Connection(host, port))
    start = time.perf_counter()
    n = int(rate * seconds)

    async def one(i: int) -> None:
        planned = start + i / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        path = paths[i % len(paths)]
        conn = await idle.get()
        try:
            status, _content = await conn.request("GET", path, headers)
        except ProtocolError as exc:
            key = f"{path} {str(exc).split(':')[0]}"
            errors[key] = errors.get(key, 0) + 1
            return
        finally:
            idle.put_nowait(conn)
        by_path[path].append((time.perf_counter() - planned) * 1000)
        if status >= 400:
            errors[f"{path} {status}"] = errors.get(f"{path} {status}", 0) + 1

    tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
    # Bounded: whatever has not answered 30 s after the last planned start is counted and dropped.
    _done, late = await asyncio.wait(tasks, timeout=seconds + 30)
    for task in late:
        task.cancel()
    if late:
        errors["unanswered at the end"] = len(late)
    result = _summary(by_path, time.perf_counter() - start, errors)
    result["per_path"] = result.pop("per_action")
    return result


if __name__ == "__main__":
    config = json.loads(sys.stdin.read())
    runner = _open_loop if config["scenario"] == "open" else _closed_loop
    print(json.dumps(asyncio.run(runner(config))))
