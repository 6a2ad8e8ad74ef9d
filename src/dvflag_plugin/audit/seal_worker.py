"""A daemon thread that seals for screen cautions and for an idle process's last queued events.

A screen caution never seals: when it fills its process's batch it wakes this thread and returns.
Other calls seal a full batch themselves. What no call would seal — the last events of a process
that then goes quiet — the thread seals within the interval. It rests (exits) when nothing is
pending and starts again with the next queued event; after ``fork`` the child starts its own
(threads do not survive a fork).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


class SealWorker:
    """Runs ``seal_round(woken)`` on a daemon thread when woken and every ``interval_s``; rests when idle.

    ``seal_round`` seals what this process queued once it is due (at once when woken; a cheap no-op
    when nothing is queued) and returns True while events of this process are still queued (the
    sealer was busy, or the database failed).
    """

    def __init__(self, seal_round: Callable[[bool], bool], interval_s: float) -> None:
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

    def wake(self) -> None:
        """Seal now (a screen caution filled a batch); starts the thread when it rests."""
        self.start()
        self._wake.set()

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
            if self._seal_round(woken) or woken:
                continue
            with self._lock:  # nothing pending for an interval: rest, unless work arrived meanwhile
                if self._requests == seen and not self._wake.is_set():
                    self._thread = None
                    return
