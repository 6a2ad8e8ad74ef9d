"""Any host function's result as a generic view: notice, table, file, verification, record or message.

The descriptor's result kind and columns decide; without them the shape of the value decides, so a
new function's result shows without a template of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ...rules.validation import SEX_CODES
from ...text.names import field_label
from ...text.wareki import format_wareki
from .spec import Column, FunctionSpec

_ROLE_LABELS = {
    "viewer": "照会者", "registrar": "登録者", "supervisor": "全庁抽出者", "user_admin": "利用者管理者",
    "auditor": "監査者",
}
_EXTRA_LABELS = {
    "as_of": "基準日", "holdings": "保持所属", "due_date": "見直し期日", "overdue": "期日超過", "enabled": "有効",
    "output_no": "出力番号", "filename": "ファイル名", "media_type": "形式", "row_count": "件数",
    "page_count": "ページ数", "sha256": "SHA-256", "ok": "検証結果", "checked": "検証件数", "head_seq": "末尾連番",
    "head_hash": "末尾ハッシュ", "first_broken_seq": "最初の不整合連番", "message": "メッセージ", "seq": "連番",
    "occurred_at": "日時（UTC）", "actor_id": "利用者ID", "actor_dept": "所属コード", "action": "操作",
    "target": "対象", "outcome": "結果", "reason_code": "理由コード", "hash": "ハッシュ", "deleted": "削除",
}


def label(key: str) -> str:
    """Japanese title of a value's key."""
    title = _EXTRA_LABELS.get(key) or field_label(key)
    return title if title != key else key


def flatten(value: Any) -> dict[str, Any]:
    """A dataclass or mapping as one flat row (a nested registration's fields come up one level)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    elif isinstance(value, Mapping):
        data = dict(value)
    else:
        return {"value": value}
    row: dict[str, Any] = {}
    for key, item in data.items():
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            row.update(flatten(item))
        else:
            row[key] = item
    return row


def show(value: Any, fmt: str | None = None, key: str = "") -> str:
    """One value as staff read it: 和暦 dates, 性別 labels, ロール names, はい/いいえ."""
    if value is None or value == "":
        return "—"
    if fmt in ("sex-label", "sex_label") or (fmt is None and key == "sex_code"):
        try:
            return f"{SEX_CODES[int(value)]}（{int(value)}）"
        except (KeyError, ValueError, TypeError):
            return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return format_wareki(value) if fmt in (None, "wareki-date", "wareki_date", "date") else value.isoformat()
    if isinstance(value, str) and fmt in ("wareki-date", "wareki_date") and len(value) == 10:
        try:
            return format_wareki(date.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, frozenset | set | list | tuple):
        return "、".join(_ROLE_LABELS.get(str(v), str(v)) for v in sorted(value, key=str)) or "—"
    if isinstance(value, Mapping):
        return "、".join(f"{label(str(k))}: {show(v)}" for k, v in value.items())
    return str(value)


@dataclass
class ResultView:
    """What the generic result macro renders."""

    kind: str
    message: str = ""
    ok: bool | None = None
    columns: list[Column] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    items: list[tuple[str, str]] = field(default_factory=list)
    file: dict[str, Any] | None = None


def _columns_for(rows: Sequence[Mapping[str, Any]], spec: FunctionSpec) -> list[Column]:
    if spec.columns:
        return list(spec.columns)
    keys: list[str] = []
    for row in rows[:1]:
        keys.extend(k for k in row if k not in keys)
    return [Column(k, label(k), None) for k in keys]


def _table(values: Sequence[Any], spec: FunctionSpec) -> ResultView:
    rows = [flatten(v) for v in values]
    return ResultView(kind="table", columns=_columns_for(rows, spec), rows=rows)


def _record(value: Any, spec: FunctionSpec) -> ResultView:
    row = flatten(value)
    formats = {c.key: c.format for c in spec.columns}
    items: list[tuple[str, str]] = []
    nested: list[Any] = []
    for key, item in row.items():
        if isinstance(item, tuple | list) and item and dataclasses.is_dataclass(item[0]):
            nested = list(item)
            continue
        items.append((label(key), show(item, formats.get(key), key)))
    view = ResultView(kind="record", items=items)
    if nested or "holdings" in row:
        view.rows = [flatten(n) for n in nested]
        view.columns = _columns_for(view.rows, spec) if view.rows else []
        if not view.rows:
            view.message = "保持している所属はありません"
    return view


def build(result: Any, spec: FunctionSpec) -> ResultView:
    """The view of ``result`` for ``spec``."""
    kind = spec.result_kind
    if hasattr(result, "content") and hasattr(result, "sha256"):
        return ResultView(kind="file", file=flatten(result), message=f"出力番号 {getattr(result, 'output_no', '')}")
    if hasattr(result, "ok") and hasattr(result, "first_broken_seq"):
        return ResultView(kind="verification", ok=bool(result.ok), message=str(result.message),
                          items=[(label(k), show(v, None, k)) for k, v in flatten(result).items() if k != "message"])
    if isinstance(result, str) or kind == "message" and not isinstance(result, tuple | list | Mapping):
        return ResultView(kind="message", message=str(result))
    if isinstance(result, tuple | list):
        view = _table(result, spec)
        if not view.rows:
            view.message = "該当するデータはありません"
        return view
    return _record(result, spec)
