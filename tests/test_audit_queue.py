"""Issue 11: queue, then seal — no call takes the head; the sealer numbers committed events once each."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_hookspecs import Actor
from dvflag_plugin.audit import chain, sealer
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import ValidationError
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.plugin import service_of
from dvflag_plugin.storage import counters, migrate
from dvflag_plugin.storage.schema import GENESIS_HASH, audit_event, audit_seal, chain_head, registration
from dvflag_plugin.storage.transactions import embedded_engine, transaction
from dvflag_plugin.testing import backends
from helpers import Row, seed_registrations


def _number(host: MockHost, i: int = 0) -> str:
    return [p.address_no for p in host.data.people if p.in_master][i]


def _queued_host(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path, **extra: Any) -> MockHost:
    """A host that only queues (sealing happens when the test says so)."""
    settings = {"dvflag.audit_log_path": str(tmp_path / "q.jsonl"), "dvflag.audit_seal_batch": 10_000,
                "dvflag.audit_seal_interval_s": 3600, **extra}  # fmt: skip
    host = MockHost(engine, data=data, clock=clock, settings=settings, migrate=False)
    host.seed_users()
    return host


def _counts(engine: sa.Engine) -> tuple[int, int]:
    """(unsealed, sealed) events."""
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(audit_event.c.sealed, sa.func.count()).group_by(audit_event.c.sealed)).all())
    return int(rows.get(0, 0)), int(rows.get(1, 0))


def _verify(engine: sa.Engine) -> Any:
    with engine.connect() as conn:
        return chain.verify(conn)


def _check_chain(engine: sa.Engine) -> list[Any]:
    """Every event sealed exactly once: seq 1..n without gaps, chain verifies, seal rows tile it."""
    with engine.connect() as conn:
        rows = list(conn.execute(sa.select(audit_event).order_by(audit_event.c.seq)))
        seals = list(conn.execute(sa.select(audit_seal).order_by(audit_seal.c.first_seq)))
    assert all(r.sealed == 1 for r in rows)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert len({r.event_id for r in rows}) == len(rows)
    expected_first = 1
    for seal in seals:  # consecutive batches, each ending where the chain says
        assert seal.first_seq == expected_first
        assert seal.head_hash == rows[seal.last_seq - 1].event_hash
        expected_first = seal.last_seq + 1
    assert expected_first == len(rows) + 1
    result = _verify(engine)
    assert result.ok, result.message
    return rows


def test_a_call_queues_its_event_and_the_sealer_chains_it(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    host = _queued_host(engine, data, clock, tmp_path)
    try:
        before = _counts(engine)
        copies = len(host.masters.audit_copy)
        host.notices(host.actor("u-zeimu-view1"), [_number(host)])
        assert _counts(engine) == (before[0] + 1, before[1])  # committed, not yet numbered
        assert len(host.masters.audit_copy) == copies  # the host's copy comes with the seal
        with engine.connect() as conn:
            row = conn.execute(sa.select(audit_event).order_by(audit_event.c.id.desc()).limit(1)).one()
        assert (row.sealed, row.seq, row.prev_hash, row.event_hash) == (0, None, None, None)
        draft = chain.Draft(row.actor_id, row.actor_dept, row.action, row.target, row.outcome, row.reason_code,
                            json.loads(row.details))  # fmt: skip
        assert row.leaf_hash == chain.leaf_hash(chain.leaf_body(row.event_id, row.occurred_at, draft))
        result = service_of(host.pm).runtime.seal()
        assert result is not None and result.sealed == before[0] + 1 and not result.busy
        assert _counts(engine) == (0, sum(before) + 1)
        assert host.masters.audit_copy[-1].event_id == row.event_id  # published once sealed
        assert host.masters.audit_copy[-1].seq == result.head_seq
        _check_chain(engine)
    finally:
        host.close()


def test_sealing_starts_after_a_batch_of_calls(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    host = _queued_host(engine, data, clock, tmp_path, **{"dvflag.audit_seal_batch": 3})
    try:
        service_of(host.pm).runtime.seal()
        viewer = host.actor("u-zeimu-view1")
        host.notices(viewer, [_number(host)])
        host.notices(viewer, [_number(host)])
        assert _counts(engine)[0] == 2
        host.notices(viewer, [_number(host)])  # the third reaches the batch size
        assert _counts(engine)[0] == 0
        _check_chain(engine)
    finally:
        host.close()


@pytest.mark.backend("postgresql", "mariadb")
def test_no_call_waits_for_the_head_row(host: MockHost, engine: sa.Engine) -> None:
    """Another session holds the head row: every kind of call still answers at once."""
    number = _number(host)
    registrar, viewer = host.actor("u-kodomo-reg1"), host.actor("u-zeimu-view1")
    supervisor = host.actor("u-soumu-super1")
    holder = engine.connect()
    try:
        holder.execute(sa.select(chain_head).with_for_update())
        started = time.perf_counter()
        reg = host.call("dvflag.register", registrar, address_no=number)
        assert host.notices(viewer, [number])
        host.call("dvflag.status", viewer, address_no=number)
        host.call("dvflag.export", supervisor, format="csv", scope="all")
        host.call("dvflag.release", registrar, record_id=reg.record_id, row_version=reg.row_version)
        elapsed = time.perf_counter() - started
        assert elapsed < 5, elapsed  # a waiting call would hang for the lock time-out (50 s / forever)
        queued, _ = _counts(engine)
        assert queued >= 5  # their sealer was skipped, not waited for
    finally:
        holder.rollback()
        holder.close()
    sealer.seal(engine)
    _check_chain(engine)


def test_a_busy_sealer_is_skipped_quickly(host: MockHost, engine: sa.Engine, backend: str) -> None:
    host.notices(host.actor("u-zeimu-view1"), [_number(host)])
    holder = embedded_engine(engine.url) if backend == "sqlite" else engine
    conn = holder.connect()
    try:
        if backend == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(sa.select(chain_head).with_for_update())
        started = time.perf_counter()
        result = sealer.seal(engine)
        assert result.busy and result.sealed == 0
        assert time.perf_counter() - started < 2
    finally:
        conn.rollback()
        conn.close()
        if holder is not engine:
            holder.dispose()


def test_a_sealer_without_the_key_after_a_signed_seal_says_it_needs_the_key(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Not "busy": nobody holds the head. The keyless sealer seals nothing and says why, once."""
    from dvflag_plugin.audit import signing

    key = tmp_path / "seal.key"
    signing.generate(key, "city.example/q")
    signed = _queued_host(engine, data, clock, tmp_path, **{"dvflag.audit_signing_key": str(key),
                                                             "dvflag.audit_origin": "city.example/q"})
    keyless = MockHost(engine, data=data, clock=clock, migrate=False, settings={  # another process, no key
        "dvflag.audit_log_path": str(tmp_path / "keyless.jsonl"), "dvflag.audit_seal_batch": 10_000,
        "dvflag.audit_seal_interval_s": 3600})  # fmt: skip
    try:
        viewer = signed.actor("u-zeimu-view1")
        signed.notices(viewer, [_number(signed)])
        assert service_of(signed.pm).runtime.seal() is not None
        keyless.notices(keyless.actor("u-zeimu-view1"), [_number(keyless)])
        with engine.connect() as conn:
            seals_before = [tuple(r) for r in conn.execute(sa.select(audit_seal).order_by(audit_seal.c.id))]
            head_before = tuple(conn.execute(sa.select(chain_head)).one())
        queued = _counts(engine)
        assert queued[0] == 1

        direct = sealer.seal(engine)  # what `dvflag audit seal` runs underneath
        assert (direct.needs_key, direct.busy, direct.sealed, direct.batches) == (True, False, 0, 0)

        rt = service_of(keyless.pm).runtime
        caplog.clear()  # the keyless host's startup warning is another message
        with caplog.at_level(logging.WARNING, logger="dvflag"):
            first, second = rt.seal(), rt.seal()
        assert first is not None and second is not None
        assert first.needs_key and not first.busy and first.sealed == 0
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "audit_signing_key" in r.getMessage()]
        assert len(warnings) == 1  # once per runtime, not on every seal
        assert _counts(engine) == queued  # nothing sealed, the event waits
        with engine.connect() as conn:  # nothing else changed either
            assert [tuple(r) for r in conn.execute(sa.select(audit_seal).order_by(audit_seal.c.id))] == seals_before
            assert tuple(conn.execute(sa.select(chain_head)).one()) == head_before

        done = service_of(signed.pm).runtime.seal()  # a process with the key seals it
        assert done is not None and done.sealed == 1 and not done.needs_key
        _check_chain(engine)
    finally:
        keyless.close()
        signed.close()


@pytest.mark.backend("postgresql", "mariadb")
def test_an_event_committed_late_with_a_lower_id_is_sealed_later_once(host: MockHost, engine: sa.Engine) -> None:
    rt = service_of(host.pm).runtime
    rt.seal()
    draft = chain.Draft("late", "D0102", "notices", None, "ok", None, {"count": 1})
    slow = engine.connect()
    try:
        chain.enqueue(slow, draft, now=host.clock())  # takes the lower id, not yet committed
        with transaction(engine) as fast:
            chain.enqueue(fast, chain.Draft("early", "D0102", "notices", None, "ok", None, {}), now=host.clock())
        first = sealer.seal(engine)
        assert [e.actor_id for e in first.events] == ["early"]
        slow.commit()
    finally:
        slow.close()
    second = sealer.seal(engine)
    assert [e.actor_id for e in second.events] == ["late"] and second.events[0].seq == first.head_seq + 1
    rows = _check_chain(engine)
    late, early = sorted((r for r in rows if r.actor_id in ("late", "early")), key=lambda r: r.id)
    assert late.actor_id == "late" and late.seq > early.seq  # seq order is seal order, not id order


def test_concurrent_sealers_never_leave_gaps_or_repeats(
    host: MockHost, engine: sa.Engine, backend: str, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    """Writers queue events while four sealers race; afterwards each event is sealed exactly once."""
    hosts = [
        MockHost(embedded_engine(engine.url), data=data, clock=clock, migrate=False,
                 settings={"dvflag.audit_log_path": str(tmp_path / f"w{i}.jsonl"), "dvflag.audit_seal_batch": 2})
        for i in range(3)
    ]  # fmt: skip
    stop = threading.Event()
    busy: list[bool] = []

    def seal_loop() -> int:
        sealed = 0
        while not stop.is_set():
            result = sealer.seal(engine, batch=5)
            sealed += result.sealed
            busy.append(result.busy)
        return sealed

    def write(h: MockHost, i: int) -> None:
        viewer = h.actor("u-zeimu-view1")
        for k in range(15):
            h.notices(viewer, [f"{i:07d}{k:08d}"])

    try:
        with ThreadPoolExecutor(max_workers=7) as pool:
            sealers = [pool.submit(seal_loop) for _ in range(4)]
            writers = [pool.submit(write, h, i) for i, h in enumerate(hosts)]
            for w in writers:
                w.result(timeout=120)
            stop.set()
            for s in sealers:
                s.result(timeout=60)
    finally:
        for h in hosts:
            h.close()
            h.engine.dispose()
    sealer.seal(engine)
    rows = _check_chain(engine)
    assert sum(1 for r in rows if r.actor_id == "u-zeimu-view1") >= 45
    if backend != "sqlite":
        assert any(busy)  # the race really happened: some sealer found the head taken


def test_verify_reports_events_left_unsealed_too_long(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    host = _queued_host(engine, data, clock, tmp_path, **{"dvflag.audit_max_unsealed_s": 60})
    try:
        host.notices(host.actor("u-zeimu-view1"), [_number(host)])
        clock.advance(timedelta(minutes=5))
        with engine.connect() as conn:
            count, oldest = chain.unsealed_overdue(conn, now=host.clock(), max_age_s=60)
        assert count >= 1 and oldest is not None
        # The auditor's verify seals first; when the sealer cannot run, the report says so.
        holder = embedded_engine(engine.url) if engine.dialect.name == "sqlite" else engine
        conn2 = holder.connect()
        try:
            if engine.dialect.name == "sqlite":
                conn2.exec_driver_sql("BEGIN IMMEDIATE")
                result = None  # SQLite: the auditor's own event could not be written either
            else:
                conn2.execute(sa.select(chain_head).with_for_update())
                result = host.call("dvflag.audit", host.actor("u-kansa-audit1"), op="verify")
        finally:
            conn2.rollback()
            conn2.close()
            if holder is not engine:
                holder.dispose()
        if result is not None:
            # An event no sealer could seal in time is not yet under a signature: verify fails on it.
            assert not result.ok and "封緘されていないイベントが" in result.message
        result = host.call("dvflag.audit", host.actor("u-kansa-audit1"), op="verify")
        assert result.ok and "封緘されていない" not in result.message  # sealed before verifying
    finally:
        host.close()


def test_verify_reads_one_snapshot_while_events_are_sealed(host: MockHost, engine: sa.Engine) -> None:
    """Sealing between reading the head and reading the events is never reported as a break."""
    viewer = host.actor("u-zeimu-view1")
    for _ in range(3):
        host.notices(viewer, [_number(host)])
    from dvflag_plugin.storage.transactions import snapshot

    with snapshot(engine) as conn:
        head = chain.read_head(conn)
        host.notices(viewer, [_number(host)])  # sealed by another connection meanwhile
        result = chain.verify(conn)
    assert result.ok, result.message
    assert result.head_seq == head.last_seq


def test_an_event_larger_than_64_kb_is_stored_and_verified(host: MockHost, engine: sa.Engine) -> None:
    numbers = [f"{i:015d}" for i in range(1, 6001)]
    stamp = host.clock().replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(sa.insert(registration), [
            {"address_no": n, "name": "ダミー　花子", "sex_code": 2, "birth_date": date(1990, 1, 1),
             "dept_code": "D0201", "dept_name": "子ども家庭課", "input_date": date(2026, 1, 5),
             "release_date": None, "row_version": 1, "created_at": stamp, "updated_at": stamp}
            for n in numbers
        ])  # fmt: skip
        counters.record_changes(conn, [None], now=host.clock())
    found = host.notices(Actor("batch", "D0102"), numbers)
    assert len(found) == len(numbers)
    with engine.connect() as conn:
        details = conn.execute(
            sa.select(audit_event.c.details).where(audit_event.c.action == "notices")
        ).scalar_one()
    assert len(details.encode()) > 65_535
    event = host.masters.audit_copy[-1]
    assert event.details["flagged_count"] == len(numbers) and len(event.details["input_sha256"]) == 64
    assert set(event.details) == {"count", "input_sha256", "flagged_count", "flagged"}
    assert _verify(engine).ok


def test_the_first_caution_after_a_change_refreshes_by_delta(
    host: MockHost, engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    """Another process registers one person: the next caution looks that number up, not every number."""
    people = [p.address_no for p in data.people if p.in_master]
    seed_registrations(host, [Row(n, "D0301", date(2026, 1, 5)) for n in people[1:40]])
    viewer = host.actor("u-zeimu-view1")
    assert host.notices(viewer, [people[1]])  # the cache is built
    other = MockHost(embedded_engine(engine.url), data=data, clock=clock, migrate=False,
                     settings={"dvflag.audit_log_path": str(tmp_path / "o.jsonl")})  # fmt: skip
    try:
        other.call("dvflag.register", other.actor("u-kodomo-reg1"), address_no=people[0])
    finally:
        other.close()
        other.engine.dispose()
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert host.notices(viewer, [people[0]])
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    reads = [s for s in seen if "FROM dvf_registration" in s]
    # The touched numbers only: those the change log names and those updated lately (by index).
    assert len(reads) == 2 and "updated_at >=" in reads[0] and " IN (" in reads[1], reads
    assert any("FROM dvf_change_log" in s for s in seen)


def test_migration_0004_keeps_a_0003_chain_and_downgrades(backend: str, tmp_path: Path) -> None:
    """Events sealed under 0003 keep seq and hashes; new events chain after them; downgrade keeps the sealed ones."""
    with backends.database({"mysql": "mariadb"}.get(backend, backend), tmp_path) as url:
        engine = embedded_engine(url)
        try:
            migrate.upgrade(engine, "0003")
            prev = GENESIS_HASH
            when = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
            with engine.begin() as conn:
                for seq in (1, 2, 3):
                    draft = chain.Draft("old", "D0102", "notices", None, "ok", None, {"count": seq})
                    body = chain.event_body(seq, f"e-{seq}", when, draft)
                    digest = chain.legacy_link_hash(prev, body)
                    conn.execute(sa.text(
                        "INSERT INTO dvf_audit_event (seq, event_id, occurred_at, actor_id, actor_dept, action, "
                        "target, outcome, reason_code, details, prev_hash, event_hash) VALUES (:s, :e, :o, 'old', "
                        "'D0102', 'notices', NULL, 'ok', NULL, :d, :p, :h)"
                    ), {"s": seq, "e": f"e-{seq}", "o": when.replace(tzinfo=None),
                        "d": chain.canonical_json({"count": seq}), "p": prev, "h": digest})  # fmt: skip
                    prev = digest
                conn.execute(sa.text("UPDATE dvf_chain_head SET last_seq = 3, last_hash = :h, change_no = 4, "
                                     "output_no = 7"), {"h": prev})  # fmt: skip
            migrate.upgrade(engine)
            assert _verify(engine).ok
            with engine.connect() as conn:
                assert (counters.read(conn, "change"), counters.read(conn, "output")) == (4, 7)
            with transaction(engine) as conn:
                chain.enqueue(conn, chain.Draft("new", "D0102", "notices", None, "ok", None, {}), now=when)
            sealer.seal(engine)
            rows = _check_chain(engine)
            assert [(r.seq, r.leaf_hash is None) for r in rows] == [(1, True), (2, True), (3, True), (4, False)]
            assert rows[2].event_hash == prev  # the 0003 hashes are kept
            with transaction(engine) as conn:  # queued at downgrade time: not carried (seal first)
                chain.enqueue(conn, chain.Draft("queued", "D0102", "notices", None, "ok", None, {}), now=when)
            migrate.downgrade(engine, "0003")
            with engine.connect() as conn:
                kept = conn.execute(sa.text("SELECT seq FROM dvf_audit_event ORDER BY seq")).scalars().all()
                head = conn.execute(sa.text("SELECT last_seq, change_no, output_no FROM dvf_chain_head")).one()
            assert kept == [1, 2, 3, 4] and tuple(head) == (4, 4, 7)
            migrate.downgrade(engine, "base")
        finally:
            engine.dispose()


def test_oversized_input_is_refused_before_any_database_work(host: MockHost, engine: sa.Engine) -> None:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with pytest.raises(ValidationError) as info:
            host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=_number(host), name="髙" * 10_000_000)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert (info.value.field, info.value.code) == ("name", "invalid.too_long")
    assert not any("dvf_registration" in s or "dvf_app_user" in s for s in seen), seen
    last = host.masters.audit_copy[-1]  # refused, audited, without the value
    assert (last.action, last.outcome, last.reason_code) == ("register", "error", "invalid.too_long")
    assert "髙" not in json.dumps(dict(last.details), ensure_ascii=False)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(registration)).scalar_one() == 0


def _sealer_index_sql(conn: sa.Connection) -> str:
    name = conn.dialect.name
    if name == "postgresql":
        return str(conn.exec_driver_sql("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_dvf_audit_event_sealed'")
                   .scalar_one())  # fmt: skip
    if name == "sqlite":
        return str(conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'ix_dvf_audit_event_sealed'")
                   .scalar_one())  # fmt: skip
    rows = conn.exec_driver_sql("SHOW INDEX FROM dvf_audit_event WHERE Key_name = 'ix_dvf_audit_event_sealed'").all()
    return ",".join(str(r[4]) for r in rows)  # Column_name, in order


def test_migration_0005_keeps_only_the_queue_in_the_sealers_index(backend: str, tmp_path: Path) -> None:
    """Partial (unsealed rows only) on PostgreSQL and SQLite; MariaDB keeps the full index; downgrade restores it."""
    with backends.database({"mysql": "mariadb"}.get(backend, backend), tmp_path) as url:
        engine = embedded_engine(url)
        try:
            migrate.upgrade(engine)
            with engine.connect() as conn:
                head = _sealer_index_sql(conn)
            migrate.downgrade(engine, "0004")
            with engine.connect() as conn:
                before = _sealer_index_sql(conn)
            migrate.upgrade(engine)
            if backend in ("postgresql", "sqlite"):
                assert re.search(r"WHERE \(?sealed = 0\)?", head) and "WHERE" not in before, (head, before)
            else:
                assert head == before == "sealed,id"
        finally:
            engine.dispose()


@pytest.mark.backend("postgresql")
def test_the_sealers_query_reads_the_queue_not_the_trail(engine: sa.Engine) -> None:
    """With statistics as autovacuum keeps them (most events sealed), the pending query reads the index."""
    when = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    draft = chain.Draft("u-zeimu-view1", "D0102", "notices", None, "ok", None, {"count": 1})
    rows = [chain.event_row(draft, now=when)[0] for _ in range(20_200)]
    for seq, row in enumerate(rows[:20_000], start=1):  # a long sealed trail (hashes are not checked here)
        row.update(sealed=1, seq=seq, prev_hash="0" * 64, event_hash="0" * 64)
    with engine.begin() as conn:
        conn.execute(sa.insert(audit_event), rows[:20_000])
        conn.execute(sa.insert(audit_event), rows[20_000:])
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE dvf_audit_event")
        pending = sealer._pending.params(batch=500)
        compiled = pending.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
    assert "ix_dvf_audit_event_sealed" in plan, plan


def _seq_uniqueness(conn: sa.Connection) -> str:
    """How the database keeps seq unique: the DDL of its index or constraint (MariaDB: the index's columns)."""
    name = conn.dialect.name
    if name == "postgresql":
        return str(conn.exec_driver_sql(
            "SELECT COALESCE((SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_dvf_audit_event_seq'), '') || ' | '"
            " || COALESCE((SELECT contype::text FROM pg_constraint WHERE conname = 'uq_dvf_audit_event_seq'), '')"
        ).scalar_one())  # fmt: skip
    if name == "sqlite":
        return " ".join(str(r[0]) for r in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'dvf_audit_event' AND sql IS NOT NULL ORDER BY type DESC"))
    rows = conn.exec_driver_sql("SHOW INDEX FROM dvf_audit_event WHERE Key_name = 'uq_dvf_audit_event_seq'").all()
    return ",".join(f"{r[4]}:{'unique' if not r[1] else 'dup'}" for r in rows)


def test_migration_0006_keeps_the_trail_and_seq_unique(
    backend: str, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    """0006 (seq unique through a partial index, no AUTOINCREMENT on SQLite) keeps every event, both ways."""
    with backends.database({"mysql": "mariadb"}.get(backend, backend), tmp_path) as url:
        engine = embedded_engine(url)
        host = MockHost(engine, data=data, clock=clock, settings={"dvflag.audit_log_path": str(tmp_path / "a.jsonl")})
        try:
            host.seed_users()
            host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=_number(host))
            host.notices(host.actor("u-zeimu-view1"), [_number(host)])
            queued, _ = chain.event_row(chain.Draft("u-zeimu-view1", "D0102", "notices", None, "ok", None, {}),
                                        now=clock())  # fmt: skip
            with engine.begin() as conn:
                conn.execute(sa.insert(audit_event), [queued])  # one event still in the queue
                before = conn.execute(sa.select(audit_event).order_by(audit_event.c.id)).all()
                head = _seq_uniqueness(conn)
            migrate.downgrade(engine, "0005")
            with engine.connect() as conn:
                old = _seq_uniqueness(conn)
                assert conn.execute(sa.select(audit_event).order_by(audit_event.c.id)).all() == before
            migrate.upgrade(engine)
            with engine.connect() as conn:
                assert conn.execute(sa.select(audit_event).order_by(audit_event.c.id)).all() == before
                assert _seq_uniqueness(conn) == head
            if backend == "postgresql":
                assert "UNIQUE INDEX" in head and "WHERE (seq IS NOT NULL)" in head and head.endswith(" | "), head
                assert "WHERE" not in old and old.endswith(" | u"), old  # a constraint at 0005
            elif backend == "sqlite":
                assert "AUTOINCREMENT" not in head and "UNIQUE (seq)" not in head, head
                partial = r"CREATE UNIQUE INDEX uq_dvf_audit_event_seq ON dvf_audit_event \(seq\) WHERE seq IS NOT NULL"
                assert re.search(partial, head), head
                assert "AUTOINCREMENT" in old and "UNIQUE (seq)" in old, old
            else:
                assert head == old == "seq:unique"
            host.notices(host.actor("u-zeimu-view1"), [_number(host)])  # seals the queue too
            assert host.call("dvflag.audit", host.actor("u-kansa-audit1"), op="verify").ok
            with engine.connect() as conn:
                taken = conn.execute(sa.select(sa.func.max(audit_event.c.seq))).scalar_one()
            reuse = sa.update(audit_event).where(audit_event.c.seq == taken - 1).values(seq=taken)
            with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):  # seq is still unique
                conn.execute(reuse)
        finally:
            host.close()
            engine.dispose()
