"""Shared fixtures: one suite, parametrised over SQLite, PostgreSQL and MariaDB.

Each backend gets one database per test session (created and dropped here); every test starts from
empty plugin tables. Without ``DVFLAG_REQUIRE_SERVERS=1`` an unreachable server skips its tests and
the summary names the skipped backends; with it, the run fails.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis.configuration import set_hypothesis_home_dir

from dvflag_plugin.dummydata.loader import load_small
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.storage.transactions import embedded_engine
from dvflag_plugin.testing import backends

pytest_plugins = ("pytester",)

# Hypothesis keeps its caches in a temporary folder: the suite writes nothing into the checkout (no
# ``.hypothesis/``); examples come from derandomised runs, not a saved database.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="dvflag-hypothesis-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)
_SELECTED = tuple(b for b in os.environ.get("DVFLAG_BACKENDS", ",".join(backends.BACKENDS)).split(",") if b)
_unavailable: dict[str, str] = {}


@pytest.fixture(scope="session")
def data() -> DummyDataSet:
    """The committed small dummy data set."""
    return load_small()


@pytest.fixture(scope="session", params=_SELECTED)
def backend_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    """A migrated engine per backend for the whole session."""
    name: str = request.param
    if name in _unavailable:
        _skip_or_fail(name, _unavailable[name])
    try:
        ctx = backends.database(name, tmp_path_factory.mktemp(name))
        url = ctx.__enter__()
    except backends.BackendUnavailable as err:
        _unavailable[name] = str(err)
        _skip_or_fail(name, str(err))
    engine = embedded_engine(url)  # SQLite: WAL and a busy timeout, as the embedded default runs
    try:
        from dvflag_plugin.storage import migrate

        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        ctx.__exit__(None, None, None)


def _skip_or_fail(name: str, why: str) -> None:
    if backends.servers_required():
        pytest.fail(f"backend {name} is required (DVFLAG_REQUIRE_SERVERS=1) but unavailable: {why}")
    pytest.skip(f"backend {name} unavailable: {why}")


@pytest.fixture
def engine(backend_engine: sa.Engine) -> sa.Engine:
    """The backend's engine with empty plugin tables."""
    backends.reset(backend_engine)
    return backend_engine


@pytest.fixture
def backend(engine: sa.Engine) -> str:
    """The backend name of the current parametrisation."""
    return engine.dialect.name


@pytest.fixture
def clock(data: DummyDataSet) -> MutableClock:
    """The host clock, at noon JST of the data set's reference day."""
    return MutableClock(data.reference_date)


@pytest.fixture
def host(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> Iterator[MockHost]:
    """A started mock host on the backend, users seeded, recorder cleared."""
    h = MockHost(engine, data=data, clock=clock, settings={"dvflag.audit_log_path": str(tmp_path / "audit.jsonl")})
    h.seed_users()
    h.recorder.clear()
    h.masters.audit_copy.clear()
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def staffed_host(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> Iterator[MockHost]:
    """A started mock host with the dummy staff written straight into the registry (fast set-up)."""
    from helpers import make_host

    h = make_host(engine, data, clock, tmp_path)
    try:
        yield h
    finally:
        h.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.backend(names…)``: a test about one database is not generated for the others.

    Deselected, not skipped: a skip would read as "could not run here" in the summary.
    """
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("backend")
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("backend_engine") if callspec is not None else None
        if marker is not None and name is not None and name not in marker.args:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly which database backends were skipped."""
    if _unavailable:
        terminalreporter.section("dvflag backends")
        for name, why in sorted(_unavailable.items()):
            terminalreporter.write_line(f"SKIPPED backend {name}: {why}")
        terminalreporter.write_line("Set DVFLAG_REQUIRE_SERVERS=1 to make a missing server fail the run.")
    else:
        terminalreporter.section("dvflag backends")
        terminalreporter.write_line(f"backends exercised: {', '.join(_SELECTED)}")
