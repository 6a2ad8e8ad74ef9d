"""Reads: 把握状況 of one number, search, the review list and release advice."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from dvflag_hookspecs import Holding, Registration, ReleaseAdvice, ReviewItem, SearchResult, Status
from dvflag_hookspecs.roles import REGISTRAR

from ..errors import ValidationError
from ..rules import validation as v
from ..rules.record import active_clause, add_months, latest_input_due_by, released_clause, review_due_date
from ..storage.schema import registration
from ..text.fold import fold_for_search, name_prefilter_chars
from .records import to_value
from .runtime import Op

STATUS_FIELDS = ("address_no",)
SEARCH_FIELDS = ("address_no", "name", "birth_date", "dept_code", "state", "input_from", "input_to", "limit")
REVIEW_FIELDS = ("dept_code",)
STATES = ("active", "released", "all")

_holders = (
    sa.select(
        registration.c.dept_code, registration.c.dept_name, registration.c.input_date, registration.c.release_date
    )
    .where(registration.c.address_no == sa.bindparam("address_no"))
    .order_by(registration.c.input_date, registration.c.dept_code)
)


def holdings(op: Op, address_no: str, day: date) -> tuple[Holding, ...]:
    """Departments holding ``address_no`` on ``day``."""
    rows = op.conn.execute(_holders.where(active_clause(day)), {"address_no": address_no})
    return tuple(Holding(r.dept_code, r.dept_name, r.input_date, r.release_date) for r in rows)


def status(op: Op, params: Mapping[str, Any]) -> Status:
    """把握状況: which departments hold the person today."""
    op.require_role("status")
    p = v.check_fields(params, STATUS_FIELDS)
    op.require("status")
    address_no = v.address_no(p.get("address_no"), op.rt.settings)
    op.target = address_no
    found = holdings(op, address_no, op.today)
    op.details["held_by"] = len(found)
    return Status(address_no=address_no, as_of=op.today, holdings=found)


CRITERIA_MESSAGE = (
    "検索には団体内統合宛名番号・氏名・生年月日のいずれかを指定してください"
    "（所属の一覧は、登録者が自所属についてのみ検索できます。全所属の一覧は全庁抽出者の抽出機能を使ってください）"
)


def _name_clause(query: str) -> sa.ColumnElement[bool]:
    """Narrow in SQL: the stored name holds, for each folded character, one raw form of it."""
    return sa.and_(
        *(
            sa.or_(*(registration.c.name.contains(ch, autoescape=True) for ch in sorted(group)))
            for group in name_prefilter_chars(query)
        )
    )


def search(op: Op, params: Mapping[str, Any]) -> SearchResult:
    """Find a person by number, name (folded), birth date; a registrar may list its own department.

    At most ``limit`` rows (default and ceiling ``dvflag.search_max_rows``); ``truncated`` says when
    more matched. Names are narrowed in SQL first, then folded in Python on the narrowed rows only.
    """
    op.require_role("search")
    p = v.check_fields(params, SEARCH_FIELDS)
    op.require("search")
    settings = op.rt.settings
    stmt = sa.select(registration)
    used: list[str] = []
    if p.get("address_no") is not None:
        number = v.address_no(p["address_no"], settings)
        stmt = stmt.where(registration.c.address_no == number)
        op.target = number
        used.append("address_no")
    if p.get("birth_date") is not None:
        stmt = stmt.where(registration.c.birth_date == v.a_date(p["birth_date"], op.rt.eras, field="birth_date"))
        used.append("birth_date")
    query: str | None = None
    if p.get("name") is not None:
        query = fold_for_search(v.person_name(p["name"]))
        if not query:
            raise ValidationError("name", "search_key", "氏名の検索語に文字（かな・漢字・英字）を含めてください")
        stmt = stmt.where(_name_clause(query))
        used.append("name")
    dept = v.code(p["dept_code"], settings, field="dept_code") if p.get("dept_code") is not None else None
    if not used:
        account = op.account()
        registrar = account is not None and REGISTRAR in account.roles
        if not registrar or (dept is not None and dept != op.actor.dept_code):
            raise ValidationError("address_no", "criteria", CRITERIA_MESSAGE)
        dept = op.actor.dept_code  # a registrar lists its own department
    if dept is not None:
        stmt = stmt.where(registration.c.dept_code == dept)
        op.details["dept_code"] = dept
        used.append("dept_code")
    state = v.choice(p.get("state"), "state", STATES, "active")
    if state == "active":
        stmt = stmt.where(active_clause(op.today))
    elif state == "released":
        stmt = stmt.where(released_clause(op.today))
    input_from = v.a_date(p["input_from"], op.rt.eras, field="input_from") if p.get("input_from") is not None else None
    input_to = v.a_date(p["input_to"], op.rt.eras, field="input_to") if p.get("input_to") is not None else None
    if input_from and input_to and input_from > input_to:
        raise ValidationError("input_from", "range", "入力日の範囲は開始日≦終了日で指定してください")
    if input_from is not None:
        stmt = stmt.where(registration.c.input_date >= input_from)
        op.details["input_from"] = input_from.isoformat()
    if input_to is not None:
        stmt = stmt.where(registration.c.input_date <= input_to)
        op.details["input_to"] = input_to.isoformat()
    ceiling = settings.search_max_rows
    limit = v.positive_int(p["limit"], field="limit") if p.get("limit") is not None else ceiling
    if limit > ceiling:
        raise ValidationError("limit", "max", f"最大件数は{ceiling}件以内で指定してください")
    stmt = stmt.order_by(registration.c.address_no, registration.c.dept_code)
    if query is None:
        stmt = stmt.limit(limit + 1)
    found: list[Registration] = []
    truncated = False
    with op.conn.execute(stmt.execution_options(yield_per=500)) as result:
        for row in result:
            reg = to_value(row)
            if query is not None and query not in fold_for_search(reg.name):
                continue
            if len(found) == limit:
                truncated = True
                break
            found.append(reg)
    # Which filters were used, never their values for 氏名 or 生年月日.
    op.details.update(state=state, filters=sorted(used), count=len(found), truncated=truncated)
    return SearchResult(rows=tuple(found), truncated=truncated, limit=limit)


def review_due(op: Op, params: Mapping[str, Any]) -> tuple[ReviewItem, ...]:
    """見直し対象: own registrations overdue, or listed from one calendar month before the due date.

    An item is listed from ``add_months(due, -alert)`` (clamped to month ends: due 2025-03-31 →
    from 2025-02-28).
    """
    op.require_role("review_due")
    p = v.check_fields(params, REVIEW_FIELDS)
    dept = (
        v.code(p["dept_code"], op.rt.settings, field="dept_code")
        if p.get("dept_code") is not None
        else op.actor.dept_code
    )
    op.target = f"dept:{dept}"
    op.require("review_due", dept)
    settings = op.rt.settings
    # A listed item's due date is at most (today + alert) + 3 days (month-end clamping); narrow in SQL
    # by that superset, then decide exactly per item.
    horizon = add_months(op.today, settings.review_alert_months) + timedelta(days=3)
    latest_input = latest_input_due_by(horizon, settings.review_period_months)
    stmt = (
        sa.select(registration)
        .where(registration.c.dept_code == dept, active_clause(op.today), registration.c.input_date <= latest_input)
        .order_by(registration.c.input_date, registration.c.address_no)
    )
    items = []
    for row in op.conn.execute(stmt):
        reg = to_value(row)
        due = review_due_date(reg.input_date, settings.review_period_months)
        if add_months(due, -settings.review_alert_months) > op.today:
            continue
        items.append(ReviewItem(registration=reg, due_date=due, overdue=due <= op.today))
    op.details.update(count=len(items), overdue=sum(1 for i in items if i.overdue))
    return tuple(items)


ADVICE_SAFE = "他の所属はこの方を保持していません。フラグの解除は可能です"
ADVICE_HELD = (
    "他の所属（{n}件）がこの方を DV等被害者として保持しています。"
    "自動応答不可・不開示該当フラグを解除しないでください"
)


def advice(op: Op, address_no_value: object) -> ReleaseAdvice:
    """Release advice: the other departments that still hold the person (details by role)."""
    address_no = v.address_no(address_no_value, op.rt.settings)
    op.target = address_no
    others = tuple(h for h in holdings(op, address_no, op.today) if h.dept_code != op.actor.dept_code)
    withheld = op.denial("advice_details") is not None
    op.details.update(other_count=len(others), details_withheld=withheld and bool(others))
    return ReleaseAdvice(
        address_no=address_no,
        as_of=op.today,
        safe=not others,
        other_count=len(others),
        other_holders=() if withheld else others,
        details_withheld=withheld and bool(others),
        message=ADVICE_SAFE if not others else ADVICE_HELD.format(n=len(others)),
    )
