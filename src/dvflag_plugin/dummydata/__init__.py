"""Synthetic dummy data (ダミーデータ) for tests, benchmarks and the demo: nothing describes a real person.

``generate`` builds the small set committed as fixtures/dummy_small.json; ``iter_address_numbers``,
``iter_people`` and ``flagged_sample`` stream large masters for benchmarks; ``load_small`` reads the file.
"""

from __future__ import annotations

from .generator import (
    DEPARTMENTS,
    MIN_PEOPLE,
    SMALL_PEOPLE,
    SMALL_SEED,
    flagged_sample,
    generate,
    iter_address_numbers,
    iter_people,
)
from .loader import load, load_small
from .model import (
    DEFAULT_TODAY,
    DummyDataSet,
    DummyDepartment,
    DummyPerson,
    DummyRegistration,
    DummyStaff,
)

__all__ = [
    "DEFAULT_TODAY",
    "DEPARTMENTS",
    "MIN_PEOPLE",
    "SMALL_PEOPLE",
    "SMALL_SEED",
    "DummyDataSet",
    "DummyDepartment",
    "DummyPerson",
    "DummyRegistration",
    "DummyStaff",
    "flagged_sample",
    "generate",
    "iter_address_numbers",
    "iter_people",
    "load",
    "load_small",
]
