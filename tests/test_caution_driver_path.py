"""The screen caution's driver path (storage/direct.py): same answer, same event, or the envelope answers."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from dvflag_hookspecs import Actor
from dvflag_plugin.audit import chain
from dvflag_plugin.config import Settings
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import ValidationError
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.plugin import service_of
from dvflag_plugin.service import notices
from dvflag_plugin.service import runtime as runtime_mod
from dvflag_plugin.service.runtime import Runtime, day_span
from dvflag_plugin.storage import direct
from dvflag_plugin.storage.prepared import Prepared
from dvflag_plugin.storage.schema import audit_event

DIRECT = ("sqlite", "postgresql")
QUEUE_ONLY = {"dvflag.audit_seal_batch": 10_000, "dvflag.audit_seal_interval_s": 3600}
"""No seal during the test (a seal takes a pooled connection of its own)."""


def _numbers(host: MockHost) -> list[str]:
    return [p.address_no for p in host.data.people if p.in_master]


def _host(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path, *, seed: bool = True, **extra: Any
) -> MockHost:
    settings = {"dvflag.audit_log_path": str(tmp_path / "d.jsonl"), **extra}
    host = MockHost(engine, data=data, clock=clock, settings=settings, migrate=False)
    if seed:
        host.seed_users()
    return host


def _events(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(audit_event).order_by(audit_event.c.id)))


def _statements(engine: sa.Engine, call: Any) -> list[str]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


@pytest.fixture
def warm(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> Any:
    """A host with one held number and a warm cache (the first caution filled it)."""
    host = _host(engine, data, clock, tmp_path)
    held, free = _numbers(host)[:2]
    host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=held)
    viewer = host.actor("u-zeimu-view1")
    assert host.notices(viewer, [free]) == {}  # through the envelope: fills the cache
    yield host, viewer, held, free
    host.close()


def test_the_driver_path_serves_only_sqlite_and_postgresql(engine: sa.Engine) -> None:
    assert direct.usable(engine) is (engine.dialect.name in DIRECT)


def test_a_warm_caution_bypasses_the_connection_and_stores_the_envelopes_event(engine: sa.Engine, warm: Any) -> None:
    host, viewer, held, free = warm
    before = len(_events(engine))
    seen = _statements(engine, lambda: (host.notices(viewer, [held]), host.notices(viewer, [free])))
    answered = host.notices(viewer, [held])
    assert answered[held][0].address_no == held and answered[held][0].message == notices.CAUTION
    events = _events(engine)[before:]
    assert len(events) == 3  # one event per call, never two
    if engine.dialect.name in DIRECT:
        assert not any(s.startswith("INSERT INTO dvf_audit_event") for s in seen)  # the driver path
    else:
        assert sum(s.startswith("INSERT INTO dvf_audit_event") for s in seen) == 2
    # The same event the envelope writes: target, outcome, details, and a leaf that verifies.
    for row, flagged in zip(events, (1, 0, 1), strict=True):
        assert (row.actor_id, row.actor_dept, row.action, row.outcome, row.reason_code) == (
            viewer.user_id, viewer.dept_code, "notices", "ok", None
        )
        assert json.loads(row.details) == {"count": 1, "flagged_count": flagged}
        body = chain.leaf_body(row.event_id, row.occurred_at, chain.row_to_event(row))
        assert chain.leaf_hash(body) == row.leaf_hash
    service_of(host.pm).runtime.seal()
    with engine.connect() as conn:
        assert chain.verify(conn).ok


def test_switched_off_every_caution_statement_reaches_the_engines_events(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    host = _host(engine, data, clock, tmp_path, **{"dvflag.caution_driver_path": False})
    try:
        viewer, number = host.actor("u-zeimu-view1"), _numbers(host)[0]
        host.notices(viewer, [number])
        seen = _statements(engine, lambda: host.notices(viewer, [number]))
        assert sum(s.startswith("INSERT INTO dvf_audit_event") for s in seen) == 1
        assert service_of(host.pm).runtime.direct_cautions is False
    finally:
        host.close()


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_the_switch_must_be_a_boolean(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        Settings.from_mapping({"dvflag.caution_driver_path": value})
    assert info.value.field == "caution_driver_path" and "true / false" in info.value.message


@pytest.mark.parametrize(
    "key", ["dvflag.audit_seal_batch", "dvflag.audit_seal_interval_s", "dvflag.audit_max_unsealed_s"]
)
def test_sealing_settings_out_of_range_are_refused(key: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings.from_mapping({key: 0 if key == "dvflag.audit_seal_batch" else -1})
    assert info.value.rule == "setting"


def test_a_change_elsewhere_is_seen_by_the_next_caution(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path, warm: Any
) -> None:
    host, viewer, _, free = warm
    (tmp_path / "other").mkdir()
    other = _host(engine, data, clock, tmp_path / "other", seed=False)  # another process's runtime
    try:
        assert host.notices(viewer, [free]) == {}
        before = len(_events(engine))
        reg = other.call("dvflag.register", other.actor("u-kodomo-reg1"), address_no=free)
        assert free in host.notices(viewer, [free])  # the counter moved: nothing inserted, the envelope answered
        other.call("dvflag.release", other.actor("u-kodomo-reg1"), record_id=reg.record_id,
                   row_version=reg.row_version)  # fmt: skip
        assert host.notices(viewer, [free]) == {}
        cautions = [r for r in _events(engine)[before:] if r.action == "notices" and r.actor_id == viewer.user_id]
        assert [json.loads(r.details)["flagged_count"] for r in cautions] == [1, 0]  # one event each
    finally:
        other.close()


def test_refused_input_and_actors_take_the_envelope_and_are_audited(engine: sa.Engine, warm: Any) -> None:
    host, viewer, held, _ = warm
    before = len(_events(engine))
    with pytest.raises(ValidationError):
        host.notices(viewer, ["12a"])
    with pytest.raises(Exception, match="操作者"):
        host.notices(Actor("bad id", "D0102"), [held])
    rows = _events(engine)[before:]
    assert [(r.outcome, r.reason_code, r.actor_id) for r in rows] == [
        ("error", "invalid.digits", viewer.user_id), ("denied", "actor.invalid", "(invalid-actor)")
    ]


def test_the_pooled_connection_goes_back_as_it_was_lent(engine: sa.Engine, warm: Any) -> None:
    host, viewer, held, _ = warm
    host.notices(viewer, [held])
    service_of(host.pm).runtime.caution_line.close()  # as Runtime.close() does
    assert held in host.notices(viewer, [held])  # after close: a pooled connection for each caution
    lent: list[Any] = []
    with engine.connect() as conn:  # the pool hands out the connection the caution used
        driver: Any = conn.connection.driver_connection
        lent.append(driver)
        if engine.dialect.name == "postgresql":
            assert driver.autocommit is False
        if engine.dialect.name == "sqlite":
            assert driver.in_transaction is False
            level, checkpoints = _fresh_settings(engine)
            assert driver.isolation_level == level  # autocommit switched back off
            assert driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == checkpoints > 0  # restored
        conn.execute(sa.text("SELECT 1"))
        conn.rollback()
    assert lent


def _fresh_settings(engine: sa.Engine) -> tuple[object, int]:
    """(isolation level, WAL autocheckpoint) of a SQLite connection the pool never lent to a caution."""
    fresh = engine.pool.recreate()
    try:
        raw: Any = fresh.connect()
        driver = raw.driver_connection
        settings = driver.isolation_level, driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        raw.close()
        return settings
    finally:
        fresh.dispose()


@contextlib.contextmanager
def _checkouts(engine: sa.Engine) -> Iterator[list[int]]:
    """Count the pool's checkouts while the block runs."""
    seen: list[int] = []

    def count(*args: Any) -> None:
        seen.append(1)

    sa.event.listen(engine, "checkout", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "checkout", count)


@pytest.fixture
def pinned(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> Any:
    """A host that never seals during the test, one held number, and its caution connection pinned."""
    host = _host(engine, data, clock, tmp_path, **QUEUE_ONLY)
    held, free = _numbers(host)[:2]
    host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=held)
    viewer = host.actor("u-zeimu-view1")
    host.notices(viewer, [free])  # the envelope fills the cache
    host.notices(viewer, [held])  # pinned now
    yield host, viewer, held, free
    host.close()


@pytest.mark.backend(*DIRECT)
def test_cautions_reuse_one_pinned_connection_until_close(engine: sa.Engine, pinned: Any) -> None:
    host, viewer, held, free = pinned
    line = service_of(host.pm).runtime.caution_line
    before = len(_events(engine))
    with _checkouts(engine) as checkouts:
        for _ in range(20):
            assert held in host.notices(viewer, [held]) and host.notices(viewer, [free]) == {}
    assert checkouts == [] and len(_events(engine)) == before + 40  # no pool checkout per caution
    pool: Any = engine.pool
    if isinstance(pool, sa.pool.QueuePool):
        out = pool.checkedout()
        line.close()
        assert pool.checkedout() == out - 1  # back in the pool
    else:
        line.close()
    with _checkouts(engine) as checkouts:
        host.notices(viewer, [held])
    assert checkouts  # after close, every caution takes a pooled connection


@pytest.mark.backend(*DIRECT)
def test_a_caution_while_the_pinned_connection_is_busy_takes_a_pooled_one(
    engine: sa.Engine, warm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, viewer, held, _ = warm
    line = service_of(host.pm).runtime.caution_line
    host.notices(viewer, [held])
    before = len(_events(engine))
    line._lock.acquire()  # another thread of this process is mid-caution
    try:
        with _checkouts(engine) as checkouts:
            assert held in host.notices(viewer, [held])
    finally:
        line._lock.release()
    assert checkouts and len(_events(engine)) == before + 1


@pytest.mark.backend(*DIRECT)
def test_a_forked_child_never_uses_nor_closes_its_parents_connection(
    engine: sa.Engine, warm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, viewer, held, _ = warm
    line = service_of(host.pm).runtime.caution_line
    host.notices(viewer, [held])
    parents, parents_cursor, lent = line._fairy, line._cursor, line._lent
    assert parents is not None and parents_cursor is not None
    monkeypatch.setattr(direct, "_forks", [direct._forks[0] + 1])  # as in a child after fork()
    monkeypatch.setattr(direct, "_parents", [])
    before = len(_events(engine))
    assert held in host.notices(viewer, [held])
    assert line._fairy is not parents and direct._parents == [(parents, parents_cursor)]  # kept, never touched
    assert parents.is_valid and len(_events(engine)) == before + 1
    line.close()  # the "child" gives back its own connection, and keeps its parent's untouched
    assert direct._parents == [(parents, parents_cursor)] and parents.is_valid
    monkeypatch.undo()  # (the test plays both processes: the "parent" gives its own back, as close() does)
    parents_cursor.close()
    direct._release(engine, parents, parents.driver_connection, lent, broken=False)


@pytest.mark.backend("postgresql")
def test_a_connection_the_server_dropped_is_discarded_and_the_caution_still_answers(
    engine: sa.Engine, warm: Any
) -> None:
    host, viewer, held, _ = warm
    host.notices(viewer, [held])
    before = len(_events(engine))
    held_open = [engine.connect() for _ in range(3)]  # the pool now keeps three idle connections
    for conn in held_open:
        conn.close()
    admin = sa.create_engine(engine.url, poolclass=sa.NullPool)
    try:
        with admin.connect() as conn:  # the server drops every pooled connection while it is idle
            killed = conn.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).scalar_one()
    finally:
        admin.dispose()
    assert killed >= 3
    assert held in host.notices(viewer, [held])  # the driver path finds a dead one, the pool is renewed
    assert held in host.notices(viewer, [held])
    assert len(_events(engine)) == before + 2


def test_a_driver_failure_leaves_nothing_and_the_envelope_answers(
    engine: sa.Engine, warm: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    host, viewer, held, _ = warm

    class Broken(Prepared):
        def driver_args(self, dialect: sa.Dialect, params: Any) -> tuple[str, Any]:
            sql, args = super().driver_args(dialect, params)
            return sql.replace("dvf_audit_event", "dvf_no_such_table", 1), args

    broken = Broken(notices._event_if_current.statement, notices._event_if_current.keys)
    monkeypatch.setattr(notices, "_event_if_current", broken)
    monkeypatch.setattr(direct, "_warned", set())
    before = len(_events(engine))
    with caplog.at_level("WARNING", logger="dvflag"):
        assert held in host.notices(viewer, [held])
        assert held in host.notices(viewer, [held])
    assert len(_events(engine)) == before + 2  # only the envelope's events
    if engine.dialect.name in DIRECT:  # said once, by exception type only (its text could quote parameters)
        warned = [r.getMessage() for r in caplog.records if "driver path" in r.getMessage()]
        assert len(warned) == 1 and "dvf_no_such_table" not in warned[0] and held not in warned[0]


@pytest.mark.backend("postgresql")
def test_after_a_dead_connection_the_pool_hands_out_only_live_ones(engine: sa.Engine) -> None:
    held_open = [engine.connect() for _ in range(3)]
    for conn in held_open:
        conn.close()
    admin = sa.create_engine(engine.url, poolclass=sa.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    finally:
        admin.dispose()
    probe = Prepared(sa.insert(audit_event).from_select(["event_id"], sa.select(sa.bindparam("x"))), ["x"])
    assert direct.insert_one(engine, probe, {"x": "never-inserted"}) is False
    for _ in range(3):  # as after a Connection's disconnect: the other pooled connections are renewed too
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1


@pytest.mark.backend("sqlite")
def test_a_sqlite_caution_is_one_autocommit_statement_that_waits_for_a_writers_lock(
    engine: sa.Engine, pinned: Any
) -> None:
    host, viewer, held, _ = pinned
    line = service_of(host.pm).runtime.caution_line
    assert line._driver.isolation_level is None  # pinned in autocommit mode: no BEGIN and COMMIT around it
    assert line._driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0  # and never checkpoints
    writer = sqlite3.connect(str(engine.url.database), isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # another process holds SQLite's write lock
    threading.Timer(0.3, writer.execute, ("COMMIT",)).start()
    before = len(_events(engine))
    started = time.monotonic()
    try:
        with _checkouts(engine) as checkouts:
            assert held in host.notices(viewer, [held])
    finally:
        time.sleep(0.4) if writer.in_transaction else None  # (the timer has not run: let it)
        writer.close()
    assert time.monotonic() - started >= 0.25  # it waited for the lock (busy timeout) ...
    assert checkouts == [] and len(_events(engine)) == before + 1  # ... on the driver path, one event


NAIVE_2000 = datetime(2000, 1, 1, tzinfo=UTC).replace(tzinfo=None)  # hypothesis takes naive bounds
NAIVE_2100 = datetime(2100, 1, 1, tzinfo=UTC).replace(tzinfo=None)


@given(st.lists(st.datetimes(min_value=NAIVE_2000, max_value=NAIVE_2100, timezones=st.just(UTC)), min_size=1,
                max_size=30), st.sampled_from([9, 0, -5, 14]))
def test_the_local_day_from_the_cached_span_is_the_settings_day(instants: list[datetime], offset: int) -> None:
    settings = Settings.from_mapping({"dvflag.utc_offset_hours": offset})
    rt = SimpleNamespace(settings=settings, _day_span=None)
    for instant in [*instants, *sorted(instants)]:
        assert Runtime.local_day(rt, instant) == settings.local_day(instant)  # type: ignore[arg-type]
        for edge in (rt._day_span or ())[:2]:
            for t in (edge - timedelta(microseconds=1), edge):
                assert Runtime.local_day(rt, t) == settings.local_day(t)  # type: ignore[arg-type]
    assert day_span(settings, date.max) is None and day_span(settings, date.min) is None


def test_only_clean_actors_are_remembered_and_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_mod, "CLEAN_ACTORS_LIMIT", 3)
    rt = SimpleNamespace(settings=Settings(), clean_actors=set())
    bad = [Actor("bad id", "D0102"), Actor("u-ok", "D 01"), Actor("u-ok", 7)]  # type: ignore[arg-type]
    for actor in bad * 2:
        assert runtime_mod.actor_is_clean(rt, actor) is False  # type: ignore[arg-type]
    assert rt.clean_actors == set()
    for i in range(5):
        assert runtime_mod.actor_is_clean(rt, Actor(f"u-{i}", "D0102")) is True  # type: ignore[arg-type]
        assert len(rt.clean_actors) <= 3
    assert runtime_mod.actor_is_clean(rt, "u-0") is False  # type: ignore[arg-type]


class _OpenAfterInsert:
    """A SQLite driver connection that says autocommit but leaves a transaction open (a mode that ignores it)."""

    isolation_level = None

    def __init__(self) -> None:
        self.in_transaction = False
        self.rolled_back = False

    def rollback(self) -> None:
        self.rolled_back, self.in_transaction = True, False


def test_a_sqlite_insert_left_in_a_transaction_is_rolled_back_and_the_envelope_answers() -> None:
    driver = _OpenAfterInsert()

    class Cursor:
        rowcount = 1

        def execute(self, sql: str, args: Any) -> None:
            driver.in_transaction = True

    engine = sa.create_engine("sqlite://")
    try:
        params = {**chain.event_row(chain.Draft("u-a", "D0102", "notices", "1", "ok", None, {}),
                                    now=datetime.now(UTC))[0], "counter_name": "change", "seen_no": 0}  # fmt: skip
        outcome = direct._run(engine, object(), driver, notices._event_if_current, params, cursor=Cursor())
        assert outcome == (False, True)
        assert driver.rolled_back and not driver.in_transaction  # nothing kept; the connection is replaced
    finally:
        engine.dispose()
