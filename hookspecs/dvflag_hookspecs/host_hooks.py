"""Hooks the host calls and the plugin implements (``HostHooks``, DESIGN §4).

Add them to the host's PluginManager with ``pm.add_hookspecs(HostHooks)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .markers import hookspec
from .values import Actor, HostContext, HostFunction, MigrationSource, Notice, ReleaseAdvice


class HostHooks:
    """Specifications of the hooks a host calls on its plugins."""

    # -------------------------------------------------------------------------
    # Lifecycle
    # -------------------------------------------------------------------------

    @hookspec(historic=True)
    def aatena_startup(self, host: HostContext) -> None:
        """The host hands over its context: PluginManager, SQLAlchemy engine, clock and settings.

        :param host: the host's context; the engine belongs to the host and is never disposed of.

        Historic: a plugin registered after startup receives the call at registration.
        Implementations return nothing; an exception in one plugin must be reported by the host and
        must not stop it.
        """

    @hookspec
    def aatena_migrations(self) -> MigrationSource:
        """Where this plugin's Alembic scripts are and which version table it owns.

        All results are collected: the host runs each plugin's migrations with that plugin's own
        version table, after its own. May be called before ``aatena_startup``.
        """
        raise NotImplementedError

    # -------------------------------------------------------------------------
    # Screens and batches
    # -------------------------------------------------------------------------

    @hookspec
    def aatena_person_notices(
        self, actor: Actor, address_nos: Sequence[str]
    ) -> Mapping[str, Sequence[Notice]]:
        """Notices for the numbers a screen or batch is about to show.

        :param actor: the host user the screen or batch runs for.
        :param address_nos: one number for a screen, up to millions for a batch: always one call.
        :return: a mapping from each number (as given) that has notices to its notices; numbers
            without notices are absent.

        All results are collected; the host merges the mappings of all plugins. Any host user
        receives the caution; it carries no detail about who holds the person.
        """
        raise NotImplementedError

    @hookspec
    def aatena_functions(self) -> Sequence[HostFunction]:
        """The functions a host UI may offer: id, Japanese label, required roles, callable, descriptor.

        All results are collected (a list of sequences, one per plugin). Function ids are
        namespaced by plugin (``dvflag.register`` …) and unique across plugins. Each function's
        ``descriptor`` (``FunctionDescriptor``) describes its form, placements, effects,
        confirmation, result and errors, so a host renders its screens without per-function code.
        """
        raise NotImplementedError

    @hookspec
    def aatena_before_disclosure_flags_cleared(
        self, actor: Actor, address_no: str
    ) -> ReleaseAdvice | None:
        """Advice before the host clears 自動応答不可/不開示該当 flags of ``address_no`` for ``actor``.

        :return: who else still holds the person, or None when the plugin has nothing to say.

        All results are collected: the host must not clear the flags silently if any result has
        ``safe=False``; it shows the advice to its user.
        """
        raise NotImplementedError
