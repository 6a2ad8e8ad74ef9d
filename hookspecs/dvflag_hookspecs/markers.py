"""The pluggy markers of the ``aatena`` project: one name for host and plugins alike."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "aatena"
"""The pluggy project name the host's PluginManager is created with."""

ENTRY_POINT_GROUP = "aatena.plugins"
"""Entry-point group the host loads plugins from; this plugin's entry point is named ``dvflag``."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
