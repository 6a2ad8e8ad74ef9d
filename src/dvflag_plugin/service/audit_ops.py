"""The dvflag.audit function: read, verify and checkpoint the audit trail (auditors only)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from dvflag_hookspecs import AuditEvent, VerifyResult

from ..audit import chain
from ..errors import ValidationError
from ..rules import validation as v
from ..storage.exact import exactly
from ..storage.schema import audit_event
from .runtime import Op

OPS = ("verify", "read", "checkpoint")
AUDIT_FIELDS = ("op", "from_seq", "limit", "action", "actor_id", "checkpoint_seq", "checkpoint_hash")
MAX_READ = 1000
AUDITED_ACTIONS = (
    "register", "update", "release", "unrelease", "delete", "status", "search", "export", "review_due", "users",
    "audit", "notices", "advice",
)
_ACTOR_ID = re.compile(r"[A-Za-z0-9:()][A-Za-z0-9_.@:()-]{0,63}", re.ASCII)
_HASH = re.compile(r"[0-9a-f]{64}", re.ASCII)


def audit(op: Op, params: Mapping[str, Any]) -> VerifyResult | tuple[AuditEvent, ...] | dict[str, Any]:
    """Verify the chain (optionally against a checkpoint), read events, or give the head."""
    op.require_role("audit_read", "audit_verify")  # an outsider is denied before its parameters are read
    p = v.check_fields(params, AUDIT_FIELDS)
    action = v.choice(p.get("op"), "op", OPS, "verify")
    op.details["op"] = action
    if action == "read":
        op.require("audit_read")
        from_seq = v.positive_int(p["from_seq"], field="from_seq") if p.get("from_seq") is not None else 1
        limit = min(v.positive_int(p["limit"], field="limit"), MAX_READ) if p.get("limit") is not None else 100
        stmt = sa.select(audit_event).where(audit_event.c.seq >= from_seq)
        if p.get("action") is not None:
            stmt = stmt.where(audit_event.c.action == v.choice(p["action"], "action", AUDITED_ACTIONS, ""))
        if p.get("actor_id") is not None:
            actor_id = p["actor_id"]
            if not (isinstance(actor_id, str) and len(actor_id) <= 64 and _ACTOR_ID.fullmatch(actor_id)):
                raise ValidationError("actor_id", "code_syntax", "操作者IDの形式が正しくありません")
            stmt = stmt.where(exactly(audit_event.c.actor_id, actor_id))
        rows = op.conn.execute(stmt.order_by(audit_event.c.seq).limit(limit))
        events = tuple(chain.row_to_event(r) for r in rows)
        op.details.update(from_seq=from_seq, count=len(events))
        return events
    op.require("audit_verify")
    if action == "checkpoint":
        head = chain.read_head(op.conn)
        return {"seq": head.last_seq, "hash": head.last_hash}
    checkpoint = None
    if p.get("checkpoint_seq") is not None:
        digest = v.required(p, "checkpoint_hash")
        if not _HASH.fullmatch(digest):
            raise ValidationError("checkpoint_hash", "hex64", "チェックポイントハッシュは16進64桁で指定してください")
        checkpoint = (v.positive_int(p["checkpoint_seq"], field="checkpoint_seq"), digest)
    result = chain.verify(op.conn, checkpoint=checkpoint)
    op.details.update(ok=result.ok, checked=result.checked, first_broken_seq=result.first_broken_seq)
    return result
