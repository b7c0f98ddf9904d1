"""The cases bench's load generator against a tiny server of known answers: it reads keep-alive
answers, counts refusals by status and a silent server as time-outs, and never hangs."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from zhili.cases import bench_load


async def _against(answer: bytes | None, cfg: dict[str, Any]) -> dict[str, Any]:
    """Run the closed loop against a server that gives `answer` to every request (None: says nothing)."""
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                served += 1
                if answer is not None:
                    writer.write(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        base = f"http://127.0.0.1:{port}"
        # Bounded here too, so that a generator that hangs fails the test instead of stalling it.
        loop_cfg = {"scenario": "floor", "base": base, **cfg}
        result = await asyncio.wait_for(bench_load._closed_loop(loop_cfg), 15)
    finally:
        server.close()
    result["served"] = served
    return result


def _run(answer: bytes | None, **cfg: Any) -> dict[str, Any]:
    with ThreadPoolExecutor(1) as pool:  # a loop of its own, whatever this thread runs
        return pool.submit(asyncio.run, _against(answer, cfg)).result(timeout=60)


def test_answers_on_keep_alive_connections_are_counted_and_timed() -> None:
    result = _run(b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{\"ok\":true}", requests=60, seconds=20,
                  connections=3)
    assert result["requests"] == result["served"] == 60 and result["errors"] == {}
    assert result["per_action"]["floor"]["n"] == 60 and result["p99"] >= result["p50"] > 0
    assert result["client_cpu_ms"] > 0


def test_refusals_are_counted_by_status_with_the_first_text() -> None:
    result = _run(b"HTTP/1.1 409 Conflict\r\nContent-Length: 5\r\n\r\nstale", requests=10, seconds=20,
                  connections=2)
    assert result["errors"] == {"floor 409": 10, "floor 409 first": "stale"}


def test_a_server_that_stops_answering_ends_as_time_outs(monkeypatch) -> None:
    monkeypatch.setattr(bench_load, "REQUEST_SECONDS", 0.2)
    result = _run(None, requests=4, seconds=20, connections=2)
    assert result["requests"] == 0 and result["errors"] == {"floor TimeoutError": 4}
