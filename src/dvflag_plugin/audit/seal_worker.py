"""A daemon thread that seals an idle process's last queued events once they reach the interval.

A full batch is sealed by the call that fills it (measured: a sealing thread beside a flood of
cautions costs 30–50 % of their throughput in GIL hand-overs on two cores). What no call would seal
— the last events of a process that then goes quiet — the thread seals within the interval. It
rests (exits) when nothing is pending and starts again with the next queued event; after ``fork``
the child starts its own (threads do not survive a fork).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


class SealWorker:
    """Runs ``seal_round`` on a daemon thread every ``interval_s`` while work is pending; rests when idle.

    ``seal_round`` seals what this process queued (a cheap no-op when nothing is) and returns True
    while events of this process are still queued (the sealer was busy, or the database failed).
    """

    def __init__(self, seal_round: Callable[[], bool], interval_s: float) -> None:
        self._seal_round = seal_round
        self._interval = max(interval_s, 0.05)
        self._init_primitives()

    def _init_primitives(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._requests = 0  # start() calls: a thread that saw fewer must not rest
        self._thread: threading.Thread | None = None

    def _forked(self) -> None:
        if self._pid != os.getpid():  # the parent's thread and lock state are not ours
            self._init_primitives()

    def start(self) -> None:
        """Make sure the thread runs (it seals within the interval without being woken)."""
        self._forked()
        with self._lock:
            self._requests += 1
            if self._stopping or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(target=self._run, name="dvflag-audit-sealer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after its current round; the caller seals what is left."""
        self._forked()
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether this process's thread is alive."""
        thread = self._thread
        return self._pid == os.getpid() and thread is not None and thread.is_alive()

    def _run(self) -> None:
        while True:
            woken = self._wake.wait(self._interval)
            self._wake.clear()
            with self._lock:
                if self._stopping:
                    return
                seen = self._requests
            if self._seal_round() or woken:
                continue
            with self._lock:  # nothing pending for an interval: rest, unless work arrived meanwhile
                if self._requests == seen and not self._wake.is_set():
                    self._thread = None
                    return
