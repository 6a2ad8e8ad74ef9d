"""Function descriptors: everything a host needs to render a function's form and result (DESIGN §4).

A ``FunctionDescriptor`` says what a host function is called (ja/en), which fields its form has (rendered
as a JSON Schema 2020-12 object, with widget hints, personal-item markers and Japanese choice titles), where
it appears, what it changes, what to ask before running it, how to show its result, which errors it raises
and which audit action it writes. Ideas from Home Assistant services.yaml, MCP tool definitions and
Django's delete confirmation. Every value here is frozen and renders to plain JSON with ``to_json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

DESCRIPTOR_VERSION: Final = 1
"""Bumped only when a key changes meaning or disappears; new optional keys keep the version."""

LANGS: Final = ("ja", "en")
Lang = Literal["ja", "en"]

FieldType = Literal["string", "integer", "boolean", "array"]
Widget = Literal["text", "wareki-date", "select", "radio", "number", "hidden", "checkbox", "checkboxes", "textarea"]
"""``textarea``: multi-line text kept as typed (a pasted signed checkpoint note)."""
Normalize = Literal["trim", "nfc", "nfkc", "digits", "integer", "boolean", "list"]
"""What the plugin does to a value before checking it, in order; the schema describes the value afterwards.

``trim``: whitespace at both ends removed (at most that: the plugin may trim less, never more);
``nfc``/``nfkc``: Unicode normalisation; ``digits``: full-width digits (U+FF10–FF19) become ASCII digits;
``integer``: a string of at most 10 ASCII digits is read as an integer; ``boolean``: ``"true"/"1"/"false"/"0"``
(any case) are read as booleans; ``list``: comma-separated text is split and each part trimmed.
A null value, or a text of only spaces (U+0020, U+3000), counts as absent.
"""
Screen = Literal["menu", "person", "record", "flag_clearing", "administration"]
"""``menu``: the main menu; ``person``: the screen of one person (宛名照会); ``record``: an action on one
row of a registration table; ``flag_clearing``: the 自動応答不可/不開示該当 flag screen; ``administration``:
the administration menu (利用者管理, 監査)."""
ConfirmLevel = Literal["none", "confirm", "danger"]
"""``confirm``: ask once; ``danger``: a Django-style page that shows what will change and asks."""
ResultKind = Literal["notice", "table", "file", "verification", "message", "record"]
ColumnFormat = Literal[
    "text", "code", "number", "date", "wareki-date", "datetime", "sex-label", "bool", "roles", "hash", "json", "lines",
    "note",
]
"""How a host shows a value: ``wareki-date`` as 令和6年4月1日, ``sex-label`` as 男/女 (JIS X 5218),
``code`` verbatim in a fixed-width font, ``roles`` as Japanese role names, ``hash`` shortened, ``lines`` a
sequence of texts one per line, ``note`` multi-line text shown exactly as it is so it can be copied."""

Scalar = str | int | bool


@dataclass(frozen=True, slots=True)
class Text:
    """One text in Japanese and English; ``{name}`` placeholders name parameters or result fields."""

    ja: str
    en: str

    def get(self, lang: str = "ja") -> str:
        """The text in ``lang`` (Japanese for an unknown language)."""
        return self.en if lang == "en" else self.ja


NO_TEXT: Final = Text("", "")


@dataclass(frozen=True, slots=True)
class Choice:
    """One allowed value of a field and its title (``oneOf: [{const, title}]``)."""

    value: Scalar
    title: Text


@dataclass(frozen=True, slots=True)
class Condition:
    """True when parameter ``field`` has one of ``values`` (an absent field has its default)."""

    field: str
    values: tuple[Scalar, ...]

    def holds(self, params: Mapping[str, Any], default: Scalar | None = None) -> bool:
        """Whether ``params`` meet the condition."""
        value = params.get(self.field)
        if value is None or value == "":
            value = default
        return value in self.values

    def to_json(self) -> dict[str, Any]:
        """``{"field": [values]}``."""
        return {self.field: list(self.values)}


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a function's form, rendered as one property of the input schema."""

    name: str
    type: FieldType
    title: Text
    help: Text = NO_TEXT
    required: bool = False
    widget: Widget = "text"
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[Choice, ...] = ()
    format: Literal["date"] | None = None
    wareki: bool = False
    """Dates: 和暦 text (令和6年4月1日, R6.4.1) is accepted besides ISO 8601."""
    personal: bool = False
    """氏名・生年月日: a host must never log or echo this value outside the screen."""
    default: Scalar | None = None
    normalize: tuple[Normalize, ...] = ()
    required_when: tuple[Condition, ...] = ()
    """Required when every condition holds (e.g. ``user_id`` unless ``op`` is ``list``)."""
    shown_when: tuple[Condition, ...] = ()
    """A form shows the field only when every condition holds."""
    examples: tuple[Scalar, ...] = ()
    refused_when_hidden: bool = False
    """Given while ``shown_when`` does not hold, the value is refused (not ignored)."""
    max_chars: int | None = None
    """The length limit as staff count characters (a variation selector adds none); ``maxLength``
    counts code points and is therefore an upper bound only."""
    max_items: int | None = None

    def schema(self, lang: str = "ja") -> dict[str, Any]:
        """This field as a JSON Schema 2020-12 property in ``lang``."""
        out: dict[str, Any] = {"type": self.type, "title": self.title.get(lang)}
        if self.help.get(lang):
            out["description"] = self.help.get(lang)
        if self.type == "array":
            items: dict[str, Any] = {"type": "string"}
            if self.choices:
                items["oneOf"] = [{"const": c.value, "title": c.title.get(lang)} for c in self.choices]
            out["items"] = items
        elif self.choices:
            out["oneOf"] = [{"const": c.value, "title": c.title.get(lang)} for c in self.choices]
        for key, value in (
            ("pattern", self.pattern),
            ("minLength", self.min_length),
            ("maxLength", self.max_length),
            ("minimum", self.minimum),
            ("maximum", self.maximum),
            ("maxItems", self.max_items),
            ("format", self.format),
            ("default", self.default),
        ):
            if value is not None:
                out[key] = value
        if self.examples:
            out["examples"] = list(self.examples)
        out["x-dvflag-widget"] = self.widget
        if self.personal:
            out["x-dvflag-personal"] = True
        if self.wareki:
            out["x-dvflag-wareki"] = True
        if self.normalize:
            out["x-dvflag-normalize"] = list(self.normalize)
        if self.shown_when:
            out["x-dvflag-shown-when"] = _merge(c.to_json() for c in self.shown_when)
        if self.required_when:
            out["x-dvflag-required-when"] = _merge(c.to_json() for c in self.required_when)
        if self.refused_when_hidden:
            out["x-dvflag-refused-when-hidden"] = True
        if self.max_chars is not None:
            out["x-dvflag-max-chars"] = self.max_chars
        return out


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a host offers the function; ``bind`` fills parameters from the screen (param → source).

    Sources: ``person.address_no`` (the person on screen), ``row.<key>`` (the table row acted on).
    """

    screen: Screen
    order: int = 100
    bind: tuple[tuple[str, str], ...] = ()
    group: Text = NO_TEXT

    def to_json(self, lang: str = "ja") -> dict[str, Any]:
        """Plain JSON in ``lang``."""
        out: dict[str, Any] = {"screen": self.screen, "order": self.order, "bind": dict(self.bind)}
        if self.group.get(lang):
            out["group"] = self.group.get(lang)
        return out


@dataclass(frozen=True, slots=True)
class Effects:
    """What running the function does (MCP's readOnly / destructive / idempotent hints)."""

    read_only: bool
    changes_data: bool
    destructive: bool
    idempotent: bool
    personal_output: bool = False
    """The result shows or contains 氏名・生年月日 (handle as personal information)."""

    def to_json(self) -> dict[str, bool]:
        """Plain JSON."""
        return {
            "read_only": self.read_only,
            "changes_data": self.changes_data,
            "destructive": self.destructive,
            "idempotent": self.idempotent,
            "personal_output": self.personal_output,
        }


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What to ask before running; applies when every condition in ``when`` holds.

    ``text`` may hold ``{param}`` placeholders; ``show`` names the parameters (or, with ``row.``, the
    fields of the row acted on) a confirmation page lists, as Django shows what a delete removes.
    """

    level: ConfirmLevel
    text: Text
    when: tuple[Condition, ...] = ()
    show: tuple[str, ...] = ()
    button: Text = NO_TEXT

    def to_json(self, lang: str = "ja") -> dict[str, Any]:
        """Plain JSON in ``lang``."""
        return {
            "level": self.level,
            "text": self.text.get(lang),
            "button": self.button.get(lang),
            "when": _merge(c.to_json() for c in self.when),
            "show": list(self.show),
        }


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table result (or one line of a record): a dotted key into the result value."""

    key: str
    title: Text
    format: ColumnFormat = "text"
    personal: bool = False
    choices: tuple[Choice, ...] = ()
    """Titles of coded values (``verified`` → 署名検証済み): a host shows the title, never the code."""

    def title_of(self, value: Any, lang: str = "ja") -> str | None:
        """The title of a coded ``value``, or None when the column has none for it."""
        return next((c.title.get(lang) for c in self.choices if c.value == value), None)

    def to_json(self, lang: str = "ja") -> dict[str, Any]:
        """Plain JSON in ``lang``."""
        out: dict[str, Any] = {"key": self.key, "title": self.title.get(lang), "format": self.format}
        if self.personal:
            out["personal"] = True
        if self.choices:
            out["choices"] = [{"const": c.value, "title": c.title.get(lang)} for c in self.choices]
        return out


@dataclass(frozen=True, slots=True)
class FileShape:
    """A file result: the result fields holding its name, media type, bytes, 出力番号 and digest."""

    name_field: str = "filename"
    media_type_field: str = "media_type"
    content_field: str = "content"
    output_no_field: str = "output_no"
    sha256_field: str = "sha256"
    media_types: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "name_field": self.name_field,
            "media_type_field": self.media_type_field,
            "content_field": self.content_field,
            "output_no_field": self.output_no_field,
            "sha256_field": self.sha256_field,
            "media_types": list(self.media_types),
        }


@dataclass(frozen=True, slots=True)
class ResultShape:
    """How to show what the function returns; the first shape whose ``when`` holds applies.

    ``rows``: dotted path to the row sequence of a table ("" when the result is the sequence itself).
    ``message``: a text with ``{field}`` placeholders from the result; ``empty``: shown for no rows.
    ``row_actions``: function ids a host may offer on each row (see ``Placement`` ``record``);
    ``row_base``: dotted path inside a row to the value their ``row.*`` bindings read ("" = the row).
    """

    kind: ResultKind
    title: Text = NO_TEXT
    columns: tuple[Column, ...] = ()
    rows: str = ""
    message: Text = NO_TEXT
    empty: Text = NO_TEXT
    file: FileShape | None = None
    ok_field: str | None = None
    when: tuple[Condition, ...] = ()
    row_actions: tuple[str, ...] = ()
    row_base: str = ""
    flag_messages: tuple[tuple[str, Text], ...] = ()
    """(result field, text) pairs: show the text when that field of the result is true."""
    row_actions_dept: str = ""
    """Dotted path inside a row (from ``row_base``) to its department code: when set, a host offers the
    row actions only on rows of the signed-in user's own department (the others would be refused)."""

    def to_json(self, lang: str = "ja") -> dict[str, Any]:
        """Plain JSON in ``lang``."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "title": self.title.get(lang),
            "when": _merge(c.to_json() for c in self.when),
        }
        if self.columns:
            out["columns"] = [c.to_json(lang) for c in self.columns]
        if self.kind == "table":
            out["rows"] = self.rows
            out["empty"] = self.empty.get(lang)
            out["row_actions"] = list(self.row_actions)
            out["row_base"] = self.row_base
            if self.row_actions_dept:
                out["row_actions_dept"] = self.row_actions_dept
        if self.message.get(lang):
            out["message"] = self.message.get(lang)
        if self.file is not None:
            out["file"] = self.file.to_json()
        if self.ok_field is not None:
            out["ok_field"] = self.ok_field
        if self.flag_messages:
            out["flag_messages"] = {key: text.get(lang) for key, text in self.flag_messages}
        return out


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """An error the function may raise: its stable code, the field it names, its message template.

    ``message`` holds ``{label}`` (the field's Japanese or English title) and rule placeholders such as
    ``{max}``; the plugin's own message is always the one to show, this is for documentation and tests.
    """

    code: str
    message: Text
    field: str | None = None

    def to_json(self, lang: str = "ja") -> dict[str, Any]:
        """Plain JSON in ``lang``."""
        return {"code": self.code, "field": self.field, "message": self.message.get(lang)}


@dataclass(frozen=True, slots=True)
class FunctionDescriptor:
    """The full description of one host function (see the module docstring)."""

    function_id: str
    title: Text
    help: Text
    roles: tuple[str, ...]
    fields: tuple[Field, ...]
    placements: tuple[Placement, ...]
    effects: Effects
    results: tuple[ResultShape, ...]
    errors: tuple[ErrorSpec, ...]
    audit_action: str
    confirmations: tuple[Confirmation, ...] = ()
    dependent_required: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Fields required once another is given (``checkpoint_hash`` with ``checkpoint_seq``)."""
    descriptor_version: int = DESCRIPTOR_VERSION

    @property
    def params(self) -> tuple[str, ...]:
        """The parameter names, in form order."""
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        """The field called ``name`` (KeyError when there is none)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def confirmation_for(self, params: Mapping[str, Any]) -> Confirmation | None:
        """The confirmation to ask before running with ``params``, or None."""
        for c in self.confirmations:
            if all(cond.holds(params, self._default(cond.field)) for cond in c.when):
                return c if c.level != "none" else None
        return None

    def result_for(self, params: Mapping[str, Any]) -> ResultShape:
        """The result shape for a call with ``params`` (the last shape is the fallback)."""
        for shape in self.results:
            if all(cond.holds(params, self._default(cond.field)) for cond in shape.when):
                return shape
        return self.results[-1]

    def _default(self, name: str) -> Scalar | None:
        try:
            return self.field(name).default
        except KeyError:
            return None

    def input_schema(self, lang: str = "ja") -> dict[str, Any]:
        """The input as a JSON Schema 2020-12 object schema in ``lang`` (unknown fields refused)."""
        schema: dict[str, Any] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:aatena:function:{self.function_id}:v{self.descriptor_version}",
            "title": self.title.get(lang),
            "type": "object",
            "properties": {f.name: f.schema(lang) for f in self.fields},
            "required": [f.name for f in self.fields if f.required],
            "additionalProperties": False,
        }
        if self.dependent_required:
            schema["dependentRequired"] = {k: list(v) for k, v in self.dependent_required}
        defaults = {g.name: g.default for g in self.fields}
        conditional = [_required_if(f.name, f.required_when, defaults) for f in self.fields if f.required_when]
        conditional += [
            _absent_unless(f.name, f.shown_when, defaults)
            for f in self.fields
            if f.refused_when_hidden and f.shown_when
        ]
        if conditional:
            schema["allOf"] = conditional
        return schema

    def to_json(self, lang: str = "ja") -> dict[str, Any]:
        """The whole descriptor as plain JSON in ``lang`` (what ``dvflag functions --json`` prints)."""
        return {
            "descriptor_version": self.descriptor_version,
            "function_id": self.function_id,
            "lang": lang if lang in LANGS else "ja",
            "title": self.title.get(lang),
            "help": self.help.get(lang),
            "roles": list(self.roles),
            "input_schema": self.input_schema(lang),
            "placements": [p.to_json(lang) for p in self.placements],
            "effects": self.effects.to_json(),
            "confirmations": [c.to_json(lang) for c in self.confirmations],
            "results": [r.to_json(lang) for r in self.results],
            "errors": [e.to_json(lang) for e in self.errors],
            "audit_action": self.audit_action,
        }


def _merge(parts: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        out.update(part)
    return out


def _condition_schema(conditions: tuple[Condition, ...], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """A schema true when every condition holds (an absent field taking its default)."""
    clauses: list[dict[str, Any]] = []
    for cond in conditions:
        matches: dict[str, Any] = {"properties": {cond.field: {"enum": list(cond.values)}}, "required": [cond.field]}
        if defaults.get(cond.field) in cond.values:
            # An absent field has its default, which meets the condition.
            matches = {"anyOf": [matches, {"not": {"required": [cond.field]}}]}
        clauses.append(matches)
    return clauses[0] if len(clauses) == 1 else {"allOf": clauses}


def _required_if(name: str, conditions: tuple[Condition, ...], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``if`` every condition holds ``then`` ``name`` is required."""
    return {"if": _condition_schema(conditions, defaults), "then": {"required": [name]}}


def _absent_unless(name: str, conditions: tuple[Condition, ...], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``name`` may be given only when every condition holds."""
    return {"if": _condition_schema(conditions, defaults), "else": {"not": {"required": [name]}}}
