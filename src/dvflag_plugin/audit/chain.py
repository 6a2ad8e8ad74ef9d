"""The tamper-evident audit chain (DESIGN §6): hash_n = SHA-256(hash_{n−1} ‖ canonical JSON of n).

Every writer first locks the single head row; that serialises appends (no gaps, no repeats) across
processes and lets the change counter tell other processes that cached notices are stale.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from dvflag_hookspecs import AuditEvent, VerifyResult

from ..storage.schema import GENESIS_HASH, audit_event, chain_head

Outcome = Literal["ok", "denied", "error"]


@dataclass(frozen=True, slots=True)
class Head:
    """The chain head as locked at the start of a transaction."""

    last_seq: int
    last_hash: str
    change_no: int
    output_no: int


@dataclass(frozen=True, slots=True)
class Draft:
    """What an operation says about itself; seq, time and hashes are added on append."""

    actor_id: str
    actor_dept: str
    action: str
    target: str | None
    outcome: Outcome
    reason_code: str | None
    details: Mapping[str, Any]


_lock_head = sa.select(
    chain_head.c.last_seq, chain_head.c.last_hash, chain_head.c.change_no, chain_head.c.output_no
).where(chain_head.c.id == 1)
_lock_head_for_update = _lock_head.with_for_update()
_insert_event = audit_event.insert()
_events_in_order = sa.select(audit_event).order_by(audit_event.c.seq)


def canonical_json(value: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8 text: one byte string per event, on every backend."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_body(
    seq: int, event_id: str, occurred_at: datetime, draft: Draft | AuditEvent
) -> dict[str, Any]:
    """The hashed part of an event: everything but prev_hash and hash."""
    return {
        "seq": seq,
        "event_id": event_id,
        "occurred_at": occurred_at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z",
        "actor_id": draft.actor_id,
        "actor_dept": draft.actor_dept,
        "action": draft.action,
        "target": draft.target,
        "outcome": draft.outcome,
        "reason_code": draft.reason_code,
        "details": dict(draft.details),
    }


def link_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash (hex) followed by the canonical JSON of the event."""
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


def lock_head(conn: sa.Connection) -> Head:
    """Lock and read the head row; call first in every transaction that appends."""
    stmt = _lock_head if conn.dialect.name == "sqlite" else _lock_head_for_update
    row = conn.execute(stmt).one()
    return Head(int(row.last_seq), str(row.last_hash), int(row.change_no), int(row.output_no))


def read_head(conn: sa.Connection) -> Head:
    """Read the head row without locking it."""
    row = conn.execute(_lock_head).one()
    return Head(int(row.last_seq), str(row.last_hash), int(row.change_no), int(row.output_no))


def next_output_no(conn: sa.Connection, head: Head) -> int:
    """Take the next 出力番号 (export output number) under the head lock."""
    number = head.output_no + 1
    conn.execute(sa.update(chain_head).where(chain_head.c.id == 1).values(output_no=number))
    return number


def append(
    conn: sa.Connection, head: Head, draft: Draft, *, now: datetime, changed: bool
) -> AuditEvent:
    """Append one event after ``head`` (locked by this transaction) and move the head."""
    occurred_at = now.astimezone(UTC).replace(tzinfo=None)
    seq = head.last_seq + 1
    event_id = str(uuid.uuid4())
    body = event_body(seq, event_id, occurred_at, draft)
    digest = link_hash(head.last_hash, body)
    conn.execute(
        _insert_event,
        {
            "seq": seq,
            "event_id": event_id,
            "occurred_at": occurred_at,
            "actor_id": draft.actor_id,
            "actor_dept": draft.actor_dept,
            "action": draft.action,
            "target": draft.target,
            "outcome": draft.outcome,
            "reason_code": draft.reason_code,
            "details": canonical_json(body["details"]),
            "prev_hash": head.last_hash,
            "event_hash": digest,
        },
    )
    values: dict[str, Any] = {"last_seq": seq, "last_hash": digest}
    if changed:
        values["change_no"] = head.change_no + 1
    conn.execute(sa.update(chain_head).where(chain_head.c.id == 1).values(**values))
    return AuditEvent(
        seq=seq,
        event_id=event_id,
        occurred_at=occurred_at.replace(tzinfo=UTC),
        actor_id=draft.actor_id,
        actor_dept=draft.actor_dept,
        action=draft.action,
        target=draft.target,
        outcome=draft.outcome,
        reason_code=draft.reason_code,
        details=body["details"],
        prev_hash=head.last_hash,
        hash=digest,
    )


def row_to_event(row: sa.Row[Any]) -> AuditEvent:
    """An audit row as the contract's value."""
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


def iter_events(conn: sa.Connection, *, from_seq: int = 1) -> Iterator[AuditEvent]:
    """Stream events in sequence order."""
    stmt = _events_in_order.where(audit_event.c.seq >= from_seq).execution_options(yield_per=2000)
    with conn.execute(stmt) as result:  # a server-side cursor on PostgreSQL: always closed
        for row in result:
            yield row_to_event(row)


def verify(
    conn: sa.Connection, *, checkpoint: tuple[int, str] | None = None, since: tuple[int, str] | None = None,
    on_event: Callable[[int], object] | None = None,
) -> VerifyResult:
    """Walk the chain; name the first broken link, and detect truncation against a checkpoint.

    ``since`` (a trusted checkpoint's seq and hash) checks that event against it and walks only the
    events after it; ``on_event(seq)`` is called per event checked (progress on long chains).
    """
    head = read_head(conn)
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    checkpoint_seen = checkpoint is None or checkpoint[0] == 0

    def broken(seq: int, message: str) -> VerifyResult:
        return VerifyResult(False, checked, head.last_seq, head.last_hash, seq, message)

    if since is not None and since[0] > 0:
        anchor = conn.execute(sa.select(audit_event.c.event_hash).where(audit_event.c.seq == since[0])).first()
        if anchor is None:
            return broken(since[0], f"チェックポイントの連番 {since[0]} のイベントがありません（切り詰めの疑い）")
        if anchor.event_hash != since[1]:
            return broken(since[0], f"連番 {since[0]} のハッシュがチェックポイントと一致しません（改ざんの疑い）")
        expected_prev, expected_seq = since[1], since[0] + 1
    elif since is not None and since[1] != GENESIS_HASH:
        return broken(0, "連番 0 のチェックポイントのハッシュが起点と一致しません")

    with closing(iter_events(conn, from_seq=expected_seq)) as events:  # type: ignore[type-var]
        for event in events:
            if on_event is not None:
                on_event(event.seq)
            if event.seq != expected_seq:
                return broken(expected_seq, f"連番 {expected_seq} が欠落しています（次は {event.seq}）")
            if event.prev_hash != expected_prev:
                return broken(event.seq, f"連番 {event.seq} の prev_hash が前のイベントと一致しません")
            body = event_body(event.seq, event.event_id, event.occurred_at, event)
            if link_hash(event.prev_hash, body) != event.hash:
                return broken(event.seq, f"連番 {event.seq} の内容がハッシュと一致しません（改ざんの疑い）")
            if checkpoint is not None and event.seq == checkpoint[0]:
                if event.hash != checkpoint[1]:
                    return broken(event.seq, f"連番 {event.seq} のハッシュがチェックポイントと一致しません")
                checkpoint_seen = True
            expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    last_seq = expected_seq - 1
    if checkpoint is not None and not checkpoint_seen:
        return broken(
            last_seq + 1,
            f"チェックポイント（連番 {checkpoint[0]}）のイベントがありません。"
            f"末尾が切り詰められています（現在の末尾 {last_seq}）",
        )
    if head.last_seq != last_seq or head.last_hash != expected_prev:
        return broken(last_seq + 1, f"先頭情報（連番 {head.last_seq}）とイベント列（末尾 {last_seq}）が一致しません")
    return VerifyResult(True, checked, head.last_seq, head.last_hash, None, f"監査証跡は正常です（{checked} 件）")
