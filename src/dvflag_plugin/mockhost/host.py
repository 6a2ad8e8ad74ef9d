"""MockHost: a per-instance PluginManager("aatena") wired like a real 宛名 host would wire it."""

from __future__ import annotations

import importlib.metadata
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pluggy
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from dvflag_hookspecs import (
    ENTRY_POINT_GROUP,
    PROJECT_NAME,
    Actor,
    HostContext,
    HostFunction,
    HostHookCaller,
    HostHooks,
    Notice,
    PluginServices,
    ReleaseAdvice,
)

from ..dummydata.loader import load_small
from ..dummydata.model import DummyDataSet
from ..storage.transactions import embedded_engine
from .clock import MutableClock
from .masters import DummyMasters
from .recorder import HookRecorder

DEFAULT_SETTINGS: dict[str, Any] = {"dvflag.audit_seal_batch": 1, "dvflag.audit_seal_background": False}
"""Settings the mock host gives unless overridden (a production host keeps the plugin's defaults)."""


@dataclass(frozen=True, slots=True)
class LoadError:
    """A plugin that could not be loaded: reported, skipped, and the host keeps running."""

    name: str
    error: str


class MockHost:
    """A reference host over dummy data; one PluginManager per instance, never a global one."""

    def __init__(
        self,
        engine: sa.Engine | str,
        *,
        data: DummyDataSet | None = None,
        clock: MutableClock | None = None,
        settings: Mapping[str, Any] | None = None,
        allow: Iterable[str] = ("dvflag",),
        plugins: Sequence[object] | None = None,
        migrate: bool = True,
        start: bool = True,
    ) -> None:
        # A URL: the embedded default (SQLite in WAL mode with a busy timeout, see storage.transactions).
        self.engine = embedded_engine(engine) if isinstance(engine, str) else engine
        self._owns_engine = isinstance(engine, str)
        self.data = data or load_small()
        self.clock = clock or MutableClock(self.data.reference_date)
        # Seal after every call unless told otherwise: each call's event is sealed and copied to the
        # host at once, which is what tests against a reference host expect.
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(HostHooks)
        self.pm.add_hookspecs(PluginServices)
        self.recorder = HookRecorder(self.pm)
        self.masters = DummyMasters(self.data)
        self.pm.register(self.masters, name="mockhost.masters")
        self.load_errors: list[LoadError] = []
        self._from_entry_points: set[str] = set()
        if plugins is None:
            self._load_entry_points(set(allow))
        else:
            for plugin in plugins:
                self.pm.register(plugin)
        self._check_pending()
        self.hooks = HostHookCaller(self.pm)
        if migrate:
            self.run_migrations()
        if start:
            self.start()

    # -- wiring ---------------------------------------------------------------------------------

    def _load_entry_points(self, allow: set[str]) -> None:
        """Load allow-listed plugins one by one; a broken one is reported and skipped."""
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in allow or self.pm.get_plugin(ep.name) is not None:
                continue
            try:
                self.pm.register(ep.load(), name=ep.name)
            except Exception as err:  # one broken plugin must not take the host down
                self.load_errors.append(LoadError(ep.name, "".join(traceback.format_exception_only(err)).strip()))
            else:
                self._from_entry_points.add(ep.name)

    def _check_pending(self) -> None:
        """``check_pending()``; an entry-point plugin implementing an unknown hook is reported and removed.

        Plugins handed over in ``plugins=`` are the caller's own: their error is raised.
        """
        while True:
            try:
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as err:
                name = self.pm.get_name(err.plugin) if self.pm.is_registered(err.plugin) else None
                if name is None or name not in self._from_entry_points:
                    raise
                self.pm.unregister(err.plugin)
                self._from_entry_points.discard(name)
                self.load_errors.append(LoadError(name, f"PluginValidationError: {err}"))

    def run_migrations(self) -> list[str]:
        """Run every plugin's migrations with its own version table; returns the plugin names."""
        done = []
        for source in self.hooks.migrations():
            cfg = Config()
            cfg.set_main_option("script_location", source.script_location)
            cfg.set_main_option("version_table", source.version_table)
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
            done.append(source.plugin)
        return done

    def start(self) -> None:
        """Hand the host context to every plugin (historic: late plugins get it too)."""
        self.hooks.startup(HostContext(self.pm, self.engine, self.clock, self.settings))

    def close(self) -> None:
        """Unregister the plugins (closing their files) and dispose of an engine we made."""
        from ..plugin import RUNTIME_NAME, HostBoundPlugin

        plugin = self.pm.get_plugin(RUNTIME_NAME)
        if isinstance(plugin, HostBoundPlugin):
            plugin.service.runtime.close()
        self.recorder.finish()
        if self._owns_engine:
            self.engine.dispose()

    # -- what a host UI does ----------------------------------------------------------------------

    def actor(self, user_id: str) -> Actor:
        """The Actor the host authenticates for a dummy staff account (with its host department)."""
        staff = self.data.user(user_id)
        return Actor(user_id=staff.user_id, dept_code=staff.host_dept_code)

    def functions(self) -> dict[str, HostFunction]:
        """Host functions by id."""
        return self.hooks.functions()

    def call(self, function_id: str, actor: Actor, **params: Any) -> Any:
        """Call a host function as a screen would."""
        return self.functions()[function_id].call(actor, params)

    def notices(self, actor: Actor, address_nos: Sequence[str]) -> dict[str, list[Notice]]:
        """The merged cautions of every plugin."""
        return self.hooks.person_notices(actor, address_nos)

    def advice(self, actor: Actor, address_no: str) -> list[ReleaseAdvice]:
        """Every plugin's advice before clearing the disclosure flags."""
        return self.hooks.before_disclosure_flags_cleared(actor, address_no)

    def set_day(self, day: date) -> None:
        """Move the host clock to noon JST of ``day``."""
        self.clock.set_day(day)

    def seed_users(self) -> None:
        """Bootstrap the plugin's user registry from the dummy staff (audited as the operator)."""
        from ..plugin import service_of
        from ..service import bootstrap

        rt = service_of(self.pm).runtime
        operator = bootstrap.operator_actor()
        for staff in self.data.staff:
            bootstrap.add_user(
                rt, operator, user_id=staff.user_id, dept_code=staff.dept_code, roles=frozenset(staff.roles),
                valid_from=staff.valid_from, valid_to=staff.valid_to, enabled=staff.enabled,
            )
