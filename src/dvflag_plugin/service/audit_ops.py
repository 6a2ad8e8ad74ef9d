"""The dvflag.audit function: read, verify and checkpoint the audit trail (auditors only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from dvflag_hookspecs import AuditEvent, VerifyResult

from ..audit import chain
from ..errors import ValidationError
from ..rules import validation as v
from ..storage.schema import audit_event
from ..storage.transactions import snapshot
from .runtime import Op

OPS = ("verify", "read", "checkpoint")
AUDIT_FIELDS = ("op", "from_seq", "limit", "action", "actor_id", "checkpoint_seq", "checkpoint_hash")
MAX_READ = 1000


def audit(op: Op, params: Mapping[str, Any]) -> VerifyResult | tuple[AuditEvent, ...] | dict[str, Any]:
    """Verify the chain (optionally against a checkpoint), read events, or give the head."""
    p = v.check_fields(params, AUDIT_FIELDS)
    action = p.get("op") or "verify"
    if action not in OPS:
        raise ValidationError("op", "choice", f"操作は次のいずれかです: {', '.join(OPS)}")
    op.details["op"] = action
    if action == "read":
        op.require("audit_read")
        from_seq = v.positive_int(p["from_seq"], field="from_seq") if p.get("from_seq") is not None else 1
        limit = min(v.positive_int(p["limit"], field="limit"), MAX_READ) if p.get("limit") is not None else 100
        stmt = sa.select(audit_event).where(audit_event.c.seq >= from_seq)
        if p.get("action") is not None:
            stmt = stmt.where(audit_event.c.action == str(p["action"]))
        if p.get("actor_id") is not None:
            stmt = stmt.where(audit_event.c.actor_id == str(p["actor_id"]))
        rows = op.conn.execute(stmt.order_by(audit_event.c.seq).limit(limit))
        events = tuple(chain.row_to_event(r) for r in rows)
        op.details.update(from_seq=from_seq, count=len(events))
        return events
    op.require("audit_verify")
    op.rt.seal()  # what is queued now is sealed first (skipped when another sealer is busy)
    if action == "checkpoint":
        with op.rt.engine.connect() as conn:  # after the seal (op.conn may hold an older snapshot)
            head = chain.read_head(conn)
        return {"seq": head.last_seq, "hash": head.last_hash}
    checkpoint = None
    if p.get("checkpoint_seq") is not None:
        checkpoint = (
            v.positive_int(p["checkpoint_seq"], field="checkpoint_seq"),
            str(v.required(p, "checkpoint_hash")),
        )
    result = verify_now(
        op.rt.engine, checkpoint=checkpoint, now=op.now, max_unsealed_s=op.rt.settings.audit_max_unsealed_s
    )
    op.details.update(ok=result.ok, checked=result.checked, first_broken_seq=result.first_broken_seq)
    return result


def verify_now(
    engine: sa.Engine, *, checkpoint: tuple[int, str] | None, now: datetime, max_unsealed_s: float
) -> VerifyResult:
    """Verify the sealed chain in one snapshot, and report events left unsealed too long."""
    with snapshot(engine) as conn:
        result = chain.verify(conn, checkpoint=checkpoint)
        overdue, oldest = chain.unsealed_overdue(conn, now=now, max_age_s=max_unsealed_s)
    if not overdue:
        return result
    note = (
        f"。封緘されていないイベントが {overdue} 件あります"
        f"（最古 {oldest:%Y-%m-%d %H:%M:%S} UTC、上限 {max_unsealed_s:g} 秒）"
    )
    return replace(result, message=result.message + note)
