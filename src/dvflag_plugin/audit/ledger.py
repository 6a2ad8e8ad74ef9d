"""What this process queued: a DBA's deletion of a queued event is recorded at its next seal round.

A queued event is committed but not yet chained: until the sealer numbers it, deleting its row leaves
no gap in the chain. Each runtime therefore remembers the events it queued and that committed (event
id and leaf hash, both fixed at insert) and, in every seal transaction it runs, looks them up by
``event_id`` (its unique index), in bounded chunks:

- sealed with the same leaf (by this sealer or another process's) → forgotten;
- still queued with the same leaf → kept (looked up again at a later round);
- absent, or present with another leaf (replaced) → missing: the sealer inserts one alert event —
  action ``audit``, ``op`` :data:`MISSING_OP`, outcome ``error``, the count and the event ids only —
  and seals it in the same transaction, so the alert is chained and signed at once and never waits
  in the queue itself. Verify reports every such event for ever after.

Recording an event costs one dict insert under a lock (no SQL); the ledger holds at most ``limit``
entries — beyond that the oldest are dropped, with one WARNING. What it cannot close: a process
killed (SIGKILL), or gone without ``Runtime.close()``, after a DBA deleted its queued events and
before its next seal round takes its ledger with it.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..storage.schema import audit_event
from . import chain

_log = logging.getLogger("dvflag")

LEDGER_LIMIT = 200_000
"""Entries one runtime keeps at most (about 60 MB when full): the oldest are dropped beyond this, with a WARNING."""

CHECK_CHUNK = 500
"""Event ids looked up per query (Oracle's IN list holds at most 1,000)."""

ROUND_CHECKS = 1_000
"""Entries looked up per seal transaction after a call or on the sealing thread (an explicit seal: all)."""

MISSING_OP = "queue_deleted"
"""``details.op`` of the alert event (action ``audit``)."""

MISSING_REASON = "audit.queue_deleted"
MISSING_LISTED = 100
"""Event ids the alert names at most (its ``count`` is the full number)."""

ALERT_ACTOR = ("(dvflag-sealer)", "(plugin)")
"""(actor id, department) of the alert: the plugin itself, never a usable user id ('(' is refused)."""

_lookup = sa.select(audit_event.c.event_id, audit_event.c.leaf_hash, audit_event.c.sealed).where(
    audit_event.c.event_id.in_(sa.bindparam("ids", expanding=True))
)


@dataclass(frozen=True, slots=True)
class Review:
    """What one seal transaction found about the ledger; applied only once that transaction commits."""

    sealed: tuple[str, ...]
    queued: tuple[str, ...]
    missing: tuple[str, ...]


class Ledger:
    """The events one runtime queued and committed, until a seal round sees them sealed (or missing)."""

    def __init__(
        self, *, authenticate: Callable[[str], str] | None = None, limit: int = LEDGER_LIMIT
    ) -> None:
        self.authenticate = authenticate
        self.limit = max(limit, 1)
        self._init()
        _LEDGERS.add(self)

    def _init(self) -> None:
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self._overflowed = False

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, queued: chain.Queued) -> None:
        """Remember one committed queued event (the hot path: a dict insert, no SQL)."""
        with self._lock:
            entries = self._entries
            entries[queued.event_id] = queued.leaf_hash
            if len(entries) > self.limit:
                entries.popitem(last=False)
                if not self._overflowed:
                    self._overflowed = True
                    _log.warning(
                        "dvflag: more than %d queued audit events wait to be sealed in this process; "
                        "whether the oldest were deleted before sealing can no longer be checked", self.limit,
                    )

    def review(self, conn: sa.Connection, sealed_now: Mapping[str, str], *, checks: int | None) -> Review | None:
        """Look up the ledger in the caller's seal transaction; None when it is empty.

        ``sealed_now`` (event id → leaf) are the rows this transaction just sealed: no query for them.
        At most ``checks`` other entries (None: all), oldest first, are looked up by event id.
        """
        with self._lock:
            if not self._entries:
                return None
            direct = [(e, leaf) for e, leaf in ((e, self._entries.get(e)) for e in sealed_now) if leaf is not None]
            others = (item for item in self._entries.items() if item[0] not in sealed_now)
            wanted = list(itertools.islice(others, checks)) if checks is not None else list(others)
        sealed = [e for e, leaf in direct if sealed_now[e] == leaf]
        missing = [e for e, leaf in direct if sealed_now[e] != leaf]
        queued: list[str] = []
        for i in range(0, len(wanted), CHECK_CHUNK):
            chunk = dict(wanted[i : i + CHECK_CHUNK])
            found = {row.event_id: row for row in conn.execute(_lookup, {"ids": list(chunk)})}
            for event_id, leaf in chunk.items():
                row = found.get(event_id)
                if row is None or row.leaf_hash != leaf:
                    missing.append(event_id)
                elif row.sealed == 1:
                    sealed.append(event_id)
                else:
                    queued.append(event_id)
        return Review(tuple(sealed), tuple(queued), tuple(missing))

    def settle(self, review: Review) -> None:
        """After the seal transaction committed: forget what is sealed or recorded as missing."""
        with self._lock:
            entries = self._entries
            for event_id in itertools.chain(review.sealed, review.missing):
                entries.pop(event_id, None)
            for event_id in review.queued:  # looked at: let the next round look at others first
                if event_id in entries:
                    entries.move_to_end(event_id)
            if not entries:
                self._overflowed = False

    def alert_row(self, review: Review, *, now: datetime) -> dict[str, Any]:
        """The unsealed row of the alert for ``review.missing`` (ids only, at most ``MISSING_LISTED``)."""
        ids = sorted(review.missing)
        details: dict[str, Any] = {"op": MISSING_OP, "count": len(ids), "event_ids": ids[:MISSING_LISTED]}
        draft = chain.Draft(*ALERT_ACTOR, "audit", None, "error", MISSING_REASON, details)
        row, _ = chain.event_row(draft, now=now, authenticate=self.authenticate)
        return row


_LEDGERS: weakref.WeakSet[Ledger] = weakref.WeakSet()


def _after_fork() -> None:
    """A forked child starts with empty ledgers: the parent's events are the parent's to check."""
    for ledger in list(_LEDGERS):
        ledger._init()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
