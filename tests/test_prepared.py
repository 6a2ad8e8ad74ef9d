"""The caution hot path: precompiled statements store what Core would; only a caution may commit per statement."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from dvflag_plugin.audit import chain
from dvflag_plugin.errors import StorageError
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.storage import counters
from dvflag_plugin.storage.prepared import Prepared, sqlite_datetime
from dvflag_plugin.storage.schema import CHANGE_COUNTER, audit_event
from dvflag_plugin.storage.transactions import clean, transaction

DRAFT = chain.Draft("u-zeimu-view1", "D0102", "notices", "000000000000001", "ok", None, {"count": 1})


def _core_row(conn: sa.Connection, event_id: str, when: datetime) -> dict[str, Any]:
    """Insert the same event through the plain Core statement, for comparison."""
    row = {
        "event_id": event_id, "occurred_at": when, "actor_id": DRAFT.actor_id, "actor_dept": DRAFT.actor_dept,
        "action": DRAFT.action, "target": DRAFT.target, "outcome": DRAFT.outcome, "reason_code": None,
        "details": '{"count":1}', "leaf_hash": "0" * 64, "sealed": 0,
    }
    conn.execute(audit_event.insert(), row)
    return row


def test_a_queued_event_reads_back_as_the_core_statement_would_store_it(engine: sa.Engine) -> None:
    when = datetime(2026, 11, 26, 3, 4, 5, 678901, tzinfo=UTC)
    with transaction(engine) as conn:
        queued = chain.enqueue(conn, DRAFT, now=when)
        _core_row(conn, "core-0000", when.replace(tzinfo=None))
    with engine.connect() as conn:
        fast, core = (
            conn.execute(sa.select(audit_event).where(audit_event.c.event_id == e)).one()._asdict()
            for e in (queued.event_id, "core-0000")
        )
    assert fast["occurred_at"] == core["occurred_at"] == when.replace(tzinfo=None)
    assert (fast["actor_id"], fast["target"], fast["reason_code"], fast["sealed"]) == (
        core["actor_id"], core["target"], None, 0
    )
    assert fast["leaf_hash"] == queued.leaf_hash == chain.leaf_hash(
        chain.leaf_body(queued.event_id, when.replace(tzinfo=None), DRAFT)
    )
    if engine.dialect.name == "sqlite":  # the stored text itself, not only its parsed value
        with engine.connect() as conn:
            raw = conn.exec_driver_sql("SELECT occurred_at FROM dvf_audit_event ORDER BY id").scalars().all()
        assert raw[0] == raw[1]


def test_the_counter_read_matches_the_core_read(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        core = conn.execute(counters._read, {"name": CHANGE_COUNTER}).scalar_one()
        assert counters.change_no(conn) == core


def test_a_prepared_statement_fails_as_a_storage_error_without_sql(engine: sa.Engine) -> None:
    missing = Prepared(sa.select(sa.literal_column("1")).select_from(sa.table("dvf_no_such_table")).where(
        sa.column("x") == sa.bindparam("x")
    ), ["x"])
    with engine.connect() as conn, pytest.raises(StorageError) as info:
        clean(lambda: missing.execute(conn, {"x": "secret-0000"}))
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert "secret" not in str(info.value) and "dvf_no_such_table" not in str(info.value)


def test_every_prepared_call_still_reaches_the_host_engines_events(engine: sa.Engine) -> None:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with transaction(engine) as conn:
            counters.change_no(conn)
            chain.enqueue(conn, DRAFT, now=datetime(2026, 11, 26, tzinfo=UTC))
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert any("FROM dvf_counter" in s for s in seen)
    inserts = [s for s in seen if s.startswith("INSERT INTO dvf_audit_event")]
    assert len(inserts) == 1 and "RETURNING" not in inserts[0]


def _autocommit_of_inserts(host: MockHost, call: Any) -> list[bool]:
    """For each audit insert ``call`` sends: was the driver connection in autocommit mode?"""
    seen: list[bool] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO dvf_audit_event"):
            driver, name = conn.connection.driver_connection, host.engine.dialect.name
            if name == "sqlite":
                seen.append(driver.isolation_level is None)
            elif name in ("mysql", "mariadb"):
                seen.append(bool(driver.get_autocommit()))
            else:
                seen.append(bool(driver.autocommit))

    sa.event.listen(host.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        sa.event.remove(host.engine, "before_cursor_execute", record)
    return seen


def test_only_a_caution_commits_its_event_by_itself_and_only_on_postgresql(host: MockHost) -> None:
    number = next(p.address_no for p in host.data.people if p.in_master)
    registrar, viewer = host.actor("u-kodomo-reg1"), host.actor("u-kodomo-view1")
    change = _autocommit_of_inserts(host, lambda: host.call("dvflag.register", registrar, address_no=number))
    caution = _autocommit_of_inserts(host, lambda: host.notices(viewer, [number]))
    assert change == [False]  # a change and its event commit together
    assert caution == [host.engine.dialect.name == "postgresql"]
    with host.engine.connect() as conn:  # the caution's event is committed when the call returns
        rows = conn.execute(
            sa.select(audit_event.c.action, audit_event.c.target).where(audit_event.c.action == "notices")
        ).all()
    assert [tuple(r) for r in rows] == [("notices", number)]


def test_a_failed_rollback_does_not_hide_the_first_error(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a socket the server closed the rollback fails too; the caller must still see the first error."""
    from dvflag_plugin.storage.transactions import snapshot

    class First(Exception):
        pass

    def broken_rollback(self: sa.Connection) -> None:
        raise sa.exc.OperationalError("ROLLBACK", {}, Exception("socket closed"))

    def fail_inside(scope: Any) -> None:
        with scope() as conn:
            conn.execute(sa.text("SELECT 1"))
            raise First

    monkeypatch.setattr(sa.Connection, "rollback", broken_rollback)
    for scope in (lambda: transaction(engine), lambda: snapshot(engine)):
        with pytest.raises(First):
            fail_inside(scope)
    monkeypatch.undo()
    with engine.connect() as conn:  # the doubtful connection was discarded, not handed out again
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1


@given(st.datetimes(), st.sampled_from([None, UTC]))
def test_the_fast_sqlite_datetime_text_is_the_general_processors(value: datetime, tz: Any) -> None:
    general = sqlite.DATETIME().bind_processor(sqlite.dialect())
    assert general is not None
    value = value.replace(tzinfo=tz)
    assert sqlite_datetime(general)(value) == general(value)  # naive by isoformat, aware by the general one
    assert sqlite_datetime(general)(value.date()) == general(value.date())
    assert sqlite_datetime(general)(None) is None


def test_the_fast_processor_serves_only_the_default_storage_format() -> None:
    dialect = sqlite.dialect()
    plan = Prepared(sa.select(sa.bindparam("t", type_=sa.DateTime)), ["t"])._plan(dialect)
    assert plan[2]["t"].__qualname__.startswith("sqlite_datetime")
    custom = sqlite.DATETIME(truncate_microseconds=True)
    plan = Prepared(sa.select(sa.bindparam("t", type_=custom)), ["t"])._plan(dialect)
    assert not plan[2]["t"].__qualname__.startswith("sqlite_datetime")  # another format: the general one
