"""One writer at a time on one SQLite file, across threads and processes (see WriterLock)."""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref

# How often a process waiting for another process's writer looks again: the wait's longest step.
WRITER_POLL_SECONDS = 0.002


class WriterLock:
    """One writer at a time on one SQLite file, across the threads of a process and across processes
    (several `zhili serve --workers`, a worker, a CLI import): threads queue on a thread lock, and
    the one thread per process that holds it takes an advisory file lock (flock) beside the database.

    The file lock is polled in short steps (at most WRITER_POLL_SECONDS) rather than waited on in
    SQLite's busy handler, whose steps grow to 100 ms: a writer in another process is followed within
    a few milliseconds of its commit. The kernel drops a dead process's file lock, so a crash never
    leaves the database locked. `path` None (an in-memory database): one process, the thread lock only.
    """

    def __init__(self, path: str | None) -> None:
        self._threads = threading.Lock()
        self._path = path
        self._fd: int | None = None
        self._pid = 0  # the process that opened _fd: a forked child opens its own

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        if self._path is None:
            return True
        try:
            if self._fd is None or self._pid != os.getpid():  # opened once, under the thread lock
                self._fd, self._pid = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
                weakref.finalize(self, os.close, self._fd)
            step = WRITER_POLL_SECONDS / 8
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        self._threads.release()
                        return False
                    time.sleep(step)
                    step = min(step * 2, WRITER_POLL_SECONDS)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()
