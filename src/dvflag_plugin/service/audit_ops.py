"""The dvflag.audit function: read, verify and checkpoint the audit trail (auditors only)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from dvflag_hookspecs import AuditEvent, VerifyResult

from ..audit import chain
from ..audit.checkpoint import Checkpoint, parse_checkpoint
from ..errors import ValidationError
from ..rules import validation as v
from ..storage.exact import exactly
from ..storage.schema import audit_event
from . import audit_trust
from .runtime import Op

OPS = ("verify", "read", "checkpoint")
AUDIT_FIELDS = ("op", "from_seq", "limit", "action", "actor_id", "checkpoint", "checkpoint_seq", "checkpoint_hash")
MAX_READ = 1000
OP_FIELDS: dict[str, frozenset[str]] = {
    "verify": frozenset({"op", "checkpoint", "checkpoint_seq", "checkpoint_hash"}),
    "read": frozenset({"op", "from_seq", "limit", "action", "actor_id"}),
    "checkpoint": frozenset({"op"}),
}
"""What each op uses; any other parameter given with it is refused, never silently ignored."""
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
    v.only_fields(p, OP_FIELDS[action], action)
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
        text, size, head_hash = audit_trust.checkpoint_text(op.rt, op.actor)
        op.details.update(size=size, head_hash=head_hash, signed=op.rt.audit_keys.signed)
        return {"seq": size, "hash": head_hash, "note": text}
    point: Checkpoint | None = None
    if p.get("checkpoint_hash") is not None:
        v.required(p, "checkpoint_seq")  # a hash alone says nothing: refused, not ignored
    if p.get("checkpoint") is not None:
        if p.get("checkpoint_seq") is not None:
            raise ValidationError(
                "checkpoint_seq", "exclusive", "チェックポイントと連番・ハッシュは同時に指定できません"
            )
        point = parse_checkpoint(str(p["checkpoint"]))
    elif p.get("checkpoint_seq") is not None:  # the older form
        seq = v.positive_int(p["checkpoint_seq"], field="checkpoint_seq")
        digest = v.required(p, "checkpoint_hash")
        if not _HASH.fullmatch(digest):
            raise ValidationError("checkpoint_hash", "hex64", "チェックポイントハッシュは16進64桁で指定してください")
        point = parse_checkpoint(f"{seq}:{digest}")
    result = audit_trust.verify_now(op.rt, point, op.actor)
    op.details.update(audit_trust.verify_details(result))
    return result
