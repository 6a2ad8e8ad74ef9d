"""Screen specs read from a host function's descriptor: the one place that knows the descriptor's shape.

The reference UI renders every form and result from these specs alone. A function without a
descriptor still gets a plain form (one text field per parameter) so a host never loses a function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dvflag_hookspecs import Condition, FunctionDescriptor, HostFunction, ResultShape, Text

from ...text.names import field_label

LANG = "ja"


@dataclass(frozen=True, slots=True)
class Choice:
    """One allowed value of a field (as form text) and its title."""

    value: str
    title: str


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One input of a form: its widget, what is allowed, when it applies, whether it is personal."""

    name: str
    title: str
    help: str
    required: bool
    widget: str
    choices: tuple[Choice, ...]
    personal: bool
    max_length: int | None
    default: str | None
    shown_when: tuple[Condition, ...]
    condition_note: str

    @property
    def multiple(self) -> bool:
        """Several values (a checkbox group)."""
        return self.widget == "checkboxes"

    def applies(self, params: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
        """Whether the field is part of the call for these parameters (its ``shown_when`` holds)."""
        return all(c.holds(params, defaults.get(c.field)) for c in self.shown_when)


@dataclass(frozen=True, slots=True)
class Confirm:
    """A confirmation to show: level, text (placeholders filled) and the items to list."""

    level: str
    text: str
    button: str
    show: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """Everything the generic screens need to offer one host function."""

    function_id: str
    title: str
    help: str
    roles: tuple[str, ...]
    placements: Mapping[str, Mapping[str, str]]
    """Screen → its bindings (parameter → source such as ``person.address_no`` or ``row.record_id``)."""
    fields: tuple[FieldSpec, ...]
    destructive: bool
    descriptor: FunctionDescriptor | None

    def field(self, name: str) -> FieldSpec | None:
        """The field called ``name``, or None."""
        return next((f for f in self.fields if f.name == name), None)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Every input's name, in form order."""
        return tuple(f.name for f in self.fields)

    @property
    def defaults(self) -> dict[str, str | None]:
        """Default value of each field."""
        return {f.name: f.default for f in self.fields}

    def order(self, screen: str) -> int:
        """Position on ``screen`` (descriptor order)."""
        if self.descriptor is None:
            return 100
        return next((p.order for p in self.descriptor.placements if p.screen == screen), 100)

    def confirmation(self, params: Mapping[str, Any], lang: str = LANG) -> Confirm | None:
        """What to ask before running with ``params``, or None."""
        if self.descriptor is None:
            return None
        found = self.descriptor.confirmation_for(params)
        if found is None:
            return None
        text = _fill(found.text.get(lang), params)
        button = found.button.get(lang) or f"{self.title}を実行する"
        return Confirm(found.level, text, button, found.show)

    def result_shape(self, params: Mapping[str, Any]) -> ResultShape | None:
        """How to show the result of a call with ``params``."""
        return self.descriptor.result_for(params) if self.descriptor is not None else None


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, values: Mapping[str, Any]) -> str:
    """``{name}`` placeholders filled from ``values``; unknown ones stay as they are."""
    return template.format_map(_Blank({k: v for k, v in values.items() if not isinstance(v, list | tuple)}))


def _text(value: Text | None, lang: str) -> str:
    return value.get(lang) if value is not None else ""


def _condition_note(fd: FunctionDescriptor, conditions: tuple[Condition, ...], lang: str) -> str:
    """Japanese note for a conditional field: 「操作」が 追加・変更 のとき."""
    parts = []
    for cond in conditions:
        try:
            ctl = fd.field(cond.field)
        except KeyError:
            continue
        titles = [c.title.get(lang) for c in ctl.choices if c.value in cond.values] or [str(v) for v in cond.values]
        parts.append(f"「{ctl.title.get(lang)}」が {'・'.join(titles)} のとき")
    return "、".join(parts)


def _from_descriptor(fn: HostFunction, fd: FunctionDescriptor, lang: str) -> FunctionSpec:
    fields = []
    for f in fd.fields:
        default = None if f.default is None else str(f.default).lower() if isinstance(f.default, bool) else str(
            f.default)
        note = _condition_note(fd, f.shown_when, lang) if f.shown_when else ""
        fields.append(FieldSpec(
            name=f.name, title=f.title.get(lang), help=f.help.get(lang), required=f.required, widget=f.widget,
            choices=tuple(Choice(str(c.value), c.title.get(lang)) for c in f.choices), personal=f.personal,
            max_length=f.max_length, default=default, shown_when=f.shown_when, condition_note=note,
        ))
    placements: dict[str, dict[str, str]] = {}
    for p in fd.placements:
        placements.setdefault(p.screen, {}).update(dict(p.bind))
    return FunctionSpec(
        function_id=fn.function_id, title=fd.title.get(lang) or fn.label, help=_text(fd.help, lang),
        roles=fd.roles or fn.required_roles, placements=placements, fields=tuple(fields),
        destructive=fd.effects.destructive, descriptor=fd,
    )


def function_spec(fn: HostFunction, lang: str = LANG) -> FunctionSpec:
    """The screen spec of ``fn`` from its descriptor (or from its bare parameter names)."""
    if fn.descriptor is not None:
        return _from_descriptor(fn, fn.descriptor, lang)
    fields = tuple(
        FieldSpec(name=p, title=field_label(p), help="", required=False, widget="text", choices=(), personal=False,
                  max_length=None, default=None, shown_when=(), condition_note="")
        for p in fn.params
    )
    return FunctionSpec(fn.function_id, fn.label, "", fn.required_roles, {"menu": {}}, fields, False, None)
