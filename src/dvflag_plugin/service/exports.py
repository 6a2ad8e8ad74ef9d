"""抽出・印刷: placeholder until the output writers land (issue 5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dvflag_hookspecs import ExportResult

from .runtime import Op

EXPORT_FIELDS = ("format", "scope", "state", "dept_code", "input_from", "input_to", "encoding", "strict")


def export(op: Op, params: Mapping[str, Any]) -> ExportResult:
    """Produce a list; see outputs/."""
    raise NotImplementedError
