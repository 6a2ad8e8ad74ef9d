"""DESIGN §4: the pluggy contract — names, kinds, rules of pluggy, and the README documenting it."""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pluggy
import pytest

import dvflag_plugin.plugin as plugin_module
from dvflag_hookspecs import (
    ENTRY_POINT_GROUP,
    FUNCTION_IDS,
    PROJECT_NAME,
    Actor,
    AuditEvent,
    HostHooks,
    PluginServices,
    hookimpl,
)
from dvflag_plugin.mockhost import DummyMasters, MockHost
from dvflag_plugin.plugin import HostBoundPlugin, ensure_plugin_services

README = Path(__file__).resolve().parents[1] / "README.md"

HOST_HOOKS = {
    "aatena_startup": {"historic": True, "firstresult": False},
    "aatena_migrations": {"historic": False, "firstresult": False},
    "aatena_person_notices": {"historic": False, "firstresult": False},
    "aatena_functions": {"historic": False, "firstresult": False},
    "aatena_before_disclosure_flags_cleared": {"historic": False, "firstresult": False},
}
SERVICE_HOOKS = {
    "dvflag_resolve_person": {"historic": False, "firstresult": True},
    "dvflag_resolve_department": {"historic": False, "firstresult": True},
    "dvflag_authorize": {"historic": False, "firstresult": False},
    "dvflag_audit_event": {"historic": False, "firstresult": False},
}


def _spec_opts(cls: type, name: str) -> dict[str, object]:
    opts: dict[str, object] = getattr(getattr(cls, name), f"{PROJECT_NAME}_spec")
    return opts


@pytest.mark.parametrize(("cls", "hooks"), [(HostHooks, HOST_HOOKS), (PluginServices, SERVICE_HOOKS)])
def test_hook_names_and_kinds(cls: type, hooks: dict[str, dict[str, bool]]) -> None:
    declared = {n for n in dir(cls) if n.startswith(("aatena_", "dvflag_"))}
    assert declared == set(hooks)
    for name, kinds in hooks.items():
        opts = _spec_opts(cls, name)
        assert bool(opts["historic"]) is kinds["historic"], name
        assert bool(opts["firstresult"]) is kinds["firstresult"], name
        assert getattr(cls, name).__doc__, f"{name} has no docstring"


def test_readme_documents_every_hook_and_function() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Contract") :]
    for name in [*HOST_HOOKS, *SERVICE_HOOKS, *FUNCTION_IDS]:
        assert re.search(rf"`{re.escape(name)}", section), f"{name} is missing from the README's contract section"


def test_hookimpls_have_no_default_arguments_and_use_no_old_wrappers() -> None:
    for impl_owner in (plugin_module, HostBoundPlugin, DummyMasters):
        for name, fn in inspect.getmembers(impl_owner, callable):
            opts = getattr(fn, f"{PROJECT_NAME}_impl", None)
            if opts is None:
                continue
            assert not opts.get("hookwrapper"), name
            params = inspect.signature(fn).parameters.values()
            assert all(p.default is inspect.Parameter.empty for p in params), f"{name} has a default value"
    source = "".join(p.read_text() for p in Path(plugin_module.__file__).parent.rglob("*.py"))
    assert "hookwrapper=True" not in source


def test_entry_point_is_registered() -> None:
    (ep,) = [e for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if e.name == "dvflag"]
    assert ep.value == "dvflag_plugin.plugin"
    assert ep.load() is plugin_module


def test_hookspecs_package_depends_on_pluggy_only() -> None:
    code = (
        "import sys, dvflag_hookspecs; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'sqlalchemy', 'dvflag_plugin', 'alembic', 'structlog'}); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    requires = importlib.metadata.requires("dvflag-plugin") or []
    assert any(r.startswith("pluggy") for r in requires)


def test_plugin_services_specs_added_once_when_host_lacks_them() -> None:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(HostHooks)
    ensure_plugin_services(pm)
    assert pm.hook.dvflag_resolve_person.spec is not None
    ensure_plugin_services(pm)  # idempotent: adding twice would raise
    pm2 = pluggy.PluginManager(PROJECT_NAME)
    pm2.add_hookspecs(PluginServices)
    ensure_plugin_services(pm2)


def test_functions_offer_every_id_with_japanese_labels(host: MockHost) -> None:
    functions = host.functions()
    assert set(functions) == set(FUNCTION_IDS)
    for fn in functions.values():
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", fn.label), fn.function_id
        assert fn.required_roles and fn.params


def test_two_hosts_in_one_process_share_nothing(tmp_path: Path) -> None:
    one = MockHost(f"sqlite:///{tmp_path / 'one.sqlite3'}")
    two = MockHost(f"sqlite:///{tmp_path / 'two.sqlite3'}")
    try:
        one.seed_users()
        two.seed_users()
        number = next(p.address_no for p in one.data.people if p.in_master)
        one.call("dvflag.register", one.actor("u-kodomo-reg1"), address_no=number)
        assert number in one.notices(Actor("s", "D0102"), [number])
        assert two.notices(Actor("s", "D0102"), [number]) == {}
        assert one.pm is not two.pm
        assert one.pm.get_plugin("dvflag.runtime") is not two.pm.get_plugin("dvflag.runtime")
    finally:
        one.close()
        two.close()


class _BrokenAuditStore:
    @hookimpl
    def dvflag_audit_event(self, event: AuditEvent) -> None:
        raise RuntimeError("the host's audit store is down: CANARY-氏名-in-host-text")


def test_a_failing_host_audit_copy_never_undoes_the_operation(host: MockHost, caplog: pytest.LogCaptureFixture) -> None:
    host.pm.register(_BrokenAuditStore())
    number = next(p.address_no for p in host.data.people if p.in_master)
    reg = host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=number)
    assert reg.record_id >= 1
    assert any("dvflag_audit_event failed" in r.getMessage() and "RuntimeError" in r.getMessage()
               for r in caplog.records)
    # logged by type only: no traceback whose text could quote what the host's code held
    assert all(r.exc_info is None and "CANARY" not in r.getMessage() for r in caplog.records)
    status = host.call("dvflag.status", host.actor("u-kodomo-view1"), address_no=number)
    assert status.held


def test_late_registered_plugin_receives_historic_startup(host: MockHost) -> None:
    seen: list[object] = []

    class Late:
        @hookimpl
        def aatena_startup(self, host: object) -> None:
            seen.append(host)

    host.pm.register(Late())
    assert len(seen) == 1
