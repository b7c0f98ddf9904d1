"""The load generator of `zhili bench cases`, run in a process of its own (`python -m
zhili.cases.bench_load`, a JSON config on stdin, one JSON line of results out): an asyncio httpx
client, closed loop (N workers, each sending its next request when the last one answered) for the
floor and the case actions, open loop (a fixed rate) for the reads."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx

CYCLE = ("report", "register", "dispatch", "accept", "handle", "check", "close")
ACTOR = {"report": "inspector", "register": "shift_leader", "dispatch": "dispatcher", "accept": "handler",
         "handle": "handler", "check": "inspector", "close": "shift_leader"}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def _closed_loop(cfg: dict[str, Any]) -> dict[str, Any]:
    """N workers, each sending its next request when the last one answered, up to a total or a time."""
    base, total, deadline = cfg["base"], cfg["requests"], time.perf_counter() + cfg["seconds"]
    lat: list[float] = []
    per_action: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    sent = 0
    limits = httpx.Limits(max_connections=cfg["connections"], max_keepalive_connections=cfg["connections"])

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        def take() -> bool:
            nonlocal sent
            if sent >= total or time.perf_counter() > deadline:
                return False
            sent += 1
            return True

        async def call(name: str, method: str, path: str, **kw: Any) -> httpx.Response | None:
            t = time.perf_counter()
            try:
                r = await client.request(method, path, **kw)
            except httpx.HTTPError as exc:  # a timeout, or a keep-alive connection closed under us
                key = f"{name} {type(exc).__name__}"
                errors[key] = errors.get(key, 0) + 1
                return None
            ms = (time.perf_counter() - t) * 1000
            lat.append(ms)
            per_action.setdefault(name, []).append(ms)
            if r.status_code >= 400:
                key = f"{name} {r.status_code}"
                errors[key] = errors.get(key, 0) + 1
                if errors[key] == 1:
                    errors[f"{key} first"] = r.text[:200]  # type: ignore[assignment]
                return None
            return r

        async def floor_worker() -> None:
            while take():
                await call("floor", "POST", "/floor")

        async def cycle_worker(w: int) -> None:
            h = {u: {"Authorization": f"Bearer {t}", "Prefer": "return=minimal"}
                 for u, t in cfg["tokens"].items()}
            i = 0
            while True:
                lon, lat_ = cfg["points"][(w * 7919 + i) % len(cfg["points"])]
                i += 1
                if not take():
                    return
                r = await call("report", "POST", "/api/v1/cases", headers=h["inspector"], json={
                    "source": "inspector", "class_kind": "matter", "class_code": "06010", "lon": lon,
                    "lat": lat_, "address": "白云区机场路100号", "description": "路边有暴露垃圾"})
                if r is None:
                    continue
                body = r.json()
                number, version = body["number"], body["version"]
                for action in CYCLE[1:]:
                    if not take():
                        return
                    form: dict[str, Any] = {"version": version}
                    if action == "register":
                        form["standard_id"] = cfg["standard_id"]
                    elif action == "handle":
                        form.update(result="已清理完毕", evidence=[cfg["sha"]])
                    elif action == "check":
                        form["passed"] = True
                    r = await call(action, "POST", f"/api/v1/cases/{number}/actions/{action}",
                                   headers=h[ACTOR[action]], json=form)
                    if r is None:
                        break
                    version = r.json()["version"]

        t0 = time.perf_counter()
        if cfg["scenario"] == "floor":
            await asyncio.gather(*(floor_worker() for _ in range(cfg["connections"])))
        else:
            await asyncio.gather(*(cycle_worker(w) for w in range(cfg["connections"])))
        elapsed = time.perf_counter() - t0
    return {"requests": len(lat), "seconds": elapsed, "rps": len(lat) / elapsed, "p50": _pct(lat, 0.5),
            "p99": _pct(lat, 0.99), "errors": errors,
            "per_action": {k: {"n": len(v), "p50": _pct(v, 0.5), "p99": _pct(v, 0.99)}
                           for k, v in per_action.items()}}


async def _open_loop(cfg: dict[str, Any]) -> dict[str, Any]:
    """Requests started at a fixed rate whatever the answers; latency counted from the planned start."""
    base, rate, seconds = cfg["base"], cfg["rate"], cfg["seconds"]
    paths: list[str] = cfg["paths"]
    headers = {"Authorization": f"Bearer {cfg['token']}"}
    by_path: dict[str, list[float]] = {p: [] for p in paths}
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=cfg["connections"], max_keepalive_connections=cfg["connections"])
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60, headers=headers) as client:
        start = time.perf_counter()
        n = int(rate * seconds)

        async def one(i: int) -> None:
            planned = start + i / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            path = paths[i % len(paths)]
            try:
                r = await client.get(path)
            except httpx.HTTPError as exc:
                key = f"{path} {type(exc).__name__}"
                errors[key] = errors.get(key, 0) + 1
                return
            by_path[path].append((time.perf_counter() - planned) * 1000)
            if r.status_code >= 400:
                errors[f"{path} {r.status_code}"] = errors.get(f"{path} {r.status_code}", 0) + 1

        tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
        # Bounded: whatever has not answered 30 s after the last planned start is counted and dropped.
        _done, late = await asyncio.wait(tasks, timeout=seconds + 30)
        for task in late:
            task.cancel()
        if late:
            errors["unanswered at the end"] = len(late)
        elapsed = time.perf_counter() - start
    everything = [v for vs in by_path.values() for v in vs]
    return {"requests": len(everything), "seconds": elapsed, "rps": len(everything) / elapsed,
            "p50": _pct(everything, 0.5), "p99": _pct(everything, 0.99), "errors": errors,
            "per_path": {p: {"n": len(v), "p50": _pct(v, 0.5), "p99": _pct(v, 0.99)}
                         for p, v in by_path.items()}}


if __name__ == "__main__":
    config = json.loads(sys.stdin.read())
    runner = _open_loop if config["scenario"] == "open" else _closed_loop
    print(json.dumps(asyncio.run(runner(config))))
