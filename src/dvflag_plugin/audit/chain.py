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
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa

from dvflag_hookspecs import AuditEvent, VerifyResult

from ..storage.prepared import Prepared
from ..storage.schema import audit_event, chain_head

AUTH_FIELD = "auth"
"""The details key of an event's writer tag (HMAC of the rest of its leaf body, audit/signing.py)."""

Outcome = Literal["ok", "denied", "error"]


@dataclass(frozen=True, slots=True)
class Head:
    """The head of the sealed chain: the last seq and its hash."""

    last_seq: int
    last_hash: str


class Draft(NamedTuple):
    """What an operation says about itself; id, time and leaf hash are added when it is queued.

    A named tuple, as ``Queued``: every screen caution builds one, and a tuple is built in a third of
    a frozen dataclass's time. The six text fields come first (``_plain`` reads ``draft[:6]``).
    """

    actor_id: str
    actor_dept: str
    action: str
    target: str | None
    outcome: Outcome
    reason_code: str | None
    details: Mapping[str, Any]


class Queued(NamedTuple):
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


_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
"""``json.dumps`` with these arguments, its encoder built once (a caution's events are on the hot path)."""


def canonical_json(value: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8 text: one byte string per event, on every backend."""
    return _canonical(value)


def _when(occurred_at: datetime) -> str:
    naive = occurred_at if occurred_at.tzinfo is None else occurred_at.replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds") + "Z"


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
_quote = json.encoder.encode_basestring  # json.dumps' own, ensure_ascii=False


class _RandomBytes:
    """Bytes from ``os.urandom`` drawn a block at a time: one system call per 400 event ids, not per id.

    Thread-safe; a forked child discards what it inherited (parent and child must not draw alike).
    """

    BLOCK = 4096

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._lock = threading.Lock()
        self._block = b""
        self._at = 0

    def take(self, n: int) -> bytes:
        with self._lock:
            at = self._at
            if at + n > len(self._block):
                self._block, at = os.urandom(self.BLOCK), 0
            self._at = at + n
            return self._block[at : at + n]


_random = _RandomBytes()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_random.reset)


def new_event_id() -> str:
    """A UUIDv7 (RFC 9562): a millisecond time prefix and 74 random bits (from the CSPRNG).

    Time-ordered ids land at the right edge of the event-id index instead of on a random page: one
    hot page per insert rather than a random one, and fewer full-page writes on PostgreSQL.
    """
    rand = _random.take(10).hex()  # 74 of its 80 bits: rand_a (12), then rand_b (2 + 12 + 48)
    ms = f"{time.time_ns() // 1_000_000 & 0xFFFFFFFFFFFF:012x}"
    return f"{ms[:8]}-{ms[8:]}-7{rand[:3]}-{_VARIANT[rand[3]]}{rand[4:7]}-{rand[7:19]}"


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
"""The variant nibble (binary 10xx) carrying two random bits of a hex digit."""


def _json_str(value: str | None) -> str:
    return "null" if value is None else str(_quote(value))


_PREFIXES: dict[tuple[str, str, str], str] = {}
PREFIX_CACHE_LIMIT = 4096
"""(action, department, user id) triples whose JSON prefix is kept; the cache starts over beyond this."""


def _prefix(action: str, actor_dept: str, actor_id: str) -> str:
    """The leaf text up to the details: its first three keys sort before ``details``."""
    key = (action, actor_dept, actor_id)
    text = _PREFIXES.get(key)
    if text is None:
        if len(_PREFIXES) >= PREFIX_CACHE_LIMIT:
            _PREFIXES.clear()
        text = f'{{"action":{_quote(action)},"actor_dept":{_quote(actor_dept)},"actor_id":{_quote(actor_id)},"details":'
        _PREFIXES[key] = text
    return text


def _around_details(event_id: str, when: str, draft: Draft) -> tuple[str, str]:
    """The canonical leaf text before and after its details (the body's keys are fixed and sorted)."""
    if draft.action is None or draft.actor_dept is None or draft.actor_id is None:
        head = "".join((
            '{"action":', _json_str(draft.action), ',"actor_dept":', _json_str(draft.actor_dept),
            ',"actor_id":', _json_str(draft.actor_id), ',"details":',
        ))  # fmt: skip
    else:
        head = _prefix(draft.action, draft.actor_dept, draft.actor_id)
    tail = "".join((
        ',"event_id":', _quote(event_id), ',"occurred_at":', _quote(when),
        ',"outcome":', _json_str(draft.outcome), ',"reason_code":', _json_str(draft.reason_code),
        ',"target":', _json_str(draft.target), "}",
    ))  # fmt: skip
    return head, tail


def leaf_text(event_id: str, when: str, draft: Draft, details_json: str) -> str:
    """``canonical_json(leaf_body(...))`` built from the canonical JSON of the details.

    The body's keys are fixed and its values strings or null, so its canonical form is a fixed
    template; the details are serialised once and reused for the row's ``details`` column.
    """
    head, tail = _around_details(event_id, when, draft)
    return head + details_json + tail


def _with_tag(details_json: str, tag: str) -> str:
    """Canonical details JSON with the writer tag added, when every key sorts after it (a caution's)."""
    entry = f'"{AUTH_FIELD}":{_quote(tag)}'
    return "{" + entry + ("}" if details_json == "{}" else "," + details_json[1:])


_TEXT_TYPES = frozenset({str, type(None)})


def _plain(draft: Draft) -> bool:
    """Whether the six text fields (the tuple's first six) are exactly ``str`` or None."""
    return set(map(type, draft[:6])) <= _TEXT_TYPES


def event_row(
    draft: Draft,
    *,
    now: datetime,
    authenticate: Callable[[str], str] | None = None,
    details_json: str | None = None,
) -> tuple[dict[str, Any], Queued]:
    """The unsealed row of one event (its id, time and leaf hash fixed here) and what the caller learns.

    ``authenticate`` returns the writer's tag for the canonical leaf text without it; the tag goes
    into the details before the leaf is hashed (audit/signing.py). ``details_json``: the caller's
    ``canonical_json(draft.details)`` when it has it already (a screen caution's two constant forms).
    """
    now_utc = now if now.tzinfo is UTC else now.astimezone(UTC)
    occurred_at = now_utc.replace(tzinfo=None)
    event_id = new_event_id()
    details: dict[str, Any] = dict(draft.details)
    if authenticate is not None:
        details.pop(AUTH_FIELD, None)  # the tag is the writer's, never a caller's
    if _plain(draft):
        head, tail = _around_details(event_id, _when(occurred_at), draft)
        given = details_json is not None and AUTH_FIELD not in draft.details
        if details_json is None or not given:
            details_json = _canonical(details)
        text = head + details_json + tail
        if authenticate is not None:
            tag = authenticate(text)
            if given and all(isinstance(key, str) and key > AUTH_FIELD for key in details):  # splice it in
                details_json = _with_tag(details_json, tag)
            else:
                details[AUTH_FIELD] = tag
                details_json = _canonical(details)
            text = head + details_json + tail
    else:  # a value that is not text: the general serialiser decides its JSON
        body = {**leaf_body(event_id, occurred_at, draft), "details": details}
        if authenticate is not None:
            body["details"][AUTH_FIELD] = authenticate(_canonical(body))
        details = body["details"]
        details_json = _canonical(details)
        text = _canonical(body)
    leaf = hashlib.sha256(text.encode("utf-8")).hexdigest()
    row = {
        "event_id": event_id, "actor_id": draft.actor_id, "actor_dept": draft.actor_dept, "action": draft.action,
        "target": draft.target, "outcome": draft.outcome, "reason_code": draft.reason_code,
        "occurred_at": occurred_at, "details": details_json, "leaf_hash": leaf, "sealed": 0,
    }  # fmt: skip
    return row, Queued(event_id, now_utc, leaf)


def enqueue(
    conn: sa.Connection, draft: Draft, *, now: datetime, authenticate: Callable[[str], str] | None = None
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
