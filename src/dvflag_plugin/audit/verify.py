"""Verify the audit trail (DESIGN §6, issue 11 items 5–7): chain, seals, signatures, counters, registry.

Run inside one snapshot (``storage.transactions.snapshot``): the chain is checked up to the head read
first, so events sealed meanwhile are never reported as a break. Verify never raises on a damaged
trail: whatever it cannot read is a finding. Checks:

- the sealed chain: seq without gaps, prev_hash links, leaf and chained hashes, canonical stored JSON;
- seals: they tile 1..head without gap or overlap, each links to the previous one's head hash, each
  head hash is the event hash at its last seq, and (with the public key) every seal from the first
  signed one on carries a good Ed25519 signature — a DBA can neither rewrite, rehash nor reset;
- the head row against the events (sealed rows beyond the head mean the head was reset);
- an external checkpoint (C2SP signed note or the old SEQ:HASH): a wiped or truncated trail;
- counters: the next 出力番号 and the change counter against the trail's export and change events;
- events left unsealed longer than allowed;
- alerts a sealer sealed for events its process queued that were deleted or replaced before sealing
  (``audit/ledger.py``): reported for ever after, like any other tampering;
- the registry: change events replayed against ``dvf_registration`` (rows edited, deleted, released
  or added behind the plugin's back; edits of 氏名・性別・生年月日 need the signing key's row digests);
- ``dvf_change_log`` against the change events;
- the user registry: each account the plugin changed or an administrator attested (``dvflag.users``
  op ``attest``) against the digest its last change or attestation left; after an attestation, an
  account no event gave a digest was added behind the plugin's back.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from dvflag_hookspecs import VerifyResult

from ..storage.schema import (
    CHANGE_COUNTER,
    GENESIS_HASH,
    OUTPUT_COUNTER,
    app_user,
    audit_event,
    audit_seal,
    chain_head,
    change_log,
    counter,
    registration,
    user_role,
)
from . import chain, row_digest
from .account_digest import ATTEST_KEY, account_digest
from .account_digest import DETAIL_KEY as ACCOUNT_KEY
from .checkpoint import Checkpoint, signature_status
from .ledger import MISSING_OP
from .signing import AUTH_FIELD, AuditKeys, event_tag, verify_seal

CHANGE_ACTIONS = frozenset({"register", "update", "release", "unrelease", "delete"})
"""Actions whose ok events change ``dvf_registration`` (and count in the change counter)."""

MAX_FINDINGS = 50
_EXPORT_NO = re.compile(r"EXP-[0-9]{8}-([0-9]+)")
_RECORD_TARGET = re.compile(r"record:([0-9]+)")
_MISSING = object()


@dataclass
class _Seal:
    first_seq: int
    last_seq: int
    prev_hash: str
    head_hash: str
    signature: str | None
    key_id: str | None


@dataclass
class _Record:
    """What the trail says about one registration: deleted, or its last row version, release and digest."""

    deleted: bool = False
    version: int | None = None
    release: object = _MISSING
    digest: str | None = None
    seq: int | None = None
    address_no: str | None = None
    dept_code: str | None = None


@dataclass
class _Report:
    findings: list[str] = field(default_factory=list)
    dropped: int = 0
    first_broken: int | None = None

    def add(self, seq: int | None, message: str) -> None:
        if seq is not None and (self.first_broken is None or seq < self.first_broken):
            self.first_broken = seq
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(message)
        else:
            self.dropped += 1


@dataclass
class _Walk:
    """State carried along the sealed rows."""

    checked: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    hash_at: dict[int, str] = field(default_factory=dict)
    records: dict[int, _Record] = field(default_factory=dict)
    change_events: int = 0
    change_numbers: list[str | None] = field(default_factory=list)
    max_output_no: int = 0
    accounts: dict[str, str] = field(default_factory=dict)  # user id → digest its last change left
    attested: bool = False  # an attestation gave every account of its time a digest


def _storage_failure(err: Exception) -> None:
    """Re-raise a lost connection or an unusable database: that is not damage to report.

    Verify reports what it cannot read as a finding (a value the driver cannot convert, a dropped
    table), never a dropped connection or a lock time-out: those reach the caller, which turns them
    into ``StorageError`` — an auditor must not read "改ざんの疑い" into a network blip.
    """
    if isinstance(err, sa.exc.DBAPIError) and (
        err.connection_invalidated or isinstance(err, sa.exc.OperationalError | sa.exc.InterfaceError)
    ):
        raise err


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError, OverflowError):
        return None


def verify(
    conn: sa.Connection,
    *,
    keys: AuditKeys | None = None,
    checkpoint: Checkpoint | None = None,
    now: datetime | None = None,
    max_unsealed_age_s: float | None = None,
    digest_secret: bytes | None = None,
    replay: bool = True,
    since: Checkpoint | None = None,
    on_event: Callable[[int], object] | None = None,
) -> VerifyResult:
    """Verify everything this connection's snapshot shows; report, never raise on bad data.

    ``replay=False`` checks the trail alone (chain, seals, head, checkpoint), not counters and registry.
    ``since`` (a trusted checkpoint) anchors the walk at its event and checks only what was added after
    it (no registry replay: that needs the whole history). ``on_event(seq)`` reports progress.
    """
    report = _Report()
    verifier = keys.verifier if keys is not None else None
    head_seq, head_hash = _head(conn, report)
    seals = _seals(conn, report)
    walk = _Walk()
    if since is not None:
        replay = False
        checkpoint = checkpoint if checkpoint is not None else since
        _anchor(conn, since, walk, report)
        seals = [s for s in seals if s.last_seq > since.size]
    seal_first = {s.first_seq: s for s in seals}
    seal_last = {s.last_seq: s for s in seals}
    wanted = {s.last_seq for s in seals} | {s.first_seq - 1 for s in seals}
    if checkpoint is not None:
        wanted.add(checkpoint.size)
    signed = [s.first_seq for s in seals if s.signature is not None]
    auth = _Auth(keys.auth_secret if keys is not None else None, min(signed) if signed else None)
    try:
        _walk_sealed(conn, head_seq, wanted, seal_first, seal_last, auth, walk, report, on_event)
    except Exception as err:  # a driver error on a value it cannot convert: report, do not crash
        _storage_failure(err)
        report.add(walk.last_seq + 1, f"連番 {walk.last_seq + 1} 以降を読み取れません（{type(err).__name__}）")
    if head_seq is not None and (walk.last_seq != head_seq or walk.last_hash != head_hash):
        report.add(walk.last_seq + 1, f"先頭情報（連番 {head_seq}）とイベント列（末尾 {walk.last_seq}）が一致しません")
    _beyond_head(conn, head_seq, report)
    _neither_sealed_nor_queued(conn, report)
    signature = _check_seals(seals, walk, head_seq, head_hash, verifier, report, since)
    unsealed = _unsealed(conn, walk, now, max_unsealed_age_s, report)
    checkpoint_state = _check_checkpoint(checkpoint, keys, walk, report)
    registry_checked = 0
    if replay:
        _check_counters(conn, walk, report)
        _check_change_log(conn, walk, report)
        registry_checked = _check_registry(conn, walk, digest_secret, verifier is not None, report)
        _check_accounts(conn, walk, report)
    findings = tuple(report.findings) + ((f"ほか {report.dropped} 件",) if report.dropped else ())
    ok = not report.findings
    if signature == "invalid":
        ok = False
    message = (
        f"監査証跡は正常です（{walk.checked} 件、署名: {_SIGNATURE_LABEL[signature]}）" if ok else report.findings[0]
    )
    return VerifyResult(
        ok, walk.checked, head_seq if head_seq is not None else walk.last_seq, head_hash or walk.last_hash,
        None if ok else (report.first_broken if report.first_broken is not None else walk.last_seq + 1), message,
        signature=signature, findings=findings, unsealed=unsealed, registry_checked=registry_checked,
        checkpoint=checkpoint_state,
    )


_SIGNATURE_LABEL = {"verified": "検証済み", "unsigned": "署名なし", "unverified": "未検証（検証鍵なし）",
                    "invalid": "不正"}


def _head(conn: sa.Connection, report: _Report) -> tuple[int | None, str | None]:
    try:
        rows = conn.execute(sa.select(chain_head.c.last_seq, chain_head.c.last_hash)).all()
    except Exception as err:
        _storage_failure(err)
        report.add(None, f"先頭情報を読み取れません（{type(err).__name__}）")
        return None, None
    if len(rows) != 1 or _int(rows[0][0]) is None or _text(rows[0][1]) is None:
        report.add(None, f"先頭情報の行が不正です（{len(rows)} 行）")
        return None, None
    return _int(rows[0][0]), _text(rows[0][1])


def _seals(conn: sa.Connection, report: _Report) -> list[_Seal]:
    out: list[_Seal] = []
    try:
        rows = conn.execute(sa.select(audit_seal).order_by(audit_seal.c.first_seq)).all()
    except Exception as err:
        _storage_failure(err)
        report.add(None, f"封緘の記録を読み取れません（{type(err).__name__}）")
        return out
    for row in rows:
        first, last = _int(row.first_seq), _int(row.last_seq)
        prev, head = _text(row.prev_hash), _text(row.head_hash)
        if first is None or last is None or prev is None or head is None:
            report.add(first, f"封緘の記録（ID {row.id}）が不正です")
            continue
        out.append(_Seal(first, last, prev, head, _text(row.signature), _text(row.key_id)))
    return out


def _anchor(conn: sa.Connection, since: Checkpoint, walk: _Walk, report: _Report) -> None:
    """Start the walk after a trusted checkpoint: its event must still carry the checkpoint's hash."""
    walk.last_seq, walk.last_hash = since.size, since.head_hash
    walk.hash_at[since.size] = since.head_hash
    if since.size == 0:
        if since.head_hash != GENESIS_HASH:
            report.add(1, "連番 0 のチェックポイントのハッシュが起点と一致しません")
        return
    try:
        found = conn.execute(
            sa.select(audit_event.c.event_hash).where(audit_event.c.sealed == 1, audit_event.c.seq == since.size)
        ).first()
    except Exception as err:
        _storage_failure(err)
        report.add(since.size, f"チェックポイントの連番 {since.size} を読み取れません（{type(err).__name__}）")
        return
    if found is None:
        report.add(since.size, f"チェックポイントの連番 {since.size} のイベントがありません（切り詰めの疑い）")
    elif found.event_hash != since.head_hash:
        report.add(since.size, f"連番 {since.size} のハッシュがチェックポイントと一致しません（改ざんの疑い）")


def _iter_sealed(conn: sa.Connection, head_seq: int | None, from_seq: int = 1) -> Iterator[sa.Row[Any]]:
    # "seq IS NOT NULL" lets the partial index on seq serve the order (a sealed row without a seq is
    # reported by the seal-state check); every seq is walked, 0 and below included.
    stmt = (
        sa.select(audit_event)
        .where(audit_event.c.sealed == 1, audit_event.c.seq.is_not(None))
        .order_by(audit_event.c.seq)
    )
    if from_seq > 1:
        stmt = stmt.where(audit_event.c.seq >= from_seq)
    if head_seq is not None:
        stmt = stmt.where(audit_event.c.seq <= head_seq)
    with conn.execute(stmt.execution_options(yield_per=2000)) as result:  # server-side cursor: closed
        yield from result


@dataclass
class _Auth:
    """Writer tags are checked with the secret: every tag present, and a missing one from the first
    signed seal or the first tagged event on, whichever comes first.

    The first tagged event counts too: a DBA who strips the signatures of every seal up to one that
    signed a forged queued event must not make that stretch read as "before the key was configured".
    """

    secret: bytes | None
    signed_from: int | None
    tagged_from: int | None = None

    def check(self, row: Any, seq: int, details: Mapping[str, Any], report: _Report) -> None:
        if self.secret is None:
            return
        tag = details.get(AUTH_FIELD)
        if tag is None:
            starts = [s for s in (self.signed_from, self.tagged_from) if s is not None]
            if starts and seq >= min(starts):
                report.add(seq, f"連番 {seq} に書き手の認証がありません（プラグイン以外が書いたイベントの疑い）")
            return
        if self.tagged_from is None:
            self.tagged_from = seq
        draft = chain.Draft(row.actor_id, row.actor_dept, row.action, row.target, row.outcome, row.reason_code,
                            details)
        if tag != event_tag(self.secret, chain.leaf_body(row.event_id, row.occurred_at, draft)):
            report.add(seq, f"連番 {seq} の書き手の認証が一致しません（偽造の疑い）")


def _walk_sealed(
    conn: sa.Connection, head_seq: int | None, wanted: set[int], seal_first: Mapping[int, _Seal],
    seal_last: Mapping[int, _Seal], auth: _Auth, walk: _Walk, report: _Report,
    on_event: Callable[[int], object] | None = None,
) -> None:
    seen_leaf = False
    start = walk.last_seq + 1
    with closing(_iter_sealed(conn, head_seq, start)) as rows:  # type: ignore[type-var]  # a generator has close()
        for row in rows:
            seq = _int(row.seq)
            if seq is None:  # pragma: no cover - the query orders by a numeric column
                continue
            if on_event is not None:
                on_event(seq)
            expected = walk.last_seq + 1
            if seq != expected:
                report.add(expected, f"連番 {expected} が欠落しています（次は {seq}）" if seq > expected
                           else f"連番 {seq} が重複しています")
            if row.prev_hash != walk.last_hash:
                report.add(seq, f"連番 {seq} の prev_hash が前のイベントと一致しません")
            if row.leaf_hash is None and seen_leaf:
                report.add(seq, f"連番 {seq} は旧形式のイベントとして記録されています（改ざんの疑い）")
            seen_leaf = seen_leaf or row.leaf_hash is not None
            details = _check_event(row, seq, report)
            if seq in seal_first and seal_first[seq].prev_hash != row.prev_hash:
                report.add(seq, f"連番 {seq} から始まる封緘の直前ハッシュがイベント列と一致しません")
            if seq in seal_last and seal_last[seq].head_hash != row.event_hash:
                report.add(seq, f"連番 {seq} で終わる封緘の先頭ハッシュがイベント列と一致しません（改ざんの疑い）")
            if details is not None:
                try:
                    auth.check(row, seq, details, report)
                except Exception as err:
                    _storage_failure(err)
                    report.add(seq, f"連番 {seq} の書き手の認証を確かめられません（{type(err).__name__}）")
                _collect(row, seq, details, walk, report)
                _queue_deletion(row, seq, details, report)
            walk.checked += 1
            walk.last_seq = seq
            walk.last_hash = _text(row.event_hash) or ""
            if seq in wanted:
                walk.hash_at[seq] = walk.last_hash
    walk.hash_at.setdefault(0, GENESIS_HASH)


def _check_event(row: Any, seq: int, report: _Report) -> dict[str, Any] | None:
    """Recompute the event's hashes; report non-canonical JSON. The parsed details, or None."""
    try:
        details = json.loads(row.details)
        if not isinstance(details, dict):
            raise TypeError("details is not an object")
    except (TypeError, ValueError) as err:
        report.add(seq, f"連番 {seq} の details を JSON として読み取れません（{type(err).__name__}）")
        return None
    if chain.canonical_json(details) != row.details:
        report.add(seq, f"連番 {seq} の details が正規形の JSON ではありません（改ざんの疑い）")
    try:
        if row.leaf_hash is None:  # sealed before 0004: its hash covers the body with its seq
            leaf, digest = chain.expected_hash(row.prev_hash, row)
        else:  # the details already parsed: one serialisation for the leaf
            draft = chain.Draft(row.actor_id, row.actor_dept, row.action, row.target, row.outcome,
                                row.reason_code, details)
            leaf = chain.leaf_hash(chain.leaf_body(row.event_id, row.occurred_at, draft))
            digest = chain.link_hash(row.prev_hash, seq, leaf)
    except Exception as err:
        _storage_failure(err)
        report.add(seq, f"連番 {seq} の内容を読み取れません（{type(err).__name__}）")
        return None
    if (leaf is not None and leaf != row.leaf_hash) or digest != row.event_hash:
        report.add(seq, f"連番 {seq} の内容がハッシュと一致しません（改ざんの疑い）")
    return details


def _queue_deletion(row: Any, seq: int, details: Mapping[str, Any], report: _Report) -> None:
    """An alert a sealer sealed: events its process queued were deleted or replaced before sealing."""
    if row.action == "audit" and details.get("op") == MISSING_OP:
        count = _int(details.get("count"))
        shown = "?" if count is None else str(count)
        report.add(seq, f"封緘前に削除または置き換えられた監査イベントがあります（{shown} 件、検出: 連番 {seq}）")


def _record_id(row: Any, details: Mapping[str, Any]) -> int | None:
    rid = _int(details.get("record_id"))
    if rid is None and isinstance(row.target, str):
        m = _RECORD_TARGET.fullmatch(row.target)
        rid = int(m.group(1)) if m else None
    return rid


def _collect(row: Any, seq: int | None, details: Mapping[str, Any], walk: _Walk, report: _Report) -> None:
    """Remember what an event says about counters (any outcome) and registrations (ok only)."""
    if row.action == "export":
        m = _EXPORT_NO.fullmatch(str(details.get("output_no", "")))
        if m:
            walk.max_output_no = max(walk.max_output_no, int(m.group(1)))
        return
    if row.action == "users" and row.outcome == "ok":
        attested = details.get(ATTEST_KEY)
        if isinstance(attested, dict):  # merged: an account added meanwhile keeps its own event's digest
            walk.attested = True
            walk.accounts.update({str(k): str(v) for k, v in attested.items() if isinstance(v, str)})
            return
        if isinstance(details.get(ACCOUNT_KEY), str):
            target = _text(row.target) or ""
            if target.startswith("user:"):
                walk.accounts[target[len("user:"):]] = str(details[ACCOUNT_KEY])
        return
    if row.action not in CHANGE_ACTIONS or row.outcome != "ok":
        return
    walk.change_events += 1
    rid = _record_id(row, details)
    if rid is None:
        walk.change_numbers.append(None)
        report.add(seq, f"変更イベント（連番 {seq}）にレコードIDがありません")
        return
    rec = walk.records.setdefault(rid, _Record())
    _pin_identity(row, details, rec)
    walk.change_numbers.append(rec.address_no)
    if row.action == "delete":
        rec.deleted, rec.seq = True, seq
        return
    version = _int(details.get("row_version"))
    if rec.version is None or (version is not None and version >= rec.version):
        rec.version, rec.seq = version, seq
        rec.release = details.get("release_date", _MISSING) if "row_version" in details else _MISSING
        rec.digest = _text(details.get("row_digest"))


def _pin_identity(row: Any, details: Mapping[str, Any], rec: _Record) -> None:
    """Remember whose registration a record is: the number (register's target, delete's details) and
    the holding department. No change ever moves a row to another person or department, so verify
    checks both even without the signing key's row digests (a moved row would move the caution)."""
    number = row.target if row.action == "register" else details.get("address_no")
    if isinstance(number, str) and number.isdigit():
        rec.address_no = number
    dept = details.get("dept_code")
    if isinstance(dept, str) and dept:
        rec.dept_code = dept


def _beyond_head(conn: sa.Connection, head_seq: int | None, report: _Report) -> None:
    if head_seq is None:
        return
    try:
        beyond = conn.execute(
            sa.select(sa.func.count()).select_from(audit_event)
            .where(audit_event.c.sealed == 1, audit_event.c.seq > head_seq)
        ).scalar_one()
    except Exception as err:
        _storage_failure(err)
        report.add(head_seq + 1, f"先頭より後のイベントを確認できません（{type(err).__name__}）")
        return
    if beyond:
        report.add(head_seq + 1, f"先頭情報（連番 {head_seq}）より後に封緘済みのイベントが {beyond} 件あります"
                                 "（先頭情報が巻き戻されています）")


_odd_state = sa.not_(sa.or_(
    sa.and_(audit_event.c.sealed == 0, audit_event.c.seq.is_(None)),
    sa.and_(audit_event.c.sealed == 1, audit_event.c.seq.is_not(None)),
))


def _neither_sealed_nor_queued(conn: sa.Connection, report: _Report) -> None:
    """Rows the sealer would never pick up and the walk never sees (``sealed = 1`` without a seq, or any
    other marker): the schema's CHECK forbids them, but a DBA may drop a constraint to hide an event."""
    try:
        odd = conn.execute(sa.select(sa.func.count()).select_from(audit_event).where(_odd_state)).scalar_one()
    except Exception as err:
        _storage_failure(err)
        report.add(None, f"イベントの封緘状態を確認できません（{type(err).__name__}）")
        return
    if odd:
        report.add(None, f"封緘済みでも未封緘でもないイベントが {odd} 件あります（連番のない封緘済みなど。隠蔽の疑い）")


def _check_seals(
    seals: list[_Seal], walk: _Walk, head_seq: int | None, head_hash: str | None, verifier: Any,
    report: _Report, since: Checkpoint | None = None,
) -> Literal["verified", "unsigned", "unverified", "invalid"]:
    """Seals tile 1..head and link to each other; from the first signed seal on, every one is signed.

    After a trusted checkpoint only the seals that reach past it are checked; one that straddles the
    checkpoint starts the tiling (its signature covers its own start).
    """
    expected_first, prev_head = 1, GENESIS_HASH
    if since is not None:
        expected_first, prev_head = since.size + 1, since.head_hash
        if seals and seals[0].first_seq <= since.size:
            expected_first, prev_head = seals[0].first_seq, seals[0].prev_hash
    signed_seen, invalid = False, False
    for seal in seals:
        if seal.first_seq != expected_first:
            report.add(min(seal.first_seq, expected_first),
                       f"封緘の範囲が連続していません（連番 {expected_first} のはずが {seal.first_seq} から）")
        if seal.prev_hash != prev_head:
            report.add(seal.first_seq, f"連番 {seal.first_seq} からの封緘が前の封緘とつながっていません")
        if head_seq is not None and seal.last_seq > head_seq:
            report.add(head_seq + 1, f"先頭情報（連番 {head_seq}）より後の封緘（{seal.first_seq}〜{seal.last_seq}）が"
                                     "あります（先頭情報が巻き戻されています）")
        expected_first, prev_head = seal.last_seq + 1, seal.head_hash
        if verifier is None:
            signed_seen = signed_seen or seal.signature is not None
            continue
        if seal.signature is None and not signed_seen:
            continue  # before the key was configured: covered by the next signed seal's prev_hash
        signed_seen = True
        why = verify_seal(verifier, signature=seal.signature, key_id_hex=seal.key_id, first_seq=seal.first_seq,
                          last_seq=seal.last_seq, head_hash=seal.head_hash, prev_head_hash=seal.prev_hash)
        if why is not None:
            invalid = True
            report.add(seal.first_seq, f"封緘（連番 {seal.first_seq}〜{seal.last_seq}）の署名: {why}")
    sealed_to = seals[-1].last_seq if seals else (since.size if since is not None else 0)
    if walk.last_seq and sealed_to < walk.last_seq:  # (beyond the head: reported above)
        report.add(sealed_to + 1, f"連番 {sealed_to + 1}〜{walk.last_seq} を含む封緘の記録がありません")
    elif seals and head_hash is not None and seals[-1].head_hash != head_hash:
        report.add(seals[-1].last_seq, "最後の封緘の先頭ハッシュが先頭情報と一致しません")
    if verifier is not None and seals and seals[-1].signature is None:
        invalid = True
        report.add(seals[-1].first_seq, f"最後の封緘（連番 {seals[-1].first_seq}〜）に署名がありません")
    if invalid:
        return "invalid"
    if verifier is not None and signed_seen:
        return "verified"
    return "unverified" if signed_seen else "unsigned"


def _unsealed(
    conn: sa.Connection, walk: _Walk, now: datetime | None, max_age_s: float | None, report: _Report
) -> int:
    """Count unsealed events (their change and export events join the replay); report overdue ones."""
    try:
        rows = conn.execute(
            sa.select(audit_event.c.action, audit_event.c.target, audit_event.c.outcome, audit_event.c.details)
            .where(audit_event.c.sealed == 0,
                   audit_event.c.action.in_(sorted(CHANGE_ACTIONS | {"export", "users"})))
            .order_by(audit_event.c.id)
        ).all()
        for row in rows:
            try:
                details = json.loads(row.details)
            except (TypeError, ValueError):
                continue  # reported when it is sealed; an unsealed row is not yet part of the chain
            if isinstance(details, dict):
                _collect(row, None, details, walk, report)
        count = int(conn.execute(
            sa.select(sa.func.count()).select_from(audit_event).where(audit_event.c.sealed == 0)
        ).scalar_one())
        if now is not None and max_age_s is not None:
            overdue, oldest = chain.unsealed_overdue(conn, now=now, max_age_s=max_age_s)
            if overdue:
                report.add(None, f"封緘されていないイベントが {overdue} 件、許容時間（{max_age_s:g} 秒）を超えています"
                                 f"（最古 {oldest}）")
        return count
    except Exception as err:
        _storage_failure(err)
        report.add(None, f"未封緘のイベントを確認できません（{type(err).__name__}）")
        return 0


def _check_checkpoint(
    checkpoint: Checkpoint | None, keys: AuditKeys | None, walk: _Walk, report: _Report
) -> Literal["none", "ok", "unsigned", "failed"]:
    if checkpoint is None:
        return "none"
    failed = False
    status = signature_status(checkpoint, keys.verifier if keys is not None else None)
    if status in ("bad", "unknown_key"):
        failed = True
        report.add(None, "チェックポイントの署名を検証できません（" +
                   ("署名が一致しません" if status == "bad" else "検証鍵の署名がありません") + "）")
    if checkpoint.origin is not None and keys is not None and checkpoint.origin != keys.origin:
        failed = True
        report.add(None, f"チェックポイントの origin（{checkpoint.origin}）がこの監査証跡（{keys.origin}）と異なります")
    if checkpoint.size > walk.last_seq:
        failed = True
        report.add(walk.last_seq + 1, f"チェックポイント（連番 {checkpoint.size}）のイベントがありません。"
                                      f"末尾が切り詰められています（現在の末尾 {walk.last_seq}）")
    elif walk.hash_at.get(checkpoint.size) != checkpoint.head_hash:
        failed = True
        report.add(checkpoint.size or 1, f"連番 {checkpoint.size} のハッシュがチェックポイントと一致しません")
    if failed:
        return "failed"
    return "ok" if status == "ok" else "unsigned"


def _check_counters(conn: sa.Connection, walk: _Walk, report: _Report) -> None:
    try:
        values = {str(n): _int(v) for n, v in conn.execute(sa.select(counter.c.counter_name, counter.c.counter_no))}
    except Exception as err:
        _storage_failure(err)
        report.add(None, f"カウンタを読み取れません（{type(err).__name__}）")
        return
    output = values.get(OUTPUT_COUNTER)
    if output is None or output < walk.max_output_no:
        report.add(None, f"出力番号のカウンタ（{output}）が監査証跡の最大の出力番号（{walk.max_output_no}）より小さく、"
                         "出力番号が再利用されるおそれがあります（巻き戻しの疑い）")
    change = values.get(CHANGE_COUNTER)
    if change is None or change != walk.change_events:
        report.add(None, f"変更カウンタ（{change}）が監査証跡の変更イベント数（{walk.change_events}）と一致しません")


def _check_change_log(conn: sa.Connection, walk: _Walk, report: _Report) -> None:
    """dvf_change_log against the trail: the caches of held numbers refresh from it, so an edited number
    would leave a new registration without its caution in every warm process.

    The log holds one row per change since revision 0004, numbered without gaps, for the last change
    events in order; their numbers must be the ones those events changed (compared as multisets).
    """
    try:
        rows = conn.execute(
            sa.select(change_log.c.change_no, change_log.c.address_no).order_by(change_log.c.change_no)
        ).all()
    except Exception as err:
        _storage_failure(err)
        report.add(None, f"変更ログを読み取れません（{type(err).__name__}）")
        return
    if not rows:
        return
    numbers = [_int(r.change_no) for r in rows]
    first = numbers[0] if numbers[0] is not None else 0
    if numbers != list(range(first, first + len(rows))) or len(rows) > len(walk.change_numbers):
        report.add(None, f"変更ログ（{len(rows)} 行）の番号が監査証跡の変更イベント（{len(walk.change_numbers)} 件）と"
                         "一致しません")
        return
    expected = walk.change_numbers[len(walk.change_numbers) - len(rows):]
    if None in expected:
        return  # an event whose number the trail does not name (reported above if it matters)
    if Counter(_text(r.address_no) for r in rows) != Counter(expected):
        report.add(None, "変更ログ（dvf_change_log）の宛名番号が監査証跡の変更イベントと一致しません"
                         "（注意喚起の更新が漏れるおそれ）")


def _check_accounts(conn: sa.Connection, walk: _Walk, report: _Report) -> None:
    """The user registry against the trail: each account as its last change event (or attestation) left it.

    Before any attestation, accounts whose changes carry no digest (written before this check existed,
    or straight into the tables with no event at all) cannot be compared and are not reported; from the
    first attestation on, every account the plugin adds carries a digest, so one without is reported.
    """
    if not walk.accounts and not walk.attested:
        return
    try:
        users = conn.execute(sa.select(app_user)).all()
        roles: dict[Any, list[str]] = {}
        for pk, role in conn.execute(sa.select(user_role.c.user_pk, user_role.c.role_name)):
            roles.setdefault(pk, []).append(str(role))
    except Exception as err:
        _storage_failure(err)
        report.add(None, f"利用者の登録を読み取れません（{type(err).__name__}）")
        return
    present = set()
    for row in users:
        user_id = str(row.user_id)
        present.add(user_id)
        expected = walk.accounts.get(user_id)
        if expected is None:
            if walk.attested:
                report.add(None, f"利用者 {user_id} が、監査証跡に記録のないまま追加されています"
                                 "（利用者の証明の後、プラグインを経ない追加）")  # fmt: skip
            continue
        now = account_digest(user_id, str(row.dept_code), roles.get(row.id, []), bool(row.enabled),
                             row.valid_from, row.valid_to)  # fmt: skip
        if now != expected:
            report.add(None, f"利用者 {user_id} の所属・ロール・有効期間・有効が監査証跡と一致しません"
                             "（プラグインを経ない変更）")  # fmt: skip
    for user_id in sorted(set(walk.accounts) - present):
        report.add(None, f"利用者 {user_id} が監査証跡に記録のないまま削除されています")


def _check_registry(
    conn: sa.Connection, walk: _Walk, secret: bytes | None, require_digest: bool, report: _Report
) -> int:
    """Replay: every row matches the last change event of its record; no row lacks one."""
    seen: set[int] = set()
    try:
        with conn.execute(sa.select(registration).execution_options(yield_per=2000)) as result:
            for row in result:
                rid = _int(row.id)
                if rid is None:  # pragma: no cover - an integer primary key
                    continue
                seen.add(rid)
                _check_row(rid, row, walk.records.get(rid), secret, require_digest, report)
    except Exception as err:
        _storage_failure(err)
        report.add(None, f"登録情報を読み取れません（{type(err).__name__}）")
        return len(seen)
    for rid, rec in sorted(walk.records.items()):
        if rid not in seen and not rec.deleted:
            report.add(None, f"レコードID {rid} の登録が、監査証跡に記録のないまま削除されています")
    return len(seen)


def _check_row(
    rid: int, row: Any, rec: _Record | None, secret: bytes | None, require_digest: bool, report: _Report
) -> None:
    if rec is None:
        report.add(None, f"レコードID {rid} の登録が、監査証跡に記録のないまま追加されています")
        return
    if rec.deleted:
        report.add(None, f"レコードID {rid} は削除が記録されていますが、登録が残っています")
        return
    if (rec.address_no is not None and row.address_no != rec.address_no) or (
        rec.dept_code is not None and row.dept_code != rec.dept_code
    ):
        report.add(None, f"レコードID {rid} の宛名番号または所属コードが、監査証跡に記録のないまま変更されています")
        return
    if rec.release is not _MISSING:
        stored = row.release_date.isoformat() if row.release_date is not None else None
        if stored != rec.release:
            report.add(None, f"レコードID {rid} の解除日が、監査証跡に記録のないまま変更されています"
                             f"（記録 {rec.release or 'なし'}、現在 {stored or 'なし'}）")
            return
    if rec.version is not None and _int(row.row_version) != rec.version:
        report.add(None, f"レコードID {rid} の版が監査証跡（{rec.version}）と異なります（現在 {row.row_version}）")
        return
    if rec.digest is None:
        if require_digest and rec.version is not None:
            report.add(None, f"レコードID {rid} の最後の変更イベントに行ダイジェストがありません（偽造の疑い）")
        return
    if secret is None:
        return  # 氏名・性別・生年月日 edits need the signing key's row digest secret
    try:
        actual = row_digest.row_digest(row, row_digest.derived_salt(secret, rid))
    except Exception as err:
        _storage_failure(err)
        report.add(None, f"レコードID {rid} の内容を読み取れません（{type(err).__name__}）")
        return
    if actual != rec.digest:
        report.add(None, f"レコードID {rid} の内容が、監査証跡に記録のないまま変更されています")
