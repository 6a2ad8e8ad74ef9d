"""Records every hook call of a PluginManager, in the manner of pytest's HookRecorder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class HookCall:
    """One hook call: its name and keyword arguments."""

    name: str
    kwargs: Mapping[str, Any]


class HookRecorder:
    """Attach with ``HookRecorder(pm)``; ``calls`` lists what was called, in order."""

    def __init__(self, plugin_manager: Any) -> None:
        self.calls: list[HookCall] = []

        def before(hook_name: str, hook_impls: Any, kwargs: Mapping[str, Any]) -> None:
            self.calls.append(HookCall(hook_name, dict(kwargs)))

        def after(outcome: Any, hook_name: str, hook_impls: Any, kwargs: Mapping[str, Any]) -> None:
            return None

        self._undo = plugin_manager.add_hookcall_monitoring(before, after)

    def named(self, name: str) -> list[HookCall]:
        """The calls of one hook."""
        return [c for c in self.calls if c.name == name]

    def clear(self) -> None:
        """Forget what was recorded."""
        self.calls.clear()

    def finish(self) -> None:
        """Stop recording."""
        self._undo()
