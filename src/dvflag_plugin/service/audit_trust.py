"""Signed seals, checkpoints and verify as the runtime runs them (issue 11 items 5–7).

The sealer calls ``seal_signer(keys)`` for each batch; ``take_checkpoint`` and ``run_verify`` seal what
is queued first, read one snapshot, and audit the read (every operator read is an event).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from dvflag_hookspecs import Actor, VerifyResult

from ..audit import chain, signing
from ..audit import verify as verify_mod
from ..audit.checkpoint import Checkpoint, format_checkpoint, parse_checkpoint
from ..errors import DvflagError
from ..storage.schema import audit_event, audit_seal
from ..storage.transactions import snapshot

if TYPE_CHECKING:
    from ..audit.sealer import Batch
    from .runtime import Runtime


def seal_signer(keys: signing.AuditKeys) -> Callable[[Batch], tuple[str, str] | None] | None:
    """The sealer's signing callback: (base64 signature, key id hex) per batch; None without a key."""
    signer = keys.signer
    if signer is None:
        return None

    def sign(batch: Batch) -> tuple[str, str]:
        return signing.sign_seal(
            signer, first_seq=batch.first_seq, last_seq=batch.last_seq, head_hash=batch.head_hash,
            prev_head_hash=batch.prev_hash,
        )

    return sign


_last_seal = sa.select(audit_seal.c.signature).order_by(audit_seal.c.first_seq.desc()).limit(1)


def trail_is_signed(engine: sa.Engine) -> bool:
    """True when the trail's last seal is signed (one indexed query, run once per keyless runtime).

    The last seal is the one that matters: the sealer never adds an unsigned seal after a signed one.
    """
    with engine.connect() as conn:
        return conn.execute(_last_seal).scalar() is not None


def seal_signed(rt: Runtime, actor: Actor | None) -> None:
    """Seal what is queued; with a key whose first signature is still to come, make one now.

    A trail sealed before the key was configured ends in an unsigned seal, which verify with the key
    must refuse (it looks like stripped signatures). The first read after the key arrives records the
    key id in an event of its own, so that the head is under a signed seal at once.
    """
    rt.seal()
    signer = rt.audit_keys.signer
    if signer is None or actor is None:
        return
    with snapshot(rt.engine) as conn:
        pending = conn.execute(sa.select(audit_event.c.id).where(audit_event.c.sealed == 0).limit(1)).first()
        last = conn.execute(_last_seal).first()
    if pending is None and last is not None and last.signature is None:
        rt.audit_alone(actor, "audit", None, "ok", None, {"op": "key_in_use", "key_id": signer.verifier.key_id_hex})
        rt.seal()


def checkpoint_text(rt: Runtime, actor: Actor | None = None) -> tuple[str, int, str]:
    """Seal what is queued, then the checkpoint of the sealed head: (text, size, head hash)."""
    seal_signed(rt, actor)
    with snapshot(rt.engine) as conn:
        head = chain.read_head(conn)
    keys = rt.audit_keys
    return format_checkpoint(keys.origin, head.last_seq, head.last_hash, keys.signer), head.last_seq, head.last_hash


def take_checkpoint(rt: Runtime, actor: Actor, *, source: str) -> str:
    """A checkpoint for an auditor to keep elsewhere; the read is audited."""
    text, size, head_hash = checkpoint_text(rt, actor)
    rt.audit_alone(
        actor, "audit", None, "ok", None,
        {"op": "checkpoint", "source": source, "size": size, "head_hash": head_hash, "signed": rt.audit_keys.signed},
    )
    return text


def verify_now(
    rt: Runtime, checkpoint: Checkpoint | None, actor: Actor | None = None, *, since: Checkpoint | None = None,
    on_event: Callable[[int], object] | None = None,
) -> VerifyResult:
    """Seal what is queued, then verify everything (or what was added ``since`` a trusted checkpoint)
    in one snapshot."""
    seal_signed(rt, actor)
    with snapshot(rt.engine) as conn:
        return verify_mod.verify(
            conn, keys=rt.audit_keys, checkpoint=checkpoint, now=rt.now(),
            max_unsealed_age_s=rt.settings.audit_max_unsealed_s, digest_secret=rt.audit_keys.digest_secret,
            since=since, on_event=on_event,
        )


def verify_details(result: VerifyResult) -> dict[str, Any]:
    """What the audit event of a verify records (counts and codes, no personal data)."""
    return {
        "ok": result.ok, "checked": result.checked, "first_broken_seq": result.first_broken_seq,
        "signature": result.signature, "findings": len(result.findings), "checkpoint": result.checkpoint,
    }


def run_verify(
    rt: Runtime, actor: Actor, *, checkpoint_text: str | None, source: str, since_text: str | None = None,
    on_event: Callable[[int], object] | None = None,
) -> VerifyResult:
    """Parse the checkpoints (a typed error when malformed, audited), verify, audit the verify."""
    try:
        point = parse_checkpoint(checkpoint_text) if checkpoint_text else None
        since = parse_checkpoint(since_text) if since_text else None
    except DvflagError as err:
        if not rt.key_required:
            rt.audit_alone(actor, "audit", None, "error", err.code, {"op": "verify", "source": source})
        raise
    result = verify_now(rt, point, actor, since=since, on_event=on_event)
    if rt.key_required:
        # An auditor's read with the public key alone (a reader runtime, the CLI's verify): the trail
        # accepts only events the key holder authenticates, so this read leaves no event (the CLI says so).
        return result
    details: dict[str, Any] = {"op": "verify", "source": source, **verify_details(result)}
    if since is not None:
        details["since_seq"] = since.size
    rt.audit_alone(actor, "audit", None, "ok", None, details)
    return result
