"""Checkpoints of the audit trail in the C2SP signed-note / tlog-checkpoint form (issue 11 item 6).

A checkpoint is a few lines an auditor keeps outside the database: the origin, the trail's size (the
last sealed sequence number), the base64 head hash, a blank line and ``— <key name> <base64(key id ‖
signature)>`` lines. Verify against it catches a wiped or truncated trail. The old ``SEQ:HASH`` form
(printed by earlier versions) is still accepted, unsigned.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Literal

from ..errors import DvflagError
from .signing import Signer, Verifier, check_key_name

SIGNATURE_PREFIX = "— "  # em dash (U+2014) and a space
MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 16
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_LEGACY = re.compile(r"([0-9]+):([0-9a-fA-F]{64})")

SignatureStatus = Literal["ok", "unsigned", "bad", "unknown_key"]


class CheckpointError(DvflagError):
    """A checkpoint text that cannot be read (the field is the checkpoint; the rule is named)."""

    code = "audit.checkpoint"


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: the key's name, its 4-byte id and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A parsed checkpoint: ``size`` events up to ``head_hash`` (hex) in the log ``origin``."""

    origin: str | None
    size: int
    head_hash: str
    signatures: tuple[NoteSignature, ...] = ()
    legacy: bool = False

    @property
    def note_text(self) -> str:
        """The signed part: origin, size, base64 head hash, each ending in a newline."""
        return note_text(self.origin or "", self.size, self.head_hash)


def note_text(origin: str, size: int, head_hash: str) -> str:
    """The three tlog-checkpoint lines."""
    if not _HEX64.fullmatch(head_hash):
        raise CheckpointError("先頭ハッシュは 64 桁の 16 進数でなければなりません", code="audit.checkpoint.hash")
    if size < 0:
        raise CheckpointError("件数が負の値です", code="audit.checkpoint.size")
    root = base64.b64encode(bytes.fromhex(head_hash)).decode("ascii")
    return f"{check_key_name(origin)}\n{size}\n{root}\n"


def format_checkpoint(origin: str, size: int, head_hash: str, signer: Signer | None) -> str:
    """The checkpoint text; signed when a signer is given (its name must be the origin)."""
    text = note_text(origin, size, head_hash)
    if signer is None:
        return text
    if signer.name != origin:
        raise CheckpointError(
            f"署名鍵の名前 {signer.name} が origin {origin} と異なります", code="audit.checkpoint.key"
        )
    sig = signer.verifier.key_id + signer.sign(text.encode("utf-8"))
    return f"{text}\n{SIGNATURE_PREFIX}{signer.name} {base64.b64encode(sig).decode('ascii')}\n"


def _bad(rule: str, message: str) -> CheckpointError:
    return CheckpointError(f"チェックポイントの形式が不正です: {message}", code=f"audit.checkpoint.{rule}")


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a signed note checkpoint (or the legacy ``SEQ:HASH``); a malformed text raises CheckpointError."""
    if len(text.encode("utf-8", "replace")) > MAX_NOTE_BYTES:
        raise _bad("size", "大きすぎます")
    legacy = _LEGACY.fullmatch(text.strip())
    if legacy is not None:
        return Checkpoint(None, int(legacy.group(1)), legacy.group(2).lower(), legacy=True)
    if any(ord(c) < 0x20 and c != "\n" for c in text) or "\ufffd" in text:
        raise _bad("control", "制御文字または不正な文字を含みます")
    if not text.endswith("\n"):
        raise _bad("newline", "改行で終わっていません")
    body, sep, sig_block = text.rpartition("\n\n")
    if not sep:  # an unsigned checkpoint: the note text alone
        body, sig_block = text[:-1], ""
    lines = body.split("\n")
    if len(lines) != 3:
        raise _bad("lines", "origin・件数・先頭ハッシュの 3 行が必要です（拡張行は受け付けません）")
    origin, size_text, root = lines
    try:
        check_key_name(origin)
    except DvflagError:
        raise _bad("origin", "origin が不正です") from None
    if not _DECIMAL.fullmatch(size_text):
        raise _bad("size", "件数は先頭に 0 のない 10 進数です")
    try:
        root_raw = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise _bad("hash", "先頭ハッシュの base64 が不正です") from None
    if len(root_raw) != 32 or base64.b64encode(root_raw).decode("ascii") != root:
        raise _bad("hash", "先頭ハッシュは 32 バイトの base64 です")
    signatures = _parse_signatures(sig_block)
    if sep and not signatures:
        raise _bad("signature", "空行の後に署名行がありません")
    return Checkpoint(origin, int(size_text), root_raw.hex(), signatures)


def _parse_signatures(block: str) -> tuple[NoteSignature, ...]:
    if not block:
        return ()
    lines = block[:-1].split("\n") if block.endswith("\n") else block.split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise _bad("signature", f"署名行が多すぎます（最大 {MAX_SIGNATURES}）")
    out = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise _bad("signature", "署名行は「— 鍵名 署名」の形です")
        name, space, b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not space or not name or " " in b64:
            raise _bad("signature", "署名行は「— 鍵名 署名」の形です")
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error:
            raise _bad("signature", "署名の base64 が不正です") from None
        if len(raw) < 5:
            raise _bad("signature", "署名が短すぎます")
        out.append(NoteSignature(name, raw[:4], raw[4:]))
    return tuple(out)


def signature_status(checkpoint: Checkpoint, verifier: Verifier | None) -> SignatureStatus:
    """C2SP rules: a known key's signature must verify; signatures by unknown keys are ignored."""
    if not checkpoint.signatures:
        return "unsigned"
    if verifier is None:
        return "unknown_key"
    known = [s for s in checkpoint.signatures if s.name == verifier.name and s.key_id == verifier.key_id]
    if not known:
        return "unknown_key"
    message = checkpoint.note_text.encode("utf-8")
    return "ok" if all(verifier.verify(message, s.signature) for s in known) else "bad"
