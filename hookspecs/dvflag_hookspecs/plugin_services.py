"""Hooks the plugin calls and the host implements (``PluginServices``, DESIGN §4).

The plugin adds these specifications to the host's PluginManager at startup unless the host has
already done so.
"""

from __future__ import annotations

from .markers import hookspec
from .values import Actor, AuditEvent, Department, Person


class PluginServices:
    """Specifications of the services a host offers to this plugin."""

    # -------------------------------------------------------------------------
    # Masters
    # -------------------------------------------------------------------------

    @hookspec(firstresult=True)
    def dvflag_resolve_person(self, address_no: str) -> Person | None:
        """氏名・性別・生年月日 of ``address_no`` from the host address master, or None.

        :param address_no: a normalised address number (ASCII digits).

        First result: the first non-None answer stops the call. None means the host cannot
        resolve the number (住登外); the registering staff then enter the items by hand.
        """

    @hookspec(firstresult=True)
    def dvflag_resolve_department(self, dept_code: str) -> Department | None:
        """所属名 of ``dept_code`` from the host organisation master, or None when unknown.

        First result: the first non-None answer stops the call.
        """

    # -------------------------------------------------------------------------
    # Access control
    # -------------------------------------------------------------------------

    @hookspec
    def dvflag_authorize(self, actor: Actor, action: str, dept_code: str | None) -> bool | None:
        """May ``actor`` perform ``action`` on ``dept_code``'s data? The host may only narrow.

        :param action: an action name such as ``register`` or ``export_all`` (see the README).
        :param dept_code: the department whose data the action touches, or None.
        :return: False denies, None abstains, True allows *as far as the host is concerned*.

        Combination rule (fails closed): all results are collected; any False denies; any answer
        other than the literal True, False or None (0, "", [], "no", an object) also denies, with
        reason ``host.invalid_answer``. True never grants what the plugin's own user registry
        (DESIGN §5) denies.
        """

    # -------------------------------------------------------------------------
    # Audit
    # -------------------------------------------------------------------------

    @hookspec
    def dvflag_audit_event(self, event: AuditEvent) -> None:
        """A copy of each committed audit event for the host's own local audit store.

        Called after the event is committed; all implementations are called. An exception raised
        here is reported and never undoes the operation.
        """
