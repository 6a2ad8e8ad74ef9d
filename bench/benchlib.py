"""Shared set-up and arithmetic of the notices benchmarks (dummy data only)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from dvflag_hookspecs import Actor
from dvflag_plugin.config import Settings
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.storage import counters
from dvflag_plugin.storage.schema import registration

PLUGIN_DEFAULTS = {
    "dvflag.audit_seal_batch": Settings().audit_seal_batch,
    "dvflag.audit_seal_background": Settings().audit_seal_background,
}
"""The plugin's own sealing defaults (the mock host seals inline after every call unless told otherwise)."""


def host_for_bench(engine: sa.Engine, **kwargs: Any) -> MockHost:
    """The mock host as a production host calls the plugin: its hook recorder (a test aid) detached."""
    host = MockHost(engine, **kwargs)
    host.recorder.finish()
    return host

SEED = 20261126
DAY = date(2026, 11, 26)


def load_flagged(engine: sa.Engine, numbers: list[str]) -> None:
    """Benchmark set-up: bulk-insert active registrations (Core executemany) and count a change."""
    stamp = datetime(2026, 1, 5, 3, 0, tzinfo=UTC).replace(tzinfo=None)  # naive UTC, as stored
    common = {
        "name": "ダミー\u3000太郎", "sex_code": 1, "birth_date": date(1990, 1, 1), "dept_code": "D0201",
        "dept_name": "子ども家庭課", "input_date": date(2026, 1, 5), "release_date": None, "row_version": 1,
        "created_at": stamp, "updated_at": stamp,
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.delete(registration))
        for start in range(0, len(numbers), 50_000):
            chunk = numbers[start : start + 50_000]
            conn.execute(sa.insert(registration), [{**common, "address_no": n} for n in chunk])
        counters.record_changes(conn, [None], now=datetime.now(UTC))


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def batch(host: MockHost, actor: Actor, numbers: list[str], flagged: list[str], repeat: int) -> tuple[float, float]:
    """Best-of-``repeat`` seconds of the plugin's batch call and of the frozenset floor."""
    flagged_set = frozenset(flagged)
    host.notices(actor, numbers)  # warm the cache once
    plugin = min(timed(lambda: host.notices(actor, numbers)) for _ in range(repeat))
    floor = min(timed(lambda: frozenset(numbers) & flagged_set) for _ in range(repeat))
    return plugin, floor
