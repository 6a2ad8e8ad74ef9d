"""Reading a submitted generic form into a host function's parameters (only the declared fields)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from .spec import FunctionSpec


def params_from(form: MultiDict[str, str], spec: FunctionSpec) -> dict[str, Any]:
    """The declared fields that were filled in; an empty field is left out (the plugin's default applies)."""
    params: dict[str, Any] = {}
    for field in spec.fields:
        if field.multiple:
            values = [v for v in form.getlist(field.name) if v.strip()]
            if values or form.get(f"{field.name}__present"):
                params[field.name] = values
            continue
        if field.widget == "checkbox":
            if field.name in form:
                params[field.name] = True
            continue
        value = form.get(field.name, "")
        if value.strip(" \u3000\t"):
            params[field.name] = value
    return params


def prefill(args: Mapping[str, str], spec: FunctionSpec) -> dict[str, Any]:
    """Values handed over in the query string (a table row's record id and row version, say)."""
    return {f.name: args[f.name] for f in spec.fields if f.name in args}
