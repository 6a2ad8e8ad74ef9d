"""What each host function and hook must do, per the reference model (DESIGN §3/§5, issue 8).

One function per operation: ``(model, actor, params) → Expect``. Answers are plain tuples (``Reg.view()``,
account views …) that the state machine also builds from the plugin's typed results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from .policy import (
    DELETE_REASONS,
    REGISTRAR,
    Account,
    Arg,
    Expect,
    Model,
    Refusal,
    Reg,
    Who,
    active_on,
    bad_args,
    denied,
    done,
    invalid,
    refuse,
    review_due,
    review_listed_from,
    unknown_fields,
    val,
)

NEW = -1
"""Record id of an answer whose id the database assigns (checked as never used before)."""

DUPLICATE = Refusal("error", "duplicate*")
NOT_FOUND = Refusal("error", "not_found*")
STALE = Refusal("error", "stale_version")
STATE = Refusal("error", "state*")
OWN_ACCOUNT = Refusal("denied", "users.own*")
ANY_INVALID = Refusal("error", "invalid.*")
ANY_DENIAL = Refusal("denied", "*")


def _problems(m: Model, function: str, p: Mapping[str, Arg], required: tuple[str, ...] = ()) -> list[Refusal]:
    found = unknown_fields(function, p) + bad_args(p)
    found += [invalid(k) for k in required if k not in p]
    return found


def _host(m: Model, who: Who, action: str, problems: list[Refusal]) -> None:
    refusal = m.host_refusal(who, action)
    if refusal is not None:
        problems.append(refusal)


# -- changes (DESIGN §3) ----------------------------------------------------------------------------------


def register(m: Model, who: Who, p: Mapping[str, Arg]) -> Expect:
    """登録, or reopening a released row of the same (number, department)."""
    if (gate := m.gate(who, "register")) is not None:
        return gate
    own = m.accounts[who.user_id].dept_code
    problems = _problems(m, "register", p, ("address_no",))
    dept = val(p, "dept_code") or own
    if dept != own:
        problems.append(denied("dept.other"))
    _host(m, who, "register", problems)
    address_no: str | None = val(p, "address_no")
    input_date: date = val(p, "input_date") or m.today
    if address_no is None:
        return refuse(*problems)
    info = m.people.get(address_no)
    given = {k: val(p, k) for k in ("name", "sex_code", "birth_date")}
    if info is not None and info.in_master:
        person = (info.name, info.sex_code, info.birth_date)
        for k, known in zip(("name", "sex_code", "birth_date"), person, strict=True):
            if given[k] is not None and given[k] != known:
                problems.append(invalid(k))
    else:
        person = (given["name"], given["sex_code"], given["birth_date"])
        problems += [invalid(k) for k in ("name", "sex_code", "birth_date") if k not in p]
    dept_name = m.dept_names.get(dept, "")
    if val(p, "dept_name") is not None and val(p, "dept_name") != dept_name:
        problems.append(invalid("dept_name"))
    existing = m.regs.get((address_no, dept))
    if existing is not None:
        if existing.release_date is None or active_on(existing.input_date, existing.release_date, m.today):
            problems.append(DUPLICATE)
        elif input_date < existing.release_date:
            problems.append(invalid("input_date"))
    if problems:
        return refuse(*problems)
    name, sex_code, birth_date = person
    answer = Reg(
        existing.record_id if existing else NEW, address_no, dept, name, sex_code, birth_date, dept_name,
        input_date, None, existing.row_version + 1 if existing else 1,
    )

    def commit(result: Any) -> None:
        m.regs[(address_no, dept)] = replace(answer, record_id=int(result.record_id))
        m.used_ids.add(int(result.record_id))

    return done([], answer.view(), commit)


def _own_record(
    m: Model, who: Who, action: str, p: Mapping[str, Arg], problems: list[Refusal]
) -> Reg | None:
    """The record a change names; adds not-found, other-department, host and stale-version problems."""
    for k in ("record_id", "row_version"):  # issue 8 item 13: row_version required for every change
        if k not in p:
            problems.append(invalid(k))
    record_id = val(p, "record_id")
    reg = m.by_id(record_id) if record_id is not None else None
    if record_id is not None and reg is None:
        problems.append(NOT_FOUND)
    if reg is None:
        return None
    if reg.dept_code != m.accounts[who.user_id].dept_code:
        problems.append(denied("dept.other"))
    _host(m, who, action, problems)
    version = val(p, "row_version")
    if version is not None and version != reg.row_version:
        problems.append(STALE)
    return reg


def _changed(m: Model, reg: Reg, **changes: Any) -> Expect:
    answer = replace(reg, **changes, row_version=reg.row_version + 1)

    def commit(result: Any) -> None:
        m.regs[(reg.address_no, reg.dept_code)] = answer

    return done([], answer.view(), commit)


def update(m: Model, who: Who, p: Mapping[str, Arg]) -> Expect:
    """変更: 氏名・性別・生年月日 of an own record."""
    if (gate := m.gate(who, "update")) is not None:
        return gate
    problems = _problems(m, "update", p)
    reg = _own_record(m, who, "update", p, problems)
    changes = {k: val(p, k) for k in ("name", "sex_code", "birth_date") if val(p, k) is not None}
    if not any(k in p for k in ("name", "sex_code", "birth_date")):
        problems.append(ANY_INVALID)
    if problems or reg is None:
        return refuse(*problems)
    return _changed(m, reg, **changes)


def release(m: Model, who: Who, p: Mapping[str, Arg]) -> Expect:
    """解除 on a day (today by default), not before the input date, not in the future."""
    if (gate := m.gate(who, "release")) is not None:
        return gate
    problems = _problems(m, "release", p)
    reg = _own_record(m, who, "release", p, problems)
    if reg is None:
        return refuse(*problems)
    if reg.release_date is not None:
        problems.append(STATE)
    day = val(p, "release_date") or m.today
    if day < reg.input_date:
        problems.append(invalid("release_date"))
    if problems:
        return refuse(*problems)
    return _changed(m, reg, release_date=day)


def unrelease(m: Model, who: Who, p: Mapping[str, Arg]) -> Expect:
    """解除取消 by the holding department."""
    if (gate := m.gate(who, "unrelease")) is not None:
        return gate
    problems = _problems(m, "unrelease", p)
    reg = _own_record(m, who, "unrelease", p, problems)
    if reg is None:
        return refuse(*problems)
    if reg.release_date is None:
        problems.append(STATE)
    if problems:
        return refuse(*problems)
    return _changed(m, reg, release_date=None)


def delete(m: Model, who: Who, p: Mapping[str, Arg]) -> Expect:
    """削除 with a reason code; the row goes, its id is never reused."""
    if (gate := m.gate(who, "delete")) is not None:
        return gate
    problems = _problems(m, "delete", p, ("reason",))
    reg = _own_record(m, who, "delete", p, problems)
    if val(p, "reason") is not None and val(p, "reason") not in DELETE_REASONS:
        problems.append(invalid("reason"))
    if problems or reg is None:
        return refuse(*problems)

    def commit(result: Any) -> None:
        del m.regs[(reg.address_no, reg.dept_code)]

    return done([], (reg.record_id, True), commit)


# -- reads ------------------------------------------------------------------------------------------------


def status(m: Model, who: Who, p: Mapping[str, Arg]) -> Expect:
    """把握状況 of one number today."""
    if (gate := m.gate(who, "status")) is not None:
        return gate
    problems = _problems(m, "status", p, ("address_no",))
    _host(m, who, "status", problems)
    number = val(p, "address_no")
    if problems:
        return refuse(*problems)
    return done([], (number, m.today, tuple(m.holdings(number))))


def search(m: Model, who: Who, p: Mapping[str, Arg]) -> Expect:
    """検索 for a person (issue 8 item 4): a viewer needs a person criterion; a registrar may list its own."""
    if (gate := m.gate(who, "search")) is not None:
        return gate
    acc = m.accounts[who.user_id]
    problems = _problems(m, "search", p)
    _host(m, who, "search", problems)
    lo, hi = val(p, "input_from"), val(p, "input_to")
    if lo is not None and hi is not None and lo > hi:
        problems += [invalid("input_from"), invalid("input_to")]
    person = any(k in p for k in ("address_no", "name", "birth_date"))
    dept = val(p, "dept_code")
    registrar = REGISTRAR in acc.roles
    listing_refused = (ANY_INVALID, ANY_DENIAL)
    if not person and (not registrar or (dept is not None and dept != acc.dept_code)):
        problems += listing_refused
    if problems:
        return refuse(*problems)
    state = val(p, "state") or "active"

    def rows(only_dept: str | None) -> tuple[Any, ...]:
        found = []
        for r in m.regs.values():
            if only_dept is not None and r.dept_code != only_dept:
                continue
            if val(p, "address_no") is not None and r.address_no != val(p, "address_no"):
                continue
            if val(p, "name") is not None and r.name != val(p, "name"):
                continue
            if val(p, "birth_date") is not None and r.birth_date != val(p, "birth_date"):
                continue
            if state == "active" and not active_on(r.input_date, r.release_date, m.today):
                continue
            if state == "released" and not (r.release_date is not None and r.release_date <= m.today):
                continue
            if lo is not None and r.input_date < lo:
                continue
            if hi is not None and r.input_date > hi:
                continue
            found.append(r)
        found.sort(key=lambda r: (r.address_no, r.dept_code))
        limit = val(p, "limit")
        return tuple(r.view() for r in (found[:limit] if limit is not None else found))

    if not person and dept is None:  # a registrar without criteria: refused, or its own department only
        return Expect(refusals=listing_refused, answers=(rows(acc.dept_code),))
    return done([], rows(dept))


def review(m: Model, who: Who, p: Mapping[str, Arg]) -> Expect:
    """見直し対象 of the own department: listed from one calendar month before the due date."""
    if (gate := m.gate(who, "review_due")) is not None:
        return gate
    own = m.accounts[who.user_id].dept_code
    problems = _problems(m, "review_due", p)
    dept = val(p, "dept_code") or own
    if dept != own:
        problems.append(denied("dept.other"))
    _host(m, who, "review_due", problems)
    if problems:
        return refuse(*problems)
    items = []
    for r in m.regs.values():
        if r.dept_code != dept or not active_on(r.input_date, r.release_date, m.today):
            continue
        due = review_due(r.input_date)
        if m.today >= review_listed_from(due):
            items.append((r, due, due <= m.today))
    items.sort(key=lambda i: (i[0].input_date, i[0].address_no))
    return done([], tuple((r.view(), due, overdue) for r, due, overdue in items))


def export(m: Model, who: Who, p: Mapping[str, Arg]) -> Expect:
    """抽出: the own department's list (registrar) or all departments' (supervisor); the row count."""
    scope = val(p, "scope") or "own"
    action = "export_own" if scope == "own" else "export_all"
    if (gate := m.gate(who, "export")) is not None:  # item 5: no role for the function at all
        return gate
    own = m.accounts[who.user_id].dept_code
    problems = _problems(m, "export", p)
    if m.outsider(who, action):  # a role for the function, not for this scope
        problems.append(denied("role.missing"))
    dept = val(p, "dept_code")
    if scope == "own":
        dept = dept or own
        if dept != own:
            problems.append(denied("dept.other"))
    _host(m, who, action, problems)
    if problems:
        return refuse(*problems)
    count = sum(
        1 for r in m.regs.values()
        if (dept is None or r.dept_code == dept) and active_on(r.input_date, r.release_date, m.today)
    )
    return done([], count)


def notices(m: Model, who: Who, numbers: Arg) -> Expect:
    """Cautions for any host user: the given numbers that some department holds today."""
    if who.bad:
        return refuse(ANY_INVALID, ANY_DENIAL)
    if numbers.bad:
        return refuse(invalid("address_nos"))
    held = m.held_today()
    return done([], {given: norm for given, norm in numbers.value if norm in held})


def advice(m: Model, who: Who, number: Arg) -> Expect:
    """Release advice: other holders today; details only for those who may see them."""
    if who.bad:
        return refuse(ANY_INVALID, ANY_DENIAL)
    if number.bad:
        return refuse(invalid("address_no"))
    others = tuple(h for h in m.holdings(number.value) if h[0] != who.dept_code)
    withheld = not m.may(who, "advice_details")
    return done([], (not others, len(others), () if withheld else others, withheld and bool(others)))


# -- users (DESIGN §5) ----------------------------------------------------------------------------------


def account_view(a: Account) -> tuple[Any, ...]:
    """The comparable form of a plugin user."""
    return (a.user_id, a.dept_code, a.roles, a.enabled, a.valid_from, a.valid_to, a.row_version)


def users(m: Model, who: Who, p: Mapping[str, Arg]) -> Expect:
    """利用者管理; a user_admin may change nothing about its own account (issue 8 item 3)."""
    if (gate := m.gate(who, "users")) is not None:
        return gate
    problems = _problems(m, "users", p)
    _host(m, who, "users", problems)
    op = val(p, "op") or "list"
    if op == "list":
        if problems:
            return refuse(*problems)
        return done([], tuple(account_view(m.accounts[k]) for k in sorted(m.accounts)))
    if "user_id" not in p:
        problems.append(invalid("user_id"))
    target = val(p, "user_id")
    acc = m.accounts.get(target) if target is not None else None
    if target is not None and target == who.user_id and op != "get":
        problems.append(OWN_ACCOUNT)
    if op == "add":
        if acc is not None:
            problems.append(DUPLICATE)
        if "dept_code" not in p:
            problems.append(invalid("dept_code"))
        start = val(p, "valid_from") or m.today
        end = val(p, "valid_to")
        if end is not None and end < start:
            problems += [invalid("valid_to"), invalid("valid_from")]
        if problems or target is None:
            return refuse(*problems)
        enabled = val(p, "enabled")
        new = Account(target, val(p, "dept_code"), frozenset(val(p, "roles") or ()),
                      True if enabled is None else enabled, start, end)

        def commit_add(result: Any) -> None:
            m.accounts[new.user_id] = new

        return done([], account_view(new), commit_add)
    if target is not None and acc is None:
        problems.append(NOT_FOUND)
    changes: dict[str, Any] = {}
    if op == "roles":
        if "roles" not in p:
            problems.append(invalid("roles"))
        changes["roles"] = frozenset(val(p, "roles") or ())
    elif op in ("disable", "enable"):
        changes["enabled"] = op == "enable"
    elif op == "update":
        changes = {k: val(p, k) for k in ("dept_code", "valid_from", "valid_to") if val(p, k) is not None}
        if not any(k in p for k in ("dept_code", "valid_from", "valid_to")):
            problems.append(ANY_INVALID)
        if acc is not None:
            start, end = changes.get("valid_from", acc.valid_from), changes.get("valid_to", acc.valid_to)
            if end is not None and end < start:
                problems += [invalid("valid_to"), invalid("valid_from")]
    if problems or acc is None:
        return refuse(*problems)
    if op == "get":
        return done([], account_view(acc))
    after = replace(acc, **changes, row_version=acc.row_version + 1)

    def commit(result: Any) -> None:
        m.accounts[after.user_id] = after

    return done([], account_view(after), commit)


def audit(m: Model, who: Who, p: Mapping[str, Arg]) -> Expect:
    """監査: read or verify (auditors only)."""
    if (gate := m.gate(who, "audit_read")) is not None:
        return gate
    problems = _problems(m, "audit", p)
    op = val(p, "op") or "verify"
    _host(m, who, "audit_read" if op == "read" else "audit_verify", problems)
    if problems:
        return refuse(*problems)
    return done([], op)
