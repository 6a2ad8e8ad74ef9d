"""Red-team rerun of the lock-hold attack (issue 11): no lock is held while the host's own code runs.

The host's hooks (``dvflag_authorize``, ``dvflag_resolve_person``, ``dvflag_resolve_department``) are
the host's code: an address master lookup over two million numbers, an organisation directory. On
SQLite a change used to take the database's write lock (``BEGIN IMMEDIATE``) before asking them, so
every screen caution in every process — whose audit event is a write — waited for the host's hook,
and failed with ``database is locked`` when the hook took longer than the busy timeout. Each hook
here checks, while it runs, that another connection could take the write lock at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pluggy
import pytest
import sqlalchemy as sa

from dvflag_hookspecs import PROJECT_NAME
from dvflag_plugin.mockhost import MockHost

pytestmark = pytest.mark.backend("sqlite")
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

MANUAL = {"name": "架空　花子", "sex_code": 2, "birth_date": "1990-01-02"}


class WriteLockProbe:
    """A second host plugin whose hooks abstain, after noting whether the write lock was free."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        self.seen: list[tuple[str, bool]] = []

    def _note(self, hook: str) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # database is locked: the plugin holds the write lock
            self.seen.append((hook, True))
            return
        self.conn.execute("ROLLBACK")
        self.seen.append((hook, False))

    @hookimpl
    def dvflag_authorize(self, actor: Any, action: str, dept_code: str | None) -> bool | None:
        self._note(f"authorize:{action}")
        return None

    @hookimpl
    def dvflag_resolve_person(self, address_no: str) -> None:
        self._note("resolve_person")

    @hookimpl
    def dvflag_resolve_department(self, dept_code: str) -> None:
        self._note("resolve_department")


@pytest.fixture
def probe(host: MockHost, engine: sa.Engine) -> Iterator[WriteLockProbe]:
    assert engine.url.database
    p = WriteLockProbe(engine.url.database)
    host.pm.register(p)
    try:
        yield p
    finally:
        host.pm.unregister(p)
        p.conn.close()


def _registered(host: MockHost) -> Any:
    return host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no="999999999000001", **MANUAL)


CALLS: dict[str, Callable[[MockHost], object]] = {
    "register": lambda h: h.call("dvflag.register", h.actor("u-kodomo-reg1"),
                                 address_no=next(p.address_no for p in h.data.people if p.in_master)),
    "update": lambda h: (lambda r: h.call("dvflag.update", h.actor("u-kodomo-reg1"), record_id=r.record_id,
                                          row_version=r.row_version, sex_code=9))(_registered(h)),
    "release": lambda h: (lambda r: h.call("dvflag.release", h.actor("u-kodomo-reg1"), record_id=r.record_id,
                                           row_version=r.row_version))(_registered(h)),
    "unrelease": lambda h: (lambda r: h.call("dvflag.unrelease", h.actor("u-kodomo-reg1"), record_id=r.record_id,
                                             row_version=r.row_version + 1))(
        (lambda r: h.call("dvflag.release", h.actor("u-kodomo-reg1"), record_id=r.record_id,
                          row_version=r.row_version) and r)(_registered(h))),
    "delete": lambda h: (lambda r: h.call("dvflag.delete", h.actor("u-kodomo-reg1"), record_id=r.record_id,
                                          row_version=r.row_version, reason="mistaken_entry"))(_registered(h)),
    "users add": lambda h: h.call("dvflag.users", h.actor("u-joho-admin1"), op="add", user_id="u-new1",
                                  dept_code="D0201", roles=["viewer"]),
    "users roles": lambda h: h.call("dvflag.users", h.actor("u-joho-admin1"), op="roles", user_id="u-zeimu-view1",
                                    roles=["viewer", "registrar"]),
    "users list": lambda h: h.call("dvflag.users", h.actor("u-joho-admin1"), op="list"),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_no_write_lock_is_held_while_the_hosts_hooks_run(host: MockHost, probe: WriteLockProbe, name: str) -> None:
    CALLS[name](host)
    assert probe.seen, "the call asked the host nothing"
    held = [hook for hook, locked in probe.seen if locked]
    assert not held, f"{name}: the write lock was held while the host's hooks ran: {held}"


def test_a_change_still_refuses_a_stale_row_version_after_asking_the_host(
    host: MockHost, probe: WriteLockProbe
) -> None:
    """The row is read again under the lock after the host answered: a change committed meanwhile wins."""
    reg = _registered(host)
    registrar = host.actor("u-kodomo-reg1")
    racing: list[object] = []

    class Racer:
        @hookimpl
        def dvflag_authorize(self, actor: Any, action: str, dept_code: str | None) -> None:
            if action == "release" and not racing:  # another clerk's update commits while the host answers
                racing.append(host.call("dvflag.update", registrar, record_id=reg.record_id,
                                        row_version=reg.row_version, sex_code=9))

    racer = Racer()
    host.pm.register(racer)
    try:
        from dvflag_plugin.errors import StaleVersionError

        with pytest.raises(StaleVersionError):
            host.call("dvflag.release", registrar, record_id=reg.record_id, row_version=reg.row_version)
    finally:
        host.pm.unregister(racer)
    assert racing
    with host.engine.connect() as conn:
        from dvflag_plugin.storage.schema import registration

        row = conn.execute(sa.select(registration).where(registration.c.id == reg.record_id)).one()
    assert (row.release_date, row.row_version, row.sex_code) == (None, reg.row_version + 1, 9)


@pytest.mark.backend("sqlite", "postgresql", "mariadb")
def test_a_caution_never_publishes_other_processes_events_before_it_returns(
    engine: sa.Engine, data: Any, clock: Any, tmp_path: Any
) -> None:
    """The caution that reaches its process's batch size seals up to 500 pending events — any
    process's — and hands each to the host's ``dvflag_audit_event`` before it returns: with a host
    copy of 2 ms per event the clerk's screen waited over a second (measured on SQLite and PostgreSQL)."""
    import threading

    writer = MockHost(engine, data=data, clock=clock, migrate=False, settings={
        "dvflag.audit_log_path": str(tmp_path / "w.jsonl"), "dvflag.audit_seal_batch": 100_000,
        "dvflag.audit_seal_interval_s": 3600})  # fmt: skip
    writer.seed_users()
    screen = MockHost(engine, data=data, clock=clock, migrate=False, settings={
        "dvflag.audit_log_path": str(tmp_path / "s.jsonl"), "dvflag.audit_seal_batch": 1,
        "dvflag.audit_seal_background": True})  # the plugin's default; the mock host turns it off  # fmt: skip
    caller = threading.get_ident()
    inline: list[int] = []

    class Copy:
        @hookimpl
        def dvflag_audit_event(self, event: Any) -> None:
            if threading.get_ident() == caller:
                inline.append(event.seq)

    try:
        viewer = writer.actor("u-zeimu-view1")
        for _ in range(20):
            writer.notices(viewer, ["000000000000001"])  # queued by another process, not yet sealed
        screen.pm.register(Copy())
        screen.notices(viewer, ["000000000000001"])
        assert not inline, f"the caution published {len(inline)} events before it returned"
    finally:
        screen.close()
        writer.close()
