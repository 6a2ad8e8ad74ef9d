"""Issue 8: generated sequences of calls against the plugin and the reference model (tests/model/policy.py).

``make test``: at least 200 sequences × 30 steps on SQLite, derandomised (the same sequences every run,
nothing written into the checkout). ``make fuzz`` (``DVFLAG_FUZZ_EXAMPLES``): more sequences, random, on
every backend. A disagreement fails with hypothesis's shrunk sequence of steps printed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from dvflag_plugin.dummydata.model import DummyDataSet

from .machine import PolicyMachine

FUZZ = int(os.environ.get("DVFLAG_FUZZ_EXAMPLES", "0"))
SEQUENCES = FUZZ or 200
STEPS = 30
EXAMPLES = SEQUENCES * (2 if FUZZ else 3) // (1 if FUZZ else 2)
"""Hypothesis ends some sequences early (its buffer bound: about one in four derandomised, more at random):
run more examples to get SEQUENCES full ones."""
BACKENDS = ("sqlite", "postgresql", "mariadb") if FUZZ else ("sqlite",)


def _fast_sqlite(engine: sa.Engine) -> sa.Engine:
    """The same migrated SQLite file without fsync per commit: the semantics under test are unchanged."""
    if engine.dialect.name != "sqlite":
        return engine
    fast = sa.create_engine(engine.url)

    @sa.event.listens_for(fast, "connect")
    def _pragmas(dbapi_conn: object, _record: object) -> None:
        cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
        cur.execute("PRAGMA synchronous=OFF")
        cur.close()

    return fast


@pytest.mark.backend(*BACKENDS)
def test_generated_sequences_agree_with_the_model(
    engine: sa.Engine, data: DummyDataSet, tmp_path: Path
) -> None:
    """Every step: answer or refusal allowed by the model, one audit event, tables equal to the model."""
    counters = {"sequences": 0, "steps": 0, "calls": 0, "full": 0}
    fast = _fast_sqlite(engine)
    machine = type("Bound", (PolicyMachine,), {"engine": fast, "data": data, "workdir": tmp_path,
                                               "counters": counters, "full_length": STEPS})
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                derandomize=not FUZZ,
                database=None,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                print_blob=True,
            ),
        )
    finally:
        if fast is not engine:
            fast.dispose()
    # The run really happened at the promised size: SEQUENCES sequences of STEPS steps that all agreed.
    assert counters["full"] >= SEQUENCES, counters
