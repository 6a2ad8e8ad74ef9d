"""Fixtures for integrators' tests (``pytest11`` entry point ``dvflag``); imports are lazy.

Fixtures: ``dvflag_host`` (a fresh MockHost on a temporary SQLite database, users seeded),
``dvflag_actor`` (factory: dummy user id → Actor), ``dvflag_recorder`` (the hook-call recorder),
``dvflag_data`` (the dummy data set).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from dvflag_hookspecs import Actor

    from ..dummydata.model import DummyDataSet
    from ..mockhost import HookRecorder, MockHost


@pytest.fixture
def dvflag_data() -> DummyDataSet:
    """The committed small dummy data set."""
    from ..dummydata.loader import load_small

    return load_small()


@pytest.fixture
def dvflag_host(tmp_path: Path, dvflag_data: DummyDataSet) -> Iterator[MockHost]:
    """A fresh mock host on its own SQLite file, migrated, started and with its users seeded.

    The recorder and the host's audit copy (``masters.audit_copy``) start empty after seeding.
    """
    from ..mockhost import MockHost

    host = MockHost(f"sqlite:///{tmp_path / 'dvflag.sqlite3'}", data=dvflag_data)
    host.seed_users()
    host.recorder.clear()
    host.masters.audit_copy.clear()  # the test sees only its own events (seeding is audited too)
    try:
        yield host
    finally:
        host.close()


@pytest.fixture
def dvflag_actor(dvflag_host: MockHost) -> Callable[[str], Actor]:
    """Factory: the Actor of a dummy staff user id, as the host authenticates it."""
    return dvflag_host.actor


@pytest.fixture
def dvflag_recorder(dvflag_host: MockHost) -> HookRecorder:
    """The recorder of every hook call of ``dvflag_host``."""
    return dvflag_host.recorder


def pytest_report_header(config: Any) -> str:
    """Say that the dvflag fixtures are available."""
    return "dvflag: fixtures dvflag_host, dvflag_actor, dvflag_recorder, dvflag_data"
