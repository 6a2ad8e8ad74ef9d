"""The shipped pytest plugin (``pytest11`` entry point ``dvflag``): an integrator's ten-line test file
using only ``dvflag_host`` / ``dvflag_actor`` / ``dvflag_data`` / ``dvflag_recorder`` runs in a fresh pytest
process that knows nothing of this repository's conftest."""

from __future__ import annotations

import subprocess
import sys

import pytest

INTEGRATOR_TEST = """
def test_register_look_up_and_audit(dvflag_host, dvflag_actor, dvflag_data, dvflag_recorder):
    person = next(p for p in dvflag_data.people if p.in_master)
    reg = dvflag_host.call("dvflag.register", dvflag_actor("u-kodomo-reg1"), address_no=person.address_no)
    assert reg.name == person.name and reg.release_date is None
    status = dvflag_host.call("dvflag.status", dvflag_actor("u-kodomo-view1"), address_no=person.address_no)
    assert [h.dept_code for h in status.holdings] == [reg.dept_code]
    assert list(dvflag_host.notices(dvflag_actor("u-zeimu-view1"), [person.address_no])) == [person.address_no]
    assert [e.action for e in dvflag_host.masters.audit_copy] == ["register", "status", "notices"]
    assert len(dvflag_recorder.named("dvflag_audit_event")) == 3
"""

WRONG_EXPECTATION = """
def test_expects_the_wrong_audit_trail(dvflag_host, dvflag_actor, dvflag_data):
    person = next(p for p in dvflag_data.people if p.in_master)
    dvflag_host.call("dvflag.register", dvflag_actor("u-kodomo-reg1"), address_no=person.address_no)
    assert [e.action for e in dvflag_host.masters.audit_copy] == ["status"]
"""

DENIED_AND_AUDITED = """
import pytest
from dvflag_plugin.errors import PermissionDenied


def test_viewer_may_not_register(dvflag_host, dvflag_actor, dvflag_data):
    person = next(p for p in dvflag_data.people if p.in_master)
    with pytest.raises(PermissionDenied):
        dvflag_host.call("dvflag.register", dvflag_actor("u-kodomo-view1"), address_no=person.address_no)
    (event,) = dvflag_host.masters.audit_copy
    assert (event.action, event.outcome, event.reason_code) == ("register", "denied", "role.missing")
"""


@pytest.fixture(autouse=True)
def _plugins_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    """The integrator's pytest finds our fixtures through the pytest11 entry point."""
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)


def test_integrators_ten_line_test_file_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_integrator=INTEGRATOR_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["dvflag: fixtures dvflag_host, dvflag_actor, dvflag_recorder, dvflag_data"])


def test_a_wrong_expectation_in_the_integrators_test_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_wrong=WRONG_EXPECTATION)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "AssertionError: assert ['register'] == ['status']" in result.stdout.str()


def test_denials_reach_the_hosts_audit_copy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_denied=DENIED_AND_AUDITED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=1)


def test_each_test_gets_a_fresh_host(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fresh="""
        import pytest

        @pytest.mark.parametrize("round", [1, 2])
        def test_register_twice(dvflag_host, dvflag_actor, dvflag_data, round):
            person = next(p for p in dvflag_data.people if p.in_master)
            dvflag_host.call("dvflag.register", dvflag_actor("u-kodomo-reg1"), address_no=person.address_no)
            assert [e.action for e in dvflag_host.masters.audit_copy] == ["register"]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)  # a shared database would turn the second registration into a duplicate


def test_the_plugin_module_imports_lazily() -> None:
    """Loaded into every pytest run of an integrator: importing it must not pull in the plugin."""
    code = (
        "import sys, dvflag_plugin.testing.pytest_plugin as p\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic', 'openpyxl',"
        " 'reportlab') or m.startswith(('dvflag_plugin.mockhost', 'dvflag_plugin.service')))\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
