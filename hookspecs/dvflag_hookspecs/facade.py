"""Typed callers for the hooks, so that hosts and plugins get static types pluggy cannot give."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from .values import (
    Actor,
    AuditEvent,
    Department,
    HostContext,
    HostFunction,
    MigrationSource,
    Notice,
    Person,
    ReleaseAdvice,
)


class HostHookCaller:
    """What a host calls on its plugins, one typed method per ``HostHooks`` hook."""

    def __init__(self, plugin_manager: Any) -> None:
        self._hook = plugin_manager.hook

    def startup(self, host: HostContext) -> None:
        """Call the historic ``aatena_startup``."""
        self._hook.aatena_startup.call_historic(kwargs={"host": host})

    def migrations(self) -> list[MigrationSource]:
        """Collect every plugin's migration source."""
        return cast("list[MigrationSource]", self._hook.aatena_migrations())

    def person_notices(self, actor: Actor, address_nos: Sequence[str]) -> dict[str, list[Notice]]:
        """Merge every plugin's notices for ``address_nos`` into one mapping."""
        merged: dict[str, list[Notice]] = {}
        for result in self._hook.aatena_person_notices(actor=actor, address_nos=address_nos):
            for number, notices in cast("Mapping[str, Sequence[Notice]]", result).items():
                merged.setdefault(number, []).extend(notices)
        return merged

    def functions(self) -> dict[str, HostFunction]:
        """Every plugin's host functions by id."""
        found: dict[str, HostFunction] = {}
        for group in self._hook.aatena_functions():
            for fn in cast("Sequence[HostFunction]", group):
                found[fn.function_id] = fn
        return found

    def before_disclosure_flags_cleared(self, actor: Actor, address_no: str) -> list[ReleaseAdvice]:
        """Collect every plugin's advice before clearing the disclosure flags."""
        results = self._hook.aatena_before_disclosure_flags_cleared(actor=actor, address_no=address_no)
        return [r for r in results if r is not None]


class PluginServiceCaller:
    """What the plugin calls on its host, one typed method per ``PluginServices`` hook."""

    def __init__(self, plugin_manager: Any) -> None:
        self._hook = plugin_manager.hook

    def resolve_person(self, address_no: str) -> Person | None:
        """First non-None answer of the host address master."""
        return cast("Person | None", self._hook.dvflag_resolve_person(address_no=address_no))

    def resolve_department(self, dept_code: str) -> Department | None:
        """First non-None answer of the host organisation master."""
        return cast("Department | None", self._hook.dvflag_resolve_department(dept_code=dept_code))

    def authorization(self, actor: Actor, action: str, dept_code: str | None) -> Literal["allow", "deny", "invalid"]:
        """Combine every answer, failing closed: only the literal True allows and only None abstains.

        Any False gives "deny"; any other answer (0, "", [], "no", an object) gives "invalid", which
        the caller must treat as a denial. With no answer at all (every implementation abstains) the
        registry decides alone: "allow".
        """
        results = self._hook.dvflag_authorize(actor=actor, action=action, dept_code=dept_code)
        if any(r is not True and r is not False and r is not None for r in results):
            return "invalid"
        return "deny" if any(r is False for r in results) else "allow"

    def authorize(self, actor: Actor, action: str, dept_code: str | None) -> bool:
        """True only when ``authorization`` says "allow" (a malformed answer denies)."""
        return self.authorization(actor, action, dept_code) == "allow"

    def audit_event(self, event: AuditEvent) -> None:
        """Hand a committed audit event to every implementation."""
        self._hook.dvflag_audit_event(event=event)
