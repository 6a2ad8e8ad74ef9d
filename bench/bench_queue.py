"""Issue 11 benchmarks: screen cautions never wait — long work beside them, many processes, sealing.

Each figure is printed beside a same-run floor; these are measurements, not tests. The machine's
load is not controlled: run on a quiet machine for figures to compare.

- ``latency``: the worst latency of screen cautions (from another process) while a supervisor's
  100,000-row XLSX export runs, and while ``audit verify`` runs over 1,000,000 events; SQLite and
  PostgreSQL. Floor: the same caution loop with nothing else running.
- ``throughput``: cautions per second from 1, 2, 4 and 8 processes on PostgreSQL vs a raw psycopg
  floor (select + insert + commit, no shared row); client CPU per caution; the sealing backlog and
  the oldest unsealed event's age while 8 processes run.

Run: ``python bench/bench_queue.py latency`` / ``throughput`` (``--seconds``, ``--rows``, ``--events``).
The script creates and drops its own databases (``backends.database``). Dummy data only.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from benchlib import DAY, PLUGIN_DEFAULTS, SEED, host_for_bench, load_flagged, percentile

from dvflag_hookspecs import Actor
from dvflag_plugin.audit import chain, sealer
from dvflag_plugin.dummydata.generator import iter_address_numbers
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.storage import migrate
from dvflag_plugin.storage.schema import audit_event, chain_head
from dvflag_plugin.storage.transactions import embedded_engine
from dvflag_plugin.testing import backends

VIEWER = Actor("u-zeimu-view1", "D0102")  # any host user receives the caution

FLOOR_SETUP = (
    "CREATE TABLE bench_floor_audit (id BIGSERIAL PRIMARY KEY, actor_id VARCHAR(64), action VARCHAR(32),"
    " target VARCHAR(64), details TEXT, leaf_hash VARCHAR(64), occurred_at TIMESTAMP)"
)
FLOOR_SELECT = (
    "SELECT 1 FROM dvf_registration WHERE address_no = %s AND input_date <= %s"
    " AND (release_date IS NULL OR release_date > %s) LIMIT 1"
)
FLOOR_INSERT = (
    "INSERT INTO bench_floor_audit (actor_id, action, target, details, leaf_hash, occurred_at)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)


def _host(engine: sa.Engine, tmp: str, name: str) -> MockHost:
    settings = {**PLUGIN_DEFAULTS, "dvflag.audit_log_path": str(Path(tmp) / f"{name}.jsonl")}
    # The real clock: the sealing backlog's age is measured against it.
    return host_for_bench(engine, clock=lambda: datetime.now(UTC), migrate=False, settings=settings)  # type: ignore[arg-type]


# -- workers (forked children: their own engine and host) ---------------------------------------


def caution_loop(url: str, tmp: str, numbers: list[str], seconds: float, out: Any, start: Any) -> None:
    """Cautions one after another for ``seconds``; report latencies, failures and CPU time."""
    engine = embedded_engine(url)
    host = _host(engine, tmp, f"c{multiprocessing.current_process().pid}")
    host.notices(VIEWER, numbers[:1])  # warm: cache, prepared statements
    start.wait()
    latencies: list[float] = []
    failures: list[str] = []
    cpu0, t_end = time.process_time(), time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < t_end:
        t0 = time.perf_counter()
        try:
            host.notices(VIEWER, [numbers[i % len(numbers)]])
        except Exception as err:
            failures.append(type(err).__name__)
        latencies.append(time.perf_counter() - t0)
        i += 1
    cpu = time.process_time() - cpu0
    host.close()
    engine.dispose()
    out.put({"latencies": latencies, "failures": failures, "cpu": cpu})


def floor_loop(url: str, numbers: list[str], seconds: float, out: Any, start: Any) -> None:
    """The raw psycopg floor: select + insert + commit per caution, no shared row."""
    import psycopg

    conn = psycopg.connect(sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    now = datetime(2026, 11, 26, 3, 0)  # noqa: DTZ001 - naive UTC, as stored
    start.wait()
    count, cpu0, t_end = 0, time.process_time(), time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        number = numbers[count % len(numbers)]
        with conn.cursor() as cur:
            cur.execute(FLOOR_SELECT, (number, DAY, DAY), prepare=True)
            cur.fetchone()
            digest = hashlib.sha256(number.encode()).hexdigest()
            cur.execute(FLOOR_INSERT, (VIEWER.user_id, "notices", number, '{"count":1}', digest, now), prepare=True)
        conn.commit()
        count += 1
    out.put({"count": count, "cpu": time.process_time() - cpu0})
    conn.close()


def _run(target: Any, args: tuple[Any, ...], n: int) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("fork")
    out, start = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=target, args=(*args, out, start)) for _ in range(n)]
    for p in procs:
        p.start()
    time.sleep(1.5)  # let every child connect and warm up
    start.set()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(30)
    return results


def _lat(results: list[dict[str, Any]]) -> str:
    lat = [x for r in results for x in r["latencies"]]
    failures = sum(len(r["failures"]) for r in results)
    return (f"{len(lat)} cautions, p50 {percentile(lat, 0.5) * 1e3:.1f} ms, p99 {percentile(lat, 0.99) * 1e3:.1f} ms,"
            f" worst {max(lat) * 1e3:.1f} ms, failures {failures}")  # fmt: skip


# -- latency beside an export and a verify --------------------------------------------------------


def _fake_events(engine: sa.Engine, count: int) -> None:
    """``count`` sealed events with correct hashes after the head, bulk-inserted (set-up, not measured)."""
    sealer.seal(engine)
    with engine.connect() as conn:
        head = chain.read_head(conn)
    prev, when = head.last_hash, datetime(2026, 11, 1, 0, 0)  # noqa: DTZ001 - naive UTC
    rows: list[dict[str, Any]] = []
    last = head.last_seq + count
    for seq in range(head.last_seq + 1, last + 1):
        occurred = when + timedelta(microseconds=seq)
        draft = chain.Draft("u-zeimu-view1", "D0102", "notices", f"{seq:015d}", "ok", None, {"count": 1})
        body = chain.leaf_body(f"00000000-0000-4000-8000-{seq:012d}", occurred, draft)
        leaf = chain.leaf_hash(body)
        digest = chain.link_hash(prev, seq, leaf)
        rows.append({"event_id": body["event_id"], "occurred_at": occurred, "actor_id": draft.actor_id,
                     "actor_dept": draft.actor_dept, "action": draft.action, "target": draft.target, "outcome": "ok",
                     "reason_code": None, "details": chain.canonical_json(body["details"]), "leaf_hash": leaf,
                     "sealed": 1, "seq": seq, "prev_hash": prev, "event_hash": digest})  # fmt: skip
        prev = digest
        if len(rows) == 20_000 or seq == last:
            with engine.begin() as conn:
                conn.execute(sa.insert(audit_event), rows)
            rows = []
    with engine.begin() as conn:
        conn.execute(sa.update(chain_head).values(last_seq=last, last_hash=prev))


def latency(backend: str, rows: int, events: int, seconds: float) -> None:
    """Worst caution latency alone, beside an export of ``rows`` rows, and beside a verify of ``events``."""
    with tempfile.TemporaryDirectory() as tmp, backends.database(backend, Path(tmp)) as url:
        engine = embedded_engine(url)
        migrate.upgrade(engine)
        host = _host(engine, tmp, "main")
        host.seed_users()
        numbers = list(iter_address_numbers(rows, seed=SEED))
        load_flagged(engine, numbers)
        lookups = numbers[:500]
        print(f"\n== {backend}: caution latency from another process ({time.strftime('%Y-%m-%d %H:%M')})")
        alone = _run(caution_loop, (url, tmp, lookups, seconds), 1)
        print(f"  floor, nothing else running:        {_lat(alone)}")
        busy = _beside(lambda: _spin(seconds * 2), url, tmp, lookups)
        print(f"  floor, beside a CPU-bound loop with no database work ({seconds * 2:.0f} s): {_lat(busy)}")

        supervisor = host.actor("u-soumu-super1")
        took: dict[str, float] = {}

        def export() -> None:
            t0 = time.perf_counter()
            result = host.call("dvflag.export", supervisor, format="xlsx", scope="all")
            took["export"] = time.perf_counter() - t0
            took["rows"] = result.row_count

        beside = _beside(export, url, tmp, lookups)
        print(f"  beside a {int(took['rows']):,}-row XLSX export ({took['export']:.1f} s): {_lat(beside)}")

        _fake_events(engine, events)
        auditor = host.actor("u-kansa-audit1")

        def verify() -> None:
            t0 = time.perf_counter()
            result = host.call("dvflag.audit", auditor, op="verify")
            took["verify"] = time.perf_counter() - t0
            took["ok"] = float(result.ok)
            took["checked"] = result.checked

        beside = _beside(verify, url, tmp, lookups)
        print(f"  beside verify over {int(took['checked']):,} events ({took['verify']:.1f} s, ok={bool(took['ok'])}):"
              f" {_lat(beside)}")  # fmt: skip
        host.close()
        engine.dispose()


def _spin(seconds: float) -> None:
    """Burn one CPU for ``seconds``: what the machine alone does to a caution's latency."""
    end, x = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        x = hashlib.sha256(str(x).encode()).digest()[0]


def _beside(work: Any, url: str, tmp: str, lookups: list[str]) -> list[dict[str, Any]]:
    """Run ``work`` here while one caution process loops for as long as the work takes."""
    ctx = multiprocessing.get_context("fork")
    out, start = ctx.Queue(), ctx.Event()
    stop_file = Path(tmp) / "stop"
    proc = ctx.Process(target=_until_stopped, args=(url, tmp, lookups, str(stop_file), out, start))
    proc.start()
    time.sleep(1.5)
    start.set()
    time.sleep(0.3)
    try:
        work()
    finally:
        stop_file.touch()
    result = out.get(timeout=600)
    proc.join(30)
    stop_file.unlink()
    return [result]


def _until_stopped(url: str, tmp: str, numbers: list[str], stop: str, out: Any, start: Any) -> None:
    engine = embedded_engine(url)
    host = _host(engine, tmp, "side")
    host.notices(VIEWER, numbers[:1])
    start.wait()
    latencies: list[float] = []
    failures: list[str] = []
    i = 0
    stop_path = Path(stop)
    while not stop_path.exists():
        t0 = time.perf_counter()
        try:
            host.notices(VIEWER, [numbers[i % len(numbers)]])
        except Exception as err:
            failures.append(type(err).__name__)
        latencies.append(time.perf_counter() - t0)
        i += 1
        time.sleep(0.005)  # a screen, not a flood
    host.close()
    engine.dispose()
    out.put({"latencies": latencies, "failures": failures, "cpu": 0.0})


# -- throughput on PostgreSQL -----------------------------------------------------------------------


def throughput(seconds: float) -> None:
    """Cautions per second from 1, 2, 4 and 8 processes vs the raw psycopg floor."""
    import psycopg

    with tempfile.TemporaryDirectory() as tmp, backends.database("postgresql", Path(tmp)) as url:
        engine = embedded_engine(url)
        migrate.upgrade(engine)
        numbers = list(iter_address_numbers(2000, seed=SEED))
        load_flagged(engine, numbers[:1000])
        with psycopg.connect(sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as c:
            c.execute(FLOOR_SETUP)  # type: ignore[arg-type]  # constant DDL
        with engine.connect() as conn:
            server = conn.exec_driver_sql("SHOW server_version").scalar_one()
        print(f"\n== PostgreSQL {server}: caution throughput, {seconds:.0f} s per point"
              f" ({time.strftime('%Y-%m-%d %H:%M')}, {multiprocessing.cpu_count()} CPUs, shared machine)")  # fmt: skip
        for n in (1, 2, 4, 8):
            floor = _run(floor_loop, (url, numbers, seconds), n)
            backlog: list[tuple[int, float]] = []
            stop = threading.Event()
            monitor = threading.Thread(target=_watch_backlog, args=(engine, stop, backlog)) if n == 8 else None
            if monitor is not None:
                monitor.start()
            plugin = _run(caution_loop, (url, tmp, numbers, seconds), n)
            stop.set()
            if monitor is not None:
                monitor.join()
            f_rate = sum(r["count"] for r in floor) / seconds
            p_count = sum(len(r["latencies"]) for r in plugin)
            p_rate = p_count / seconds
            p_cpu = sum(r["cpu"] for r in plugin) / max(p_count, 1)
            f_cpu = sum(r["cpu"] for r in floor) / max(sum(r["count"] for r in floor), 1)
            failures = sum(len(r["failures"]) for r in plugin)
            print(f"  {n} process(es): plugin {p_rate:,.0f}/s vs floor {f_rate:,.0f}/s -> {p_rate / f_rate:.2f}x;"
                  f" client CPU per caution {p_cpu * 1e3:.2f} ms (floor {f_cpu * 1e3:.2f} ms);"
                  f" failures {failures}")  # fmt: skip
            if backlog:
                print(f"    sealing with 8 processes: backlog max {max(b for b, _ in backlog)} events,"
                      f" oldest unsealed at most {max(a for _, a in backlog):.2f} s"
                      f" (batch {PLUGIN_DEFAULTS['dvflag.audit_seal_batch']} per process)")  # fmt: skip
        result = sealer.seal(engine)
        with engine.connect() as conn:
            verdict = chain.verify(conn)
        print(f"  after the runs: {result.sealed} left to seal, chain ok={verdict.ok} ({verdict.checked:,} events)")
        engine.dispose()


def _watch_backlog(engine: sa.Engine, stop: threading.Event, out: list[tuple[int, float]]) -> None:
    while not stop.wait(0.2):
        with engine.connect() as conn:
            count, oldest = conn.execute(
                sa.select(sa.func.count(), sa.func.min(audit_event.c.occurred_at)).where(audit_event.c.sealed == 0)
            ).one()
        now = datetime.now(UTC).replace(tzinfo=None)
        out.append((int(count), (now - oldest).total_seconds() if oldest is not None else 0.0))


def main() -> None:
    """Run one benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["latency", "throughput", "all"])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the export")
    parser.add_argument("--events", type=int, default=1_000_000, help="events under verify")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per throughput point / floor")
    args = parser.parse_args()
    if args.what in ("latency", "all"):
        for backend in args.backends.split(","):
            latency(backend, args.rows, args.events, args.seconds)
    if args.what in ("throughput", "all"):
        throughput(args.seconds)


if __name__ == "__main__":
    main()
