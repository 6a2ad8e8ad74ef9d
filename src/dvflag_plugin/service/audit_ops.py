"""The dvflag.audit function: read, verify and checkpoint the audit trail (auditors only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from dvflag_hookspecs import AuditEvent, VerifyResult

from ..audit import chain
from ..audit.checkpoint import Checkpoint, parse_checkpoint
from ..errors import ValidationError
from ..rules import validation as v
from ..storage.schema import audit_event
from . import audit_trust
from .runtime import Op

OPS = ("verify", "read", "checkpoint")
AUDIT_FIELDS = ("op", "from_seq", "limit", "action", "actor_id", "checkpoint", "checkpoint_seq", "checkpoint_hash")
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
    if action == "checkpoint":
        text, size, head_hash = audit_trust.checkpoint_text(op.rt, op.actor)
        op.details.update(size=size, head_hash=head_hash, signed=op.rt.audit_keys.signed)
        return {"seq": size, "hash": head_hash, "note": text}
    point: Checkpoint | None = None
    if p.get("checkpoint") is not None:
        point = parse_checkpoint(str(p["checkpoint"]))
    elif p.get("checkpoint_seq") is not None:  # the older form
        seq = v.positive_int(p["checkpoint_seq"], field="checkpoint_seq")
        point = parse_checkpoint(f"{seq}:{v.required(p, 'checkpoint_hash')}")
    result = audit_trust.verify_now(op.rt, point, op.actor)
    op.details.update(audit_trust.verify_details(result))
    return result
