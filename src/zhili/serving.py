"""How the web application is served: one process, or N worker processes on one port.

Each worker binds a listening socket of its own with SO_REUSEPORT, so the kernel spreads incoming
connections evenly over the workers. With one socket shared by all (uvicorn's `--workers`) the
process that accepts first takes the connection: a client that opens its keep-alive pool at once
(a reverse proxy's upstream pool, the 12345 hotline's connector, a load test) measured all 50 of its
connections on one of two workers in two runs of three, at half the throughput, the other idle.

Run as `python -m zhili.serving MODULE:FACTORY --port P --workers N` (the benchmarks serve their
own factories this way); `zhili serve` and `zhili demo` call `serve` directly.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import socket
import sys
import threading
from typing import Any

from zhili.core.web import KEEP_ALIVE_SECONDS

BACKLOG = 2048  # uvicorn's default listen backlog
STOP_SECONDS = 30  # how long workers may finish their requests in flight after SIGTERM


def serve(app: Any, *, host: str, port: int, workers: int = 1, log_level: str = "info",
          access_log: bool = True) -> int:
    """Serve `app` (an ASGI app, or "module:factory" — required with several workers, each of which
    builds its own app) until stopped; returns the exit status. OSError when the port is taken."""
    if workers == 1:
        _run_worker(app, host, port, log_level, access_log, reuse_port=False)
        return 0
    if not isinstance(app, str):
        raise ValueError("several workers each build their own app: pass it as 'module:factory'")
    # Fail here, once, if anything listens on the port: a socket without SO_REUSEPORT cannot bind
    # beside any listener, while the workers' sockets could join another server's (same user) that
    # set it, say an instance still running from before an upgrade, and share its traffic unnoticed.
    listening_socket(host, port, reuse_port=False).close()
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no engine or thread is inherited
    procs = [spawn.Process(target=_run_worker, args=(app, host, port, log_level, access_log),
                           kwargs={"reuse_port": True}, name=f"zhili-worker-{i + 1}") for i in range(workers)]
    for proc in procs:
        proc.start()
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        # A worker that dies takes the others down with it: one supervisor (systemd, the container
        # runtime) restarts the service whole instead of this process hiding a crash loop.
        while not stop.wait(0.5) and all(p.is_alive() for p in procs):
            pass
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn stops accepting and finishes requests in flight
        for proc in procs:
            proc.join(timeout=STOP_SECONDS)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stop.is_set() else 1


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto named, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets whose
    # proto says TCP, and an answer written in two parts otherwise waits for the client's delayed
    # ACK (measured: 48 ms a request instead of 6, one request at a time).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def _run_worker(app: Any, host: str, port: int, log_level: str, access_log: bool, *,
                reuse_port: bool) -> None:
    import uvicorn

    config = uvicorn.Config(app, factory=isinstance(app, str), log_level=log_level, access_log=access_log,
                            proxy_headers=True, timeout_keep_alive=KEEP_ALIVE_SECONDS,
                            timeout_graceful_shutdown=STOP_SECONDS)
    uvicorn.Server(config).run(sockets=[listening_socket(host, port, reuse_port=reuse_port)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zhili.serving", description=__doc__.splitlines()[0])
    parser.add_argument("app", help="module:factory, e.g. zhili.app:create_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv)
    return serve(args.app, host=args.host, port=args.port, workers=args.workers, log_level=args.log_level,
                 access_log=not args.no_access_log)


if __name__ == "__main__":
    sys.exit(main())
