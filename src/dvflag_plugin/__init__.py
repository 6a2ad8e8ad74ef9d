"""dvflag-plugin: DV等被害者 awareness-status registry for a 団体内統合宛名等システム host."""

from __future__ import annotations

__version__ = "0.1.0"
