"""Reads: 把握状況 of one number, search, the review list and release advice."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa

from dvflag_hookspecs import Holding, Registration, ReleaseAdvice, ReviewItem, Status

from ..errors import ValidationError
from ..rules import validation as v
from ..rules.record import active_clause, add_months, latest_input_due_by, released_clause, review_due_date
from ..storage.schema import DEPT_CODE_LEN, registration
from ..text.fold import fold_for_search
from .records import to_value
from .runtime import Op

STATUS_FIELDS = ("address_no",)
SEARCH_FIELDS = ("address_no", "name", "birth_date", "dept_code", "state", "input_from", "input_to", "limit")
REVIEW_FIELDS = ("dept_code",)
STATES = ("active", "released", "all")
MAX_SEARCH_ROWS = 1000

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
    p = v.check_fields(params, STATUS_FIELDS)
    op.require("status")
    address_no = v.address_no(p.get("address_no"), op.rt.settings)
    op.target = address_no
    found = holdings(op, address_no, op.today)
    op.details["held_by"] = len(found)
    return Status(address_no=address_no, as_of=op.today, holdings=found)


def search(op: Op, params: Mapping[str, Any]) -> tuple[Registration, ...]:
    """Search by number, name (folded), birth date, department, state and input-date range."""
    p = v.check_fields(params, SEARCH_FIELDS)
    op.require("search")
    stmt = sa.select(registration)
    used: list[str] = []
    if p.get("address_no") is not None:
        number = v.address_no(p["address_no"], op.rt.settings)
        stmt = stmt.where(registration.c.address_no == number)
        op.target = number
        used.append("address_no")
    if p.get("birth_date") is not None:
        stmt = stmt.where(registration.c.birth_date == v.a_date(p["birth_date"], op.rt.eras, field="birth_date"))
        used.append("birth_date")
    if p.get("dept_code") is not None:
        dept = v.short_text(p["dept_code"], field="dept_code", max_len=DEPT_CODE_LEN)
        stmt = stmt.where(registration.c.dept_code == dept)
        op.details["dept_code"] = dept
        used.append("dept_code")
    state = p.get("state") or "active"
    if state not in STATES:
        raise ValidationError(
            "state", "choice", "状態は active（有効）, released（解除済）, all（すべて）のいずれかです"
        )
    if state == "active":
        stmt = stmt.where(active_clause(op.today))
    elif state == "released":
        stmt = stmt.where(released_clause(op.today))
    input_from = v.a_date(p["input_from"], op.rt.eras, field="input_from") if p.get("input_from") else None
    input_to = v.a_date(p["input_to"], op.rt.eras, field="input_to") if p.get("input_to") else None
    if input_from is not None:
        stmt = stmt.where(registration.c.input_date >= input_from)
        op.details["input_from"] = input_from.isoformat()
    if input_to is not None:
        stmt = stmt.where(registration.c.input_date <= input_to)
        op.details["input_to"] = input_to.isoformat()
    if input_from and input_to and input_from > input_to:
        raise ValidationError("input_from", "range", "入力日の範囲は開始日≦終了日で指定してください")
    limit = v.positive_int(p["limit"], field="limit") if p.get("limit") is not None else MAX_SEARCH_ROWS
    stmt = stmt.order_by(registration.c.address_no, registration.c.dept_code)
    rows = (to_value(r) for r in op.conn.execute(stmt))
    if p.get("name") is not None:
        # Folded in Python: what is stored is never changed, and no derived name column exists.
        query = fold_for_search(v.person_name(p["name"]))
        rows = (r for r in rows if query in fold_for_search(r.name))
        used.append("name")
    found: list[Registration] = []
    for r in rows:
        if len(found) == limit:
            op.details["truncated"] = True
            break
        found.append(r)
    # Which filters were used, never their values for 氏名 or 生年月日.
    op.details.update(state=state, filters=sorted(used), count=len(found))
    return tuple(found)


def review_due(op: Op, params: Mapping[str, Any]) -> tuple[ReviewItem, ...]:
    """見直し対象: own registrations active longer than the period, or due within the alert window."""
    p = v.check_fields(params, REVIEW_FIELDS)
    op.require_role("review_due")
    dept = (
        v.short_text(p["dept_code"], field="dept_code", max_len=DEPT_CODE_LEN)
        if p.get("dept_code") is not None
        else op.actor.dept_code
    )
    op.target = f"dept:{dept}"
    op.require("review_due", dept)
    settings = op.rt.settings
    # Due on or before today + alert ⇔ input_date ≤ (today + alert) − period.
    horizon = add_months(op.today, settings.review_alert_months)
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
        if due > horizon:
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
