"""The tamper-evident audit chain (DESIGN §6): events are queued, then sealed in batches.

A call inserts its event unsealed, with ``leaf = SHA-256(canonical JSON of the event without seq)``.
The sealer (``audit/sealer.py``) numbers committed events and chains them::

    hash_n = SHA-256(hash_{n-1} ‖ canonical JSON {"leaf": leaf_n, "seq": n})

Events sealed before revision 0004 have no leaf (NULL); their hash is the older
``SHA-256(hash_{n-1} ‖ canonical JSON of the event with its seq)``. No call locks the head row.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from dvflag_hookspecs import AuditEvent, VerifyResult

from ..storage.prepared import Prepared
from ..storage.schema import audit_event, chain_head

Outcome = Literal["ok", "denied", "error"]


@dataclass(frozen=True, slots=True)
class Head:
    """The head of the sealed chain: the last seq and its hash."""

    last_seq: int
    last_hash: str


@dataclass(frozen=True, slots=True)
class Draft:
    """What an operation says about itself; id, time and leaf hash are added when it is queued."""

    actor_id: str
    actor_dept: str
    action: str
    target: str | None
    outcome: Outcome
    reason_code: str | None
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Queued:
    """An event inserted unsealed: what the caller knows before the sealer numbers it."""

    event_id: str
    occurred_at: datetime
    leaf_hash: str


_read_head = sa.select(chain_head.c.last_seq, chain_head.c.last_hash).where(chain_head.c.id == 1)
EVENT_KEYS = (
    "event_id", "occurred_at", "actor_id", "actor_dept", "action", "target", "outcome", "reason_code", "details",
    "leaf_hash", "sealed",
)
# inline(): no RETURNING of the new id (a queued event needs none); compiled once per dialect.
insert_event = Prepared(audit_event.insert().inline(), EVENT_KEYS)
_sealed_in_order = sa.select(audit_event).where(audit_event.c.sealed == 1).order_by(audit_event.c.seq)


def canonical_json(value: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8 text: one byte string per event, on every backend."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _when(occurred_at: datetime) -> str:
    return occurred_at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def leaf_body(event_id: str, occurred_at: datetime, draft: Draft | AuditEvent) -> dict[str, Any]:
    """The part of an event its leaf hash covers: everything but seq and the chain hashes."""
    return {
        "event_id": event_id,
        "occurred_at": _when(occurred_at),
        "actor_id": draft.actor_id,
        "actor_dept": draft.actor_dept,
        "action": draft.action,
        "target": draft.target,
        "outcome": draft.outcome,
        "reason_code": draft.reason_code,
        "details": dict(draft.details),
    }


def event_body(seq: int, event_id: str, occurred_at: datetime, draft: Draft | AuditEvent) -> dict[str, Any]:
    """The body with its seq: what a pre-0004 event's hash covers (and what the JSON line shows)."""
    return {"seq": seq, **leaf_body(event_id, occurred_at, draft)}


def leaf_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a leaf body."""
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def link_hash(prev_hash: str, seq: int, leaf: str) -> str:
    """The chained hash of a sealed event: SHA-256(prev ‖ canonical JSON {"leaf", "seq"})."""
    return hashlib.sha256((prev_hash + canonical_json({"leaf": leaf, "seq": seq})).encode("utf-8")).hexdigest()


def legacy_link_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """The chained hash of an event sealed before revision 0004 (body includes its seq)."""
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


_COPIED = ("event_id", "actor_id", "actor_dept", "action", "target", "outcome", "reason_code")


def event_row(
    draft: Draft, *, now: datetime, authenticate: Callable[[dict[str, Any]], None] | None = None
) -> tuple[dict[str, Any], Queued]:
    """The unsealed row of one event (its id, time and leaf hash fixed here) and what the caller learns.

    ``authenticate`` may add the writer's tag to the body's details before the leaf is hashed.
    """
    occurred_at = now.astimezone(UTC).replace(tzinfo=None)
    event_id = str(uuid.uuid4())
    body = leaf_body(event_id, occurred_at, draft)
    if authenticate is not None:
        authenticate(body)
    leaf = leaf_hash(body)
    row = {key: body[key] for key in _COPIED}
    row.update(occurred_at=occurred_at, details=canonical_json(body["details"]), leaf_hash=leaf, sealed=0)
    return row, Queued(event_id, occurred_at.replace(tzinfo=UTC), leaf)


def enqueue(
    conn: sa.Connection, draft: Draft, *, now: datetime, authenticate: Callable[[dict[str, Any]], None] | None = None
) -> Queued:
    """Insert one unsealed event in the caller's transaction; takes no lock but the new row's."""
    row, queued = event_row(draft, now=now, authenticate=authenticate)
    insert_event.execute(conn, row)
    return queued


def read_head(conn: sa.Connection) -> Head:
    """Read the head row (no lock)."""
    row = conn.execute(_read_head).one()
    return Head(int(row.last_seq), str(row.last_hash))


def row_to_event(row: sa.Row[Any]) -> AuditEvent:
    """A sealed audit row as the contract's value."""
    return AuditEvent(
        seq=int(row.seq),
        event_id=row.event_id,
        occurred_at=row.occurred_at.replace(tzinfo=UTC),
        actor_id=row.actor_id,
        actor_dept=row.actor_dept,
        action=row.action,
        target=row.target,
        outcome=row.outcome,
        reason_code=row.reason_code,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.event_hash,
    )


def iter_rows(conn: sa.Connection, *, from_seq: int = 1, to_seq: int | None = None) -> Iterator[sa.Row[Any]]:
    """Stream sealed rows in sequence order (optionally up to ``to_seq``)."""
    stmt = _sealed_in_order.where(audit_event.c.seq >= from_seq)
    if to_seq is not None:
        stmt = stmt.where(audit_event.c.seq <= to_seq)
    with conn.execute(stmt.execution_options(yield_per=2000)) as result:  # server-side cursor: closed
        yield from result


def iter_events(conn: sa.Connection, *, from_seq: int = 1, to_seq: int | None = None) -> Iterator[AuditEvent]:
    """Stream sealed events in sequence order."""
    for row in iter_rows(conn, from_seq=from_seq, to_seq=to_seq):
        yield row_to_event(row)


def expected_hash(prev_hash: str, row: Any) -> tuple[str | None, str]:
    """(recomputed leaf or None for a pre-0004 event, recomputed chained hash) of a sealed row."""
    event = row_to_event(row)
    if row.leaf_hash is None:
        return None, legacy_link_hash(prev_hash, event_body(event.seq, event.event_id, event.occurred_at, event))
    leaf = leaf_hash(leaf_body(event.event_id, event.occurred_at, event))
    return leaf, link_hash(prev_hash, event.seq, leaf)


def unsealed_overdue(conn: sa.Connection, *, now: datetime, max_age_s: float) -> tuple[int, datetime | None]:
    """How many unsealed events are older than ``max_age_s``, and the oldest one's time (naive UTC)."""
    cutoff = now.astimezone(UTC).replace(tzinfo=None) - timedelta(seconds=max_age_s)
    row = conn.execute(
        sa.select(sa.func.count(), sa.func.min(audit_event.c.occurred_at)).where(
            audit_event.c.sealed == 0, audit_event.c.occurred_at < cutoff
        )
    ).one()
    return int(row[0]), row[1]


def verify(conn: sa.Connection, *, checkpoint: tuple[int, str] | None = None) -> VerifyResult:
    """The trail alone, through ``audit.verify.verify`` (no keys, no registry replay; an optional
    ``(seq, hash)`` checkpoint). ``dvflag audit verify`` and ``dvflag.audit`` run the full verify."""
    from .checkpoint import Checkpoint
    from .verify import verify as full_verify

    point = Checkpoint(None, checkpoint[0], checkpoint[1], legacy=True) if checkpoint is not None else None
    return full_verify(conn, checkpoint=point, replay=False)
