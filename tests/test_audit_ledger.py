"""The per-process ledger of queued events (audit/ledger.py): bounded, looked up in chunks, no false report.

The tamper cases — a queued read, a replaced row and a driver-path caution deleted before sealing, and
events sealed by another process — are in tests/test_audit_tamper.py, against a signed trail.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_plugin.audit import chain, ledger, sealer
from dvflag_plugin.config import Settings
from dvflag_plugin.service.runtime import Runtime
from dvflag_plugin.storage.schema import audit_event

WHEN = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
DRAFT = chain.Draft("u-zeimu-view1", "D0102", "notices", "000000000000001", "ok", None, {"count": 1})


def _queued(n: int) -> list[tuple[dict[str, Any], chain.Queued]]:
    return [chain.event_row(DRAFT, now=WHEN) for _ in range(n)]


def test_the_ledger_keeps_at_most_its_limit_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    book = ledger.Ledger(limit=3)
    events = [q for _, q in _queued(6)]
    with caplog.at_level(logging.WARNING, logger="dvflag"):
        for q in events:
            book.add(q)
    assert len(book) == 3
    assert list(book._entries) == [q.event_id for q in events[3:]]  # the oldest were dropped
    assert len([r for r in caplog.records if "can no longer be checked" in r.message]) == 1
    book.settle(ledger.Review(tuple(q.event_id for q in events[3:]), (), ()))
    assert len(book) == 0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dvflag"):
        for q in events:
            book.add(q)
    assert len([r for r in caplog.records if "can no longer be checked" in r.message]) == 1  # a new episode


def test_a_review_settles_nothing_until_its_transaction_commits(engine: sa.Engine) -> None:
    rows = _queued(3)
    book = ledger.Ledger()
    with engine.begin() as conn:
        conn.execute(sa.insert(audit_event), [r for r, _ in rows])
    for _, q in rows:
        book.add(q)
    with engine.connect() as conn:
        review = book.review(conn, {rows[0][1].event_id: "f" * 64}, checks=None)  # "sealed now", another leaf
    assert review is not None
    assert (review.sealed, review.queued, review.missing) == ((), (rows[1][1].event_id, rows[2][1].event_id),
                                                              (rows[0][1].event_id,))
    assert len(book) == 3  # not settled: the caller's transaction did not say it committed
    book.settle(review)
    assert list(book._entries) == [rows[1][1].event_id, rows[2][1].event_id]


def test_the_ledger_is_looked_up_in_bounded_chunks(engine: sa.Engine) -> None:
    """Events sealed by another process: a round after a call looks up ROUND_CHECKS of them, an
    explicit seal all; deleted ones are named in one alert sealed with the round."""
    rt = Runtime(engine=engine, settings=Settings(audit_seal_batch=10_000, audit_seal_interval_s=3600))
    rows = _queued(ledger.ROUND_CHECKS + 2 * ledger.CHECK_CHUNK + 7)
    with engine.begin() as conn:
        conn.execute(sa.insert(audit_event), [r for r, _ in rows])
    for _, q in rows:
        rt.ledger.add(q)
    assert sealer.seal(engine).sealed == len(rows)  # `dvflag audit seal` or another process: no ledger
    gone = [rows[5][1].event_id, rows[-1][1].event_id]  # one among the oldest, the newest
    with engine.begin() as conn:
        conn.execute(sa.delete(audit_event).where(audit_event.c.event_id.in_(gone)))
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        first = rt.seal(max_batches=1, opportunistic=True)  # what a call or the sealing thread runs
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert first is not None and (first.sealed, first.missing) == (1, 1)  # the alert for rows[5]
    assert len(rt.ledger) == len(rows) - ledger.ROUND_CHECKS
    lookups = [s for s in statements if "dvf_audit_event.event_id IN" in s]
    assert len(lookups) == ledger.ROUND_CHECKS // ledger.CHECK_CHUNK
    second = rt.seal()  # explicit: everything left
    assert second is not None and (second.sealed, second.missing) == (1, 1) and len(rt.ledger) == 0
    with engine.connect() as conn:
        alerts = [json.loads(d) for d in conn.execute(
            sa.select(audit_event.c.details).where(audit_event.c.reason_code == ledger.MISSING_REASON)
            .order_by(audit_event.c.seq)).scalars()]  # fmt: skip
    assert [(a["count"], a["event_ids"]) for a in alerts] == [(1, [gone[0]]), (1, [gone[1]])]
    with engine.connect() as conn:
        assert not chain.verify(conn).ok  # chain.verify (trail only) reports the alerts too
    rt.close()


def test_a_normal_run_forgets_every_event_and_reports_nothing(engine: sa.Engine) -> None:
    rt = Runtime(engine=engine, settings=Settings(audit_seal_batch=2, audit_seal_interval_s=3600))
    for i in range(5):
        rt.audit_alone(chain_actor(), "audit", None, "ok", None, {"op": "verify", "i": i})
    assert len(rt.ledger) == 1  # four sealed after the calls (batch 2), one queued
    rt.close()
    assert len(rt.ledger) == 0
    with engine.connect() as conn:
        assert chain.verify(conn).ok


def chain_actor() -> Any:
    from dvflag_hookspecs import Actor

    return Actor(user_id="u-audit1", dept_code="D0001")


@pytest.mark.backend("postgresql")
def test_the_ledger_lookup_reads_the_event_id_index(engine: sa.Engine) -> None:
    """A chunk's lookup can read the unique index on event_id (no migration needed). On a table this
    small the planner may prefer a scan; seq scans off shows the index applies to the IN list as sent."""
    rows = [r for r, _ in _queued(5_000)]
    with engine.begin() as conn:
        conn.execute(sa.insert(audit_event), rows)
        conn.exec_driver_sql("ANALYZE dvf_audit_event")
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        lookup = ledger._lookup.params(ids=[r["event_id"] for r in rows[:ledger.CHECK_CHUNK]])
        compiled = lookup.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
    assert "uq_dvf_audit_event_event_id" in plan, plan[:300]


CHILD = """
import sqlite3, sys, os
from dvflag_plugin.mockhost import MockHost
path, how = sys.argv[1], sys.argv[2]
host = MockHost("sqlite:///" + path, settings={"dvflag.audit_log_path": path + ".jsonl",
                "dvflag.audit_seal_batch": 1000, "dvflag.audit_seal_interval_s": 3600})
host.seed_users()
host.call("dvflag.status", host.actor("u-kodomo-view1"), address_no="000000000000001")
raw = sqlite3.connect(path)  # a DBA deletes what this process queued, before any seal round
victims = [r[0] for r in raw.execute("SELECT event_id FROM dvf_audit_event WHERE sealed = 0")]
raw.execute("DELETE FROM dvf_audit_event WHERE sealed = 0")
raw.commit()
raw.close()
print(",".join(victims), flush=True)
if how == "killed":
    os._exit(0)  # as SIGKILL: nothing of the process runs any more
sys.exit(0)  # a normal exit, without host.close()
"""


def _alerts(path: Path) -> list[dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(audit_event.c.details, audit_event.c.sealed)
                                .where(audit_event.c.action == "audit")).all()  # fmt: skip
    finally:
        engine.dispose()
    return [{**json.loads(r.details), "sealed": r.sealed} for r in rows
            if json.loads(r.details).get("op") == ledger.MISSING_OP]  # fmt: skip


@pytest.mark.parametrize("how", ["exit", "killed"])
def test_a_host_that_exits_without_close_still_records_its_deleted_queued_events(tmp_path: Path, how: str) -> None:
    """The last seal round runs at a normal interpreter exit; a killed process (the documented limit) runs none."""
    path = tmp_path / "exit.sqlite3"
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), how], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    victims = done.stdout.strip().split(",")
    assert victims and all(victims)
    alerts = _alerts(path)
    if how == "exit":
        [alert] = alerts
        assert alert["sealed"] == 1 and alert["count"] == len(victims) and sorted(alert["event_ids"]) == sorted(victims)
    else:
        assert alerts == []  # its ledger died with it: what the README states as the remaining gap


def test_at_exit_a_forked_child_closes_only_a_runtime_it_used(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An inherited runtime is left alone (its pool's connections are the parent's); one the child used is closed."""
    from dvflag_plugin.service import runtime as runtime_mod

    rt = Runtime(engine=engine, settings=Settings(audit_seal_background=False))
    try:
        monkeypatch.setattr(runtime_mod.os, "getpid", lambda: -1)  # as in a child after fork()
        runtime_mod._close_at_exit()
        assert rt._closed is False and rt in runtime_mod._OPEN  # merely inherited: untouched
        rt.ledger.add(_queued(1)[0][1])  # the child queued an event of its own
        seals: list[bool] = []
        monkeypatch.setattr(rt, "seal", lambda **kw: seals.append(True))
        runtime_mod._close_at_exit()
        assert rt._closed is True and rt not in runtime_mod._OPEN and seals  # closed, with a last seal round
    finally:
        monkeypatch.undo()
        rt.close()
