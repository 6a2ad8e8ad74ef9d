"""Any host function's result as a generic view (notice, table, file, verification, record, message).

The descriptor's result shape decides the kind, the columns, their formats and the messages; a
function without a descriptor falls back on the value's own fields. No function has a template.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from dvflag_hookspecs import ResultShape

from ...rules.validation import SEX_CODES
from ...text.names import field_label
from ...text.wareki import format_wareki
from .spec import FunctionSpec

JST = timezone(timedelta(hours=9), "JST")

ROLE_LABELS = {
    "viewer": "照会者", "registrar": "登録者", "supervisor": "全庁抽出者", "user_admin": "利用者管理者",
    "auditor": "監査者",
}


@dataclass(frozen=True, slots=True)
class Cell:
    """A column as shown: key, title, format."""

    key: str
    title: str
    format: str
    labels: Mapping[Any, str] = field(default_factory=dict)
    """Japanese titles of coded values (the descriptor's column choices)."""

    def show(self, value: Any) -> Any:
        """The value as shown in this column: its title when coded, a list of lines, or text."""
        if self.labels and isinstance(value, str | int | bool) and value in self.labels:
            return self.labels[value]
        if self.format == "lines":
            return [show(v) for v in value or ()]
        if self.format == "note":
            return value if isinstance(value, str) and value else "—"
        return show(value, self.format)


def get_path(value: Any, path: str) -> Any:
    """``a.b.c`` inside dataclasses and mappings ("" is the value itself); None when absent."""
    for part in [p for p in path.split(".") if p]:
        if value is None:
            return None
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
    return value


def fields_of(value: Any) -> dict[str, Any]:
    """Top-level fields of a dataclass or mapping."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return dict(value) if isinstance(value, Mapping) else {}


def show(value: Any, fmt: str | None = None) -> str:
    """One value as staff read it: 和暦 dates, 性別 labels, ロール names, はい/いいえ."""
    if value is None or value == "":
        return "—"
    if fmt == "sex-label":
        try:
            return f"{SEX_CODES[int(value)]}（{int(value)}）"
        except (KeyError, ValueError, TypeError):
            return str(value)
    if fmt == "json":
        return str(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))
    if isinstance(value, datetime):
        # Staff read Japan time: an aware time (the audit trail keeps UTC) is shown in JST.
        return value.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S") if value.tzinfo else value.strftime(
            "%Y-%m-%d %H:%M:%S")
    if isinstance(value, str) and fmt in ("wareki-date", "date") and len(value) == 10:
        text = value
        try:
            value = date.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(value, date):
        return value.isoformat() if fmt == "date" else format_wareki(value)
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, frozenset | set | list | tuple):
        return "、".join(ROLE_LABELS.get(str(v), str(v)) for v in sorted(value, key=str)) or "—"
    return str(value)


@dataclass
class ResultView:
    """What the generic result macro renders."""

    kind: str
    title: str = ""
    message: str = ""
    ok: bool | None = None
    columns: list[Cell] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    raw_rows: list[Any] = field(default_factory=list)
    items: list[tuple[str, Any, str]] = field(default_factory=list)
    """(title, shown value, format) of a record: a ``lines`` value is a list, a ``note`` kept as it is."""
    file: dict[str, Any] | None = None
    warning: str = ""
    """A flag message of the result (the search stopped at its limit): shown as an alert."""


class _Shown(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _message(template: str, value: Any, formats: Mapping[str, str]) -> str:
    shown = {k: show(v, formats.get(k)) for k, v in fields_of(value).items() if "{" + k + "}" in template}
    return template.format_map(_Shown(shown)) if template else ""


def _cells(shape: ResultShape) -> list[Cell]:
    return [Cell(c.key, c.title.get("ja"), c.format, {ch.value: ch.title.get("ja") for ch in c.choices})
            for c in shape.columns]


def _flags(shape: ResultShape, result: Any, formats: Mapping[str, str]) -> str:
    """The descriptor's flag messages whose result field is true (search: only the first N shown)."""
    return " ".join(_message(text.get("ja"), result, formats) for key, text in shape.flag_messages
                    if get_path(result, key) is True)


def _guess_cells(value: Any) -> list[Cell]:
    return [Cell(k, field_label(k), "text") for k in fields_of(value)]


def build(result: Any, spec: FunctionSpec, params: Mapping[str, Any]) -> ResultView:
    """The view of ``result`` for a call of ``spec`` with ``params``."""
    shape = spec.result_shape(params)
    if shape is None:
        return _fallback(result)
    cells = _cells(shape)
    formats = {c.key: c.format for c in cells}
    view = ResultView(kind=shape.kind, title=shape.title.get("ja"), columns=cells)
    template = shape.message.get("ja")
    if shape.kind == "table":
        rows = get_path(result, shape.rows) if shape.rows else result
        view.raw_rows = list(rows or ())
        view.columns = cells or (_guess_cells(view.raw_rows[0]) if view.raw_rows else [])
        view.rows = [{c.key: c.show(get_path(r, c.key)) for c in view.columns} for r in view.raw_rows]
        view.message = _message(template, result, formats) if shape.rows else ""
        if not view.raw_rows:
            view.message = (view.message + " " if view.message else "") + shape.empty.get("ja")
        view.warning = _flags(shape, result, formats)
        return view
    if shape.kind == "file" and shape.file is not None:
        fs = shape.file
        view.file = {
            "output_no": get_path(result, fs.output_no_field), "filename": get_path(result, fs.name_field),
            "media_type": get_path(result, fs.media_type_field), "sha256": get_path(result, fs.sha256_field),
        }
    if shape.kind == "verification" and shape.ok_field:
        view.ok = bool(get_path(result, shape.ok_field))
    view.items = [(c.title, c.show(get_path(result, c.key)), c.format) for c in cells]
    view.message = _message(template, result, formats)
    return view


def _fallback(result: Any) -> ResultView:
    """A function without a descriptor: a list is a table, anything else its fields."""
    if isinstance(result, list | tuple):
        cells = _guess_cells(result[0]) if result else []
        return ResultView(kind="table", columns=cells, raw_rows=list(result),
                          rows=[{c.key: show(get_path(r, c.key)) for c in cells} for r in result])
    if isinstance(result, str):
        return ResultView(kind="message", message=result)
    return ResultView(kind="record", items=[(field_label(k), show(v), "text") for k, v in fields_of(result).items()])
