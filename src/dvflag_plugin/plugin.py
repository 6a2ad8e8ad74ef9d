"""The entry point ``dvflag`` of the group ``aatena.plugins``.

Registered once per host PluginManager. It is stateless: at ``aatena_startup`` it builds a runtime
for that host and registers it as a second plugin (``dvflag.runtime``) in the same manager, so that
two hosts in one process never share state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dvflag_hookspecs import (
    Actor,
    HostContext,
    HostFunction,
    MigrationSource,
    Notice,
    PluginServices,
    ReleaseAdvice,
    hookimpl,
)

from .config import Settings
from .contract.functions import host_functions
from .service.api import DvflagService
from .service.runtime import Runtime
from .storage import migrate
from .storage.schema import VERSION_TABLE

PLUGIN_NAME = "dvflag"
RUNTIME_NAME = "dvflag.runtime"


def ensure_plugin_services(plugin_manager: Any) -> None:
    """Add the PluginServices specs to the host's manager unless the host already did."""
    caller = getattr(plugin_manager.hook, "dvflag_resolve_person", None)
    if caller is None or caller.spec is None:
        plugin_manager.add_hookspecs(PluginServices)


@hookimpl
def aatena_migrations() -> MigrationSource:
    """Our Alembic scripts and our own version table."""
    return MigrationSource(plugin=PLUGIN_NAME, script_location=migrate.script_location(), version_table=VERSION_TABLE)


@hookimpl
def aatena_startup(host: HostContext) -> None:
    """Build this host's runtime and register it in the host's PluginManager."""
    pm = host.plugin_manager
    ensure_plugin_services(pm)
    if pm.get_plugin(RUNTIME_NAME) is not None:
        return
    runtime = Runtime(
        engine=host.engine,
        settings=Settings.from_mapping(host.settings),
        clock=host.clock,
        plugin_manager=pm,
    )
    pm.register(HostBoundPlugin(DvflagService(runtime)), name=RUNTIME_NAME)


class HostBoundPlugin:
    """The hook implementations bound to one host's runtime."""

    def __init__(self, service: DvflagService) -> None:
        self.service = service

    @hookimpl
    def aatena_person_notices(self, actor: Actor, address_nos: Sequence[str]) -> Mapping[str, Sequence[Notice]]:
        """Cautions for the numbers a screen or batch shows; one audited call."""
        return self.service.notices(actor, address_nos)

    @hookimpl
    def aatena_functions(self) -> Sequence[HostFunction]:
        """The eleven host functions."""
        return host_functions(self.service)

    @hookimpl
    def aatena_before_disclosure_flags_cleared(self, actor: Actor, address_no: str) -> ReleaseAdvice | None:
        """Who else still holds the person."""
        return self.service.advice(actor, address_no)


def service_of(plugin_manager: Any) -> DvflagService:
    """The typed service of a host whose startup has run (for host code and tests)."""
    plugin = plugin_manager.get_plugin(RUNTIME_NAME)
    if not isinstance(plugin, HostBoundPlugin):
        raise LookupError("dvflag has not been started in this PluginManager (aatena_startup)")
    return plugin.service
