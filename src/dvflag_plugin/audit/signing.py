"""Ed25519 keys that sign the audit trail's seals (DESIGN §6, issue 11 item 5).

The host keeps the private key in a file outside the database, readable by the host only; verify
needs only the public key. Key ids follow C2SP signed-note: the first four bytes of
SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key). A seal signs, per sealed batch, the origin, the first
and last sequence numbers, the head hash after the batch and the previous seal's head hash, so a DBA
who can write every table can neither rewrite, truncate-and-rehash nor reset the trail unnoticed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import DvflagError
from .chain import AUTH_FIELD as AUTH_FIELD

ED25519_TYPE = b"\x01"
"""C2SP signed-note signature type byte for Ed25519."""

DEFAULT_ORIGIN = "dvflag.local/audit"
"""Origin line and key name when the host sets none; a municipality should name its own log."""

SEAL_CONTEXT = "dvflag-audit-seal/v1"
"""First line of every sealed-batch message: a signature over a seal never verifies as anything else."""

_log = logging.getLogger("dvflag")


class SigningKeyError(DvflagError):
    """A signing or verify key that cannot be used (missing, unreadable, too open, malformed)."""

    code = "audit.signing_key"


KEY_REQUIRED_MESSAGE = (
    "監査証跡は署名鍵で封緘されています。署名鍵（設定 dvflag.audit_signing_key、CLI では --key か "
    "DVFLAG_AUDIT_SIGNING_KEY）のないプロセスは監査イベントを書けないため、処理しません。鍵を設定してください"
    "（公開鍵だけでできるのは dvflag audit verify です）"
)


class SigningKeyRequired(SigningKeyError):
    """The trail has signed seals and this process has no signing key: it refuses to write audit events.

    An event queued without the key carries no writer tag, and every later verify with the key would
    report it as written by someone other than the plugin. Raised at start-up (host and CLI) and, for a
    runtime that started before the first signed seal, by every audited call after it sees one.
    """

    code = "audit.signing_key.required"

    def __init__(self, message: str = KEY_REQUIRED_MESSAGE) -> None:
        super().__init__(message)


def key_id(name: str, public_raw: bytes) -> bytes:
    """C2SP signed-note key id: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + public_raw).digest()[:4]


def check_key_name(name: str) -> str:
    """A key name (= origin): non-empty, no spaces, no '+', no control characters (C2SP signed-note)."""
    if not name or any(c.isspace() or c == "+" or ord(c) < 0x20 for c in name):
        raise SigningKeyError(
            f"鍵の名前（origin）が不正です: {name!r}（空白・「+」・制御文字は使えません）", code="audit.key_name"
        )
    return name


def _public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Verifier:
    """A public key under a name: checks seal and checkpoint signatures."""

    name: str
    public_key: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        """The 4-byte C2SP key id."""
        return key_id(self.name, _public_raw(self.public_key))

    @property
    def key_id_hex(self) -> str:
        """The key id as 8 hex digits (what a seal row stores)."""
        return self.key_id.hex()

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def vkey(self) -> str:
        """The C2SP/Go note verifier key text: ``name+hash+base64(0x01 ‖ public key)``."""
        raw = ED25519_TYPE + _public_raw(self.public_key)
        return f"{self.name}+{self.key_id_hex}+{base64.b64encode(raw).decode('ascii')}"


@dataclass(frozen=True, slots=True)
class Signer:
    """A private key under a name: signs seals and checkpoints. Never leaves the host's process."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        """The matching public key."""
        return Verifier(self.name, self.private_key.public_key())

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self.private_key.sign(message)

    def derived_secret(self, purpose: str) -> bytes:
        """A 32-byte secret for ``purpose`` derived from the private key (HMAC-SHA256, domain-separated)."""
        seed = self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return hmac.new(seed, b"dvflag-derived/v1\n" + purpose.encode("utf-8"), hashlib.sha256).digest()


# -- the sealed-batch message ---------------------------------------------------------------------


def seal_message(origin: str, first_seq: int, last_seq: int, head_hash: str, prev_head_hash: str) -> bytes:
    """The canonical text a seal signs: one field per line, decimal numbers, lower-case hex hashes.

    The previous seal's head hash links seals into their own chain: a reset or a truncate-and-rehash
    needs a new signature over a message no genuine seal ever signed.
    """
    lines = (SEAL_CONTEXT, check_key_name(origin), str(int(first_seq)), str(int(last_seq)),
             head_hash.lower(), prev_head_hash.lower())
    return ("\n".join(lines) + "\n").encode("utf-8")


def sign_seal(
    signer: Signer, *, first_seq: int, last_seq: int, head_hash: str, prev_head_hash: str
) -> tuple[str, str]:
    """(base64 signature, key id hex) for one sealed batch, as the seal row stores them."""
    message = seal_message(signer.name, first_seq, last_seq, head_hash, prev_head_hash)
    return base64.b64encode(signer.sign(message)).decode("ascii"), signer.verifier.key_id_hex


def verify_seal(
    verifier: Verifier, *, signature: str | None, key_id_hex: str | None, first_seq: int, last_seq: int,
    head_hash: str, prev_head_hash: str,
) -> str | None:
    """None when the seal's signature is good; otherwise why not (Japanese, for the verify report)."""
    if not signature:
        return "署名がありません"
    if key_id_hex != verifier.key_id_hex:
        return f"鍵ID {key_id_hex!s} は検証鍵 {verifier.key_id_hex} と異なります"
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return "署名の形式が不正です"
    try:
        message = seal_message(verifier.name, first_seq, last_seq, head_hash, prev_head_hash)
    except SigningKeyError:
        return "鍵の名前が不正です"
    if len(raw) != 64 or not verifier.verify(message, raw):
        return "署名が一致しません（改ざん・偽造の疑い）"
    return None


# -- files ----------------------------------------------------------------------------------------


def _read_private_file(path: Path) -> bytes:
    """The key file's bytes, refusing one that group or others may access."""
    try:
        info = path.stat()
    except OSError as err:
        raise SigningKeyError(
            f"署名鍵ファイルを読めません: {path}（{type(err).__name__}）", code="audit.signing_key.missing"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise SigningKeyError(f"署名鍵が通常のファイルではありません: {path}", code="audit.signing_key.missing")
    if os.name == "posix" and info.st_mode & 0o077:
        raise SigningKeyError(
            f"署名鍵ファイル {path} はグループまたは他の利用者が読み書きできます"
            f"（モード {stat.S_IMODE(info.st_mode):04o}）。chmod 600 にしてください",
            code="audit.signing_key.permissions",
        )
    try:
        return path.read_bytes()
    except OSError as err:
        raise SigningKeyError(
            f"署名鍵ファイルを読めません: {path}（{type(err).__name__}）", code="audit.signing_key.missing"
        ) from None


def parse_private_key(data: bytes, name: str) -> Signer:
    """A private key as PEM (PKCS#8), a C2SP/Go note signer key (``PRIVATE+KEY+…``) or 32 raw bytes."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text, password=None)
        except (ValueError, TypeError):
            raise SigningKeyError("署名鍵（PEM）を読み取れません", code="audit.signing_key.format") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError("署名鍵は Ed25519 鍵でなければなりません", code="audit.signing_key.format")
        return Signer(check_key_name(name), key)
    if text.startswith(b"PRIVATE+KEY+"):
        signer = _parse_note_signer(text.decode("ascii", "replace"))
        if signer.name != name:
            raise SigningKeyError(
                f"署名鍵の名前 {signer.name} が origin {name} と一致しません", code="audit.signing_key.name"
            )
        return signer
    if len(data) == 32:
        return Signer(check_key_name(name), Ed25519PrivateKey.from_private_bytes(data))
    raise SigningKeyError(
        "署名鍵の形式が不正です（PEM、PRIVATE+KEY+… 形式、または 32 バイトの生の鍵）", code="audit.signing_key.format"
    )


def _parse_note_signer(text: str) -> Signer:
    parts = text.split("+", 4)  # base64 itself may contain "+"
    if len(parts) != 5:
        raise SigningKeyError("署名鍵（PRIVATE+KEY+…）の形式が不正です", code="audit.signing_key.format")
    _, _, name, hash_hex, b64 = parts
    try:
        raw = base64.b64decode(b64, validate=True)
    except binascii.Error:
        raise SigningKeyError("署名鍵（PRIVATE+KEY+…）の base64 が不正です", code="audit.signing_key.format") from None
    if len(raw) != 33 or raw[:1] != ED25519_TYPE:
        raise SigningKeyError("署名鍵（PRIVATE+KEY+…）が Ed25519 鍵ではありません", code="audit.signing_key.format")
    signer = Signer(check_key_name(name), Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if signer.verifier.key_id_hex != hash_hex.lower():
        raise SigningKeyError("署名鍵（PRIVATE+KEY+…）の鍵IDが一致しません", code="audit.signing_key.format")
    return signer


def parse_public_key(data: bytes, name: str) -> Verifier:
    """A public key as PEM, a C2SP/Go note verifier key (``name+hash+base64``) or 32 raw bytes."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text)
        except ValueError:
            raise SigningKeyError("検証鍵（PEM）を読み取れません", code="audit.verify_key.format") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError("検証鍵は Ed25519 鍵でなければなりません", code="audit.verify_key.format")
        return Verifier(check_key_name(name), key)
    if len(data) == 32:  # every text form (PEM, name+hash+base64) is longer than 32 bytes
        return Verifier(check_key_name(name), Ed25519PublicKey.from_public_bytes(data))
    parts = text.decode("ascii", "replace").split("+", 2)  # base64 itself may contain "+"
    if len(parts) == 3:
        vname, hash_hex, b64 = parts
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error:
            raw = b""
        if len(raw) == 33 and raw[:1] == ED25519_TYPE:
            verifier = Verifier(check_key_name(vname), Ed25519PublicKey.from_public_bytes(raw[1:]))
            if verifier.key_id_hex == hash_hex.lower():
                return verifier
    raise SigningKeyError(
        "検証鍵の形式が不正です（PEM、名前+鍵ID+base64 形式、または 32 バイトの生の鍵）", code="audit.verify_key.format"
    )


def load_signer(path: str | Path, name: str = DEFAULT_ORIGIN) -> Signer:
    """The signing key from ``path`` (refused when group or others can access the file)."""
    return parse_private_key(_read_private_file(Path(path)), name)


def load_verifier(path: str | Path, name: str = DEFAULT_ORIGIN) -> Verifier:
    """The public key from ``path`` (PEM, note verifier key or raw)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise SigningKeyError(
            f"検証鍵ファイルを読めません: {path}（{type(err).__name__}）", code="audit.verify_key.missing"
        ) from None
    return parse_public_key(data, name)


def public_path_for(private_path: Path) -> Path:
    """Where keygen puts the public key: beside the private key, with ``.pub`` appended."""
    return private_path.with_name(private_path.name + ".pub")


def generate(out: Path, name: str = DEFAULT_ORIGIN) -> tuple[Path, Path, Verifier]:
    """Write a new private key (PEM, mode 0600) to ``out`` and its public key beside it; never overwrite."""
    check_key_name(name)
    pub_path = public_path_for(out)
    for target in (out, pub_path):
        if target.exists() or target.is_symlink():
            raise SigningKeyError(f"既にファイルがあります（上書きしません）: {target}", code="audit.keygen.exists")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # O_EXCL: no race with another writer, no following a planted symlink; 0600 from the first byte.
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
    fd = os.open(pub_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(public_pem)
    return out, pub_path, Signer(name, key).verifier


# -- the plugin's configured keys -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditKeys:
    """What this process can do: sign (private key), verify (public key), or neither ("unsigned")."""

    origin: str
    signer: Signer | None
    verifier: Verifier | None

    @property
    def signed(self) -> bool:
        """True when seals are signed by this process."""
        return self.signer is not None

    @property
    def digest_secret(self) -> bytes | None:
        """The secret that salts registration row digests (derived from the signing key), or None."""
        return self.signer.derived_secret("row-digest") if self.signer is not None else None

    @property
    def auth_secret(self) -> bytes | None:
        """The secret that authenticates queued events as written by the plugin, or None."""
        return self.signer.derived_secret("event-auth") if self.signer is not None else None


def event_tag(secret: bytes, leaf_body: Mapping[str, Any]) -> str:
    """The writer tag of a queued event: HMAC-SHA256 (128 bits, hex) over its leaf body without the tag.

    Only a process holding the signing key can write it, so a row a DBA slips into the unsealed queue
    shows up in verify (with the key) even after the sealer has sealed and signed it.
    """
    details = {k: v for k, v in dict(leaf_body.get("details") or {}).items() if k != AUTH_FIELD}
    return tag_text(secret, json.dumps({**leaf_body, "details": details}, sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False))


def tag_text(secret: bytes, text: str) -> str:
    """The writer tag of the canonical leaf text of an event without its tag (``chain.event_row``)."""
    return hmac.digest(secret, text.encode("utf-8"), "sha256")[:16].hex()  # one-shot: the C fast path


class Tagger:
    """``tag_text`` for one secret, its HMAC key pads hashed once (RFC 2104): a writer tags every event.

    Each call copies the two precomputed SHA-256 states instead of hashing the padded key again —
    about a third of ``hmac.digest``'s time. Thread-safe (hashlib copies under the object's lock).
    """

    def __init__(self, secret: bytes) -> None:
        key = hashlib.sha256(secret).digest() if len(secret) > _SHA256_BLOCK else secret
        key = key.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __call__(self, text: str) -> str:
        inner = self._inner.copy()
        inner.update(text.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:16].hex()


_SHA256_BLOCK = 64


def configured_keys(
    signing_key: str | None, verify_key: str | None, origin: str | None, *, announce: bool = False
) -> AuditKeys:
    """Load the configured keys; the public key is derived from the private one when not given.

    A configured but unusable key raises SigningKeyError (never a silent fall-back to unsigned).
    With ``announce``, a process without a signing key says so once through the plugin's logger.
    """
    name = check_key_name(origin or DEFAULT_ORIGIN)
    signer = load_signer(signing_key, name) if signing_key else None
    verifier = load_verifier(verify_key, name) if verify_key else (signer.verifier if signer else None)
    if signer is not None and verifier is not None and verifier.key_id != signer.verifier.key_id:
        raise SigningKeyError(
            "dvflag.audit_verify_key が dvflag.audit_signing_key の公開鍵と一致しません",
            code="audit.verify_key.mismatch",
        )
    if announce and signer is None:
        _log.warning(
            "dvflag: 監査証跡の署名鍵（dvflag.audit_signing_key）が設定されていません。封緘は署名されず、"
            "検証結果は「署名なし」となります / audit seals are unsigned (no signing key configured)"
        )
    return AuditKeys(name, signer, verifier)
