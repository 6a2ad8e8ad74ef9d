"""Concurrency on every backend (issue 4 items 2 and 3): races, the audit chain, retries, caches.

Each racing worker is a host of its own — its own MockHost, Runtime and engine (connection pool) on
the same database — as separate host processes would be; a ``threading.Barrier`` releases them at
once. SQLite runs the races too: it serialises writers with ``BEGIN IMMEDIATE``. Cache coherence is
tested with a second OS process that keeps its runtime (and its cache of held numbers) between calls.
"""

from __future__ import annotations

import itertools
import json
import selectors
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_plugin.audit import chain, sealer
from dvflag_plugin.dummydata.model import DummyDataSet, DummyPerson
from dvflag_plugin.errors import DuplicateError, NotFoundError, StaleVersionError
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.storage import counters, transactions
from dvflag_plugin.storage.schema import registration
from dvflag_plugin.storage.transactions import is_retryable, transaction, with_retries

N = 8
TIMEOUT = 30.0
REPO = Path(__file__).resolve().parents[1]


# -- helpers ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    """What one racing call returned or raised."""

    value: Any = None
    error: BaseException | None = None


def race(calls: list[Callable[[], Any]]) -> list[Result]:
    """Run the calls in threads released together by a barrier; results in the calls' order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Result:
        barrier.wait(timeout=TIMEOUT)
        try:
            return Result(value=call())
        except Exception as err:
            return Result(error=err)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [f.result(timeout=TIMEOUT) for f in futures]


@contextmanager
def other_hosts(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path, n: int
) -> Iterator[list[MockHost]]:
    """``n`` started hosts on the same database, each with its own engine, runtime and audit file."""
    hosts: list[MockHost] = []
    try:
        for i in range(n):
            own_engine = transactions.embedded_engine(engine.url)
            settings = {"dvflag.audit_log_path": str(tmp_path / f"audit-{i}.jsonl")}
            hosts.append(MockHost(own_engine, data=data, clock=clock, settings=settings, migrate=False))
        yield hosts
    finally:
        for h in hosts:
            h.close()
            h.engine.dispose()


def events_after(engine: sa.Engine, seq: int) -> list[Any]:
    """Sealed events after ``seq``, once every queued event is sealed (a racing sealer may have skipped)."""
    sealer.seal(engine)
    with engine.connect() as conn:
        return list(chain.iter_events(conn, from_seq=seq + 1))


def head(engine: sa.Engine) -> chain.Head:
    with engine.connect() as conn:
        return chain.read_head(conn)


def change_no(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return counters.change_no(conn)


def verify(engine: sa.Engine) -> Any:
    with engine.connect() as conn:
        return chain.verify(conn)


def in_master(data: DummyDataSet, count: int) -> list[DummyPerson]:
    people = [p for p in data.people if p.in_master]
    assert len(people) >= count
    return people[:count]


def rows_of(engine: sa.Engine, address_no: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(registration).where(registration.c.address_no == address_no)))


# -- races through the plugin ---------------------------------------------------------------------


def test_simultaneous_registrations_of_one_person_by_one_department(
    host: MockHost, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    (person,) = in_master(data, 1)
    before, changes_before = head(host.engine), change_no(host.engine)
    with other_hosts(host.engine, data, clock, tmp_path, N) as hosts:
        results = race([
            lambda h=h: h.call("dvflag.register", h.actor("u-kodomo-reg1"), address_no=person.address_no)
            for h in hosts
        ])  # fmt: skip
    won = [r for r in results if r.error is None]
    lost = [r for r in results if r.error is not None]
    assert len(won) == 1, [repr(r.error) for r in lost]
    assert all(isinstance(r.error, DuplicateError) for r in lost), [repr(r.error) for r in lost]
    assert len(rows_of(host.engine, person.address_no)) == 1
    events = events_after(host.engine, before.last_seq)
    assert [e.action for e in events] == ["register"] * N  # one event per attempt, nothing else
    assert sorted((e.outcome, e.reason_code) for e in events) == [("error", "duplicate")] * (N - 1) + [("ok", None)]
    assert change_no(host.engine) == changes_before + 1
    assert verify(host.engine).ok


def test_the_unique_key_alone_refuses_a_duplicate_under_a_race(engine: sa.Engine) -> None:
    """The database guarantee under the plugin's lock: N raw inserts of one key, one row."""
    values = {
        "address_no": "000000000424242", "name": "試験\u3000太郎", "sex_code": 1, "birth_date": date(1990, 1, 1),
        "dept_code": "D0201", "dept_name": "子ども家庭課", "input_date": date(2026, 1, 5), "row_version": 1,
        "created_at": sa.func.current_timestamp(), "updated_at": sa.func.current_timestamp(),
    }  # fmt: skip

    def insert() -> None:
        with engine.begin() as conn:
            conn.execute(sa.insert(registration).values(**values))

    results = race([insert] * N)
    assert sum(r.error is None for r in results) == 1
    assert all(isinstance(r.error, sa.exc.IntegrityError) for r in results if r.error is not None), [
        repr(r.error) for r in results
    ]
    assert len(rows_of(engine, "000000000424242")) == 1


def test_concurrent_writers_keep_the_audit_chain_whole(
    host: MockHost, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    registrars = ["u-kodomo-reg1", "u-danjo-reg1", "u-seikatsu-reg1", "u-hoken-reg1", "u-kenko-reg1", "u-gakumu-reg1"]
    people = in_master(data, N)
    rounds = 4
    before, changes_before = head(host.engine), change_no(host.engine)

    def work(h: MockHost, i: int) -> int:
        registrar = h.actor(registrars[i % len(registrars)])
        viewer = h.actor("u-kodomo-view1")
        number = people[i].address_no
        for _ in range(rounds):
            h.notices(viewer, [number])
            h.call("dvflag.status", viewer, address_no=number)
        h.call("dvflag.register", registrar, address_no=number)
        return 2 * rounds + 1

    with other_hosts(host.engine, data, clock, tmp_path, N) as hosts:
        results = race([lambda h=h, i=i: work(h, i) for i, h in enumerate(hosts)])
    assert [r.error for r in results] == [None] * N
    expected = sum(r.value for r in results)
    events = events_after(host.engine, before.last_seq)
    assert [e.seq for e in events] == list(range(before.last_seq + 1, before.last_seq + expected + 1))
    assert all(e.outcome == "ok" for e in events)
    for prev, event in itertools.pairwise(events):
        assert event.prev_hash == prev.hash
    after = head(host.engine)
    assert (after.last_seq, after.last_hash) == (events[-1].seq, events[-1].hash)
    assert change_no(host.engine) == changes_before + N  # only the registrations changed anything
    result = verify(host.engine)
    assert result.ok, result.message
    with host.engine.connect() as conn:
        seqs = list(conn.execute(sa.text("SELECT seq FROM dvf_audit_event ORDER BY seq")).scalars())
    assert seqs == list(range(1, len(seqs) + 1))  # no gaps, no repeats, from the first event


def _registered(host: MockHost, person: DummyPerson) -> Any:
    return host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=person.address_no)


def test_release_racing_delete(host: MockHost, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> None:
    people = in_master(data, 3)
    regs = [_registered(host, p) for p in people]
    today = regs[0].input_date
    with other_hosts(host.engine, data, clock, tmp_path, 2) as (a, b):
        for reg in regs:  # a few rounds, so that either side may win
            before, changes_before = head(host.engine), change_no(host.engine)
            release = partial(
                a.call,
                "dvflag.release",
                a.actor("u-kodomo-reg1"),
                record_id=reg.record_id,
                row_version=reg.row_version,
            )
            delete = partial(
                b.call,
                "dvflag.delete",
                b.actor("u-kodomo-reg1"),
                record_id=reg.record_id,
                row_version=reg.row_version,
                reason="mistaken_entry",
            )
            released, deleted = race([release, delete])
            assert (released.error is None) != (deleted.error is None), (released, deleted)
            rows = rows_of(host.engine, reg.address_no)
            events = events_after(host.engine, before.last_seq)
            assert len(events) == 2
            if deleted.error is None:
                assert isinstance(released.error, NotFoundError), repr(released.error)
                assert rows == []
                winner, loser = ("delete", "ok", None), ("release", "error", "not_found.record")
            else:
                assert isinstance(deleted.error, StaleVersionError), repr(deleted.error)
                (row,) = rows
                assert (row.release_date, row.row_version) == (today, reg.row_version + 1)
                winner, loser = ("release", "ok", None), ("delete", "error", "stale_version")
            assert sorted((e.action, e.outcome, e.reason_code) for e in events) == sorted([winner, loser])
            assert change_no(host.engine) == changes_before + 1  # one change, not half of two
    assert verify(host.engine).ok


def test_two_updates_with_the_same_row_version(
    host: MockHost, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    (person,) = in_master(data, 1)
    reg = _registered(host, person)
    before = head(host.engine)
    edits = [{"name": "更新\u3000一郎", "sex_code": 1}, {"name": "更新\u3000花子", "sex_code": 2}]
    with other_hosts(host.engine, data, clock, tmp_path, 2) as hosts:
        results = race([
            lambda h=h, e=e: h.call(
                "dvflag.update", h.actor("u-kodomo-reg1"), record_id=reg.record_id, row_version=reg.row_version, **e
            )
            for h, e in zip(hosts, edits, strict=True)
        ])  # fmt: skip
    won = [i for i, r in enumerate(results) if r.error is None]
    assert len(won) == 1, results
    loser = results[1 - won[0]]
    assert isinstance(loser.error, StaleVersionError), repr(loser.error)
    (row,) = rows_of(host.engine, person.address_no)
    # The winner's edit whole, never a mix of both; the version moved once.
    assert (row.name, row.sex_code, row.row_version) == (
        edits[won[0]]["name"], edits[won[0]]["sex_code"], reg.row_version + 1,
    )  # fmt: skip
    events = events_after(host.engine, before.last_seq)
    assert sorted((e.action, e.outcome, e.reason_code) for e in events) == [
        ("update", "error", "stale_version"), ("update", "ok", None),
    ]  # fmt: skip


# -- retries: bounded, and only for what the database says is transient --------------------------


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _wrapped(orig: Exception) -> sa.exc.DBAPIError:
    return sa.exc.OperationalError("UPDATE dvf_counter …", {}, orig)


def _ora(code: int, text: str) -> Exception:
    """An exception shaped exactly as python-oracledb raises it (its own error classes, no server)."""
    import oracledb
    from oracledb.errors import _Error

    return oracledb.DatabaseError(_Error(message=f"ORA-{code:05d}: {text}", code=code))


@pytest.mark.parametrize(
    ("orig", "retryable"),
    [
        (_PgError("40001"), True),  # serialization_failure
        (_PgError("40P01"), True),  # deadlock_detected
        (_PgError("55P03"), True),  # lock_not_available
        (_PgError("23505"), False),  # unique_violation: a real duplicate, never retried
        (Exception(1213, "Deadlock found when trying to get lock"), True),
        (Exception(1205, "Lock wait timeout exceeded"), True),
        (Exception(1062, "Duplicate entry"), False),
        (Exception("database is locked"), True),
        (_ora(60, "deadlock detected while waiting for resource"), True),
        (_ora(8177, "can't serialize access for this transaction"), True),
        (_ora(54, "resource busy and acquire with NOWAIT specified or timeout expired"), True),
        (_ora(1, "unique constraint (DVF.UQ_DVF_REGISTRATION_ADDR_DEPT) violated"), False),
        (_ora(942, "table or view does not exist"), False),
        (Exception("no such table: dvf_registration"), False),
    ],
)
def test_is_retryable(orig: Exception, retryable: bool) -> None:
    assert is_retryable(_wrapped(orig)) is retryable
    assert not is_retryable(orig)  # only errors raised through SQLAlchemy


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The back-off sleeps of with_retries, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(transactions.time, "sleep", slept.append)
    return slept


def test_with_retries_retries_a_transient_error_then_succeeds(sleeps: list[float]) -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _wrapped(_PgError("40001") if len(calls) == 1 else Exception(1213, "Deadlock"))
        return "done"

    assert with_retries(flaky) == "done"
    assert len(calls) == 3 and len(sleeps) == 2 and sleeps[0] < sleeps[1] * 2


def test_with_retries_is_bounded(sleeps: list[float]) -> None:
    calls = []

    def always_deadlocks() -> None:
        calls.append(1)
        raise _wrapped(_PgError("40P01"))

    with pytest.raises(sa.exc.OperationalError) as info:
        with_retries(always_deadlocks)
    assert info.value.orig.sqlstate == "40P01"  # type: ignore[union-attr]
    assert len(calls) == transactions.MAX_ATTEMPTS
    assert len(sleeps) == transactions.MAX_ATTEMPTS - 1
    assert sum(sleeps) < 2.0  # a few hundred milliseconds at most, never an endless loop


def test_with_retries_does_not_retry_other_errors(sleeps: list[float]) -> None:
    calls = []

    def duplicate() -> None:
        calls.append(1)
        raise sa.exc.IntegrityError("INSERT …", {}, _PgError("23505"))

    with pytest.raises(sa.exc.IntegrityError):
        with_retries(duplicate)
    with pytest.raises(DuplicateError):
        with_retries(lambda: (_ for _ in ()).throw(DuplicateError("x")))
    assert len(calls) == 1 and sleeps == []


def _driver_code(err: BaseException) -> Any:
    """PostgreSQL's SQLSTATE, MariaDB's error number (PyMySQL), or SQLite's message."""
    orig = getattr(err, "orig", None)
    if orig is not None and orig.args and isinstance(orig.args[0], int):
        return orig.args[0]
    return getattr(orig, "sqlstate", None) or str(orig)


@pytest.mark.backend("postgresql", "mariadb", "oracle")  # SQLite cannot deadlock: BEGIN IMMEDIATE
def test_a_real_deadlock_is_retried_and_both_transactions_complete(engine: sa.Engine, backend: str) -> None:
    """Two transactions lock two rows in opposite order: the database picks a victim, which retries."""
    stamp = sa.func.current_timestamp()
    with engine.begin() as conn:
        ids = [
            conn.execute(
                sa.insert(registration).values(
                    address_no=f"00000000000777{k}",
                    name="試験",
                    sex_code=0,
                    birth_date=date(2000, 1, 1),
                    dept_code="D0201",
                    dept_name="子ども家庭課",
                    input_date=date(2026, 1, 5),
                    row_version=1,
                    created_at=stamp,
                    updated_at=stamp,
                )
            ).inserted_primary_key[0]
            for k in (1, 2)
        ]
    with engine.connect() as conn:  # deadlock_timeout is a superuser setting
        fast_detection = backend == "postgresql" and conn.exec_driver_sql("SHOW is_superuser").scalar() == "on"
    barrier = threading.Barrier(2)
    attempts = [0, 0]
    seen: list[Any] = []

    def transfer(i: int, first: int, second: int) -> None:
        def attempt() -> None:
            attempts[i] += 1
            try:
                with transaction(engine) as conn:
                    if fast_detection:
                        conn.exec_driver_sql("SET LOCAL deadlock_timeout = '100ms'")  # default 1 s
                    conn.execute(sa.select(registration.c.id).where(registration.c.id == first).with_for_update())
                    if attempts[i] == 1:
                        barrier.wait(timeout=TIMEOUT)
                    conn.execute(
                        sa.update(registration)
                        .where(registration.c.id == second)
                        .values(row_version=registration.c.row_version + 1)
                    )
            except sa.exc.DBAPIError as err:
                seen.append(_driver_code(err))
                raise

        with_retries(attempt)

    results = race([lambda: transfer(0, ids[0], ids[1]), lambda: transfer(1, ids[1], ids[0])])
    assert [r.error for r in results] == [None, None]
    assert sorted(attempts) == [1, 2]  # one victim, retried once
    assert seen == (["40P01"] if backend == "postgresql" else [1213])
    with engine.connect() as conn:
        versions = conn.execute(sa.select(registration.c.row_version).where(registration.c.id.in_(ids))).scalars()
        assert sorted(versions) == [2, 2]


def test_a_writer_blocked_by_another_retries_with_the_real_driver_error(engine: sa.Engine, backend: str) -> None:
    """A counter row held by another writer: SQLite says 'database is locked', PostgreSQL 55P03 and
    MariaDB 1205 (lock wait timeout; NOWAIT here, so the test does not wait 50 s). Each is retried."""
    holder_engine = sa.create_engine(engine.url)
    nowait_engine = sa.create_engine(engine.url, connect_args={"timeout": 0} if backend == "sqlite" else {})
    attempts: list[Any] = []
    try:
        holder = holder_engine.connect()
        if backend == "sqlite":
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            holder.exec_driver_sql("SELECT counter_no FROM dvf_counter WHERE counter_name = 'change' FOR UPDATE")

        def attempt() -> int:
            attempts.append(None)
            if len(attempts) == 2:
                holder.rollback()  # the other writer finishes
            try:
                with transaction(nowait_engine) as conn:
                    if backend != "sqlite":
                        conn.exec_driver_sql(
                            "SELECT counter_no FROM dvf_counter WHERE counter_name = 'change' FOR UPDATE NOWAIT"
                        )
                    return counters.change_no(conn)
            except sa.exc.DBAPIError as err:
                attempts[-1] = _driver_code(err)
                raise

        assert with_retries(attempt) == 0
        expected = {"sqlite": "database is locked", "postgresql": "55P03", "mysql": 1205}[backend]
        assert attempts == [expected, None]
        holder.close()
    finally:
        holder_engine.dispose()
        nowait_engine.dispose()


@pytest.mark.backend("postgresql")  # SQLSTATE 40001 under REPEATABLE READ; the plugin uses READ COMMITTED
def test_a_real_serialization_failure_is_retryable(engine: sa.Engine, backend: str) -> None:
    with engine.connect() as first, engine.connect() as second:
        first.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        first.exec_driver_sql("SELECT counter_no FROM dvf_counter")  # the snapshot is taken
        second.exec_driver_sql("UPDATE dvf_counter SET counter_no = counter_no + 1 WHERE counter_name = 'output'")
        second.commit()
        with pytest.raises(sa.exc.DBAPIError) as info:
            first.exec_driver_sql("UPDATE dvf_counter SET counter_no = counter_no + 1 WHERE counter_name = 'output'")
        assert _driver_code(info.value) == "40001"
        assert is_retryable(info.value)
        first.rollback()


# -- cache coherence across processes ----------------------------------------------------------

WORKER = r"""
import json, sys
from datetime import date
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.plugin import service_of

url, day, audit_path = sys.argv[1:4]
host = MockHost(url, clock=MutableClock(date.fromisoformat(day)),
                settings={"dvflag.audit_log_path": audit_path}, migrate=False)
runtime = service_of(host.pm).runtime
viewer = host.actor("u-kodomo-view1")
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    answer = host.notices(viewer, json.loads(line))
    cache = runtime.active_cache or (None, None, None)
    print(json.dumps({"flagged": sorted(answer), "change_no": cache[0], "cache_id": id(cache[2])}), flush=True)
host.close()
"""


class NoticeProcess:
    """Another OS process answering notices with one long-lived runtime (its cache stays warm)."""

    def __init__(self, url: str, day: date, audit_path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, url, day.isoformat(), str(audit_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )  # fmt: skip
        self.selector = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        assert self._read() == {"ready": True}

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        if not self.selector.select(timeout=TIMEOUT):
            self.proc.kill()
            raise AssertionError("the other process did not answer in time")
        line = self.proc.stdout.readline()
        if not line:
            stderr = self.proc.stderr.read() if self.proc.stderr is not None else ""
            raise AssertionError(f"the other process died:\n{stderr}")
        result: dict[str, Any] = json.loads(line)
        return result

    def notices(self, numbers: list[str]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(numbers) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()
            self.selector.close()


def test_a_change_in_one_process_shows_in_the_next_notice_of_another(
    host: MockHost, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    number, other = (p.address_no for p in in_master(data, 2))
    registrar = host.actor("u-kodomo-reg1")
    url = host.engine.url.render_as_string(hide_password=False)
    a = NoticeProcess(url, data.reference_date, tmp_path / "audit-a.jsonl")
    try:
        first = a.notices([number, other])  # a batch fills the cache
        assert first["flagged"] == []
        again = a.notices([other, number])  # the cache is really used: same key, same set object
        assert (again["change_no"], again["cache_id"]) == (first["change_no"], first["cache_id"])
        assert a.notices([number])["flagged"] == []  # a screen lookup answers from the fresh cache

        reg = host.call("dvflag.register", registrar, address_no=number)  # this process: B
        after_register = a.notices([number])  # stale cache: reloaded (small) or one indexed query
        assert after_register["flagged"] == [number]
        batch = a.notices([number, other])  # the batch path answers from the reloaded cache
        assert batch["flagged"] == [number]
        assert batch["change_no"] > first["change_no"]

        released = host.call("dvflag.release", registrar, record_id=reg.record_id, row_version=reg.row_version)
        assert a.notices([number])["flagged"] == []
        assert a.notices([other, number])["flagged"] == []

        undone = host.call(
            "dvflag.unrelease", registrar, record_id=released.record_id, row_version=released.row_version
        )
        assert a.notices([number])["flagged"] == [number]
        host.call(
            "dvflag.delete", registrar, record_id=undone.record_id, row_version=undone.row_version,
            reason="mistaken_entry",
        )  # fmt: skip
        assert a.notices([number, other])["flagged"] == []
    finally:
        a.close()
    assert a.proc.returncode == 0
