"""The sealer: numbers committed unsealed events without gaps, chains them, moves the head.

One short transaction per batch (Tessera's integrator): take the head row with a try-lock —
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, MariaDB ≥ 10.6 and Oracle, ``BEGIN IMMEDIATE`` with a
short busy timeout on SQLite — so that a busy sealer is skipped, never waited for. Pending events are
found through the ``sealed`` marker (indexed on every backend) and numbered in the order this
sealer sees them committed; an event that commits later with a lower id is sealed by a later
batch, exactly once (seq order is seal order, not id order).

A runtime's seal transaction also looks up the events that runtime queued (``audit/ledger.py``); one
deleted or replaced while queued is named by an alert event sealed in that same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from dvflag_hookspecs import AuditEvent

from ..storage.schema import audit_event, audit_seal, chain_head
from . import chain
from .ledger import ROUND_CHECKS, Ledger, Review

DEFAULT_BATCH = 500
SQLITE_TRY_LOCK_MS = 50
"""How long a SQLite sealer waits for the write lock before it gives up (another writer is busy)."""


@dataclass(frozen=True, slots=True)
class Batch:
    """A sealed batch as it is committed: its seq range and the head hash before and after it."""

    first_seq: int
    last_seq: int
    prev_hash: str
    head_hash: str


Signer = Callable[[Batch], tuple[str, str] | None]
"""Signs a batch: (signature, key_id), or None when no signing key is configured."""


@dataclass(frozen=True, slots=True)
class SealResult:
    """What one ``seal`` call did.

    ``busy``: another sealer held the head, and seals what is pending. ``needs_key``: the trail's last
    seal is signed and this call had no signing key, so it sealed nothing (an unsigned seal after a
    signed one would read as stripped signatures); the events wait for a process that has the key.
    ``missing``: events of the runtime's ledger found deleted or replaced while queued, recorded by the
    alert events at ``alert_seqs``.
    """

    sealed: int
    batches: int
    busy: bool
    head_seq: int
    head_hash: str
    events: tuple[AuditEvent, ...]
    needs_key: bool = False
    missing: int = 0
    alert_seqs: tuple[int, ...] = ()


_pending = (
    sa.select(audit_event)
    .where(audit_event.c.sealed == 0)
    .order_by(audit_event.c.id)
    .limit(sa.bindparam("batch", type_=sa.Integer, literal_execute=True))
)
_head = sa.select(chain_head.c.last_seq, chain_head.c.last_hash).where(chain_head.c.id == 1)
_head_try_lock = _head.with_for_update(skip_locked=True)
_seal_row = (
    sa.update(audit_event)
    .where(audit_event.c.id == sa.bindparam("row_id"), audit_event.c.sealed == 0)
    .values(
        sealed=1, seq=sa.bindparam("new_seq"), prev_hash=sa.bindparam("new_prev"),
        event_hash=sa.bindparam("new_hash"),
    )
)
_move_head = sa.update(chain_head).where(chain_head.c.id == 1)
_insert_seal = audit_seal.insert()


class _Busy(Exception):
    """Another sealer holds the head: skip this round."""


class _NeedsKey(Exception):
    """The trail's last seal is signed and this process has no signing key: leave it to one that has."""


_last_seal_signature = sa.select(audit_seal.c.signature).order_by(audit_seal.c.first_seq.desc()).limit(1)


def _try_lock_head(conn: sa.Connection) -> chain.Head:
    if conn.dialect.name == "sqlite":
        row = conn.execute(_head).one()  # the write lock taken by BEGIN IMMEDIATE is the head lock
    else:
        found = conn.execute(_head_try_lock).first()
        if found is None:
            raise _Busy
        row = found
    return chain.Head(int(row.last_seq), str(row.last_hash))


def _begin(conn: sa.Connection) -> None:
    """Start the batch transaction; on SQLite take the write lock or give up within a few ms."""
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_TRY_LOCK_MS}")
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except sa.exc.OperationalError as err:
        if "locked" in str(err.orig) or "busy" in str(err.orig):
            raise _Busy from None
        raise


def _seal_rows(
    conn: sa.Connection, head: chain.Head, rows: list[sa.Row[Any]], *, now: datetime, signer: Signer | None
) -> tuple[Batch, list[AuditEvent]]:
    """Number, chain and seal ``rows`` after ``head``, move the head and record the (signed) seal."""
    prev, seq = head.last_hash, head.last_seq
    params: list[dict[str, Any]] = []
    events: list[AuditEvent] = []
    for row in rows:
        seq += 1
        digest = chain.link_hash(prev, seq, row.leaf_hash)
        params.append({"row_id": row.id, "new_seq": seq, "new_prev": prev, "new_hash": digest})
        events.append(
            AuditEvent(
                seq=seq, event_id=row.event_id, occurred_at=row.occurred_at.replace(tzinfo=UTC),
                actor_id=row.actor_id, actor_dept=row.actor_dept, action=row.action, target=row.target,
                outcome=row.outcome, reason_code=row.reason_code, details=json.loads(row.details),
                prev_hash=prev, hash=digest,
            )
        )
        prev = digest
    result = conn.execute(_seal_row, params)
    if result.rowcount not in (len(params), -1):  # pragma: no cover - the head lock excludes this
        raise RuntimeError("an event was sealed twice")
    done = Batch(head.last_seq + 1, seq, head.last_hash, prev)
    conn.execute(_move_head.values(last_seq=seq, last_hash=prev))
    signed = signer(done) if signer is not None else None
    conn.execute(
        _insert_seal,
        {
            "first_seq": done.first_seq, "last_seq": done.last_seq, "prev_hash": done.prev_hash,
            "head_hash": done.head_hash, "sealed_at": now.astimezone(UTC).replace(tzinfo=None),
            "signature": signed[0] if signed else None, "key_id": signed[1] if signed else None,
        },
    )
    return done, events


@dataclass(frozen=True, slots=True)
class Round:
    """One seal transaction: its batches (the queue's, then an alert's), their events, the ledger review."""

    batches: tuple[Batch, ...]
    events: list[AuditEvent]
    queue_rows: int
    review: Review | None = None


def seal_batch(
    conn: sa.Connection, *, batch: int, now: datetime, signer: Signer | None = None,
    ledger: Ledger | None = None, checks: int | None = ROUND_CHECKS,
) -> Round | None:
    """Seal up to ``batch`` pending events in the caller's transaction; None when there was nothing to do.

    With a ``ledger`` (the runtime's queued events, ``audit/ledger.py``), up to ``checks`` of its entries
    are looked up too; missing ones are recorded by an alert event sealed in this same transaction.
    """
    head = _try_lock_head(conn)
    if signer is None and conn.execute(_last_seal_signature).scalar() is not None:
        raise _NeedsKey  # an unsigned seal after a signed one would read as a downgrade attack
    rows = list(conn.execute(_pending, {"batch": batch}).all())
    if len(rows) >= batch:  # more batches follow: look up a round's worth now, the rest with the last one
        checks = ROUND_CHECKS if checks is None else min(checks, ROUND_CHECKS)
    review = None if ledger is None else ledger.review(conn, {r.event_id: r.leaf_hash for r in rows}, checks=checks)
    if not rows and review is None:
        return None
    batches: list[Batch] = []
    events: list[AuditEvent] = []
    if rows:
        done, sealed = _seal_rows(conn, head, rows, now=now, signer=signer)
        batches.append(done)
        events.extend(sealed)
        head = chain.Head(done.last_seq, done.head_hash)
    if ledger is not None and review is not None and review.missing:
        alert = ledger.alert_row(review, now=now)
        chain.insert_event.execute(conn, alert)
        row = conn.execute(sa.select(audit_event).where(audit_event.c.event_id == alert["event_id"])).one()
        done, sealed = _seal_rows(conn, head, [row], now=now, signer=signer)
        batches.append(done)
        events.extend(sealed)
    return Round(tuple(batches), events, len(rows), review)


def seal(
    engine: sa.Engine,
    *,
    batch: int = DEFAULT_BATCH,
    max_batches: int | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    signer: Signer | None = None,
    read_head: bool = True,
    ledger: Ledger | None = None,
    checks: int | None = ROUND_CHECKS,
) -> SealResult:
    """Seal pending events batch by batch until none is left (or ``max_batches``); skip when busy.

    ``read_head=False`` saves a query when nothing was sealed (head fields then read -1 and "").
    ``ledger``/``checks``: the runtime's queued events, looked up in each transaction (``seal_batch``);
    a review is applied to the ledger only once its transaction committed.
    """
    sealed: list[AuditEvent] = []
    batches, busy, needs_key, missing = 0, False, False, 0
    alerts: list[int] = []
    last: Batch | None = None
    while max_batches is None or batches < max_batches:
        try:
            with engine.connect() as raw:
                conn = raw.execution_options(isolation_level="READ COMMITTED") if _mysql(raw) else raw
                try:
                    _begin(conn)
                    done = seal_batch(conn, batch=batch, now=now(), signer=signer, ledger=ledger, checks=checks)
                    conn.commit()
                finally:
                    if conn.dialect.name == "sqlite":
                        conn.rollback()
                        conn.exec_driver_sql(f"PRAGMA busy_timeout = {_sqlite_default_timeout(conn)}")
        except _Busy:
            busy = True
            break
        except _NeedsKey:
            needs_key = True
            break
        if done is None:
            break
        if ledger is not None and done.review is not None:
            ledger.settle(done.review)
            if done.review.missing:
                missing += len(done.review.missing)
                alerts.append(done.batches[-1].last_seq)
        batches += len(done.batches)
        last = done.batches[-1] if done.batches else last
        sealed.extend(done.events)
        if done.queue_rows < batch:
            break
    if last is not None:
        head = chain.Head(last.last_seq, last.head_hash)
    elif read_head:
        with engine.connect() as conn:
            head = chain.read_head(conn)
    else:
        head = chain.Head(-1, "")
    return SealResult(
        len(sealed), batches, busy, head.last_seq, head.last_hash, tuple(sealed), needs_key, missing, tuple(alerts)
    )


def _mysql(conn: sa.Connection) -> bool:
    # READ COMMITTED: the pending query sees what other sealers committed, and takes no gap locks
    # that would make inserting writers wait.
    return conn.dialect.name in ("mysql", "mariadb")


def _sqlite_default_timeout(conn: sa.Connection) -> int:
    from ..storage.transactions import EMBEDDED_BUSY_TIMEOUT_MS

    info = conn.engine.dialect.create_connect_args(conn.engine.url)[1]
    timeout = info.get("timeout")
    return int(float(timeout) * 1000) if timeout is not None else EMBEDDED_BUSY_TIMEOUT_MS
