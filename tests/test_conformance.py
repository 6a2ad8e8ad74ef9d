"""The conformance suite: the mock host passes on every backend, and broken adapters fail the right checks."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dvflag_hookspecs import Actor, AuditEvent, HostHooks, Person, hookimpl
from dvflag_plugin import plugin as dvflag_entry
from dvflag_plugin.conformance import CHECK_IDS, HostUnderTest, Report, run
from dvflag_plugin.conformance import mock as conformance_mock
from dvflag_plugin.conformance.cli import conformance_command
from dvflag_plugin.conformance.suite import PROBE_TABLE, batch_numbers
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.mockhost import DummyMasters


def _explain(report: Report) -> str:
    return report.render("en")


# -------------------------------------------------------------------------------------------------
# The mock host conforms, on every backend
# -------------------------------------------------------------------------------------------------


def test_mock_host_conforms_on_every_backend(engine: sa.Engine, data: DummyDataSet) -> None:
    report = run(lambda: conformance_mock.build(engine, data=data), name="mock")
    assert report.passed, _explain(report)
    assert report.exit_code == 0
    assert [r.check_id for r in report.results] == list(CHECK_IDS)
    assert PROBE_TABLE not in sa.inspect(engine).get_table_names()  # the probe host table is dropped again


@pytest.mark.backend("sqlite", "postgresql")
def test_mock_host_conforms_with_the_plugins_own_sealing(engine: sa.Engine, data: DummyDataSet) -> None:
    """The sealing thread and batches of 64, as a production host runs: every event reaches the host once."""
    from dvflag_plugin.config import Settings

    own = {"dvflag.audit_seal_batch": Settings().audit_seal_batch, "dvflag.audit_seal_background": True}
    report = run(lambda: conformance_mock.build(engine, data=data, settings=own), name="mock, plugin sealing")
    assert report.passed, _explain(report)
    assert [r.check_id for r in report.results] == list(CHECK_IDS)


def test_default_factory_on_a_temporary_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(conformance_mock.URL_ENV, raising=False)
    report = run(conformance_mock.factory)
    assert report.passed, _explain(report)
    notes = report.result("migrations").reason
    assert notes is not None
    assert "9 new tables" in notes.en


def test_factory_honours_the_url_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'from-env.sqlite3'}"
    monkeypatch.setenv(conformance_mock.URL_ENV, url)
    report = run(conformance_mock.factory)
    assert report.passed, _explain(report)
    tables = set(sa.inspect(sa.create_engine(url)).get_table_names())
    assert "dvf_alembic_version" in tables
    assert PROBE_TABLE not in tables


def test_report_renders_both_languages(tmp_path: Path, data: DummyDataSet) -> None:
    report = run(lambda: conformance_mock.build(f"sqlite:///{tmp_path / 'r.sqlite3'}", data=data), name="mock")
    ja, en, both = report.render("ja"), report.render("en"), report.render("both")
    assert "適合性試験" in ja
    assert "→ 適合" in ja
    assert "CONFORMS" not in ja
    assert "conformance" in en
    assert "→ CONFORMS" in en
    assert "適合" not in en
    assert both == ja + "\n" + en
    assert all(f"[PASS] {cid}" in en for cid in CHECK_IDS)
    with pytest.raises(ValueError, match="lang"):
        report.render("fr")


# -------------------------------------------------------------------------------------------------
# Broken adapters fail the checks they break (the suite can fail)
# -------------------------------------------------------------------------------------------------


class DictPersonMasters(DummyMasters):
    """resolve_person answers a dict instead of a Person."""

    @hookimpl
    def dvflag_resolve_person(self, address_no: str) -> Person | None:
        person = self.people.get(address_no)
        if person is None:
            return None
        return {"name": person.name, "sex_code": person.sex_code, "birth_date": person.birth_date}  # type: ignore[return-value]


class BadSexCodeMasters(DummyMasters):
    """resolve_person answers a sex code outside JIS X 5218 and a decomposed (non-NFC) name."""

    @hookimpl
    def dvflag_resolve_person(self, address_no: str) -> Person | None:
        person = self.people.get(address_no)
        if person is None:
            return None
        return Person(name="ハ\u309aナコ", sex_code=3, birth_date=person.birth_date)


class YesAuthorizeMasters(DummyMasters):
    """authorize answers 'yes' instead of True/None."""

    @hookimpl
    def dvflag_authorize(self, actor: Actor, action: str, dept_code: str | None) -> bool | None:
        return "yes"  # type: ignore[return-value]


class DenyingAuthorizeMasters(DummyMasters):
    """authorize denies everything: the plugin cannot be tested (and cannot work) on such a host."""

    @hookimpl
    def dvflag_authorize(self, actor: Actor, action: str, dept_code: str | None) -> bool | None:
        return False


class RaisingAuditMasters(DummyMasters):
    """The host's audit store fails."""

    @hookimpl
    def dvflag_audit_event(self, event: AuditEvent) -> None:
        raise RuntimeError("audit store offline")


class ForgetfulAuditMasters(DummyMasters):
    """Stores only every other audit event."""

    @hookimpl
    def dvflag_audit_event(self, event: AuditEvent) -> None:
        if event.seq % 2 == 0:
            self.audit_copy.append(event)


def _with_masters(cls: type[DummyMasters], tmp_path: Path, data: DummyDataSet) -> Callable[[], HostUnderTest]:
    def factory() -> HostUnderTest:
        hut = conformance_mock.build(f"sqlite:///{tmp_path / 'broken.sqlite3'}", data=data)
        pm = hut.plugin_manager
        pm.unregister(name="mockhost.masters")
        masters = cls(data)
        pm.register(masters, name="mockhost.masters")
        hut.audit_hashes = lambda: [e.hash for e in masters.audit_copy]
        return hut

    return factory


@pytest.mark.parametrize(
    ("masters", "check_id", "reason_part"),
    [
        pytest.param(DictPersonMasters, "services.resolve_person", "returned {'name'", id="person-dict"),
        pytest.param(BadSexCodeMasters, "services.resolve_person", "NFC", id="person-not-nfc"),
        pytest.param(YesAuthorizeMasters, "services.authorize", "'yes' (str)", id="authorize-yes"),
        pytest.param(DenyingAuthorizeMasters, "services.authorize", "denies test user", id="authorize-false"),
        pytest.param(RaisingAuditMasters, "services.audit_event", "audit store offline", id="audit-raises"),
        pytest.param(ForgetfulAuditMasters, "services.audit_event", "missing from the host's audit", id="audit-lost"),
    ],
)
def test_broken_service_adapter_fails_the_right_check(
    masters: type[DummyMasters], check_id: str, reason_part: str, tmp_path: Path, data: DummyDataSet
) -> None:
    report = run(_with_masters(masters, tmp_path, data), name=masters.__name__)
    assert report.exit_code == 1
    failed = report.failed_ids()
    assert check_id in failed, _explain(report)
    reason = report.result(check_id).reason
    assert reason is not None
    assert reason_part in reason.en, _explain(report)
    # The contract's plumbing is not what broke: those checks still pass.
    plumbing = {"project_name", "specs", "check_pending", "entry_point", "migrations", "startup"}
    assert plumbing.isdisjoint(failed)


FAILS_CLOSED = {"services.authorize", "register", "notices.single", "notices.batch", "advice"}
"""A host answering "yes" fails its check, and the plugin denies (host.invalid_answer) what it gated."""


def test_authorize_yes_fails_that_check_and_is_denied(tmp_path: Path, data: DummyDataSet) -> None:
    report = run(_with_masters(YesAuthorizeMasters, tmp_path, data))
    assert report.failed_ids() == FAILS_CLOSED | {"audit_chain"}, _explain(report)  # "yes" to the auditor too
    reason = report.result("register").reason
    assert reason is not None and "host.invalid_answer" in reason.en
    assert "[FAIL] services.authorize" in report.render("en")
    assert "不適合" in report.render("ja")


def test_person_as_dict_blocks_the_checks_that_need_a_registration(tmp_path: Path, data: DummyDataSet) -> None:
    report = run(_with_masters(DictPersonMasters, tmp_path, data))
    assert report.failed_ids() == {
        "services.resolve_person",
        "register",
        "notices.single",
        "notices.batch",
        "advice",
    }
    blocked = report.result("notices.batch").reason
    assert blocked is not None
    assert "prerequisite failed: register" in blocked.en


def test_host_without_plugin_service_specs_fails_specs_and_check_pending(tmp_path: Path, data: DummyDataSet) -> None:
    """A host that registers its PluginServices implementations before adding the specifications."""
    import pluggy

    def factory() -> HostUnderTest:
        pm = pluggy.PluginManager("aatena")
        pm.add_hookspecs(HostHooks)  # PluginServices forgotten
        masters = DummyMasters(data)
        pm.register(masters, name="host.masters")
        pm.register(dvflag_entry, name="dvflag")
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'nospecs.sqlite3'}")
        depts = ("D0201", "D0301")
        return HostUnderTest(
            plugin_manager=pm,
            engine=engine,
            actor=lambda role, dept: Actor(f"t-{role}-{dept}", dept),
            dept_codes=depts,
            known_address_no=next(p.address_no for p in data.people if p.in_master),
            unknown_address_no=next(p.address_no for p in data.people if not p.in_master),
            close=engine.dispose,
        )

    report = run(factory)
    assert report.failed_ids() == {"specs", "check_pending"}, _explain(report)
    specs = report.result("specs").reason
    assert specs is not None
    assert "dvflag_resolve_person: no specification" in specs.en


def test_migration_runner_that_touches_host_tables_fails(tmp_path: Path, data: DummyDataSet) -> None:
    def factory() -> HostUnderTest:
        hut = conformance_mock.build(f"sqlite:///{tmp_path / 'm.sqlite3'}", data=data)
        runner = hut.run_migrations
        assert runner is not None

        def sloppy() -> None:
            runner()
            with hut.engine.begin() as conn:
                conn.exec_driver_sql(f"DELETE FROM {PROBE_TABLE} WHERE id = 2")

        hut.run_migrations = sloppy
        return hut

    report = run(factory)
    assert "migrations" in report.failed_ids()
    reason = report.result("migrations").reason
    assert reason is not None
    assert PROBE_TABLE in reason.en
    assert report.result("startup").reason is not None  # blocked, not run
    assert PROBE_TABLE not in sa.inspect(sa.create_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")).get_table_names()


def test_migration_runner_that_bypasses_aatena_migrations_fails(tmp_path: Path, data: DummyDataSet) -> None:
    from dvflag_plugin.storage import migrate

    def factory() -> HostUnderTest:
        hut = conformance_mock.build(f"sqlite:///{tmp_path / 'b.sqlite3'}", data=data)
        hut.run_migrations = lambda: migrate.upgrade(hut.engine)
        return hut

    report = run(factory)
    reason = report.result("migrations").reason
    assert not report.result("migrations").passed
    assert reason is not None
    assert "did not call aatena_migrations" in reason.en


def test_factory_that_raises_fails_everything() -> None:
    def factory() -> HostUnderTest:
        raise ConnectionError("test database unreachable")

    report = run(factory)
    assert report.failed_ids() == set(CHECK_IDS)
    reason = report.result("factory").reason
    assert reason is not None
    assert "test database unreachable" in reason.en
    assert report.exit_code == 1


def test_factory_returning_the_wrong_thing_fails() -> None:
    report = run(lambda: {"plugin_manager": None})  # type: ignore[arg-type,return-value]
    assert not report.result("factory").passed
    assert report.exit_code == 1


def test_batch_numbers_are_distinct_and_hold_both_test_numbers() -> None:
    numbers = batch_numbers("000000000000001", "000000000000999")
    assert len(numbers) == 10_000 == len(set(numbers))
    assert "000000000000001" in numbers
    assert "000000000000999" in numbers
    assert {len(n) for n in numbers} == {15}


# -------------------------------------------------------------------------------------------------
# The command
# -------------------------------------------------------------------------------------------------


def test_command_default_host_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(conformance_mock.URL_ENV, raising=False)
    result = CliRunner().invoke(conformance_command, ["--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "→ CONFORMS" in result.output
    assert "dvflag_plugin.conformance.mock:factory" in result.output


def test_command_with_an_integrators_module_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vendor_host_adapter_t1.py").write_text(
        textwrap.dedent(
            """
            from dvflag_hookspecs import hookimpl
            from dvflag_plugin.conformance import mock
            from dvflag_plugin.dummydata.loader import load_small
            from dvflag_plugin.mockhost import DummyMasters


            class YesMasters(DummyMasters):
                @hookimpl
                def dvflag_authorize(self, actor, action, dept_code):
                    return "yes"


            def factory():
                hut = mock.factory()
                hut.plugin_manager.unregister(name="mockhost.masters")
                hut.plugin_manager.register(YesMasters(load_small()), name="mockhost.masters")
                return hut
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(conformance_mock.URL_ENV, raising=False)
    result = CliRunner().invoke(conformance_command, ["--host", "vendor_host_adapter_t1:factory", "--lang", "ja"])
    assert result.exit_code == 1, result.output
    assert "[FAIL] services.authorize" in result.output
    assert "不適合" in result.output


@pytest.mark.parametrize("spec", ["no_colon_here", "dvflag_plugin.conformance.mock:nope", "no_such_module_xyz:f"])
def test_command_rejects_a_bad_host_spec(spec: str) -> None:
    result = CliRunner().invoke(conformance_command, ["--host", spec])
    assert result.exit_code == 2
    assert "--host" in result.output


# -------------------------------------------------------------------------------------------------
# The integrator guide's adapter example is complete and conforms
# -------------------------------------------------------------------------------------------------

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "integrators.md"


def _guide_example() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    block = text.split("<!-- adapter-example:begin -->", 1)[1].split("<!-- adapter-example:end -->", 1)[0]
    return block.strip().removeprefix("```python").removesuffix("```")


def test_integrator_guide_example_conforms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "myhost_dvflag_guide.py").write_text(_guide_example(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    import myhost_dvflag_guide  # type: ignore[import-not-found]

    report = run(myhost_dvflag_guide.conformance_factory)
    assert report.passed, _explain(report)
    assert "MyHost" in report.host


def test_integrator_guide_example_fails_when_its_authorize_misbehaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _guide_example().replace(
        "        return None\n\n    @hookimpl\n    def dvflag_audit_event",
        '        return "yes"\n\n    @hookimpl\n    def dvflag_audit_event',
    )
    assert 'return "yes"' in source
    (tmp_path / "myhost_dvflag_guide_yes.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    import myhost_dvflag_guide_yes  # type: ignore[import-not-found]

    report = run(myhost_dvflag_guide_yes.conformance_factory)
    assert report.failed_ids() == FAILS_CLOSED | {"audit_chain"}, _explain(report)


def test_a_failing_close_is_reported_not_raised(tmp_path: Path, data: DummyDataSet) -> None:
    def factory() -> HostUnderTest:
        hut = conformance_mock.build(f"sqlite:///{tmp_path / 'c.sqlite3'}", data=data)
        closing = hut.close

        def close() -> None:
            if closing is not None:
                closing()
            raise OSError("cannot remove the scratch folder")

        hut.close = close
        return hut

    report = run(factory)
    assert report.failed_ids() == {"cleanup"}
    assert report.exit_code == 1
    assert "cannot remove the scratch folder" in report.render("en")
