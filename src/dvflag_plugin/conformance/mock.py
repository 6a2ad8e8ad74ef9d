"""The mock host as a host under test: ``dvflag conformance --host dvflag_plugin.conformance.mock:factory``.

It is also the reference for integrators: their own factory looks the same, with their
PluginManager, their PluginServices implementations and their engine in place of the MockHost's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dvflag_hookspecs import Actor
from dvflag_plugin.dummydata.loader import load_small
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.mockhost import MockHost

from .host import HostUnderTest

URL_ENV = "DVFLAG_CONFORMANCE_URL"
"""A database URL to run the mock host's conformance on instead of a temporary SQLite file."""

UNKNOWN_DEPT_CODE = "Z9999"


def build(
    engine: sa.Engine | str, *, data: DummyDataSet | None = None, cleanup: Path | None = None,
    settings: Mapping[str, Any] | None = None,
) -> HostUnderTest:
    """A MockHost on ``engine`` (not migrated, not started) as a HostUnderTest.

    ``cleanup`` is a folder removed when the suite closes the host (the temporary SQLite file's);
    ``settings`` override the mock host's (e.g. the plugin's own sealing defaults).
    """
    data = data or load_small()
    host = MockHost(engine, data=data, migrate=False, start=False, settings=settings)
    known = next(p.address_no for p in data.people if p.in_master)
    unknown = next(p.address_no for p in data.people if not p.in_master)
    depts = (
        data.department_by_name("子ども家庭課").dept_code,
        data.department_by_name("男女共同参画課").dept_code,
    )

    def actor(role: str, dept_code: str) -> Actor:
        # The mock host authenticates whoever it is told to; a real host returns its test account.
        return Actor(user_id=f"conformance-{role}-{dept_code}", dept_code=dept_code)

    def close() -> None:
        host.close()
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)

    return HostUnderTest(
        plugin_manager=host.pm,
        engine=host.engine,
        actor=actor,
        dept_codes=depts,
        known_address_no=known,
        unknown_address_no=unknown,
        unknown_dept_code=UNKNOWN_DEPT_CODE,
        clock=host.clock,
        settings=host.settings,
        run_migrations=host.run_migrations,
        start=host.start,
        audit_hashes=lambda: [e.hash for e in host.masters.audit_copy],
        close=close,
        name=f"MockHost on {host.engine.dialect.name}",
    )


def factory() -> HostUnderTest:
    """The mock host on ``$DVFLAG_CONFORMANCE_URL``, or on a fresh temporary SQLite file."""
    url = os.environ.get(URL_ENV)
    if url:
        return build(url)
    folder = Path(tempfile.mkdtemp(prefix="dvflag-conformance-"))
    return build(f"sqlite:///{folder / 'mockhost.sqlite3'}", cleanup=folder)
