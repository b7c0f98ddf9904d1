"""`zhili worker`: the outbox dispatcher and scheduled jobs, in a loop (also run in-process by the demo)."""

from __future__ import annotations

import logging
import threading
import time

from zhili import wiring
from zhili.core.db import Database
from zhili.core.events import dispatch_pending

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, db: Database, *, poll_s: float = 1.0) -> None:
        self.db = db
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._last_run: dict[str, float] = {}

    def run_once(self) -> int:
        delivered = dispatch_pending(self.db, wiring.EVENT_HANDLERS)
        now = time.monotonic()
        for name, interval, job in wiring.SCHEDULED_JOBS:
            if now - self._last_run.get(name, 0.0) >= interval:
                try:
                    with self.db.session_scope() as s:
                        job(s)
                except Exception:  # one job's failure must not stop the loop
                    log.exception("scheduled job %s failed", name)
                self._last_run[name] = now
        return delivered

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("worker iteration failed")
            self._stop.wait(self.poll_s)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="zhili-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
