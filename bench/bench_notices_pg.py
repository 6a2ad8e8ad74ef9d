"""Benchmark of the notices path on PostgreSQL over loopback, each figure beside its same-run floor.

The figures of the core benchmark (bench/bench_notices.py), on a real server:

- Single: one audited notice lookup through the MockHost's pluggy hook, its hook recorder detached
  as a production host has none (p50, p99), vs a raw psycopg floor doing the same select plus one
  audit insert and a commit on its own connection; and a second floor that also locks and moves a
  head row (what the plugin did before it queued events).
- Batch: 1,000,000 numbers in one call (1,000 flagged) vs a Python frozenset intersection.

The script creates and drops its own database (``backends.database``; ``DVFLAG_TEST_PG_URL`` names
the server, default postgres@127.0.0.1:5432). Dummy data only. Run:
``python bench/bench_notices_pg.py`` (``--single 2000 --batch 1000000 --repeat 3``).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import sqlalchemy as sa
from benchlib import DAY, PLUGIN_DEFAULTS, SEED, batch, host_for_bench, load_flagged, percentile, timed

from dvflag_hookspecs import Actor
from dvflag_plugin.dummydata.generator import flagged_sample, iter_address_numbers
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.storage import counters, migrate
from dvflag_plugin.testing import backends

FLOOR_SETUP = (
    "CREATE TABLE bench_floor_audit (seq BIGSERIAL PRIMARY KEY, actor_id VARCHAR(64), action VARCHAR(32),"
    " target VARCHAR(64), details TEXT, prev_hash VARCHAR(64), event_hash VARCHAR(64), occurred_at TIMESTAMP)",
    "CREATE TABLE bench_floor_head (id SMALLINT PRIMARY KEY, last_seq BIGINT NOT NULL, last_hash VARCHAR(64))",
    "INSERT INTO bench_floor_head VALUES (1, 0, repeat('0', 64))",
)
FLOOR_SELECT = (
    "SELECT 1 FROM dvf_registration WHERE address_no = %s AND input_date <= %s"
    " AND (release_date IS NULL OR release_date > %s) LIMIT 1"
)
FLOOR_INSERT = (
    "INSERT INTO bench_floor_audit (actor_id, action, target, details, prev_hash, event_hash, occurred_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
FLOOR_LOCK = "SELECT last_seq, last_hash FROM bench_floor_head WHERE id = 1 FOR UPDATE"
FLOOR_MOVE = "UPDATE bench_floor_head SET last_seq = %s, last_hash = %s WHERE id = 1"


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def single_interleaved(
    host: MockHost, actor: Actor, conn: psycopg.Connection, numbers: list[str], n: int
) -> tuple[list[float], list[float], list[float]]:
    """Alternate a plugin lookup and the two raw-psycopg floors, so all meet the same server state."""
    day = DAY
    now = datetime(2026, 11, 26, 3, 0)  # noqa: DTZ001 - naive UTC, as stored
    plugin, bare, chained = [], [], []
    for i in range(n):
        number = numbers[i % len(numbers)]
        t0 = time.perf_counter()
        host.notices(actor, [number])
        t1 = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(FLOOR_SELECT, (number, day, day), prepare=True)
            cur.fetchone()
            cur.execute(FLOOR_INSERT, (actor.user_id, "notices", number, '{"count":1}', "0" * 64, "f" * 64, now))
        conn.commit()
        t2 = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(FLOOR_LOCK, prepare=True)
            last_seq, last_hash = cur.fetchone()  # type: ignore[misc]
            cur.execute(FLOOR_SELECT, (number, day, day), prepare=True)
            cur.fetchone()
            digest = hashlib.sha256((last_hash + number).encode()).hexdigest()
            cur.execute(FLOOR_INSERT, (actor.user_id, "notices", number, '{"count":1}', last_hash, digest, now))
            cur.execute(FLOOR_MOVE, (last_seq + 1, digest), prepare=True)
        conn.commit()
        t3 = time.perf_counter()
        plugin.append(t1 - t0)
        bare.append(t2 - t1)
        chained.append(t3 - t2)
    return plugin, bare, chained


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def main() -> None:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=2000, help="single lookups to time")
    parser.add_argument("--batch", type=int, default=1_000_000, help="numbers in the batch")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, backends.database("postgresql", Path(tmp)) as url:
        engine = sa.create_engine(url)
        migrate.upgrade(engine)
        clock = MutableClock(DAY)
        host = host_for_bench(
            engine, clock=clock, migrate=False,
            settings={**PLUGIN_DEFAULTS, "dvflag.audit_log_path": str(Path(tmp) / "audit.jsonl")},
        )
        floor_conn = psycopg.connect(libpq_url(url))
        try:
            with floor_conn.cursor() as cur:
                for statement in FLOOR_SETUP:
                    cur.execute(statement)  # type: ignore[arg-type]  # constant DDL
            floor_conn.commit()
            actor = Actor("u-zeimu-view1", "D0102")  # any host user receives the caution
            master = list(iter_address_numbers(args.batch, seed=SEED))
            flagged = flagged_sample(args.batch, 1000, seed=SEED)
            load_flagged(engine, flagged)
            lookups = [flagged[i] if i % 2 else master[i * 7] for i in range(500)]
            with engine.connect() as conn:
                server = conn.exec_driver_sql("SHOW server_version").scalar_one()

            print(f"dvflag notices benchmark — PostgreSQL {server} over loopback, {time.strftime('%Y-%m-%d %H:%M')}")
            single_interleaved(host, actor, floor_conn, lookups, 100)  # warm-up (psycopg prepares, caches fill)
            plugin_t, bare_t, chained_t = single_interleaved(host, actor, floor_conn, lookups, args.single)
            p50, p99 = percentile(plugin_t, 0.5), percentile(plugin_t, 0.99)
            b50, b99 = percentile(bare_t, 0.5), percentile(bare_t, 0.99)
            c50, c99 = percentile(chained_t, 0.5), percentile(chained_t, 0.99)
            print(f"single lookup ({args.single} calls, pluggy hook, audited): p50 {_ms(p50)}, p99 {_ms(p99)},"
                  f" mean {_ms(statistics.mean(plugin_t))}")  # fmt: skip
            print(f"   floor psycopg select+insert+commit:            p50 {_ms(b50)}, p99 {_ms(b99)}"
                  f"  -> ratio p50 {p50 / b50:.2f}x, p99 {p99 / b99:.2f}x")  # fmt: skip
            print(f"   floor psycopg + head row lock/update (chain):  p50 {_ms(c50)}, p99 {_ms(c99)}"
                  f"  -> ratio p50 {p50 / c50:.2f}x, p99 {p99 / c99:.2f}x")  # fmt: skip

            plugin_s, floor_s = batch(host, actor, master, flagged, args.repeat)
            print(f"batch {args.batch:,} numbers, 1,000 flagged: plugin {plugin_s * 1e3:.1f} ms,"
                  f" floor frozenset intersection {floor_s * 1e3:.1f} ms, ratio {plugin_s / floor_s:.2f}x")  # fmt: skip
            # After a change: the next batch rebuilds the held set from the server first.
            with engine.begin() as conn:
                counters.record_changes(conn, [None], now=datetime.now(UTC))
            cold = timed(lambda: host.notices(actor, master))
            print(f"batch {args.batch:,} numbers right after a change (held set re-read): {cold * 1e3:.1f} ms")
            with engine.connect() as conn:
                result = conn.execute(sa.text("SELECT count(*) FROM dvf_audit_event")).scalar_one()
            print(f"audit events written by the plugin: {result:,}")
        finally:
            floor_conn.close()
            host.close()
            engine.dispose()


if __name__ == "__main__":
    main()
