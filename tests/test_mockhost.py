"""The mock host wires plugins the way DESIGN §4 asks a real host to: one PluginManager per instance,
allow-listed entry points, broken plugins reported and skipped, check_pending(), a hook-call recorder,
and every plugin's migrations through aatena_migrations()."""

from __future__ import annotations

import importlib.metadata
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext

from dvflag_hookspecs import ENTRY_POINT_GROUP, MigrationSource, hookimpl
from dvflag_plugin import plugin as dvflag_entry
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.plugin import service_of
from dvflag_plugin.storage import migrate
from dvflag_plugin.storage.schema import OWN_TABLES, VERSION_TABLE


def _url(tmp_path: Path, name: str) -> str:
    return f"sqlite:///{tmp_path / (name + '.sqlite3')}"


@pytest.fixture
def make_host(tmp_path: Path, data: DummyDataSet) -> Iterator[Any]:
    """Factory of mock hosts on their own SQLite files; all are closed at the end."""
    made: list[MockHost] = []

    def make(name: str = "h", **kwargs: Any) -> MockHost:
        host = MockHost(_url(tmp_path, name), data=data, **kwargs)
        made.append(host)
        return host

    yield make
    for host in made:
        host.close()


def _in_master(data: DummyDataSet) -> str:
    return next(p.address_no for p in data.people if p.in_master)


# -------------------------------------------------------------------------------------------------
# One PluginManager per host
# -------------------------------------------------------------------------------------------------


def test_two_hosts_in_one_process_share_nothing(make_host: Any, data: DummyDataSet) -> None:
    one, two = make_host("one"), make_host("two")
    assert one.pm is not two.pm
    assert service_of(one.pm) is not service_of(two.pm)
    assert service_of(one.pm).runtime.engine is one.engine
    assert service_of(two.pm).runtime.engine is two.engine
    one.seed_users()
    two.seed_users()
    two.recorder.clear()
    two.masters.audit_copy.clear()
    number = _in_master(data)
    one.call("dvflag.register", one.actor("u-kodomo-reg1"), address_no=number)
    assert list(one.notices(one.actor("u-kodomo-view1"), [number])) == [number]
    assert two.recorder.calls == []  # host one's hook calls never reach host two's recorder
    assert two.masters.audit_copy == []  # nor its audit store
    assert two.notices(two.actor("u-kodomo-view1"), [number]) == {}
    one.close()
    two.call("dvflag.register", two.actor("u-kodomo-reg1"), address_no=number)  # closing one leaves two alone
    assert list(two.notices(two.actor("u-kodomo-view1"), [number])) == [number]


def test_a_late_second_startup_does_not_leak_into_another_host(make_host: Any) -> None:
    one = make_host("one")
    two = make_host("two", start=False)
    with pytest.raises(LookupError):
        service_of(two.pm)  # one's startup is historic in one's manager only
    two.start()
    assert service_of(two.pm) is not service_of(one.pm)


# -------------------------------------------------------------------------------------------------
# Entry points: allow-list, broken plugins
# -------------------------------------------------------------------------------------------------


class FakeEntryPoint:
    """Looks like an importlib.metadata.EntryPoint; remembers whether anyone loaded it."""

    def __init__(self, name: str, target: object = None) -> None:
        self.name = name
        self.group = ENTRY_POINT_GROUP
        self.value = f"fake:{name}"
        self.target = target
        self.loaded = False

    def load(self) -> object:
        self.loaded = True
        return self.target


def _real_dvflag_entry_point() -> importlib.metadata.EntryPoint:
    (ep,) = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name="dvflag")
    return ep


def _patch_entry_points(monkeypatch: pytest.MonkeyPatch, eps: list[Any]) -> None:
    def fake(**kwargs: Any) -> list[Any]:
        assert kwargs == {"group": ENTRY_POINT_GROUP}
        return eps

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)


def test_only_allow_listed_plugins_are_loaded(make_host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class Intruder:
        @hookimpl
        def aatena_functions(self) -> list[Any]:
            raise AssertionError("an intruder was called")

    intruder = FakeEntryPoint("intruder", Intruder())
    _patch_entry_points(monkeypatch, [_real_dvflag_entry_point(), intruder])
    host = make_host()
    assert intruder.loaded is False
    assert host.pm.get_plugin("intruder") is None
    assert host.pm.get_plugin("dvflag") is dvflag_entry
    assert len(host.functions()) == 11  # the intruder's aatena_functions is not there to raise


def test_an_empty_allow_list_loads_nothing(make_host: Any) -> None:
    host = make_host(allow=(), migrate=False, start=False)
    assert host.pm.get_plugin("dvflag") is None
    assert host.hooks.migrations() == []
    assert host.load_errors == []
    assert [name for name, _ in host.pm.list_name_plugin()] == ["mockhost.masters"]


BAD_PLUGIN_SOURCE = """
from dvflag_hookspecs import hookimpl


class WrongArguments:
    @hookimpl
    def aatena_functions(self, unexpected):
        return []


class UnknownHook:
    @hookimpl
    def aatena_no_such_hook(self):
        return None


wrong_arguments = WrongArguments()
unknown_hook = UnknownHook()
"""


def test_broken_entry_points_are_reported_and_the_host_keeps_running(
    make_host: Any, data: DummyDataSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "aatena_bad_plugins_t.py").write_text(textwrap.dedent(BAD_PLUGIN_SOURCE), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    group = ENTRY_POINT_GROUP
    eps = [
        importlib.metadata.EntryPoint("missing", "aatena_no_such_module_xyz:plugin", group),
        importlib.metadata.EntryPoint("wrongargs", "aatena_bad_plugins_t:wrong_arguments", group),
        _real_dvflag_entry_point(),
        importlib.metadata.EntryPoint("unknownhook", "aatena_bad_plugins_t:unknown_hook", group),
    ]
    _patch_entry_points(monkeypatch, eps)
    host = make_host(allow=("dvflag", "missing", "wrongargs", "unknownhook"))
    errors = {e.name: e.error for e in host.load_errors}
    assert set(errors) == {"missing", "wrongargs", "unknownhook"}
    assert "ModuleNotFoundError" in errors["missing"]
    assert "PluginValidationError" in errors["wrongargs"]
    assert "unexpected" in errors["wrongargs"]
    assert "aatena_no_such_hook" in errors["unknownhook"]
    for name in errors:
        assert host.pm.get_plugin(name) is None
    host.pm.check_pending()  # what is left is consistent
    host.seed_users()
    number = _in_master(data)
    host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=number)
    assert list(host.notices(host.actor("u-kodomo-view1"), [number])) == [number]


def test_check_pending_runs_after_loading(make_host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    original = pluggy.PluginManager.check_pending

    def spy(self: pluggy.PluginManager) -> None:
        seen.append([name for name, _ in self.list_name_plugin()])
        original(self)

    monkeypatch.setattr(pluggy.PluginManager, "check_pending", spy)
    host = make_host(migrate=False, start=False)
    assert len(seen) == 1
    assert sorted(seen[0]) == ["dvflag", "mockhost.masters"]  # called once everything was loaded
    assert host.recorder.calls == []  # and before any hook was called


def test_a_callers_own_plugin_with_an_unknown_hook_is_refused(tmp_path: Path, data: DummyDataSet) -> None:
    class Typo:
        @hookimpl
        def aatena_person_notice(self, actor: Any, address_nos: Any) -> None:  # missing "s"
            return None

    with pytest.raises(pluggy.PluginValidationError, match="aatena_person_notice"):
        MockHost(_url(tmp_path, "typo"), data=data, plugins=[dvflag_entry, Typo()], migrate=False, start=False)


# -------------------------------------------------------------------------------------------------
# The recorder
# -------------------------------------------------------------------------------------------------


def test_recorder_sees_startup_in_order(make_host: Any) -> None:
    host = make_host()
    names = [c.name for c in host.recorder.calls]
    assert names.index("aatena_migrations") < names.index("aatena_startup")


def test_recorder_records_every_hook_call_with_its_arguments(make_host: Any, data: DummyDataSet) -> None:
    host = make_host()
    host.seed_users()
    host.recorder.clear()
    assert host.recorder.calls == []
    number = _in_master(data)
    registrar = host.actor("u-kodomo-reg1")
    host.call("dvflag.register", registrar, address_no=number)
    (resolve,) = host.recorder.named("dvflag_resolve_person")
    assert resolve.kwargs == {"address_no": number}
    (dept,) = host.recorder.named("dvflag_resolve_department")
    assert dept.kwargs == {"dept_code": registrar.dept_code}
    authorize = host.recorder.named("dvflag_authorize")
    assert {"actor": registrar, "action": "register", "dept_code": registrar.dept_code} in [
        dict(c.kwargs) for c in authorize
    ]
    (audit,) = host.recorder.named("dvflag_audit_event")
    assert audit.kwargs["event"].action == "register"
    assert audit.kwargs["event"] == host.masters.audit_copy[-1]

    host.recorder.clear()
    viewer = host.actor("u-kodomo-view1")
    numbers = [number, "000000000000999"]
    host.notices(viewer, numbers)
    assert [c.name for c in host.recorder.calls] == ["aatena_person_notices", "dvflag_audit_event"]
    assert host.recorder.named("aatena_person_notices")[0].kwargs == {"actor": viewer, "address_nos": numbers}

    host.recorder.finish()
    host.notices(viewer, [number])
    assert len(host.recorder.named("aatena_person_notices")) == 1  # nothing recorded after finish()


# -------------------------------------------------------------------------------------------------
# Migrations through aatena_migrations()
# -------------------------------------------------------------------------------------------------

OTHER_ENV = """
from alembic import context

config = context.config
context.configure(
    connection=config.attributes["connection"], version_table=config.get_main_option("version_table")
)
with context.begin_transaction():
    context.run_migrations()
"""

OTHER_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "other0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("other_note", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("other_note")
"""


def _version(engine: sa.Engine, table: str) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": table}).get_current_revision()


def test_migrations_run_through_aatena_migrations(make_host: Any) -> None:
    host = make_host(start=False)
    assert len(host.recorder.named("aatena_migrations")) == 1
    tables = set(sa.inspect(host.engine).get_table_names())
    assert tables == set(OWN_TABLES)  # the plugin's tables and its own version table, nothing else
    assert "alembic_version" not in tables
    assert _version(host.engine, VERSION_TABLE) == migrate.head_revision()
    assert host.run_migrations() == ["dvflag"]  # a second run is a no-op


def test_each_plugin_migrates_with_its_own_version_table(tmp_path: Path, data: DummyDataSet) -> None:
    scripts = tmp_path / "other_migrations"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "env.py").write_text(textwrap.dedent(OTHER_ENV), encoding="utf-8")
    (scripts / "versions" / "other0001.py").write_text(textwrap.dedent(OTHER_REVISION), encoding="utf-8")

    class OtherPlugin:
        @hookimpl
        def aatena_migrations(self) -> MigrationSource:
            return MigrationSource(plugin="other", script_location=str(scripts), version_table="other_alembic_version")

    host = MockHost(_url(tmp_path, "two-plugins"), data=data, plugins=[dvflag_entry, OtherPlugin()], start=False)
    try:
        assert len(host.recorder.named("aatena_migrations")) == 1
        tables = set(sa.inspect(host.engine).get_table_names())
        assert {"other_note", "other_alembic_version"} | set(OWN_TABLES) == tables
        assert _version(host.engine, "other_alembic_version") == "other0001"
        assert _version(host.engine, VERSION_TABLE) == migrate.head_revision()
        assert sorted(host.run_migrations()) == ["dvflag", "other"]
    finally:
        host.close()
