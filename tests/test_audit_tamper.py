"""Tamper matrix (issue 11): a DBA who can write every table, against verify with a signing key.

Every class is detected with a signing key. Classes that need the external checkpoint (kept outside
the database by an auditor) are marked ``needs_checkpoint``: a tail cut back to an earlier signed seal
— events, seals and head removed consistently — leaves a trail that is a genuine earlier trail, so only
a checkpoint of the longer one shows it. A wipe of the trail is caught without one as long as any
registration exists (the registry replay finds rows the empty trail never recorded), and always with one.
Without a key, a DBA who rewrites and rehashes is not detected (stated by the last test): that is what
the key is for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_hookspecs import VerifyResult
from dvflag_plugin.audit import chain, signing
from dvflag_plugin.audit.account_digest import account_digest
from dvflag_plugin.audit.checkpoint import parse_checkpoint
from dvflag_plugin.audit.ledger import MISSING_OP, MISSING_REASON
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.plugin import service_of
from dvflag_plugin.service import audit_trust
from dvflag_plugin.storage.schema import (
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
from dvflag_plugin.testing import backends
from helpers import make_host

ORIGIN = "city.example/dvflag-test"


@dataclass
class Trail:
    """A host with a signed trail: registrations, a release, reads, an export, all sealed."""

    host: MockHost
    engine: sa.Engine
    checkpoint: str
    record_ids: list[int]
    cut_at: int

    def verify(self, *, checkpoint: bool = False) -> VerifyResult:
        rt = service_of(self.host.pm).runtime
        return audit_trust.verify_now(rt, parse_checkpoint(self.checkpoint) if checkpoint else None)


@pytest.fixture(scope="session")
def keyfile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("keys") / "seal.key"
    signing.generate(out, ORIGIN)
    return out


def _build(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path, keyfile: Path | None) -> Trail:
    settings: dict[str, Any] = {"dvflag.audit_origin": ORIGIN}
    if keyfile is not None:
        settings["dvflag.audit_signing_key"] = str(keyfile)
    host = make_host(engine, data, clock, tmp_path, settings)
    registrar, viewer = host.actor("u-kodomo-reg1"), host.actor("u-kodomo-view1")
    people = [p.address_no for p in data.people if p.in_master][:3]
    ids = [host.call("dvflag.register", registrar, address_no=n).record_id for n in people]
    rt = service_of(host.pm).runtime
    rt.seal()  # several seals: the matrix cuts and re-links between them
    host.call("dvflag.release", registrar, record_id=ids[2], row_version=1)
    host.call("dvflag.export", registrar, format="csv", scope="own")
    cut_at = rt.seal().head_seq  # every change and export is at or before this seq
    for n in people:
        host.call("dvflag.status", viewer, address_no=n)
    text, _, _ = audit_trust.checkpoint_text(rt)
    host.call("dvflag.status", viewer, address_no=people[0])
    rt.seal()
    return Trail(host, engine, text, ids, cut_at)


SAVED = (app_user, user_role, registration, audit_event, audit_seal, change_log, chain_head, counter)


@pytest.fixture(scope="module")
def built(
    backend_engine: sa.Engine, data: DummyDataSet, keyfile: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Trail, dict[sa.Table, list[dict[str, Any]]]]]:
    """The signed trail, built once per backend through the plugin; its rows saved for each test."""
    backends.reset(backend_engine)
    t = _build(backend_engine, data, MutableClock(data.reference_date), tmp_path_factory.mktemp("trail"), keyfile)
    with backend_engine.connect() as conn:
        saved = {table: [dict(r._mapping) for r in conn.execute(sa.select(table))] for table in SAVED}
    try:
        yield t, saved
    finally:
        t.host.close()
        backends.reset(backend_engine)


@pytest.fixture
def trail(built: tuple[Trail, dict[sa.Table, list[dict[str, Any]]]]) -> Trail:
    """The built trail, its rows restored as they were (a test's tampering undone)."""
    t, saved = built
    backends.reset(t.engine)
    with t.engine.begin() as conn:
        for table, rows in saved.items():
            if table in (chain_head, counter):
                for row in rows:
                    key = table.c.id if table is chain_head else table.c.counter_name
                    name = "id" if table is chain_head else "counter_name"
                    conn.execute(sa.update(table).where(key == row[name]).values(**row))
            elif rows:
                conn.execute(sa.insert(table), rows)
    return t


# -- the DBA's tools -------------------------------------------------------------------------------


def _sealed(conn: sa.Connection) -> list[Any]:
    return list(conn.execute(sa.select(audit_event).where(audit_event.c.sealed == 1).order_by(audit_event.c.seq)))


def _rehash_from(conn: sa.Connection, rows: list[SimpleNamespace], start: int) -> None:
    """Recompute every leaf and chained hash from index ``start``, then the seals' hashes and the head."""
    prev = rows[start - 1].event_hash if start else GENESIS_HASH
    for row in rows[start:]:
        row.prev_hash = prev
        leaf, digest = chain.expected_hash(prev, row)
        row.leaf_hash, row.event_hash = leaf, digest
        conn.execute(
            sa.update(audit_event).where(audit_event.c.id == row.id)
            .values(seq=row.seq, details=row.details, target=row.target, leaf_hash=leaf, prev_hash=prev,
                    event_hash=digest)
        )
        prev = digest
    by_seq = {r.seq: r.event_hash for r in rows}
    by_seq[0] = GENESIS_HASH
    for seal in conn.execute(sa.select(audit_seal)).all():
        conn.execute(
            sa.update(audit_seal).where(audit_seal.c.id == seal.id)
            .values(prev_hash=by_seq.get(seal.first_seq - 1, seal.prev_hash), head_hash=by_seq.get(seal.last_seq,
                                                                                                    seal.head_hash))
        )
    conn.execute(sa.update(chain_head).values(last_seq=rows[-1].seq, last_hash=prev))


def _ns(row: Any) -> SimpleNamespace:
    return SimpleNamespace(**row._mapping)


def edit(conn: sa.Connection, t: Trail) -> None:
    rows = _sealed(conn)
    conn.execute(sa.update(audit_event).where(audit_event.c.seq == rows[2].seq).values(actor_id="intruder"))


def delete(conn: sa.Connection, t: Trail) -> None:
    conn.execute(sa.delete(audit_event).where(audit_event.c.seq == 3))


def insert(conn: sa.Connection, t: Trail) -> None:
    """A sealed event slipped in after the head, its hashes right, the head left alone."""
    last = _ns(_sealed(conn)[-1])
    forged = SimpleNamespace(**{**vars(last), "seq": last.seq + 1, "event_id": "00000000-0000-4000-8000-000000000001",
                                "prev_hash": last.event_hash})
    forged.leaf_hash, forged.event_hash = chain.expected_hash(last.event_hash, forged)
    values = {k: v for k, v in vars(forged).items() if k != "id"}
    conn.execute(sa.insert(audit_event).values(**values))


def swap(conn: sa.Connection, t: Trail) -> None:
    rows = _sealed(conn)
    a, b = rows[3], rows[5]
    for row, other in ((a, b), (b, a)):
        conn.execute(sa.update(audit_event).where(audit_event.c.id == row.id)
                     .values(action=other.action, target=other.target, details=other.details,
                             actor_id=other.actor_id, actor_dept=other.actor_dept))


def rewrite_with_rehash(conn: sa.Connection, t: Trail) -> None:
    rows = [_ns(r) for r in _sealed(conn)]
    rows[4].target = "000000000000999"
    _rehash_from(conn, rows, 4)


def truncate_middle_and_rehash(conn: sa.Connection, t: Trail) -> None:
    rows = [_ns(r) for r in _sealed(conn)]
    victim = rows.pop(3)
    conn.execute(sa.delete(audit_event).where(audit_event.c.id == victim.id))
    for row in rows[3:]:
        row.seq -= 1
    conn.execute(sa.update(audit_event).where(audit_event.c.seq > victim.seq).values(seq=audit_event.c.seq + 100000))
    seals = conn.execute(sa.select(audit_seal).order_by(audit_seal.c.first_seq)).all()
    conn.execute(sa.delete(audit_seal))
    for seal in seals:  # the seal ranges renumbered around the hole; an emptied seal dropped
        first = seal.first_seq - (seal.first_seq > victim.seq)
        last = seal.last_seq - (seal.last_seq >= victim.seq)
        if last >= first:
            conn.execute(sa.insert(audit_seal).values(**{**seal._mapping, "first_seq": first, "last_seq": last}))
    _rehash_from(conn, rows, 3)


def forged_append(conn: sa.Connection, t: Trail) -> None:
    """Append a chained event, move the head and add a seal row with a signature copied from another."""
    last = _ns(_sealed(conn)[-1])
    forged = SimpleNamespace(**{**vars(last), "seq": last.seq + 1, "event_id": "00000000-0000-4000-8000-000000000002",
                                "prev_hash": last.event_hash, "actor_id": "framed-user"})
    forged.leaf_hash, forged.event_hash = chain.expected_hash(last.event_hash, forged)
    conn.execute(sa.insert(audit_event).values(**{k: v for k, v in vars(forged).items() if k != "id"}))
    conn.execute(sa.update(chain_head).values(last_seq=forged.seq, last_hash=forged.event_hash))
    copied = conn.execute(sa.select(audit_seal).order_by(audit_seal.c.id.desc())).first()
    assert copied is not None
    conn.execute(sa.insert(audit_seal).values(
        first_seq=forged.seq, last_seq=forged.seq, prev_hash=last.event_hash, head_hash=forged.event_hash,
        sealed_at=copied.sealed_at, signature=copied.signature, key_id=copied.key_id,
    ))


def forged_queued_event(conn: sa.Connection, t: Trail) -> None:
    """A row slipped into the unsealed queue (its leaf hash right); the genuine sealer seals and signs it."""
    draft = chain.Draft("u-kodomo-view1", "D0201", "export", "export:EXP-20261126-000099", "ok", None,
                        {"format": "csv", "output_no": "EXP-20261126-000001"})
    chain.enqueue(conn, draft, now=t.host.clock())


def strip_signatures_and_rehash(conn: sa.Connection, t: Trail) -> None:
    conn.execute(sa.update(audit_seal).values(signature=None, key_id=None))
    rewrite_with_rehash(conn, t)


def head_reset(conn: sa.Connection, t: Trail) -> None:
    first = conn.execute(sa.select(audit_seal).order_by(audit_seal.c.first_seq)).first()
    assert first is not None
    conn.execute(sa.update(chain_head).values(last_seq=first.last_seq, last_hash=first.head_hash))


def truncate_tail(conn: sa.Connection, t: Trail) -> None:
    """Cut the reads after the last change and export: events, seals and head removed consistently."""
    hash_at = conn.execute(sa.select(audit_event.c.event_hash).where(audit_event.c.seq == t.cut_at)).scalar_one()
    conn.execute(sa.delete(audit_seal).where(audit_seal.c.first_seq > t.cut_at))
    conn.execute(sa.delete(audit_event).where(audit_event.c.seq > t.cut_at))
    conn.execute(sa.update(chain_head).values(last_seq=t.cut_at, last_hash=hash_at))


def wipe_trail(conn: sa.Connection, t: Trail) -> None:
    """Trail, seals, head and counters emptied; the registrations stay (the replay finds them)."""
    conn.execute(sa.delete(audit_seal))
    conn.execute(sa.delete(audit_event))
    conn.execute(sa.update(chain_head).values(last_seq=0, last_hash=GENESIS_HASH))
    conn.execute(sa.update(counter).values(counter_no=0))


def wipe_everything(conn: sa.Connection, t: Trail) -> None:
    """The trail and the registry emptied: an empty database, only a checkpoint remembers."""
    wipe_trail(conn, t)
    conn.execute(sa.delete(registration))
    conn.execute(sa.delete(change_log))  # the change log too, or verify sees changes the trail lacks


def output_counter_reset(conn: sa.Connection, t: Trail) -> None:
    conn.execute(sa.update(counter).where(counter.c.counter_name == OUTPUT_COUNTER).values(counter_no=0))


def change_counter_changed(conn: sa.Connection, t: Trail) -> None:
    conn.execute(sa.update(counter).where(counter.c.counter_name != OUTPUT_COUNTER)
                 .values(counter_no=counter.c.counter_no + 5))


def non_canonical_json(conn: sa.Connection, t: Trail) -> None:
    row = next(r for r in _sealed(conn) if r.details not in ("{}",))
    spaced = json.dumps(json.loads(row.details), ensure_ascii=False, indent=1)
    conn.execute(sa.update(audit_event).where(audit_event.c.id == row.id).values(details=spaced))


def registration_edit(conn: sa.Connection, t: Trail) -> None:
    conn.execute(sa.update(registration).where(registration.c.id == t.record_ids[0]).values(name="改竄\u3000太郎"))


def registration_edit_with_version(conn: sa.Connection, t: Trail) -> None:
    """An edit that keeps the row version and 解除日: only the salted digest can see it."""
    conn.execute(sa.update(registration).where(registration.c.id == t.record_ids[0])
                 .values(birth_date=date(1970, 1, 1)))


def registration_delete(conn: sa.Connection, t: Trail) -> None:
    conn.execute(sa.delete(registration).where(registration.c.id == t.record_ids[1]))


def registration_release(conn: sa.Connection, t: Trail) -> None:
    row = conn.execute(sa.select(registration).where(registration.c.id == t.record_ids[0])).one()
    conn.execute(sa.update(registration).where(registration.c.id == row.id).values(release_date=row.input_date))


def registration_unrelease(conn: sa.Connection, t: Trail) -> None:
    conn.execute(sa.update(registration).where(registration.c.id == t.record_ids[2]).values(release_date=None))


def registration_add(conn: sa.Connection, t: Trail) -> None:
    row = conn.execute(sa.select(registration).where(registration.c.id == t.record_ids[0])).one()
    values = {k: v for k, v in row._mapping.items() if k != "id"}
    conn.execute(sa.insert(registration).values(**{**values, "dept_code": "D9999"}))


Tamper = Callable[[sa.Connection, Trail], None]
MATRIX: list[tuple[Tamper, bool, str]] = [
    (edit, False, "ハッシュと一致しません"),
    (delete, False, "欠落しています"),
    (insert, False, "先頭情報が巻き戻されています"),
    (swap, False, "ハッシュと一致しません"),
    (rewrite_with_rehash, False, "署名が一致しません"),
    (truncate_middle_and_rehash, False, "署名が一致しません"),
    (forged_append, False, "署名が一致しません"),
    (forged_queued_event, False, "書き手の認証がありません"),
    (strip_signatures_and_rehash, False, "署名がありません"),
    (head_reset, False, "先頭情報が巻き戻されています"),
    (truncate_tail, True, "切り詰められています"),
    (wipe_trail, False, "記録のないまま追加されています"),
    (wipe_everything, True, "切り詰められています"),
    (output_counter_reset, False, "出力番号が再利用されるおそれ"),
    (change_counter_changed, False, "変更カウンタ"),
    (non_canonical_json, False, "正規形の JSON ではありません"),
    (registration_edit, False, "内容が、監査証跡に記録のないまま変更されています"),
    (registration_edit_with_version, False, "内容が、監査証跡に記録のないまま変更されています"),
    (registration_delete, False, "記録のないまま削除されています"),
    (registration_release, False, "解除日が、監査証跡に記録のないまま変更されています"),
    (registration_unrelease, False, "解除日が、監査証跡に記録のないまま変更されています"),
    (registration_add, False, "記録のないまま追加されています"),
]
"""(tamper class, needs the external checkpoint, what verify must say)."""


@pytest.mark.parametrize(("tamper", "needs_checkpoint", "says"), MATRIX, ids=[f.__name__ for f, _, _ in MATRIX])
def test_every_tamper_class_is_detected_with_a_signing_key(
    trail: Trail, tamper: Tamper, needs_checkpoint: bool, says: str
) -> None:
    before = trail.verify(checkpoint=True)
    assert before.ok, before.findings
    assert (before.signature, before.checkpoint) == ("verified", "ok")
    with trail.engine.begin() as conn:
        tamper(conn, trail)
    if tamper is forged_queued_event:
        assert service_of(trail.host.pm).runtime.seal().sealed == 1  # type: ignore[union-attr]
    after = trail.verify(checkpoint=needs_checkpoint)
    assert not after.ok, f"{tamper.__name__} not detected"
    assert after.findings and after.message == after.findings[0]
    assert any(says in f for f in after.findings), after.findings
    if needs_checkpoint:  # the README's statement: without the checkpoint this class passes
        assert trail.verify().ok, f"{tamper.__name__} is caught without a checkpoint: update the matrix and README"


def test_without_a_key_a_rewrite_with_rehash_passes(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    t = _build(engine, data, clock, tmp_path, None)
    try:
        with engine.begin() as conn:
            rewrite_with_rehash(conn, t)
        result = t.verify()
        assert (result.ok, result.signature) == (True, "unsigned")  # why dvflag.audit_signing_key exists
    finally:
        t.host.close()


GARBAGE: list[tuple[sa.Table, str, object]] = [
    (audit_event, "event_id", "not-a-uuid"), (audit_event, "occurred_at", None), (audit_event, "actor_id", ""),
    (audit_event, "action", "x" * 32), (audit_event, "target", "\u202e"), (audit_event, "outcome", "denied"),
    (audit_event, "reason_code", "r"), (audit_event, "details", "{not json"), (audit_event, "details", "[1,2]"),
    (audit_event, "details", '"text"'), (audit_event, "leaf_hash", None), (audit_event, "leaf_hash", "z" * 64),
    (audit_event, "prev_hash", "0" * 63), (audit_event, "event_hash", "short"), (audit_event, "seq", -7),
    (audit_seal, "signature", "%%%"), (audit_seal, "key_id", "x" * 128), (audit_seal, "first_seq", 0),
    (audit_seal, "last_seq", 10**12), (audit_seal, "prev_hash", ""), (audit_seal, "head_hash", "é"),
    (chain_head, "last_seq", -1), (chain_head, "last_hash", "?"), (counter, "counter_no", -3),
    (registration, "name", ""), (registration, "row_version", -1), (registration, "release_date", date(9999, 12, 31)),
]


@pytest.mark.parametrize(("table", "column", "value"), GARBAGE,
                         ids=[f"{t.name}.{c}={v!r:.12}" for t, c, v in GARBAGE])
def test_verify_reports_garbage_in_any_column_and_never_crashes(
    trail: Trail, table: sa.Table, column: str, value: object
) -> None:
    with trail.engine.begin() as conn:
        if table is audit_event:
            victim = _sealed(conn)[4]
            stmt = sa.update(table).where(table.c.id == victim.id)
            if column == "occurred_at":  # NOT NULL: the garbage is a time far from the truth
                value = victim.occurred_at.replace(year=1999)
        elif table is audit_seal:
            stmt = sa.update(table).where(table.c.id == conn.execute(sa.select(sa.func.min(table.c.id))).scalar_one())
        elif table is registration:
            stmt = sa.update(table).where(table.c.id == trail.record_ids[1])
        else:
            stmt = sa.update(table)
        try:
            conn.execute(stmt.values({column: value}))
        except sa.exc.DBAPIError:
            pytest.fail(f"setup: {table.name}.{column} refused {value!r}")
    result = trail.verify()
    assert not result.ok and result.findings


def test_full_verify_reads_one_snapshot_while_changes_and_cautions_commit(
    trail: Trail, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change, a caution and a seal committed after verify walked the events, before it reads the
    counters and the registry, are not reported: every read sees the snapshot of the first one."""
    from dvflag_plugin.audit import verify as verify_mod
    from dvflag_plugin.storage.transactions import snapshot

    rt = service_of(trail.host.pm).runtime
    registrar = trail.host.actor("u-kodomo-reg1")
    check_counters = verify_mod._check_counters

    def meanwhile(*args: Any) -> None:
        with trail.engine.connect() as other:
            version = other.execute(sa.select(registration.c.row_version)
                                    .where(registration.c.id == trail.record_ids[0])).scalar_one()
        reg = trail.host.call("dvflag.update", registrar, record_id=trail.record_ids[0], row_version=version,
                              sex_code=9 if version % 2 else 0)
        trail.host.notices(trail.host.actor("u-zeimu-view1"), [reg.address_no])
        rt.seal()
        check_counters(*args)

    monkeypatch.setattr(verify_mod, "_check_counters", meanwhile)
    with snapshot(trail.engine) as conn:
        head = chain.read_head(conn)
        result = verify_mod.verify(conn, keys=rt.audit_keys, digest_secret=rt.audit_keys.digest_secret)
    assert result.ok, result.findings
    assert (result.head_seq, result.signature) == (head.last_seq, "verified")
    monkeypatch.undo()
    assert trail.verify().ok  # the next snapshot sees the change with its event
    with trail.engine.connect() as conn:  # and without a snapshot the same interleaving is a false report
        monkeypatch.setattr(verify_mod, "_check_counters", meanwhile)
        conn.execute(sa.text("SELECT 1"))
        conn.commit()
        torn = verify_mod.verify(conn.execution_options(isolation_level="AUTOCOMMIT"), keys=rt.audit_keys,
                                 digest_secret=rt.audit_keys.digest_secret)
    assert not torn.ok


# -- the red-team rerun (issue 11 "Done when"): classes beyond the matrix ----------------------------


def _seals(conn: sa.Connection) -> list[Any]:
    return list(conn.execute(sa.select(audit_seal).order_by(audit_seal.c.first_seq)))


def seal_last_deleted(conn: sa.Connection, t: Trail) -> None:
    conn.execute(sa.delete(audit_seal).where(audit_seal.c.id == _seals(conn)[-1].id))


def seal_key_id_changed(conn: sa.Connection, t: Trail) -> None:
    conn.execute(sa.update(audit_seal).where(audit_seal.c.id == _seals(conn)[0].id).values(key_id="00000000"))


def seals_merged(conn: sa.Connection, t: Trail) -> None:
    first, second = _seals(conn)[:2]
    conn.execute(sa.delete(audit_seal).where(audit_seal.c.id == second.id))
    conn.execute(sa.update(audit_seal).where(audit_seal.c.id == first.id)
                 .values(last_seq=second.last_seq, head_hash=second.head_hash))


def seq_swapped_between_batches(conn: sa.Connection, t: Trail) -> None:
    """Two events of different batches trade places, the chain rehashed around them."""
    rows = [_ns(r) for r in _sealed(conn)]
    first = _seals(conn)[0]
    a, b = first.last_seq - 1, first.last_seq  # the last of batch 1 and the first of batch 2 (0-based)
    rows[a], rows[b] = rows[b], rows[a]
    rows[a].seq, rows[b].seq = rows[b].seq, rows[a].seq
    conn.execute(sa.update(audit_event).where(audit_event.c.id.in_([rows[a].id, rows[b].id]))
                 .values(seq=audit_event.c.seq + 100000))
    _rehash_from(conn, rows, a)


def signatures_of_a_prefix_stripped_after_a_forged_queued_event(conn: sa.Connection, t: Trail) -> None:
    """Stripping the signatures of every seal up to the one that signed a forged queued event
    makes that prefix read as "before the key was configured"."""
    seals = _seals(conn)
    forged = max(r.seq for r in _sealed(conn) if r.actor_id == "forger")
    conn.execute(sa.update(audit_seal).where(audit_seal.c.first_seq <= forged).values(signature=None, key_id=None))
    assert any(s.last_seq > forged for s in seals)


def queued_event_deleted(conn: sa.Connection, t: Trail) -> None:
    """A read queued and not yet sealed (who looked at a victim) is deleted before the sealer runs."""
    conn.execute(sa.delete(audit_event).where(audit_event.c.sealed == 0))


def last_export_cut_with_the_tail(conn: sa.Connection, t: Trail) -> None:
    """The tail cut back to just before the export: events, seals, head consistent; counters untouched."""
    export = conn.execute(sa.select(audit_event.c.seq).where(audit_event.c.action == "export")).scalar_one()
    cut = export - 1
    seals = _seals(conn)
    keep = [s for s in seals if s.last_seq <= cut]
    hash_at = conn.execute(
        sa.select(audit_event.c.event_hash).where(audit_event.c.seq == keep[-1].last_seq)
    ).scalar_one()
    # Requeue what followed the export in the tail's batches (the sealer re-signs it): here, drop it all.
    conn.execute(sa.delete(audit_seal).where(audit_seal.c.first_seq > keep[-1].last_seq))
    conn.execute(sa.delete(audit_event).where(audit_event.c.seq > keep[-1].last_seq))
    conn.execute(sa.update(chain_head).values(last_seq=keep[-1].last_seq, last_hash=hash_at))


def _public_keys(keyfile: Any) -> signing.AuditKeys:
    return signing.configured_keys(None, str(signing.public_path_for(keyfile)), ORIGIN)


def _verify(t: Trail, keys: signing.AuditKeys | None = None) -> Any:
    rt = service_of(t.host.pm).runtime
    if keys is None:
        return audit_trust.verify_now(rt, None)
    from dvflag_plugin.audit import verify as verify_mod
    from dvflag_plugin.storage.transactions import snapshot

    rt.seal()
    with snapshot(rt.engine) as conn:
        return verify_mod.verify(conn, keys=keys, now=rt.now(), max_unsealed_age_s=rt.settings.audit_max_unsealed_s)


@pytest.mark.parametrize(
    "tamper",
    [seal_last_deleted, seal_key_id_changed, seals_merged, seq_swapped_between_batches],
    ids=lambda f: f.__name__,
)
def test_seal_table_tampering_is_detected_with_the_public_key(trail: Trail, tamper: Tamper, keyfile: Any) -> None:
    assert _verify(trail, _public_keys(keyfile)).ok
    with trail.engine.begin() as conn:
        tamper(conn, trail)
    for keys in (_public_keys(keyfile), None):
        after = _verify(trail, keys)
        assert not after.ok, (tamper.__name__, after)


def test_stripping_the_signatures_of_a_prefix_does_not_hide_a_forged_queued_event(trail: Trail) -> None:
    """Writer tags are checked from the first tagged event on, not only from the first signed seal."""
    rt = service_of(trail.host.pm).runtime
    with trail.engine.begin() as conn:  # the DBA slips a read into the queue; the genuine sealer signs it
        chain.enqueue(conn, chain.Draft("forger", "D0201", "status", "000000000000001", "ok", None, {}),
                      now=trail.host.clock())
    rt.seal()
    trail.host.call("dvflag.status", trail.host.actor("u-kodomo-view1"), address_no="000000000000001")
    rt.seal()
    caught = _verify(trail)
    assert not caught.ok and any("書き手の認証がありません" in f for f in caught.findings)
    with trail.engine.begin() as conn:
        signatures_of_a_prefix_stripped_after_a_forged_queued_event(conn, trail)
    after = _verify(trail)
    assert after.signature == "verified"  # the later seals still verify: the prefix reads as "before the key"
    assert not after.ok and any("書き手の認証がありません" in f for f in after.findings), after


@pytest.mark.parametrize(("column", "value"), [("dept_code", "D0999"), ("address_no", "000000000099999")])
def test_a_registration_moved_to_another_person_or_department_is_seen_with_the_public_key(
    trail: Trail, keyfile: Any, column: str, value: str
) -> None:
    """Row version and 解除日 kept: without this check only the secret's row digest saw it, and a
    public-key verify (the auditor's) said 正常 while the caution had moved to someone else."""
    from dvflag_plugin.storage.schema import registration

    with trail.engine.begin() as conn:
        conn.execute(sa.update(registration).where(registration.c.id == trail.record_ids[0]).values({column: value}))
    for keys in (_public_keys(keyfile), None):
        after = _verify(trail, keys)
        assert not after.ok
        assert any("宛名番号または所属コードが、監査証跡に記録のないまま変更されています" in f for f in after.findings)
        assert value not in after.message  # the finding names the record, not the number


def test_an_export_cut_with_the_tail_needs_the_checkpoint(trail: Trail) -> None:
    """Counters only show a rewound 出力番号 (a counter behind the trail); a counter ahead of it is also
    what a crash between taking the number and committing the event leaves, so it is not reported.
    Cutting the tail back to before an export — with the change events kept — therefore needs the
    external checkpoint, like any tail cut."""
    with trail.engine.begin() as conn:
        last_export_cut_with_the_tail(conn, trail)
    assert _verify(trail).ok  # the README's threat table says so: a checkpoint is needed
    rt = service_of(trail.host.pm).runtime
    after = audit_trust.verify_now(rt, parse_checkpoint(trail.checkpoint))
    assert not after.ok and any("切り詰められています" in f for f in after.findings)


# -- queued events deleted before any seal covers them (audit/ledger.py) ------------------------------


def _quiet_host(t: Trail, data: DummyDataSet, clock: MutableClock, tmp_path: Path, keyfile: Path,
                **extra: Any) -> MockHost:
    """Another process of the host: its calls queue events below its batch size, before its interval."""
    return MockHost(t.engine, data=data, clock=clock, migrate=False, settings={
        "dvflag.audit_log_path": str(tmp_path / "quiet.jsonl"), "dvflag.audit_seal_batch": 1000,
        "dvflag.audit_seal_interval_s": 3600, "dvflag.audit_signing_key": str(keyfile),
        "dvflag.audit_origin": ORIGIN, **extra})  # fmt: skip


QUEUE_DELETED = "封緘前に削除または置き換えられた監査イベントがあります"


def _queue_deleted(result: VerifyResult) -> list[str]:
    return [f for f in result.findings if QUEUE_DELETED in f]


def _unsealed_ids(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(audit_event.c.event_id).where(audit_event.c.sealed == 0)).scalars())


def _alerts(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return [r for r in conn.execute(sa.select(audit_event).where(audit_event.c.action == "audit")
                                        .order_by(audit_event.c.id)) if json.loads(r.details).get("op") == MISSING_OP]


def test_a_queued_read_deleted_before_the_sealer_runs_is_reported(
    trail: Trail, data: DummyDataSet, clock: MutableClock, tmp_path: Path, keyfile: Path
) -> None:
    """A process queues a read (below its batch size, before its interval); a DBA deletes it. The
    writer's next seal round (here its close()) records the deletion in a sealed, signed alert; verify
    from another runtime then reports it, and goes on reporting it."""
    quiet = _quiet_host(trail, data, clock, tmp_path, keyfile)
    try:
        quiet.call("dvflag.status", quiet.actor("u-kodomo-view1"), address_no="000000000000001")
        [victim] = _unsealed_ids(trail.engine)
        with trail.engine.begin() as conn:
            assert conn.execute(sa.delete(audit_event).where(audit_event.c.sealed == 0)).rowcount == 1
        assert _verify(trail).ok  # what remains open: until the writer's next seal round nothing shows
    finally:
        quiet.close()
    after = _verify(trail)
    [alert] = _alerts(trail.engine)
    assert not after.ok and _queue_deleted(after) == [f"{QUEUE_DELETED}（1 件、検出: 連番 {alert.seq}）"], after
    assert after.first_broken_seq == alert.seq
    assert (alert.sealed, alert.outcome, alert.reason_code, alert.actor_id) == (1, "error", MISSING_REASON,
                                                                                "(dvflag-sealer)")
    details = json.loads(alert.details)
    assert (details["op"], details["count"], details["event_ids"]) == (MISSING_OP, 1, [victim])
    assert set(details) <= {"op", "count", "event_ids", signing.AUTH_FIELD}  # ids only, never a name or a date
    public = _verify(trail, _public_keys(keyfile))
    assert public.signature == "verified" and _queue_deleted(public)  # sealed and signed with the batch
    trail.host.call("dvflag.status", trail.host.actor("u-kodomo-view1"), address_no="000000000000001")
    assert _queue_deleted(_verify(trail)) and len(_alerts(trail.engine)) == 1  # for ever after, said once


def test_a_queued_event_replaced_before_the_sealer_runs_is_reported(
    trail: Trail, data: DummyDataSet, clock: MutableClock, tmp_path: Path, keyfile: Path
) -> None:
    """Same event id, another content and a recomputed leaf: the sealer would chain it as genuine."""
    quiet = _quiet_host(trail, data, clock, tmp_path, keyfile)
    try:
        quiet.call("dvflag.status", quiet.actor("u-kodomo-view1"), address_no="000000000000001")
        with trail.engine.begin() as conn:
            row = conn.execute(sa.select(audit_event).where(audit_event.c.sealed == 0)).one()
            draft = chain.Draft(row.actor_id, row.actor_dept, row.action, "000000000000002", row.outcome,
                                row.reason_code, json.loads(row.details))
            leaf = chain.leaf_hash(chain.leaf_body(row.event_id, row.occurred_at, draft))
            conn.execute(sa.update(audit_event).where(audit_event.c.id == row.id)
                         .values(target="000000000000002", leaf_hash=leaf))
        service_of(quiet.pm).runtime.seal()  # an explicit seal round of the writer
        [alert] = _alerts(trail.engine)
        assert json.loads(alert.details)["event_ids"] == [row.event_id]
    finally:
        quiet.close()
    assert _queue_deleted(_verify(trail, _public_keys(keyfile)))  # the public key alone sees it too


@pytest.mark.backend("sqlite", "postgresql")
def test_a_caution_queued_on_the_driver_path_and_deleted_is_reported(
    trail: Trail, data: DummyDataSet, clock: MutableClock, tmp_path: Path, keyfile: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dvflag_plugin.storage import direct

    taken: list[bool] = []
    insert_one = direct.Pinned.insert_one
    monkeypatch.setattr(direct.Pinned, "insert_one", lambda *a: taken.append(insert_one(*a)) or taken[-1])
    quiet = _quiet_host(trail, data, clock, tmp_path, keyfile)
    try:
        screen = quiet.actor("u-zeimu-view1")
        number = next(p.address_no for p in data.people if p.in_master)
        quiet.notices(screen, [number])  # builds the cache (general envelope)
        service_of(quiet.pm).runtime.seal()
        quiet.notices(screen, [number])  # answered on the driver path
        assert taken == [True]
        [victim] = _unsealed_ids(trail.engine)
        with trail.engine.begin() as conn:
            conn.execute(sa.delete(audit_event).where(audit_event.c.event_id == victim))
        assert service_of(quiet.pm).runtime._seal_round(True) is False  # the thread's round records it
        [alert] = _alerts(trail.engine)
        assert json.loads(alert.details)["event_ids"] == [victim]
    finally:
        quiet.close()
    assert _queue_deleted(_verify(trail))


def test_queued_events_sealed_by_another_process_are_not_reported(
    trail: Trail, data: DummyDataSet, clock: MutableClock, tmp_path: Path, keyfile: Path
) -> None:
    """No false report: events of one process sealed by another's sealer are simply forgotten."""
    quiet = _quiet_host(trail, data, clock, tmp_path, keyfile)
    try:
        viewer = quiet.actor("u-kodomo-view1")
        for _ in range(3):
            quiet.call("dvflag.status", viewer, address_no="000000000000001")
        rt = service_of(quiet.pm).runtime
        assert len(rt.ledger) == 3
        service_of(trail.host.pm).runtime.seal()  # another process seals them
        quiet.call("dvflag.status", viewer, address_no="000000000000001")
        result = rt.seal()  # seals its last one, finds the others sealed
        assert result is not None and (result.sealed, result.missing) == (1, 0) and len(rt.ledger) == 0
        quiet.call("dvflag.status", viewer, address_no="000000000000001")
        service_of(trail.host.pm).runtime.seal()
    finally:
        quiet.close()
    assert len(service_of(quiet.pm).runtime.ledger) == 0
    assert not _alerts(trail.engine)
    assert _verify(trail).ok


def test_a_keyless_process_behind_a_signed_trail_keeps_a_bounded_ledger(
    trail: Trail, data: DummyDataSet, clock: MutableClock, tmp_path: Path, keyfile: Path,
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its sealing cannot run (needs the key): the ledger drops its oldest entries, with one WARNING.

    A keyless runtime refuses to start on a signed trail (tests/test_keyless_refused.py); one that
    started before the first signed seal queues until its first seal attempt sees it. That window is
    what this process is in: its start-up check saw an unsigned trail, and it has not sealed since.
    """
    monkeypatch.setattr(audit_trust, "trail_is_signed", lambda engine: False)
    keyless = MockHost(trail.engine, data=data, clock=clock, migrate=False, settings={
        "dvflag.audit_log_path": str(tmp_path / "keyless.jsonl"), "dvflag.audit_seal_batch": 10_000,
        "dvflag.audit_seal_interval_s": 3600, "dvflag.audit_origin": ORIGIN})  # fmt: skip
    try:
        rt = service_of(keyless.pm).runtime
        rt.ledger.limit = 3
        with caplog.at_level("WARNING", logger="dvflag"):
            for _ in range(5):
                keyless.call("dvflag.status", keyless.actor("u-kodomo-view1"), address_no="000000000000001")
        assert len(rt.ledger) == 3 and len(_unsealed_ids(trail.engine)) == 5
        assert [r.message for r in caplog.records if "can no longer be checked" in r.message] == [
            "dvflag: more than 3 queued audit events wait to be sealed in this process; whether the oldest were "
            "deleted before sealing can no longer be checked"
        ]
    finally:
        keyless.close()
    service_of(trail.host.pm).runtime.seal()  # the process with the key seals them (untagged: verify says so)
    assert not _alerts(trail.engine) and not _queue_deleted(_verify(trail))


def test_a_role_granted_behind_the_plugins_back_is_reported(trail: Trail) -> None:
    """An account the plugin manages (its changes carry a digest of the state they leave)."""
    admin = trail.host.actor("u-joho-admin1")
    account = trail.host.call("dvflag.users", admin, op="get", user_id="u-zeimu-view1")
    trail.host.call("dvflag.users", admin, op="roles", user_id="u-zeimu-view1", roles=sorted(account.roles),
                    row_version=account.row_version)  # fmt: skip
    assert _verify(trail).ok
    with trail.engine.begin() as conn:
        uid = conn.execute(sa.select(app_user.c.id).where(app_user.c.user_id == "u-zeimu-view1")).scalar_one()
        conn.execute(sa.insert(user_role).values(user_pk=uid, role_name="supervisor"))
    # The viewer now exports every department's list; the export is audited, the grant is not.
    trail.host.call("dvflag.export", trail.host.actor("u-zeimu-view1"), format="csv", scope="all")
    after = _verify(trail)
    assert not after.ok and any("利用者 u-zeimu-view1" in f for f in after.findings), after


def test_an_account_edited_or_deleted_behind_the_plugins_back_is_reported(trail: Trail) -> None:
    admin = trail.host.actor("u-joho-admin1")
    for user_id in ("u-zeimu-view1", "u-kodomo-view1"):
        account = trail.host.call("dvflag.users", admin, op="get", user_id=user_id)
        trail.host.call("dvflag.users", admin, op="disable", user_id=user_id, row_version=account.row_version)
    assert _verify(trail).ok
    with trail.engine.begin() as conn:  # enabled again, and the other one removed, straight in the tables
        conn.execute(sa.update(app_user).where(app_user.c.user_id == "u-zeimu-view1").values(enabled=1))
        uid = conn.execute(sa.select(app_user.c.id).where(app_user.c.user_id == "u-kodomo-view1")).scalar_one()
        conn.execute(sa.delete(user_role).where(user_role.c.user_pk == uid))
        conn.execute(sa.delete(app_user).where(app_user.c.id == uid))
    after = _verify(trail)
    assert not after.ok
    assert any("利用者 u-zeimu-view1 の所属・ロール" in f for f in after.findings), after
    assert any("利用者 u-kodomo-view1 が監査証跡に記録のないまま削除" in f for f in after.findings), after


def test_after_attestation_an_account_never_changed_through_the_plugin_is_checked(trail: Trail) -> None:
    """The trail's staff were written straight into the registry (no event, no digest): nothing to compare,
    until a user_admin attests every account; then a role granted in the table is reported."""

    def grant(user_id: str, role: str) -> None:
        with trail.engine.begin() as conn:
            uid = conn.execute(sa.select(app_user.c.id).where(app_user.c.user_id == user_id)).scalar_one()
            conn.execute(sa.insert(user_role).values(user_pk=uid, role_name=role))

    grant("u-zeimu-view1", "supervisor")
    assert _verify(trail).ok  # no baseline: the gap the attestation closes
    trail.host.call("dvflag.users", trail.host.actor("u-joho-admin1"), op="attest")
    assert _verify(trail).ok  # the attested state (this grant included: review before attesting) is the baseline
    grant("u-kodomo-view1", "supervisor")
    after = _verify(trail)
    assert not after.ok
    assert [f for f in after.findings if "利用者" in f] == [
        "利用者 u-kodomo-view1 の所属・ロール・有効期間・有効が監査証跡と一致しません（プラグインを経ない変更）"
    ], after


def _insert_account(conn: sa.Connection, trail: Trail, user_id: str, role: str) -> None:
    """An account written straight into the tables (D0201, valid from today), with one role."""
    stamp = trail.host.clock().replace(tzinfo=None)
    result = conn.execute(sa.insert(app_user).values(
        user_id=user_id, dept_code="D0201", enabled=1, valid_from=trail.host.clock().date(), row_version=1,
        created_at=stamp, updated_at=stamp))  # fmt: skip
    conn.execute(sa.insert(user_role).values(user_pk=result.inserted_primary_key[0], role_name=role))


def test_after_attestation_an_account_added_straight_in_the_tables_is_reported(trail: Trail) -> None:
    from dvflag_plugin.service import bootstrap

    admin = trail.host.actor("u-joho-admin1")
    trail.host.call("dvflag.users", admin, op="attest")
    trail.host.call("dvflag.users", admin, op="add", user_id="u-new-plugin", dept_code="D0201", roles=["viewer"])
    rt = service_of(trail.host.pm).runtime
    bootstrap.add_user(rt, bootstrap.operator_actor(), user_id="u-new-cli", dept_code="D0201",
                       roles=frozenset({"viewer"}))  # fmt: skip
    assert _verify(trail).ok  # accounts the plugin adds carry their digest: no false positive
    with trail.engine.begin() as conn:
        _insert_account(conn, trail, "u-new-dba", "supervisor")
    after = _verify(trail)
    assert not after.ok
    assert [f for f in after.findings if "利用者" in f] == [
        "利用者 u-new-dba が、監査証跡に記録のないまま追加されています（利用者の証明の後、プラグインを経ない追加）"
    ], after


def test_an_unsealed_user_change_is_not_reported_after_attestation(trail: Trail) -> None:
    """Verify replays queued user events too: an account added while verify runs is no false finding."""
    from dvflag_plugin.audit import verify as verify_mod
    from dvflag_plugin.storage.transactions import snapshot

    admin = trail.host.actor("u-joho-admin1")
    trail.host.call("dvflag.users", admin, op="attest")
    rt = service_of(trail.host.pm).runtime
    rt.seal()
    with trail.engine.begin() as conn:  # what a concurrent add commits after verify's seal
        _insert_account(conn, trail, "u-late", "viewer")
        digest = account_digest("u-late", "D0201", ["viewer"], True, trail.host.clock().date(), None)
        chain.enqueue(conn, chain.Draft("u-joho-admin1", "D0101", "users", "user:u-late", "ok", None,
                                        {"op": "add", "account": digest}), now=trail.host.clock())  # fmt: skip
    with snapshot(rt.engine) as conn:
        result = verify_mod.verify(conn, keys=rt.audit_keys, digest_secret=rt.audit_keys.digest_secret)
    assert not any("利用者" in f for f in result.findings), result.findings


def _register_and_edit_its_change_log(trail: Trail) -> str:
    """A registration through the plugin; then, before any caution reads the delta, the DBA points its
    change-log row at another number. Returns the registered number (the cache is warm before)."""
    viewer = trail.host.actor("u-zeimu-view1")
    people = [p.address_no for p in trail.host.data.people if p.in_master]
    fresh, decoy = people[10], people[11]
    trail.host.notices(viewer, [fresh])  # the cache is warm
    trail.host.call("dvflag.register", trail.host.actor("u-kodomo-reg1"), address_no=fresh)
    with trail.engine.begin() as conn:
        last = conn.execute(sa.select(sa.func.max(change_log.c.change_no))).scalar_one()
        conn.execute(sa.update(change_log).where(change_log.c.change_no == last).values(address_no=decoy))
    return fresh


def test_an_edited_change_log_is_reported(trail: Trail, keyfile: Path) -> None:
    assert _verify(trail).ok
    _register_and_edit_its_change_log(trail)
    for keys in (_public_keys(keyfile), None):
        after = _verify(trail, keys)
        assert not after.ok and any("変更ログ" in f for f in after.findings), after


def test_a_deleted_change_log_row_is_reported(trail: Trail) -> None:
    trail.host.call("dvflag.register", trail.host.actor("u-kodomo-reg1"),
                    address_no=[p.address_no for p in trail.host.data.people if p.in_master][12])
    with trail.engine.begin() as conn:
        first = conn.execute(sa.select(sa.func.min(change_log.c.change_no))).scalar_one()
        conn.execute(sa.delete(change_log).where(change_log.c.change_no == first + 1))
    after = _verify(trail)
    assert not after.ok and any("変更ログ" in f for f in after.findings), after


def test_an_edited_change_log_does_not_hide_a_new_registration_from_cautions(trail: Trail) -> None:
    fresh = _register_and_edit_its_change_log(trail)
    viewer = trail.host.actor("u-zeimu-view1")
    assert trail.host.notices(viewer, [fresh]), "the new registration shows no caution in a warm process"


@pytest.mark.backend("postgresql", "mariadb")
def test_an_event_hidden_as_sealed_without_a_seq_is_reported(trail: Trail, backend: str) -> None:
    """The seal_state CHECK forbids ``sealed = 1`` without a seq; a DBA who drops it can hide a queued
    event from both the sealer and the walk. Verify counts such rows itself."""
    name = "ck_dvf_audit_event_seal_state"
    drop = f"ALTER TABLE dvf_audit_event DROP CONSTRAINT {name}"  # MariaDB ≥ 10.2 takes it too
    add = (f"ALTER TABLE dvf_audit_event ADD CONSTRAINT {name} CHECK ((sealed = 0 AND seq IS NULL AND prev_hash IS"
           " NULL AND event_hash IS NULL) OR (sealed = 1 AND seq IS NOT NULL AND prev_hash IS NOT NULL AND"
           " event_hash IS NOT NULL))")
    with trail.engine.begin() as conn:
        chain.enqueue(conn, chain.Draft("u-kodomo-view1", "D0201", "status", "000000000000001", "ok", None, {}),
                      now=trail.host.clock())
    with trail.engine.begin() as conn:
        conn.exec_driver_sql(drop)
    try:
        with trail.engine.begin() as conn:
            conn.execute(sa.update(audit_event).where(audit_event.c.sealed == 0).values(sealed=1))
        after = _verify(trail)
        assert not after.ok and any("封緘済みでも未封緘でもないイベント" in f for f in after.findings), after
    finally:
        with trail.engine.begin() as conn:
            conn.execute(sa.delete(audit_event).where(audit_event.c.seq.is_(None)))
            conn.exec_driver_sql(add)
