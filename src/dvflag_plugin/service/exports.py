"""抽出・印刷 (dvflag.export): select the rows, write them, hash the bytes, audit one event.

The audit event carries format, scope, filters, row and page counts, the 出力番号 and the SHA-256 of
the bytes produced, so an auditor can match a printed sheet or a file to its event.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from dvflag_hookspecs import ExportResult

from ..audit.chain import next_output_no
from ..errors import ValidationError
from ..outputs import FORMATS, ExportMeta, csv_media_type
from ..rules import validation as v
from ..rules.record import active_clause, released_clause
from ..storage.schema import registration
from .masterdata import resolved_dept_name
from .queries import STATES
from .records import to_value
from .runtime import Op

EXPORT_FIELDS = ("format", "scope", "state", "dept_code", "input_from", "input_to", "encoding", "strict")
SCOPES = {"own": "自所属", "all": "全所属"}
STATE_LABELS = {"active": "有効のみ", "released": "解除済のみ", "all": "すべて"}
ENCODINGS = ("utf-8-sig", "cp932")


def _choice(p: Mapping[str, Any], field: str, choices: Any, default: str) -> str:
    return v.choice(p.get(field), field, tuple(choices), default)


def _dept_name(op: Op, dept_code: str) -> str:
    return resolved_dept_name(op, dept_code) or dept_code


def export(op: Op, params: Mapping[str, Any]) -> ExportResult:
    """Write the own department's (registrar) or all departments' (supervisor) list."""
    op.require_role("export_own", "export_all")  # an outsider is denied before its parameters are read
    p = v.check_fields(params, EXPORT_FIELDS)
    fmt = _choice(p, "format", tuple(FORMATS), "csv")
    scope = _choice(p, "scope", tuple(SCOPES), "own")
    action = "export_own" if scope == "own" else "export_all"
    op.require_role(action)
    dept = v.code(p["dept_code"], op.rt.settings, field="dept_code") if p.get("dept_code") is not None else None
    if scope == "own":
        dept = dept or op.actor.dept_code
    op.require(action, dept)
    state = _choice(p, "state", STATES, "active")
    input_from = v.a_date(p["input_from"], op.rt.eras, field="input_from") if p.get("input_from") is not None else None
    input_to = v.a_date(p["input_to"], op.rt.eras, field="input_to") if p.get("input_to") is not None else None
    if input_from and input_to and input_from > input_to:
        raise ValidationError("input_from", "range", "入力日の範囲は開始日≦終了日で指定してください")
    encoding = _choice(p, "encoding", ENCODINGS, "utf-8-sig")
    strict = v.flag(p.get("strict"), "strict")
    if fmt != "csv" and (p.get("encoding") is not None or strict):
        raise ValidationError("encoding", "csv_only", "文字コードと厳格モードは CSV 出力でのみ指定できます")

    stmt = sa.select(registration)
    labels = [f"状態: {STATE_LABELS[state]}"]
    if dept is not None:
        stmt = stmt.where(registration.c.dept_code == dept)
        labels.append(f"所属: {dept}")
    if state == "active":
        stmt = stmt.where(active_clause(op.today))
    elif state == "released":
        stmt = stmt.where(released_clause(op.today))
    if input_from is not None:
        stmt = stmt.where(registration.c.input_date >= input_from)
    if input_to is not None:
        stmt = stmt.where(registration.c.input_date <= input_to)
    if input_from or input_to:
        shown = f"{input_from.isoformat() if input_from else ''}〜{input_to.isoformat() if input_to else ''}"
        labels.append(f"入力日: {shown}")
    stmt = stmt.order_by(registration.c.dept_code, registration.c.address_no, registration.c.id)

    output_no = f"EXP-{op.today:%Y%m%d}-{next_output_no(op.conn, op.head):06d}"
    actor_dept_name = _dept_name(op, op.actor.dept_code)
    title_scope = _dept_name(op, dept) if dept is not None else "全所属"
    meta = ExportMeta(
        title=f"DV等支援対象者 把握状況一覧（{title_scope}）",
        output_no=output_no,
        generated_at=op.now,
        actor_id=op.actor.user_id,
        actor_dept=op.actor.dept_code,
        actor_dept_name=actor_dept_name,
        as_of=op.today,
        scope_label=SCOPES[scope],
        filters_label="、".join(labels),
    )
    op.target = f"export:{output_no}"
    op.details.update(
        format=fmt, scope=scope, state=state, dept_code=dept, output_no=output_no,
        input_from=input_from.isoformat() if input_from else None,
        input_to=input_to.isoformat() if input_to else None,
    )
    if fmt == "csv":
        op.details.update(encoding=encoding, strict=strict)
    spec = FORMATS[fmt]
    buffer = io.BytesIO()
    with op.conn.execute(stmt.execution_options(yield_per=1000)) as result:
        rows = (to_value(r) for r in result)
        if fmt == "csv":
            written = spec.writer(rows, meta, buffer, encoding=encoding, strict=strict)
        else:
            written = spec.writer(rows, meta, buffer, eras=op.rt.eras)
    content = buffer.getvalue()
    digest = hashlib.sha256(content).hexdigest()
    op.details.update(
        row_count=written.row_count, page_count=written.page_count, sha256=digest, bytes=len(content),
        replaced_cells=len(written.replacements),
    )
    return ExportResult(
        output_no=output_no,
        format=fmt,
        filename=spec.filename(output_no),
        media_type=csv_media_type(encoding) if fmt == "csv" else spec.media_type,  # type: ignore[arg-type]
        content=content,
        row_count=written.row_count,
        page_count=written.page_count,
        sha256=digest,
        replacements=written.replacements,
    )
