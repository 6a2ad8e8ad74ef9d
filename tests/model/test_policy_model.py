"""The reference model's own rules on the boundary days issue 8 and DESIGN §3 name, and one scripted
sequence through the state machine's checks where generated runs rarely land (review on a month end)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from dvflag_plugin.dummydata.model import DummyDataSet

from . import operations as ops
from .machine import NUMBERS, PolicyMachine
from .policy import Arg, Who, active_on, add_months, review_due, review_listed_from


@pytest.mark.parametrize(
    ("due", "listed_from"),
    [(date(2025, 3, 31), date(2025, 2, 28)), (date(2025, 5, 31), date(2025, 4, 30)),
     (date(2024, 3, 31), date(2024, 2, 29)), (date(2025, 6, 15), date(2025, 5, 15))],
)
def test_review_alert_one_calendar_month_before_clamped(due: date, listed_from: date) -> None:
    """Issue 8 item 14: due 2025-03-31 → listed from 2025-02-28; due 2025-05-31 → from 2025-04-30."""
    assert review_listed_from(due) == listed_from


def test_review_due_and_month_arithmetic() -> None:
    """One period after the input date; 29 February falls back to the 28th."""
    assert review_due(date(2024, 2, 29)) == date(2025, 2, 28)
    assert review_due(date(2025, 3, 31)) == date(2026, 3, 31)
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 12, 15), 1) == date(2026, 1, 15)
    assert add_months(date(2026, 1, 15), -1) == date(2025, 12, 15)


def test_active_on_boundary_days() -> None:
    """Active from the input day; no longer on the release day (never ``release_date <= day``)."""
    assert active_on(date(2026, 4, 1), None, date(2026, 4, 1))
    assert not active_on(date(2026, 4, 1), None, date(2026, 3, 31))
    assert active_on(date(2026, 4, 1), date(2026, 6, 1), date(2026, 5, 31))
    assert not active_on(date(2026, 4, 1), date(2026, 6, 1), date(2026, 6, 1))


@pytest.mark.backend("sqlite")
def test_month_end_review_through_the_plugin(engine: sa.Engine, data: DummyDataSet, tmp_path: Path) -> None:
    """Input on 31 March: listed from 28 February of the next year, not the day before; overdue from 31 March."""
    counters = {"sequences": 0, "steps": 0, "calls": 0, "full": 0}
    machine = type("Scripted", (PolicyMachine,), {"engine": engine, "data": data, "workdir": tmp_path,
                                                  "counters": counters, "full_length": 0})()
    registrar = Who("m-reg1", "D0201")
    p = {"address_no": Arg(NUMBERS[0], NUMBERS[0]), "input_date": Arg("2026-03-31", date(2026, 3, 31))}
    machine.function("register", registrar, ops.register(machine.model, registrar, p), p)
    seen = []
    for day in (date(2027, 2, 27), date(2027, 2, 28), date(2027, 3, 30), date(2027, 3, 31)):
        machine.move_clock((day - machine.model.today).days, month_end=False)
        expect = ops.review(machine.model, registrar, {})
        machine.function("review_due", registrar, expect, {})
        seen.append(tuple((item[1], item[2]) for item in expect.answers[0]))
    assert seen == [(), ((date(2027, 3, 31), False),), ((date(2027, 3, 31), False),), ((date(2027, 3, 31), True),)]
    machine.teardown()
    assert counters["calls"] == 5
