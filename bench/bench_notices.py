"""Benchmark of the notices path on SQLite, each figure beside its same-run floor.

Single: an audited notice lookup through pluggy (p50, p99; the mock host's hook recorder detached,
as a production host has none) vs raw sqlite3 doing the same select plus one audit insert and a
commit, on the same database file (the issue's floor: a bare table); and vs raw sqlite3 sending the
plugin's own statement to the plugin's own audit table (its b-trees), which separates what the
schema costs from what the Python around it costs (one autocommit statement, as the plugin sends
it: an INSERT takes SQLite's write lock when it starts). Batch: 1,000,000 numbers in one call vs a
Python frozenset intersection of the same numbers, with 1,000 and 1,000,000 flagged.
The single lookup is measured twice: without a signing key (as the issue's baseline was) and with one
(every event then carries a writer tag, an HMAC of its leaf text; seals are signed on the sealing
thread). Run: ``make bench`` (or ``python bench/bench_notices.py --single 2000``). Dummy data only.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchlib import DAY, PLUGIN_DEFAULTS, SEED, batch, host_for_bench, load_flagged, percentile

from dvflag_hookspecs import Actor
from dvflag_plugin.audit import chain, signing
from dvflag_plugin.dummydata.generator import flagged_sample, iter_address_numbers
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.service import notices
from dvflag_plugin.storage.schema import CHANGE_COUNTER
from dvflag_plugin.storage.transactions import embedded_engine

FLOOR_SELECT = (
    "SELECT 1 FROM dvf_registration WHERE address_no = ? AND input_date <= ?"
    " AND (release_date IS NULL OR release_date > ?) LIMIT 1"
)
FLOOR_INSERT = (
    "INSERT INTO bench_floor_audit (actor_id, action, target, details, prev_hash, event_hash, occurred_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def single_interleaved(
    host: MockHost, actor: Actor, path: Path, numbers: list[str], n: int
) -> tuple[list[float], list[float], list[float]]:
    """Alternate a plugin lookup and the two raw-sqlite3 floors, so all three meet the same disk."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_floor_audit (seq INTEGER PRIMARY KEY, actor_id TEXT, action TEXT,"
        " target TEXT, details TEXT, prev_hash TEXT, event_hash TEXT, occurred_at TEXT)"
    )
    day = DAY.isoformat()
    change_no = conn.execute("SELECT counter_no FROM dvf_counter WHERE counter_name = 'change'").fetchone()[0]
    same_sql, _ = notices._event_if_current.driver_args(host.engine.dialect, _params(actor, numbers[0], change_no))
    plugin, floor, same = [], [], []
    for i in range(n):
        number = numbers[i % len(numbers)]
        same_args = notices._event_if_current.driver_args(host.engine.dialect, _params(actor, number, change_no))[1]
        t0 = time.perf_counter()
        host.notices(actor, [number])
        t1 = time.perf_counter()
        conn.execute(FLOOR_SELECT, (number, day, day)).fetchone()
        conn.execute("BEGIN")
        conn.execute(FLOOR_INSERT, (actor.user_id, "notices", number, '{"count":1}', "0" * 64, "f" * 64, day))
        conn.execute("COMMIT")
        t2 = time.perf_counter()
        conn.execute(same_sql, same_args)  # autocommit, one statement: as the plugin sends it
        t3 = time.perf_counter()
        plugin.append(t1 - t0)
        floor.append(t2 - t1)
        same.append(t3 - t2)
    conn.close()
    return plugin, floor, same


def _params(actor: Actor, number: str, change_no: int) -> dict[str, object]:
    """The parameters of the plugin's caution statement (built outside the timed part)."""
    draft = chain.Draft(actor.user_id, actor.dept_code, "notices", number, "ok", None, {"count": 1, "flagged_count": 1})
    row, _ = chain.event_row(draft, now=datetime.now(UTC))
    return {**row, "counter_name": CHANGE_COUNTER, "seen_no": change_no}


def signed_single(tmp: Path, actor: Actor, flagged: list[str], master: list[str], n: int) -> None:
    """The single lookup again, on its own database file, with a signing key configured."""
    path = tmp / "signed.sqlite3"
    key, _, _ = signing.generate(tmp / "bench-signing.key")
    engine = embedded_engine(f"sqlite:///{path}")
    settings = {**PLUGIN_DEFAULTS, "dvflag.audit_log_path": str(tmp / "signed.jsonl"),
                "dvflag.audit_signing_key": str(key)}  # fmt: skip
    host = host_for_bench(engine, settings=settings)
    load_flagged(engine, flagged)
    lookups = [flagged[i] if i % 2 else master[i * 7 % len(master)] for i in range(500)]
    single_interleaved(host, actor, path, lookups, 50)  # warm-up
    plugin_times, floor_times, _ = single_interleaved(host, actor, path, lookups, n)
    p50, f50 = percentile(plugin_times, 0.5), percentile(floor_times, 0.5)
    print(f"single lookup with a signing key ({n} calls): plugin p50 {p50 * 1e3:.3f} ms,"
          f" floor {f50 * 1e3:.3f} ms, ratio p50 {p50 / f50:.2f}x (writer tag per event)")
    host.close()
    engine.dispose()


def main() -> None:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=2000, help="single lookups to time")
    parser.add_argument("--batch", type=int, default=1_000_000, help="numbers in the batch")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        engine = embedded_engine(f"sqlite:///{path}")  # WAL + busy timeout; the floor shares the file
        settings = {**PLUGIN_DEFAULTS, "dvflag.audit_log_path": str(Path(tmp) / "audit.jsonl")}
        host = host_for_bench(engine, settings=settings)
        actor = Actor("u-zeimu-view1", "D0102")
        master = list(iter_address_numbers(args.batch, seed=SEED))
        flagged = flagged_sample(args.batch, 1000, seed=SEED)
        load_flagged(engine, flagged)
        lookups = [flagged[i] if i % 2 else master[i * 7] for i in range(500)]

        print(f"dvflag notices benchmark — SQLite file, {time.strftime('%Y-%m-%d %H:%M')}")
        single_interleaved(host, actor, path, lookups, 50)  # warm-up
        plugin_times, floor_times, same_times = single_interleaved(host, actor, path, lookups, args.single)
        p50, p99 = percentile(plugin_times, 0.5), percentile(plugin_times, 0.99)
        f50, f99 = percentile(floor_times, 0.5), percentile(floor_times, 0.99)
        s50 = percentile(same_times, 0.5)
        print(f"single lookup ({args.single} calls): plugin p50 {p50 * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms")
        print(f"   floor raw sqlite3 select+insert+commit: p50 {f50 * 1e3:.3f} ms, p99 {f99 * 1e3:.3f} ms")
        print(f"   ratio p50 {p50 / f50:.2f}x (target <= 1.5x), p99 {p99 / f99:.2f}x;"
              f" mean plugin {statistics.mean(plugin_times) * 1e3:.3f} ms")
        print(f"   raw sqlite3, the plugin's own statement on its audit table: p50 {s50 * 1e3:.3f} ms"
              f" ({s50 / f50:.2f}x the floor); plugin p50 {p50 / s50:.2f}x of it")

        signed_single(Path(tmp), actor, flagged, master, args.single)

        plugin_s, floor_s = batch(host, actor, master, flagged, args.repeat)
        print(f"batch {args.batch:,} numbers, 1,000 flagged: plugin {plugin_s * 1e3:.1f} ms,"
              f" floor frozenset intersection {floor_s * 1e3:.1f} ms, ratio {plugin_s / floor_s:.2f}x (target <= 2x)")

        load_flagged(engine, master)  # every number flagged
        plugin_s, floor_s = batch(host, actor, master, master, max(1, args.repeat - 2))
        print(f"batch {args.batch:,} numbers, {args.batch:,} flagged: plugin {plugin_s * 1e3:.1f} ms,"
              f" floor {floor_s * 1e3:.1f} ms, ratio {plugin_s / floor_s:.2f}x (no target)")
        host.close()
        engine.dispose()


if __name__ == "__main__":
    main()
