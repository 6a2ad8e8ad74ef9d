"""Load the committed small dummy data set, from the installed wheel or from a source checkout."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Final

from .model import DummyDataSet

SMALL_FILE: Final = "dummy_small.json"
"""File name of the committed small set inside fixtures/ (packaged as dvflag_plugin/_fixtures/)."""


def checkout_fixtures_dir() -> Path:
    """The top-level fixtures/ folder of a source checkout (src/dvflag_plugin/dummydata → repo root)."""
    return Path(__file__).resolve().parents[3] / "fixtures"


def small_text() -> str:
    """The JSON text of the small set: the packaged copy first, else the checkout copy."""
    packaged = resources.files("dvflag_plugin") / "_fixtures" / SMALL_FILE
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = checkout_fixtures_dir() / SMALL_FILE
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    raise FileNotFoundError(
        f"dummy data {SMALL_FILE} not found: looked for the packaged copy "
        f"dvflag_plugin/_fixtures/{SMALL_FILE} "
        f"and the checkout copy {checkout}; regenerate it with "
        "`python fixtures/generate.py --seed 20261126 --people 60 --out fixtures/dummy_small.json`"
    )


@lru_cache(maxsize=1)
def load_small() -> DummyDataSet:
    """The committed small set (fixtures/dummy_small.json), parsed and checked once per process."""
    return DummyDataSet.from_json(small_text())


def load(path: str | Path) -> DummyDataSet:
    """A dummy data set from any JSON file written by DummyDataSet.to_json."""
    return DummyDataSet.from_json(Path(path).read_bytes())
