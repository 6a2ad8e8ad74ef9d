"""``python -m dvflag_plugin.conformance --host MODULE:FACTORY`` (the same as ``dvflag conformance``)."""

from __future__ import annotations

from dvflag_plugin.conformance.cli import conformance_command

if __name__ == "__main__":
    conformance_command(prog_name="python -m dvflag_plugin.conformance")
