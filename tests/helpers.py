"""Helpers for the permission, bad-input, record-rule and user tests.

- ``make_host``: a started MockHost on the (already migrated, already reset) test engine, with the
  dummy staff inserted in one transaction. Setup only: the registry rows are the same as
  ``MockHost.seed_users`` makes, without its 21 audited transactions, so that the parametrised
  matrices stay fast on every backend.
- ``seed_registrations``: setup rows written straight into ``dvf_registration``.
- ``snapshot``: every row of the registration and user tables, to prove "nothing changed".
- ``expect_refused`` / ``expect_one_event``: run one call and check its single audit event, as
  committed in the database and as copied to the host through ``dvflag_audit_event``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_hookspecs import AuditEvent
from dvflag_plugin.audit import chain
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import DvflagError, PermissionDenied
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.service import users as users_service
from dvflag_plugin.storage.schema import app_user, chain_head, registration, user_role
from dvflag_plugin.storage.transactions import transaction

STATE_TABLES = (registration, app_user, user_role)
"""The tables whose rows a refused call must leave exactly as they were."""


def make_host(
    engine: sa.Engine,
    data: DummyDataSet,
    clock: MutableClock,
    tmp_path: Path,
    settings: Mapping[str, Any] | None = None,
) -> MockHost:
    """A started host writing its audit lines to ``tmp_path/'audit.jsonl'``, staff in the registry."""
    merged = {"dvflag.audit_log_path": str(tmp_path / "audit.jsonl"), **(settings or {})}
    host = MockHost(engine, data=data, clock=clock, settings=merged, migrate=False)
    with transaction(engine) as conn:
        for staff in data.staff:
            users_service.add_user(
                conn,
                now=clock(),
                user_id=staff.user_id,
                dept_code=staff.dept_code,
                roles=frozenset(staff.roles),
                valid_from=staff.valid_from,
                valid_to=staff.valid_to,
                enabled=staff.enabled,
            )
    host.recorder.clear()
    host.masters.audit_copy.clear()
    return host


@dataclass(frozen=True, slots=True)
class Row:
    """A registration to seed: person (from the dummy data), department, dates."""

    address_no: str
    dept_code: str
    input_date: date
    release_date: date | None = None


def seed_registrations(host: MockHost, rows: Iterable[Row]) -> dict[tuple[str, str], int]:
    """Insert registrations directly (setup, not under test); returns their ids by (number, dept)."""
    ids: dict[tuple[str, str], int] = {}
    stamp = host.clock().replace(tzinfo=None)
    with transaction(host.engine) as conn:
        for row in rows:
            person = host.data.person(row.address_no)
            dept = host.data.department(row.dept_code)
            result = conn.execute(
                sa.insert(registration).values(
                    address_no=row.address_no,
                    name=person.name,
                    sex_code=person.sex_code,
                    birth_date=person.birth_date,
                    dept_code=row.dept_code,
                    dept_name=dept.dept_name,
                    input_date=row.input_date,
                    release_date=row.release_date,
                    row_version=1,
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
            ids[(row.address_no, row.dept_code)] = int(result.inserted_primary_key[0])
        # Tell the runtime's cached set of held numbers that the table moved.
        conn.execute(sa.update(chain_head).values(change_no=chain_head.c.change_no + 1))
    return ids


def snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of dvf_registration, dvf_app_user and dvf_user_role, in primary-key order."""
    with engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in STATE_TABLES
        }


def registration_rows(engine: sa.Engine) -> list[Any]:
    """All registration rows, by id."""
    with engine.connect() as conn:
        return list(conn.execute(sa.select(registration).order_by(registration.c.id)))


def registration_by_id(engine: sa.Engine, record_id: int) -> Any:
    """One registration row, or None."""
    with engine.connect() as conn:
        return conn.execute(sa.select(registration).where(registration.c.id == record_id)).first()


def committed_events(engine: sa.Engine, from_seq: int = 1) -> list[AuditEvent]:
    """The audit events committed in the database, in sequence order."""
    with engine.connect() as conn:
        return list(chain.iter_events(conn, from_seq=from_seq))


def last_event(host: MockHost) -> AuditEvent:
    """The host's copy of the latest audit event; asserts it is also the latest committed one."""
    assert host.masters.audit_copy, "no audit event reached the host"
    copy = host.masters.audit_copy[-1]
    committed = committed_events(host.engine)
    assert committed, "no audit event committed"
    latest = committed[-1]
    assert (latest.seq, latest.hash, latest.action, latest.outcome, latest.reason_code) == (
        copy.seq,
        copy.hash,
        copy.action,
        copy.outcome,
        copy.reason_code,
    )
    return copy


def expect_one_event(host: MockHost, call: Callable[[], Any]) -> tuple[Any, AuditEvent]:
    """Run ``call``; exactly one audit event is committed and copied to the host. Returns both."""
    before = len(host.masters.audit_copy)
    result = call()
    assert len(host.masters.audit_copy) == before + 1, [e.action for e in host.masters.audit_copy[before:]]
    return result, last_event(host)


def expect_refused(
    host: MockHost,
    call: Callable[[], Any],
    *,
    error: type[DvflagError],
    code: str,
    action: str,
) -> tuple[DvflagError, AuditEvent]:
    """``call`` raises ``error`` with ``code``, changes nothing, and one event says why.

    A PermissionDenied is audited with outcome 'denied', any other refusal with 'error'; the event
    is committed in the database and copied to the host.
    """
    before_rows = snapshot(host.engine)
    before_events = len(host.masters.audit_copy)
    with pytest.raises(error) as info:
        call()
    err = info.value
    assert err.code == code, f"expected reason {code}, got {err.code}: {err.message}"
    assert snapshot(host.engine) == before_rows, "a refused call changed the tables"
    assert len(host.masters.audit_copy) == before_events + 1
    event = last_event(host)
    assert event.action == action
    assert event.outcome == ("denied" if isinstance(err, PermissionDenied) else "error")
    assert event.reason_code == code
    return err, event


def expect_denied(host: MockHost, call: Callable[[], Any], *, code: str, action: str) -> AuditEvent:
    """``call`` raises PermissionDenied with ``code``; nothing changed; a 'denied' event was committed."""
    return expect_refused(host, call, error=PermissionDenied, code=code, action=action)[1]


def mostly_on_sqlite(values: Iterable[Any], *, everywhere: int = 1, columns: int = 1) -> list[Any]:
    """Parameters for a validation table: the first ``everywhere`` run on every backend, the rest on SQLite.

    The checks refuse before any row is read or written, so the servers add time, not coverage.
    ``columns`` > 1 when each value is a tuple of several parameters.
    """
    on_sqlite = pytest.mark.backend("sqlite")
    return [
        v if i < everywhere else pytest.param(*(v if columns > 1 else (v,)), marks=on_sqlite)
        for i, v in enumerate(values)
    ]
