"""Reading a submitted generic form into a host function's parameters (only the declared fields)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from .spec import FunctionSpec

ROW_PREFIX = "__row."
"""Hidden fields carrying what a confirmation page shows about the row acted on (display only)."""


def params_from(form: MultiDict[str, str], spec: FunctionSpec) -> dict[str, Any]:
    """The declared fields that were filled in and apply; an empty one is left out (the default applies)."""
    params: dict[str, Any] = {}
    for field in spec.fields:
        if field.multiple:
            values = [v for v in form.getlist(field.name) if v.strip()]
            if values or form.get(f"{field.name}__present"):
                params[field.name] = values
        elif field.widget == "checkbox" and field.default is not None:
            # A two-state checkbox sends the descriptor's text booleans: "true", or "false" when unticked.
            if field.name in form or form.get(f"{field.name}__present"):
                params[field.name] = "true" if form.get(field.name) == "true" else "false"
        else:
            value = form.get(field.name, "")
            if field.widget == "textarea":
                value = pasted_text(value)
            if value.strip(" \u3000\t\r\n"):
                params[field.name] = value
    defaults = spec.defaults
    return {f.name: params[f.name] for f in spec.fields if f.name in params and f.applies(params, defaults)}


def pasted_text(value: str) -> str:
    """Multi-line text as pasted: browsers send CRLF, a copy loses the final newline or adds blank lines.

    Line ends become LF and the text ends with exactly one newline, as a signed note does (the signed
    lines themselves are left as they are).
    """
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip(" \t\n")
    return text + "\n" if text else ""


def prefill(args: Mapping[str, str], spec: FunctionSpec) -> dict[str, Any]:
    """Values handed over in the query string (a table row's record id and row version, say)."""
    return {f.name: args[f.name] for f in spec.fields if f.name in args}


def row_context(values: Mapping[str, str]) -> dict[str, str]:
    """The ``__row.*`` display values handed over from a table row."""
    return {k: v for k, v in values.items() if k.startswith(ROW_PREFIX)}
