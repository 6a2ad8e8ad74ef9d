"""Screen specs read from a host function's descriptor: the one place that knows the descriptor's shape.

The reference UI renders every form and result from these specs alone. A function without a
descriptor still gets a plain form (one text field per parameter) so a host never loses a function.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dvflag_hookspecs import HostFunction

from ...text.names import field_label

LANG = "ja"


@dataclass(frozen=True, slots=True)
class Choice:
    """One allowed value of an enum field and its Japanese title."""

    value: str
    title: str


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One input of a form: what the widget is, what is allowed, whether it is personal."""

    name: str
    title: str
    help: str
    required: bool
    widget: str
    choices: tuple[Choice, ...]
    multiple: bool
    personal: bool
    pattern: str | None
    max_length: int | None
    default: str | None


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table result: the value's key, its Japanese title and its display format."""

    key: str
    title: str
    format: str | None


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """Everything the generic screens need to offer one host function."""

    function_id: str
    title: str
    help: str
    roles: tuple[str, ...]
    placements: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    read_only: bool
    destructive: bool
    confirmation: str | None
    result_kind: str | None
    columns: tuple[Column, ...]
    bound: tuple[str, ...]
    """Fields a placement binds from the screen (``address_no`` on the person screen)."""

    def field(self, name: str) -> FieldSpec | None:
        """The field called ``name``, or None."""
        return next((f for f in self.fields if f.name == name), None)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Every input's name, in form order."""
        return tuple(f.name for f in self.fields)


def _plain(value: Any) -> Any:
    """A descriptor as plain JSON data (dict/list/str/number), whatever object carries it."""
    for name in ("to_json", "as_json", "as_dict", "to_dict"):
        method = getattr(value, name, None)
        if callable(method):
            got = method()
            return json.loads(got) if isinstance(got, str) else got
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json.loads(json.dumps(dataclasses.asdict(value), default=str))
    return value


def text(value: Any, lang: str = LANG) -> str:
    """A per-language string (``{"ja": …, "en": …}``) or a plain one."""
    if isinstance(value, Mapping):
        return str(value.get(lang) or value.get("ja") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _choices(schema: Mapping[str, Any], lang: str) -> tuple[Choice, ...]:
    options = schema.get("oneOf") or schema.get("anyOf") or ()
    if not options and isinstance(schema.get("items"), Mapping):
        options = schema["items"].get("oneOf") or schema["items"].get("anyOf") or ()
    found = [Choice(str(o["const"]), text(o.get("title", o["const"]), lang)) for o in options if "const" in o]
    if not found:
        enum = schema.get("enum") or (schema.get("items") or {}).get("enum") or ()
        found = [Choice(str(e), str(e)) for e in enum]
    return tuple(found)


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def _widget(schema: Mapping[str, Any], choices: Sequence[Choice]) -> str:
    hint = schema.get("x-dvflag-widget")
    if isinstance(hint, Mapping):
        hint = hint.get("type") or hint.get("widget")
    if isinstance(hint, str) and hint:
        return hint
    if "array" in _types(schema) and choices:
        return "checkboxes"
    if choices:
        return "select"
    if "boolean" in _types(schema):
        return "checkbox"
    if schema.get("format") == "date":
        return "date"
    return "text"


def _field(name: str, schema: Mapping[str, Any], required: bool, lang: str) -> FieldSpec:
    choices = _choices(schema, lang)
    widget = _widget(schema, choices)
    default = schema.get("default")
    personal = schema.get("x-dvflag-personal")
    return FieldSpec(
        name=name,
        title=text(schema.get("title"), lang) or field_label(name),
        help=text(schema.get("description") or schema.get("x-dvflag-help"), lang),
        required=required,
        widget=widget,
        choices=choices,
        multiple="array" in _types(schema) or widget == "checkboxes",
        personal=bool(personal),
        pattern=schema.get("pattern") if isinstance(schema.get("pattern"), str) else None,
        max_length=schema.get("maxLength") if isinstance(schema.get("maxLength"), int) else None,
        default=None if default is None else str(default).lower() if isinstance(default, bool) else str(default),
    )


def _placements(raw: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Placement names and the fields they bind."""
    names: list[str] = []
    bound: list[str] = []
    for item in raw or ():
        if isinstance(item, str):
            names.append(item)
            continue
        if isinstance(item, Mapping):
            names.append(str(item.get("screen") or item.get("kind") or item.get("where") or item.get("name")))
            binds = item.get("binds") or item.get("bound") or item.get("bind") or ()
            if isinstance(binds, Mapping):
                bound.extend(str(k) for k in binds)
            elif isinstance(binds, str):
                bound.append(binds)
            else:
                bound.extend(str(b) for b in binds)
    return tuple(names), tuple(dict.fromkeys(bound))


def _columns(result: Mapping[str, Any], lang: str) -> tuple[Column, ...]:
    cols = []
    for c in result.get("columns") or ():
        if isinstance(c, Mapping):
            key = str(c.get("key") or c.get("name") or c.get("field"))
            cols.append(Column(key, text(c.get("title"), lang) or field_label(key), c.get("format")))
    return tuple(cols)


def function_spec(fn: HostFunction, lang: str = LANG) -> FunctionSpec:
    """The screen spec of ``fn`` from its descriptor (or from its bare parameter names)."""
    raw = getattr(fn, "descriptor", None)
    desc: Mapping[str, Any] = _plain(raw) if raw is not None else {}
    schema: Mapping[str, Any] = desc.get("input_schema") or {}
    props: Mapping[str, Any] = schema.get("properties") or {name: {} for name in fn.params}
    required = set(schema.get("required") or ())
    fields = tuple(_field(name, props[name] or {}, name in required, lang) for name in props)
    effects = desc.get("effects") or desc.get("annotations") or {}
    confirmation = desc.get("confirmation") or {}
    result = desc.get("result") or {}
    placements, bound = _placements(desc.get("placements"))
    return FunctionSpec(
        function_id=fn.function_id,
        title=text(desc.get("title"), lang) or fn.label,
        help=text(desc.get("help"), lang),
        roles=tuple(desc.get("roles") or fn.required_roles),
        placements=placements or ("menu",),
        fields=fields,
        read_only=bool(effects.get("read_only") or effects.get("readOnlyHint")),
        destructive=bool(effects.get("destructive") or effects.get("destructiveHint")),
        confirmation=text(confirmation.get("text") if isinstance(confirmation, Mapping) else confirmation, lang)
        or None,
        result_kind=str(result.get("kind")) if result.get("kind") else None,
        columns=_columns(result, lang),
        bound=bound,
    )
