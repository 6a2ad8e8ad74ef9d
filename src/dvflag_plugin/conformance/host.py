"""What an integrator's factory returns: the host under test (``HostUnderTest``).

The factory (``MODULE:FACTORY`` on the command line) takes no arguments and builds the host the way
production does, but on a test database: its own ``PluginManager("aatena")`` with the host's
``PluginServices`` implementations registered and this plugin loaded from its entry point, and its
SQLAlchemy engine. It must *not* have run the migrations nor called ``aatena_startup`` yet: the suite
does both (through ``run_migrations`` / ``start`` when given) and checks them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dvflag_hookspecs import Actor


@dataclass
class HostUnderTest:
    """The integrator's host, as the conformance suite needs it.

    Required:

    - ``plugin_manager``: the host's ``pluggy.PluginManager("aatena")``; the host's ``PluginServices``
      implementations are registered and this plugin is loaded (entry point ``dvflag`` of
      ``aatena.plugins``). Not yet started.
    - ``engine``: the host's SQLAlchemy Engine on a **test** database (dummy data only).
    - ``actor``: ``(role, dept_code) → Actor``: the Actor the host authenticates for a test user who
      holds ``role`` (viewer, registrar, auditor …) in ``dept_code``. The suite registers that user in
      the plugin's user registry (``bootstrap_user``).
    - ``dept_codes``: two department codes the host organisation master knows.
    - ``known_address_no``: a number the host address master resolves (a dummy person).
    - ``unknown_address_no``: a number the address master does not know (住登外).

    Optional:

    - ``unknown_dept_code``: a code the organisation master does not know (checked to give None).
    - ``clock`` / ``settings``: handed over at startup when the suite starts the host itself.
    - ``run_migrations``: the host's own migration runner (it must use ``aatena_migrations()``);
      without it the suite runs the reference runner on ``engine``.
    - ``start``: the host's own startup (it must call the historic ``aatena_startup``); without it the
      suite calls ``aatena_startup`` with a ``HostContext`` of ``plugin_manager``, ``engine``,
      ``clock`` and ``settings``.
    - ``bootstrap_user``: ``(actor, roles) → None`` registering a plugin user; without it the suite uses
      ``dvflag_plugin.service.bootstrap.add_user`` through the started runtime.
    - ``audit_hashes``: the ``hash`` of every audit event the host's ``dvflag_audit_event`` stored,
      so the suite can check that the host's store holds every event of the chain.
    - ``close``: called once at the end (dispose of what the factory created).
    """

    plugin_manager: Any
    engine: Any
    actor: Callable[[str, str], Actor]
    dept_codes: tuple[str, str]
    known_address_no: str
    unknown_address_no: str
    unknown_dept_code: str | None = None
    clock: Callable[[], datetime] | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    run_migrations: Callable[[], object] | None = None
    start: Callable[[], object] | None = None
    bootstrap_user: Callable[[Actor, frozenset[str]], object] | None = None
    audit_hashes: Callable[[], Iterable[str]] | None = None
    close: Callable[[], object] | None = None
    name: str = "host"
    """A label for the report (e.g. the vendor's product and version)."""


HostFactory = Callable[[], HostUnderTest]
"""A factory as named by ``--host MODULE:FACTORY``."""
