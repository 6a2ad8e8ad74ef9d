"""DESIGN §6: one event per call, hash-chained, atomic with the change, tamper and truncation detected."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from dvflag_plugin.audit import chain
from dvflag_plugin.errors import DuplicateError, PermissionDenied
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.plugin import service_of
from dvflag_plugin.storage.schema import GENESIS_HASH, audit_event, audit_seal, chain_head, registration


def _person(host: MockHost) -> str:
    return next(p.address_no for p in host.data.people if p.in_master)


def _events(engine: sa.Engine) -> list[sa.Row[object]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(audit_event).order_by(audit_event.c.seq)))


def _verify(engine: sa.Engine, checkpoint: tuple[int, str] | None = None) -> object:
    with engine.connect() as conn:
        return chain.verify(conn, checkpoint=checkpoint)


def test_links_are_sha256_of_previous_hash_and_canonical_json(host: MockHost, engine: sa.Engine) -> None:
    host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=_person(host))
    rows = _events(engine)
    assert rows[0].prev_hash == GENESIS_HASH
    for before, row in itertools.pairwise(rows):
        assert row.prev_hash == before.event_hash
    last = chain.row_to_event(rows[-1])
    import hashlib

    body = {k: v for k, v in chain.event_body(last.seq, last.event_id, last.occurred_at, last).items() if k != "seq"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    leaf = hashlib.sha256(text.encode()).hexdigest()
    assert rows[-1].leaf_hash == leaf  # computed when the event was queued
    expected = hashlib.sha256((last.prev_hash + f'{{"leaf":"{leaf}","seq":{last.seq}}}').encode()).hexdigest()
    assert last.hash == expected
    assert all(r.sealed == 1 for r in rows)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))


def test_one_event_per_call_even_for_a_batch(host: MockHost, engine: sa.Engine) -> None:
    before = len(_events(engine))
    host.notices(host.actor("u-zeimu-view1"), [f"{i:015d}" for i in range(5000)])
    rows = _events(engine)
    assert len(rows) == before + 1
    details = json.loads(rows[-1].details)
    assert details["count"] == 5000 and len(details["input_sha256"]) == 64


def test_change_and_its_event_commit_together_and_failures_leave_no_ok_event(host: MockHost, engine: sa.Engine) -> None:
    number = _person(host)
    registrar = host.actor("u-kodomo-reg1")
    host.call("dvflag.register", registrar, address_no=number)
    with pytest.raises(DuplicateError):
        host.call("dvflag.register", registrar, address_no=number)
    rows = _events(engine)
    registers = [r for r in rows if r.action == "register"]
    assert [(r.outcome, r.reason_code) for r in registers] == [("ok", None), ("error", "duplicate")]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(registration)).scalar_one() == 1


def test_denial_is_committed_on_its_own(host: MockHost, engine: sa.Engine) -> None:
    with pytest.raises(PermissionDenied):
        host.call("dvflag.register", host.actor("u-zeimu-view1"), address_no=_person(host))
    last = _events(engine)[-1]
    assert (last.action, last.outcome, last.reason_code) == ("register", "denied", "role.missing")
    assert host.masters.audit_copy[-1].seq == last.seq
    assert _verify(engine).ok  # type: ignore[attr-defined]


@pytest.mark.parametrize("column", ["target", "details", "actor_id", "outcome"])
def test_tampering_names_the_first_broken_sequence(host: MockHost, engine: sa.Engine, column: str) -> None:
    for _ in range(3):
        host.call("dvflag.status", host.actor("u-kodomo-view1"), address_no=_person(host))
    rows = _events(engine)
    victim = rows[len(rows) // 2]
    value = {"target": "999", "details": "{}", "actor_id": "intruder", "outcome": "denied"}[column]
    with engine.begin() as conn:
        conn.execute(sa.update(audit_event).where(audit_event.c.seq == victim.seq).values({column: value}))
    result = _verify(engine)
    assert not result.ok  # type: ignore[attr-defined]
    assert result.first_broken_seq == victim.seq  # type: ignore[attr-defined]


def test_deleted_event_in_the_middle_is_a_gap(host: MockHost, engine: sa.Engine) -> None:
    for _ in range(3):
        host.call("dvflag.status", host.actor("u-kodomo-view1"), address_no=_person(host))
    with engine.begin() as conn:
        conn.execute(sa.delete(audit_event).where(audit_event.c.seq == 3))
    result = _verify(engine)
    assert (result.ok, result.first_broken_seq) == (False, 3)  # type: ignore[attr-defined]


def test_truncated_tail_detected_against_a_checkpoint(host: MockHost, engine: sa.Engine) -> None:
    runtime = service_of(host.pm).runtime
    for _ in range(4):
        host.call("dvflag.status", host.actor("u-kodomo-view1"), address_no=_person(host))
        runtime.seal()  # one seal per read: the intruder below cuts at a seal boundary
    with engine.connect() as conn:
        head = chain.read_head(conn)
    checkpoint = (head.last_seq, head.last_hash)
    assert _verify(engine, checkpoint).ok  # type: ignore[attr-defined]
    # An intruder drops the last two events and their seals, and rewinds the head row consistently.
    rows = _events(engine)
    keep = rows[-3]
    with engine.begin() as conn:
        conn.execute(sa.delete(audit_event).where(audit_event.c.seq > keep.seq))
        conn.execute(sa.delete(audit_seal).where(audit_seal.c.first_seq > keep.seq))
        conn.execute(sa.update(chain_head).values(last_seq=keep.seq, last_hash=keep.event_hash))
    assert _verify(engine).ok  # type: ignore[attr-defined]  # without a checkpoint it looks intact
    result = _verify(engine, checkpoint)
    assert not result.ok  # type: ignore[attr-defined]
    assert result.first_broken_seq == keep.seq + 1  # type: ignore[attr-defined]


def test_audit_function_verifies_for_auditors_only(host: MockHost) -> None:
    service = service_of(host.pm)
    result = service.audit(host.actor("u-kansa-audit1"), {"op": "verify"})
    assert result.ok  # type: ignore[union-attr]
    with pytest.raises(PermissionDenied):
        service.audit(host.actor("u-kodomo-reg1"), {"op": "verify"})


def test_audit_lines_are_json_without_name_or_birth_date(host: MockHost, tmp_path: Path) -> None:
    person = next(p for p in host.data.people if p.in_master)
    host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=person.address_no)
    host.call("dvflag.search", host.actor("u-kodomo-view1"), name=person.name.split("\u3000")[0])
    lines = (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines
    events = [json.loads(line) for line in lines]
    assert {e["event"] for e in events} == {"dvflag.audit"}
    assert {"register", "search"} <= {e["action"] for e in events}
    text = "\n".join(lines)
    assert person.name not in text and person.name.split("\u3000")[0] not in text
    assert person.birth_date.isoformat() not in text


def test_an_unexpected_failure_is_audited_as_internal(host: MockHost, monkeypatch: pytest.MonkeyPatch) -> None:
    from dvflag_plugin.service import queries

    def broken(*args: object, **kwargs: object) -> object:
        raise ZeroDivisionError("boom with 000000000000001")

    monkeypatch.setattr(queries, "holdings", broken)
    with pytest.raises(ZeroDivisionError):
        host.call("dvflag.status", host.actor("u-kodomo-view1"), address_no=_person(host))
    last = host.masters.audit_copy[-1]
    assert (last.action, last.outcome, last.reason_code) == ("status", "error", "internal")
    assert last.details == {"exception": "ZeroDivisionError"}
