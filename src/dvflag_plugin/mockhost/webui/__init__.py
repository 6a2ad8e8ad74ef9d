"""The mock host's reference web UI: a host's screens, rendered from the plugin's function descriptors.

It belongs to the mock host, not to the plugin: the plugin's runtime never imports it.
"""

from __future__ import annotations

from .app import create_app
from .seed import seed
from .server import ServerThread

__all__ = ["ServerThread", "create_app", "seed"]
