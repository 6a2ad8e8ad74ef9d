"""A small reference model of DESIGN §3 (the record) and §5 (who may do what), as issue 8 states them.

Pure Python, no database, no import from the plugin: every rule is restated here from the documents so
that the state machine can hold the plugin to them. Inputs arrive already classified (``Arg``: the raw
value the plugin receives, what it means, or that it is malformed), so the model judges policy and state,
not parsing. For each call the model answers an ``Expect``: the refusals that would be correct (any one of
them when several apply) or the successful answer, plus the state change that success makes.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

VIEWER, REGISTRAR, SUPERVISOR, USER_ADMIN, AUDITOR = "viewer", "registrar", "supervisor", "user_admin", "auditor"
ALL_ROLES = (VIEWER, REGISTRAR, SUPERVISOR, USER_ADMIN, AUDITOR)

# DESIGN §5: action → (roles that may, limited to the own department).
MAY: dict[str, tuple[frozenset[str], bool]] = {
    "status": (frozenset({VIEWER, REGISTRAR}), False),
    "search": (frozenset({VIEWER, REGISTRAR}), False),
    "advice_details": (frozenset({VIEWER, REGISTRAR}), False),
    "register": (frozenset({REGISTRAR}), True),
    "update": (frozenset({REGISTRAR}), True),
    "release": (frozenset({REGISTRAR}), True),
    "unrelease": (frozenset({REGISTRAR}), True),
    "delete": (frozenset({REGISTRAR}), True),
    "review_due": (frozenset({REGISTRAR}), True),
    "export_own": (frozenset({REGISTRAR}), True),
    "export_all": (frozenset({SUPERVISOR}), False),
    "export": (frozenset({REGISTRAR, SUPERVISOR}), False),  # the function's roles: the pre-check before input
    "users": (frozenset({USER_ADMIN}), False),
    "audit_read": (frozenset({AUDITOR}), False),
    "audit_verify": (frozenset({AUDITOR}), False),
}
DELETE_REASONS = ("mistaken_entry", "wrong_person", "wrong_department", "duplicate_entry")
SEARCH_MAX_ROWS = 200  # issue 8 item 4: dvflag.search_max_rows default
REVIEW_PERIOD_MONTHS = 12
REVIEW_ALERT_MONTHS = 1

FIELDS: dict[str, frozenset[str]] = {
    "register": frozenset({"address_no", "name", "sex_code", "birth_date", "dept_code", "dept_name", "input_date"}),
    "update": frozenset({"record_id", "row_version", "name", "sex_code", "birth_date"}),
    "release": frozenset({"record_id", "row_version", "release_date"}),
    "unrelease": frozenset({"record_id", "row_version"}),
    "delete": frozenset({"record_id", "row_version", "reason"}),
    "status": frozenset({"address_no"}),
    "search": frozenset({"address_no", "name", "birth_date", "dept_code", "state", "input_from", "input_to", "limit"}),
    "review_due": frozenset({"dept_code"}),
    "export": frozenset({"format", "scope", "state", "dept_code", "input_from", "input_to", "encoding", "strict"}),
    "users": frozenset({"op", "user_id", "dept_code", "roles", "valid_from", "valid_to", "enabled", "row_version"}),
    "audit": frozenset({"op", "from_seq", "limit", "action", "actor_id", "checkpoint_seq", "checkpoint_hash"}),
}


# -- dates ---------------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """Calendar months; a day the target month lacks becomes its last day (31 Mar − 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def active_on(input_date: date, release_date: date | None, day: date) -> bool:
    """DESIGN §3: input_date ≤ D and (release_date is NULL or D < release_date)."""
    return input_date <= day and (release_date is None or day < release_date)


def review_due(input_date: date) -> date:
    """Due for review one period after the input date."""
    return add_months(input_date, REVIEW_PERIOD_MONTHS)


def review_listed_from(due: date) -> date:
    """Issue 8 item 14: one calendar month before the due date, clamped to month ends."""
    return add_months(due, -REVIEW_ALERT_MONTHS)


# -- inputs and answers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    """One generated parameter: what the plugin receives, what it means, or that it breaks its field's rule."""

    raw: Any
    value: Any = None
    bad: bool = False


@dataclass(frozen=True)
class Who:
    """The acting host user: id and host department as the host reports them; ``bad`` for a malformed Actor."""

    user_id: Any
    dept_code: Any
    bad: bool = False


@dataclass(frozen=True)
class Refusal:
    """A correct refusal: 'denied' or 'error', its reason code (``x.*`` = any code under x), the field named."""

    outcome: str
    code: str
    field: str | None = None

    def accepts(self, outcome: str, code: str, err_field: str | None) -> bool:
        """True when an observed refusal is this one."""
        if outcome != self.outcome:
            return False
        if self.code.endswith("*"):
            if not code.startswith(self.code[:-1]):
                return False
        elif code != self.code:
            return False
        return self.field is None or self.field == err_field


def invalid(field_name: str) -> Refusal:
    """Bad input naming ``field_name`` (any invalid.* rule)."""
    return Refusal("error", "invalid.*", field_name)


def denied(code: str) -> Refusal:
    """A denial with this reason."""
    return Refusal("denied", code)


@dataclass
class Expect:
    """What a call must do: refuse with one of ``refusals``, or answer one of ``answers`` and ``commit``."""

    refusals: tuple[Refusal, ...] = ()
    answers: tuple[Any, ...] = ()
    commit: Callable[[Any], None] | None = None

    @property
    def must_refuse(self) -> bool:
        """True when no success is correct."""
        return not self.answers


def refuse(*refusals: Refusal) -> Expect:
    """An expectation of refusal."""
    return Expect(refusals=tuple(refusals))


# -- state -----------------------------------------------------------------------------------------------


@dataclass
class Account:
    """A plugin user (DESIGN §5)."""

    user_id: str
    dept_code: str
    roles: frozenset[str]
    enabled: bool
    valid_from: date
    valid_to: date | None
    row_version: int = 1


@dataclass
class Reg:
    """One registration row: the approved items, its id and row version."""

    record_id: int
    address_no: str
    dept_code: str
    name: str
    sex_code: int
    birth_date: date
    dept_name: str
    input_date: date
    release_date: date | None
    row_version: int = 1

    def view(self) -> tuple[Any, ...]:
        """The comparable form (also produced from the plugin's Registration)."""
        return (
            self.record_id, self.address_no, self.name, self.sex_code, self.birth_date, self.dept_code,
            self.dept_name, self.input_date, self.release_date, self.row_version,
        )


@dataclass(frozen=True)
class PersonInfo:
    """氏名・性別・生年月日 of a dummy person; ``in_master`` False for 住登外."""

    name: str
    sex_code: int
    birth_date: date
    in_master: bool


@dataclass
class Model:
    """The registry as DESIGN §3/§5 and issue 8 say it must behave."""

    today: date
    accounts: dict[str, Account]
    people: Mapping[str, PersonInfo]
    dept_names: Mapping[str, str]
    regs: dict[tuple[str, str], Reg] = field(default_factory=dict)
    used_ids: set[int] = field(default_factory=set)
    host_answers: dict[tuple[str, str], object] = field(default_factory=dict)

    # -- §5 -------------------------------------------------------------------------------------------

    def account_problems(self, who: Who) -> set[str]:
        """Every reason this actor may use nothing today (empty when usable)."""
        acc = self.accounts.get(who.user_id) if isinstance(who.user_id, str) else None
        if acc is None:
            return {"user.unknown"}
        problems = set()
        if not acc.enabled:
            problems.add("user.disabled")
        if self.today < acc.valid_from:
            problems.add("user.not_yet_valid")
        if acc.valid_to is not None and self.today > acc.valid_to:
            problems.add("user.expired")
        if acc.dept_code != who.dept_code:
            problems.add("user.dept_mismatch")
        return problems

    def outsider(self, who: Who, action: str) -> set[str]:
        """Registry reasons to deny ``action`` before any input is read (issue 8 item 5)."""
        problems = self.account_problems(who)
        if problems:
            acc = self.accounts.get(who.user_id)
            if acc is not None and not acc.roles & MAY[action][0]:
                problems.add("role.missing")
            return problems
        if not self.accounts[who.user_id].roles & MAY[action][0]:
            return {"role.missing"}
        return set()

    def host_refusal(self, who: Who, action: str) -> Refusal | None:
        """Issue 8 item 2: only True allows, only None abstains; False denies, anything else is invalid."""
        answer = self.host_answers.get((who.user_id, action))
        if answer is None or answer is True:
            return None
        if answer is False:
            return denied("host.denied")
        return denied("host.invalid_answer")

    def may(self, who: Who, action: str, dept: str | None = None) -> bool:
        """Registry and host both allow ``action`` (on ``dept``'s data)."""
        if self.outsider(who, action):
            return False
        if dept is not None and MAY[action][1] and dept != self.accounts[who.user_id].dept_code:
            return False
        return self.host_refusal(who, action) is None

    def gate(self, who: Who, action: str) -> Expect | None:
        """The whole answer when the actor is malformed or an outsider for ``action``; else None."""
        if who.bad:
            return refuse(Refusal("error", "invalid.*"), Refusal("denied", "*"))
        problems = self.outsider(who, action)
        if problems:
            return refuse(*(denied(p) for p in sorted(problems)))
        return None

    # -- helpers --------------------------------------------------------------------------------------

    def held_today(self) -> set[str]:
        """Numbers some department holds today."""
        return {r.address_no for r in self.regs.values() if active_on(r.input_date, r.release_date, self.today)}

    def holdings(self, address_no: str) -> list[tuple[str, str, date, date | None]]:
        """Departments holding ``address_no`` today, by input date then department."""
        found = [
            (r.dept_code, r.dept_name, r.input_date, r.release_date)
            for r in self.regs.values()
            if r.address_no == address_no and active_on(r.input_date, r.release_date, self.today)
        ]
        return sorted(found, key=lambda h: (h[2], h[0]))

    def by_id(self, record_id: int) -> Reg | None:
        """The registration with this id, if it exists."""
        for r in self.regs.values():
            if r.record_id == record_id:
                return r
        return None


def unknown_fields(function: str, p: Mapping[str, Arg]) -> list[Refusal]:
    """Issue 8 item 6: a name the function does not know is refused (never dropped)."""
    return [Refusal("error", "invalid.unknown_field")] if set(p) - FIELDS[function] else []


def bad_args(p: Mapping[str, Arg]) -> list[Refusal]:
    """Every malformed known parameter names its field."""
    return [invalid(k) for k, a in p.items() if a.bad and k in _ALL_FIELDS]


_ALL_FIELDS = frozenset().union(*FIELDS.values())


def val(p: Mapping[str, Arg], key: str) -> Any:
    """The meaning of a well-formed parameter, or None when absent or malformed."""
    a = p.get(key)
    return None if a is None or a.bad else a.value


def done(problems: list[Refusal], answer: Any, commit: Callable[[Any], None] | None = None) -> Expect:
    """Refuse with any applicable problem, else answer."""
    if problems:
        return Expect(refusals=tuple(problems))
    return Expect(answers=(answer,), commit=commit)
