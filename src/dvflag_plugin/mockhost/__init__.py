"""A complete reference host (団体内統合宛名等システム stand-in) over the dummy data set.

For tests, the demo and integrators: its own PluginManager per instance, plugins loaded from the
``aatena.plugins`` entry points (allow-listed, one broken plugin skipped), masters over dummy
data, migrations through ``aatena_migrations()``, and a recorder of every hook call.
"""

from __future__ import annotations

from .clock import MutableClock
from .host import LoadError, MockHost
from .masters import DummyMasters
from .recorder import HookCall, HookRecorder

__all__ = ["DummyMasters", "HookCall", "HookRecorder", "LoadError", "MockHost", "MutableClock"]
