"""The sealing thread seals an idle process's last events; close() seals what a busy sealer left."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_plugin.audit.seal_worker import SealWorker
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.plugin import service_of
from dvflag_plugin.storage.schema import audit_event, chain_head


def _host(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path, **extra: Any) -> MockHost:
    settings = {"dvflag.audit_log_path": str(tmp_path / "w.jsonl"), "dvflag.audit_seal_batch": 10_000,
                "dvflag.audit_seal_interval_s": 3600, **extra}  # fmt: skip
    host = MockHost(engine, data=data, clock=clock, settings=settings, migrate=False)
    host.seed_users()
    service_of(host.pm).runtime.seal()  # the users' events: start from an empty queue
    return host


THREAD = {"dvflag.audit_seal_background": True, "dvflag.audit_seal_interval_s": 0.2}
"""The plugin's sealing thread, with a short interval."""


def _unsealed(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(audit_event.c.sealed == 0)).scalar_one())


def _number(host: MockHost) -> str:
    return next(p.address_no for p in host.data.people if p.in_master)


def _until(check: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_an_idle_process_has_its_last_event_sealed_by_the_thread(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    host = _host(engine, data, clock, tmp_path, **THREAD)
    try:
        worker = service_of(host.pm).runtime._worker
        assert worker is not None and _until(lambda: not worker.running)  # seeding's events are sealed
        host.notices(host.actor("u-zeimu-view1"), [_number(host)])
        assert _unsealed(engine) == 1  # the call did not seal (batch 10,000)
        assert worker.running
        assert _until(lambda: _unsealed(engine) == 0)  # no further call: the thread sealed it
        assert host.masters.audit_copy[-1].action == "notices"  # and published it
        assert _until(lambda: not worker.running)  # nothing left: the thread rests
        host.notices(host.actor("u-zeimu-view1"), [_number(host)])  # the next event starts it again
        assert _until(lambda: _unsealed(engine) == 0)
    finally:
        host.close()


def test_without_the_thread_an_idle_event_waits_for_the_next_call_or_close(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    host = _host(engine, data, clock, tmp_path, **{"dvflag.audit_seal_background": False,
                                                   "dvflag.audit_seal_interval_s": 0.2})  # fmt: skip
    assert service_of(host.pm).runtime._worker is None
    host.notices(host.actor("u-zeimu-view1"), [_number(host)])
    time.sleep(0.6)
    assert _unsealed(engine) == 1
    host.close()
    assert _unsealed(engine) == 0


@pytest.mark.backend("postgresql", "mariadb")
def test_close_seals_what_a_busy_sealer_missed(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    """The batch's inline seal found the head taken and stopped counting; close still seals."""
    host = _host(engine, data, clock, tmp_path, **{"dvflag.audit_seal_batch": 2,
                                                   "dvflag.audit_seal_background": False})  # fmt: skip
    viewer = host.actor("u-zeimu-view1")
    holder = engine.connect()
    try:
        holder.execute(sa.select(chain_head).with_for_update())  # another sealer at work
        host.notices(viewer, [_number(host)])
        host.notices(viewer, [_number(host)])  # the batch is full: the seal is skipped (busy)
        assert _unsealed(engine) == 2
        assert service_of(host.pm).runtime._pending == 0
    finally:
        holder.rollback()
        holder.close()
    host.close()
    assert _unsealed(engine) == 0


def test_the_worker_rests_when_idle_and_never_strands_a_start() -> None:
    rounds: list[float] = []
    pending = threading.Event()

    def seal_round(woken: bool) -> bool:
        rounds.append(time.monotonic())
        pending.clear()
        return False

    worker = SealWorker(seal_round, 0.05)
    for _ in range(20):  # start() racing the thread's decision to rest
        pending.set()
        worker.start()
        time.sleep(0.03)
    assert _until(lambda: not pending.is_set())
    assert _until(lambda: not worker.running)
    count = len(rounds)
    time.sleep(0.2)
    assert len(rounds) == count  # resting: no rounds without work
    worker.stop()
    worker.start()  # stopped: no thread again
    assert not worker.running


def _child(url: str, tmp: str, number: str, out: Any) -> None:
    from dvflag_plugin.storage.transactions import embedded_engine

    engine = embedded_engine(url)
    try:
        host = _INHERITED["host"]
        host.engine.dispose(close=False)  # the parent's connections stay the parent's
        host.notices(host.actor("u-zeimu-view1"), [number])
        out.put(_until(lambda: _unsealed(engine) == 0, timeout=5.0) and os.getpid())
    finally:
        engine.dispose()


_INHERITED: dict[str, MockHost] = {}


@pytest.mark.backend("sqlite", "postgresql")
def test_a_forked_child_starts_its_own_thread(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    host = _host(engine, data, clock, tmp_path, **THREAD)
    try:
        host.notices(host.actor("u-zeimu-view1"), [_number(host)])  # the parent's thread runs
        assert _until(lambda: _unsealed(engine) == 0)
        _INHERITED["host"] = host
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        proc = ctx.Process(target=_child, args=(engine.url.render_as_string(hide_password=False), str(tmp_path),
                                                _number(host), out))  # fmt: skip
        proc.start()
        answer = out.get(timeout=30)
        proc.join(30)
        assert answer == proc.pid  # the child's event was sealed by the child's own thread
    finally:
        _INHERITED.clear()
        host.close()


def test_a_screen_caution_never_seals_itself(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    """Past the batch size a caution wakes the sealing thread and returns; a change still seals in its call."""
    host = _host(engine, data, clock, tmp_path, **THREAD, **{"dvflag.audit_seal_batch": 1})
    caller = threading.get_ident()
    published: list[tuple[str, bool]] = []
    runtime = service_of(host.pm).runtime
    original = runtime._published

    def spy(events: Any) -> None:
        published.extend((e.action, threading.get_ident() == caller) for e in events)
        original(events)

    runtime._published = spy  # type: ignore[method-assign]
    try:
        viewer = host.actor("u-zeimu-view1")
        for _ in range(3):
            host.notices(viewer, [_number(host)])
        assert _until(lambda: _unsealed(engine) == 0)
        cautions = [inline for action, inline in published if action == "notices"]
        assert len(cautions) == 3 and not any(cautions)  # sealed and published by the thread
        published.clear()
        host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=_number(host))
        assert ("register", True) in published  # a change seals its batch in its own call
    finally:
        host.close()


@pytest.mark.backend("sqlite", "postgresql")
def test_a_flood_of_cautions_wakes_the_thread_at_a_full_sealer_batch(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    from dvflag_plugin.audit import sealer

    host = _host(engine, data, clock, tmp_path, **{"dvflag.audit_seal_background": True,
                                                   "dvflag.audit_seal_batch": 1})  # fmt: skip  # interval: 1 h
    try:
        viewer, number = host.actor("u-zeimu-view1"), _number(host)
        for _ in range(sealer.DEFAULT_BATCH - 1):
            host.notices(viewer, [number])
        time.sleep(0.3)
        assert _unsealed(engine) == sealer.DEFAULT_BATCH - 1  # below a sealer batch: left to the interval
        host.notices(viewer, [number])
        assert _until(lambda: _unsealed(engine) == 0)  # the full batch woke the thread
    finally:
        host.close()


def test_a_failing_sealer_is_reported_once_until_it_works_again(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """The thread retries every interval while the database is away: one warning, not one per retry."""
    from dvflag_plugin.audit import sealer

    host = _host(engine, data, clock, tmp_path)
    try:
        runtime = service_of(host.pm).runtime
        host.notices(host.actor("u-zeimu-view1"), [_number(host)])
        real = sealer.seal

        def down(*args: Any, **kwargs: Any) -> Any:
            raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))

        monkeypatch.setattr(sealer, "seal", down)
        with caplog.at_level("WARNING", logger="dvflag"):
            assert [runtime.seal() for _ in range(5)] == [None] * 5
            monkeypatch.setattr(sealer, "seal", real)
            assert runtime.seal() is not None
            assert runtime.seal() is not None
        said = [r.getMessage() for r in caplog.records if "sealing audit events" in r.getMessage()]
        assert said == [
            "dvflag: sealing audit events failed (StorageError); they stay queued",
            "dvflag: sealing audit events works again",
        ]
        assert _unsealed(engine) == 0
    finally:
        host.close()
