"""A hypothesis state machine that drives the real plugin (mock host, host functions, hooks) beside the model.

After every step it checks that the answer or the refusal (type, reason code, field) is one the model
allows, that exactly one audit event reached the host for the call with the matching action, outcome and
reason, and that the registration and user tables equal the model (so a refused call changed nothing).
At the end of each sequence an auditor reads the trail and verifies it through ``dvflag.audit``: the
events must be exactly the model's log of calls.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import dvflag_plugin.plugin as plugin_module
from dvflag_hookspecs import Actor, AuditEvent, Registration, UserAccount
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import (
    DuplicateError,
    DvflagError,
    NotFoundError,
    PermissionDenied,
    StaleVersionError,
    StateError,
    ValidationError,
)
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.mockhost.clock import JST
from dvflag_plugin.service import users as users_service
from dvflag_plugin.storage.schema import app_user, registration, user_role
from dvflag_plugin.storage.transactions import transaction
from dvflag_plugin.testing import backends
from dvflag_plugin.text.fold import fold_for_search

from . import operations as ops
from .policy import (
    ALL_ROLES,
    AUDITOR,
    DELETE_REASONS,
    REGISTRAR,
    SUPERVISOR,
    USER_ADMIN,
    VIEWER,
    Account,
    Arg,
    Expect,
    Model,
    PersonInfo,
    Who,
)

START = date(2026, 11, 26)
EARLIEST, LATEST = date(2026, 1, 1), date(2030, 12, 31)
NUMBERS = ("000000000000001", "000000000001330", "000000005660432", "000000010081804", "000000032590340")
"""Four people the address master knows and one 住登外 (manual entry)."""
STRANGER = "000000000000999"
"""A valid number nobody registers."""
DEPTS = ("D0201", "D0301", "D0401")
OTHER_NAMES = ("架空　一郎", "試験　𠮷子")
CHECKER = "m-check"
"""An auditor the machine never targets with users operations: it reads and verifies the trail."""

SEED: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("m-admin1", "D0802", frozenset({USER_ADMIN})),
    ("m-admin2", "D0802", frozenset({USER_ADMIN})),
    ("m-audit1", "D0901", frozenset({AUDITOR})),
    ("m-super1", "D0801", frozenset({SUPERVISOR})),
    ("m-reg1", "D0201", frozenset({REGISTRAR})),
    ("m-reg2", "D0301", frozenset({REGISTRAR})),
    ("m-reg3", "D0401", frozenset({REGISTRAR, VIEWER})),
    ("m-view1", "D0201", frozenset({VIEWER})),
    ("m-none1", "D0102", frozenset()),
    (CHECKER, "D0901", frozenset({AUDITOR})),
)
HOST_DEPT = {user_id: dept for user_id, dept, _ in SEED} | {"m-new1": "D0201", "m-new2": "D0301", "m-ghost": "D0201"}
POOL = tuple(u for u in HOST_DEPT if u not in (CHECKER, "m-ghost"))
"""User ids the users operations may target (existing and not yet existing)."""
VALID_FROM = date(2025, 4, 1)

BAD: dict[str, tuple[Any, ...]] = {
    "address_no": ("12-34", "00000000000001A", "𝟏𝟐𝟑", "①②③", "¹²³", "1" * 17, 123, ["1"], {"a": 1}),
    "name": ("\t架空　一郎", "\r架空", "架" * 101, 123, "架空\x00一郎", ["架空"]),
    "sex_code": (3, "x", True, 1.5, [1]),
    "date": ("2026-02-30", "abc", 20260101, [], {}, 0, "令和99年99月1日"),
    "record_id": (0, -3, "x", 1.5, True, 2**63, 10**30, [1]),
    "row_version": (0, "v", 2**63, -1, [], 1.5),
    "reason": ("誤って登録", "other", 5, ["mistaken_entry"]),
    "dept_code": ("D 01", "部署", "D0201\u202e", "X" * 21, 123, " D0201", "D0201\u3000"),
    "dept_name": (123, "\t課", ["課"]),
    "limit": (201, 0, "x", 10**20, -5, [], {}),
    "state": ("deleted", {}, 0, ["active"]),
    "user_id": (
        " m-reg1", "m-reg1 ", "m-reg1\u00a0", "m-reg1\u3000", "m-reg1\u202e", "m\treg", 123, "あいう", "x" * 65,
    ),
    "roles": (["superuser"], 5, "admin", [1], {"viewer": 1}),
    "enabled": ("maybe", 2, [], "yes"),
    "op": ("delete", 3, ["list"], {}),
}
BAD_KEY = {
    "input_date": "date", "release_date": "date", "birth_date": "date", "valid_from": "date", "valid_to": "date",
    "input_from": "date", "input_to": "date",
}
BAD_ACTORS = (
    ("m-reg1 ", "D0201"), (" m-reg1", "D0201"), ("m-reg1\u202e", "D0201"), ("m-reg1\u3000", "D0201"),
    ("", "D0201"), (123, "D0201"), (None, "D0201"), ("m-reg1", None), ("m-reg1", "D0201 "), ("m-reg1", 5),
)
ACTOR_KINDS = ("likely",) * 12 + ("any", "moved", "ghost", "bad")
HOST_ACTIONS = (
    "register", "update", "release", "unrelease", "delete", "status", "search", "review_due", "export_own",
    "export_all", "users", "audit_read", "audit_verify", "advice_details",
)
HOST_ANSWERS: tuple[object, ...] = (None, True, False, 0, "", "no", [], 1)


def _check_universe(data: DummyDataSet) -> dict[str, PersonInfo]:
    """The people of the machine; folded names must not contain one another (the model matches exactly)."""
    people = {}
    for number in NUMBERS:
        p = data.person(number)
        people[number] = PersonInfo(p.name, p.sex_code, p.birth_date, p.in_master)
    names = [p.name for p in people.values()] + list(OTHER_NAMES)
    for a in names:
        for b in names:
            assert a == b or fold_for_search(a) not in fold_for_search(b), (a, b)
    assert sum(not p.in_master for p in people.values()) == 1
    return people


def wareki(day: date) -> str:
    """令和 short form (R8.11.26) of a day in the 令和 era."""
    return f"R{day.year - 2018}.{day.month}.{day.day}"


def full_width(number: str) -> str:
    """Full-width digits (U+FF10–FF19): accepted and normalised."""
    return "".join(chr(0xFF10 + int(c)) for c in number)


# -- views of the plugin's answers (the model's answers have the same shape) ------------------------------


def reg_view(r: Registration) -> tuple[Any, ...]:
    """A Registration as ``Reg.view()``."""
    return (
        r.record_id, r.address_no, r.name, r.sex_code, r.birth_date, r.dept_code, r.dept_name, r.input_date,
        r.release_date, r.row_version,
    )


def user_view(a: UserAccount) -> tuple[Any, ...]:
    """A UserAccount as ``operations.account_view``."""
    return (a.user_id, a.dept_code, frozenset(a.roles), a.enabled, a.valid_from, a.valid_to, a.row_version)


def search_rows(result: Any) -> Any:
    """The registrations of a search answer (a tuple, or an object carrying them and a 'cut' flag)."""
    for name in ("rows", "registrations", "items", "results"):
        if hasattr(result, name):
            return getattr(result, name)
    return result


def holding_view(h: Any) -> tuple[Any, ...]:
    """A Holding as the model's tuple."""
    return (h.dept_code, h.dept_name, h.input_date, h.release_date)


VIEWS: dict[str, Callable[[Any], Any]] = {
    "register": reg_view,
    "update": reg_view,
    "release": reg_view,
    "unrelease": reg_view,
    "delete": lambda r: (r["record_id"], r["deleted"]),
    "status": lambda s: (s.address_no, s.as_of, tuple(holding_view(h) for h in s.holdings)),
    "search": lambda r: tuple(reg_view(x) for x in search_rows(r)),
    "review_due": lambda items: tuple((reg_view(i.registration), i.due_date, i.overdue) for i in items),
    "export": lambda r: r.row_count,
    "users": lambda r: user_view(r) if isinstance(r, UserAccount) else tuple(user_view(a) for a in r),
    "audit": lambda r: ("read" if isinstance(r, tuple) and all(isinstance(e, AuditEvent) for e in r)
                        else "verify" if getattr(r, "ok", None) is True else r),
    "notices": lambda r: {given: notes[0].address_no for given, notes in r.items()},
    "advice": lambda r: (r.safe, r.other_count, tuple(holding_view(h) for h in r.other_holders), r.details_withheld),
}


ERROR_TYPES: dict[str, type[DvflagError]] = {
    "invalid.": ValidationError, "duplicate": DuplicateError, "not_found": NotFoundError,
    "stale_version": StaleVersionError, "state": StateError,
}
"""Reason-code families and the typed error each must come as."""


class PolicyMachine(RuleBasedStateMachine):
    """Random actors, roles, departments, dates, clock moves and operations against plugin and model."""

    engine: sa.Engine
    data: DummyDataSet
    workdir: Path
    counters: dict[str, int]
    full_length: int

    def __init__(self) -> None:
        super().__init__()
        self.counters["sequences"] += 1
        backends.reset(self.engine)
        self.clock = MutableClock(START)
        accounts = {u: Account(u, d, roles, True, VALID_FROM, None) for u, d, roles in SEED}
        with transaction(self.engine) as conn:  # setup, not under test (as tests/helpers.make_host)
            for a in accounts.values():
                users_service.add_user(
                    conn, now=self.clock(), user_id=a.user_id, dept_code=a.dept_code, roles=a.roles,
                    valid_from=a.valid_from, valid_to=None, enabled=True,
                )
        self.host = MockHost(
            self.engine, data=self.data, clock=self.clock, plugins=[plugin_module], migrate=False,
            settings={"dvflag.audit_log_path": str(self.workdir / "audit.jsonl")},
        )
        self.functions = self.host.functions()
        self.model = Model(
            today=START, accounts=accounts, people=_check_universe(self.data),
            dept_names={d.dept_code: d.dept_name for d in self.data.departments},
        )
        self.log: list[tuple[Any, ...]] = []
        self.clean = True
        self.steps = -1  # the invariant also runs once before the first step

    # -- the step ---------------------------------------------------------------------------------------

    def call(self, kind: str, who: Who, expect: Expect, invoke: Callable[[Actor], Any]) -> None:
        """Run one call and hold it to the model: answer, refusal, one audit event, tables."""
        self.counters["calls"] += 1
        self.clean = False
        actor = Actor(user_id=who.user_id, dept_code=who.dept_code)
        before = len(self.host.masters.audit_copy)
        err: DvflagError | None = None
        result: Any = None
        try:
            result = invoke(actor)
        except DvflagError as e:
            err = e
        # Any other exception propagates: a raw exception is a failure in itself.
        if err is not None:
            outcome = "denied" if isinstance(err, PermissionDenied) else "error"
            field = getattr(err, "field", None)
            for prefix, cls in ERROR_TYPES.items():
                assert not err.code.startswith(prefix) or isinstance(err, cls), (kind, err.code, type(err))
            assert any(r.accepts(outcome, err.code, field) for r in expect.refusals), (
                f"{kind}: plugin refused with {outcome} {err.code} (field {field}: {err.message}); "
                f"the model expects {expect.answers[:1] or expect.refusals}"
            )
        else:
            view = VIEWS[kind](result)
            assert expect.answers, f"{kind}: plugin answered {view!r}; the model expects a refusal: {expect.refusals}"
            self._match(kind, view, expect)
            if expect.commit is not None:
                expect.commit(result)
            outcome = "ok"
        events = self.host.masters.audit_copy[before:]
        assert len(events) == 1, f"{kind}: {len(events)} audit events for one call: {[e.action for e in events]}"
        event = events[0]
        reason = err.code if err is not None else None
        assert (event.action, event.outcome, event.reason_code) == (kind, outcome, reason), event
        if not who.bad:
            assert event.actor_id == who.user_id, event
        else:  # audited under a placeholder, never as a registry user the malformed id resembles
            assert event.actor_id not in self.model.accounts, event
        self.log.append((event.actor_id, kind, outcome, reason))
        self._tables_match()
        self.clean = True

    def _match(self, kind: str, view: Any, expect: Expect) -> None:
        for answer in expect.answers:
            if kind == "register" and answer[0] == ops.NEW:
                assert view[0] not in self.model.used_ids, f"record id {view[0]} reused"
                if view[1:] == answer[1:]:
                    return
            elif view == answer:
                return
        raise AssertionError(f"{kind}: plugin answered {view!r}; the model expects one of {expect.answers!r}")

    def _tables_match(self) -> None:
        with self.engine.connect() as conn:
            regs = {tuple(r) for r in conn.execute(sa.select(
                registration.c.id, registration.c.address_no, registration.c.name, registration.c.sex_code,
                registration.c.birth_date, registration.c.dept_code, registration.c.dept_name,
                registration.c.input_date, registration.c.release_date, registration.c.row_version,
            ))}
            roles: dict[int, set[str]] = {}
            for pk, role in conn.execute(sa.select(user_role.c.user_pk, user_role.c.role_name)):
                roles.setdefault(pk, set()).add(role)
            accounts = {
                (u.user_id, u.dept_code, frozenset(roles.get(u.id, ())), bool(u.enabled), u.valid_from, u.valid_to,
                 u.row_version)
                for u in conn.execute(sa.select(app_user))
            }
        assert regs == {r.view() for r in self.model.regs.values()}, "registration table differs from the model"
        assert accounts == {ops.account_view(a) for a in self.model.accounts.values()}, "user table differs"

    def function(self, name: str, who: Who, expect: Expect, params: Mapping[str, Arg]) -> None:
        """Call host function ``dvflag.<name>`` with the raw parameters."""
        raw = {k: a.raw for k, a in params.items()}
        self.call(name, who, expect, lambda actor: self.functions[f"dvflag.{name}"].call(actor, raw))

    # -- generation ---------------------------------------------------------------------------------------

    def who(self, data: st.DataObject, likely: tuple[str, ...]) -> Who:
        """Usually a likely user at its host department; sometimes another user, a stranger or a bad Actor."""
        kind = data.draw(st.sampled_from(ACTOR_KINDS), label="actor")
        if kind == "bad":
            user_id, dept = data.draw(st.sampled_from(BAD_ACTORS), label="bad actor")
            return Who(user_id, dept, bad=True)
        if kind == "ghost":
            return Who("m-ghost", "D0201")
        user_id = data.draw(st.sampled_from(likely if kind == "likely" else (*POOL, CHECKER)), label="user")
        dept = HOST_DEPT[user_id]
        if kind == "moved":
            dept = data.draw(st.sampled_from((*DEPTS, "D0802")), label="host dept")
        return Who(user_id, dept)

    def day(self, data: st.DataObject, label: str, lo: int = -800, hi: int = 0) -> Arg:
        """A day relative to today, as a date, ISO text or 令和 text."""
        d = self.model.today + timedelta(days=data.draw(st.integers(lo, hi), label=label))
        if data.draw(st.integers(0, 3), label=f"{label} at a month end?") == 0:  # review clamps (item 14)
            end = d.replace(day=calendar.monthrange(d.year, d.month)[1])
            d = end if end <= self.model.today + timedelta(days=hi) else d
        form = data.draw(st.sampled_from(("date", "iso", "wareki")), label=f"{label} form")
        raw: Any = d if form == "date" else d.isoformat() if form == "iso" or d < date(2019, 5, 1) else wareki(d)
        return Arg(raw, d)

    def number(self, data: st.DataObject, choices: tuple[str, ...] = NUMBERS) -> Arg:
        """An address number, sometimes in full-width digits."""
        n = data.draw(st.sampled_from(choices), label="address_no")
        return Arg(full_width(n), n) if data.draw(st.integers(0, 5), label="fw") == 0 else Arg(n, n)

    def spoil(self, data: st.DataObject, params: dict[str, Arg], keys: tuple[str, ...]) -> dict[str, Arg]:
        """Sometimes break one parameter (or add an unknown one) so the call must be refused."""
        if data.draw(st.integers(0, 4), label="spoil?") != 0:
            return params
        key = data.draw(st.sampled_from((*keys, "<unknown>")), label="spoil key")
        if key == "<unknown>":
            unknown = data.draw(st.sampled_from(("memo", "bogus", "氏名", "address_no ", "__class__")))
            return {**params, unknown: Arg("x", bad=True)}
        raw = data.draw(st.sampled_from(BAD[BAD_KEY.get(key, key)]), label=f"bad {key}")
        return {**params, key: Arg(raw, bad=True)}

    def record(self, data: st.DataObject, params: dict[str, Arg]) -> None:
        """record_id and row_version of a model record (or an id that names nothing), in place."""
        regs = sorted(self.model.regs.values(), key=lambda r: r.record_id)
        if regs and data.draw(st.integers(0, 7), label="known record?") != 0:
            reg = data.draw(st.sampled_from(regs), label="record")
            params["record_id"] = Arg(str(reg.record_id), reg.record_id) if data.draw(
                st.integers(0, 5), label="id as text") == 0 else Arg(reg.record_id, reg.record_id)
            version = reg.row_version + data.draw(st.sampled_from((0,) * 6 + (1, -1)), label="version skew")
        else:
            gone = sorted(self.model.used_ids - {r.record_id for r in regs}) or [999_999]
            rid = data.draw(st.sampled_from((*gone, 999_999)), label="missing record")
            params["record_id"] = Arg(rid, rid)
            version = 1
        if data.draw(st.integers(0, 9), label="omit row_version?") != 0:
            params["row_version"] = Arg(version, version) if version >= 1 else Arg(version, bad=True)

    # -- rules: changes -------------------------------------------------------------------------------------

    @rule(data=st.data())
    def register(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-reg1", "m-reg2", "m-reg3"))
        p: dict[str, Arg] = {"address_no": self.number(data)}
        info = self.model.people[p["address_no"].value]
        if not info.in_master or data.draw(st.integers(0, 4), label="give person?") == 0:
            p["name"], p["sex_code"] = Arg(info.name, info.name), Arg(info.sex_code, info.sex_code)
            p["birth_date"] = Arg(info.birth_date.isoformat(), info.birth_date)
            if info.in_master and data.draw(st.booleans(), label="mismatch?"):
                p["sex_code"] = Arg(9 if info.sex_code != 9 else 1, 9 if info.sex_code != 9 else 1)
        if data.draw(st.booleans(), label="input_date?"):
            p["input_date"] = self.day(data, "input_date", -500, 0)
        extra = data.draw(st.integers(0, 9), label="dept?")
        if extra == 0 and isinstance(who.user_id, str):
            own = self.model.accounts.get(who.user_id)
            code = data.draw(st.sampled_from(DEPTS + ((own.dept_code,) if own else ())), label="dept_code")
            p["dept_code"] = Arg(code, code)
        elif extra == 1:
            name = data.draw(st.sampled_from((*self.model.dept_names.values(),)), label="dept_name")
            p["dept_name"] = Arg(name, name)
        p = self.spoil(data, p, ("address_no", "name", "sex_code", "birth_date", "input_date", "dept_code"))
        p = self._future(data, p, ("input_date", "birth_date"))
        self.function("register", who, ops.register(self.model, who, p), p)

    def _future(self, data: st.DataObject, p: dict[str, Arg], keys: tuple[str, ...]) -> dict[str, Arg]:
        """Sometimes a day after today where the rules allow none."""
        if data.draw(st.integers(0, 14), label="future?") == 0:
            key = data.draw(st.sampled_from(keys), label="future key")
            d = self.model.today + timedelta(days=data.draw(st.integers(1, 40), label="days ahead"))
            return {**p, key: Arg(d.isoformat(), bad=True)}
        return p

    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-reg1", "m-reg2", "m-reg3"))
        p: dict[str, Arg] = {}
        self.record(data, p)
        for key in data.draw(st.sets(st.sampled_from(("name", "sex_code", "birth_date")), max_size=3), label="fields"):
            if key == "name":
                name = data.draw(st.sampled_from(OTHER_NAMES), label="name")
                p[key] = Arg(name, name)
            elif key == "sex_code":
                code = data.draw(st.sampled_from((0, 1, 2, 9, "2")), label="sex")
                p[key] = Arg(code, int(code))
            else:
                p[key] = self.day(data, "birth_date", -30000, -1)
        p = self.spoil(data, p, ("record_id", "row_version", "name", "sex_code", "birth_date"))
        p = self._future(data, p, ("birth_date",))
        self.function("update", who, ops.update(self.model, who, p), p)

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-reg1", "m-reg2", "m-reg3"))
        p: dict[str, Arg] = {}
        self.record(data, p)
        if data.draw(st.booleans(), label="release_date?"):
            p["release_date"] = self.day(data, "release_date", -400, 0)
        p = self.spoil(data, p, ("record_id", "row_version", "release_date"))
        p = self._future(data, p, ("release_date",))
        self.function("release", who, ops.release(self.model, who, p), p)

    @rule(data=st.data())
    def unrelease(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-reg1", "m-reg2", "m-reg3"))
        p: dict[str, Arg] = {}
        self.record(data, p)
        p = self.spoil(data, p, ("record_id", "row_version"))
        self.function("unrelease", who, ops.unrelease(self.model, who, p), p)

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-reg1", "m-reg2", "m-reg3"))
        p: dict[str, Arg] = {}
        self.record(data, p)
        if data.draw(st.integers(0, 9), label="omit reason?") != 0:
            reason = data.draw(st.sampled_from(DELETE_REASONS), label="reason")
            p["reason"] = Arg(reason, reason)
        p = self.spoil(data, p, ("record_id", "row_version", "reason"))
        self.function("delete", who, ops.delete(self.model, who, p), p)

    # -- rules: reads -------------------------------------------------------------------------------------

    @rule(data=st.data())
    def status(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-view1", "m-reg1", "m-reg3", "m-super1"))
        p = self.spoil(data, {"address_no": self.number(data, (*NUMBERS, STRANGER))}, ("address_no",))
        self.function("status", who, ops.status(self.model, who, p), p)

    @rule(data=st.data())
    def search(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-view1", "m-reg1", "m-reg2", "m-reg3"))
        p: dict[str, Arg] = {}
        keys = data.draw(st.sets(st.sampled_from(
            ("address_no", "name", "birth_date", "dept_code", "state", "input_from", "input_to", "limit"))),
            label="criteria")
        number = data.draw(st.sampled_from(NUMBERS), label="person")
        info = self.model.people[number]
        for key in sorted(keys):
            if key == "address_no":
                p[key] = self.number(data, (number, STRANGER))
            elif key == "name":
                name = data.draw(st.sampled_from((info.name, *OTHER_NAMES)), label="name")
                p[key] = Arg(name, name)
            elif key == "birth_date":
                p[key] = Arg(info.birth_date.isoformat(), info.birth_date)
            elif key == "dept_code":
                code = data.draw(st.sampled_from(DEPTS), label="dept_code")
                p[key] = Arg(code, code)
            elif key == "state":
                state = data.draw(st.sampled_from(("active", "released", "all")), label="state")
                p[key] = Arg(state, state)
            elif key == "limit":
                n = data.draw(st.integers(1, 200), label="limit")
                p[key] = Arg(n, n)
            else:
                p[key] = self.day(data, key, -600, 30)
        p = self.spoil(data, p, ("address_no", "name", "birth_date", "dept_code", "state", "limit", "input_from"))
        self.function("search", who, ops.search(self.model, who, p), p)

    @rule(data=st.data())
    def review_due(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-reg1", "m-reg2", "m-reg3"))
        p: dict[str, Arg] = {}
        if data.draw(st.integers(0, 4), label="dept?") == 0:
            code = data.draw(st.sampled_from(DEPTS), label="dept_code")
            p["dept_code"] = Arg(code, code)
        p = self.spoil(data, p, ("dept_code",))
        self.function("review_due", who, ops.review(self.model, who, p), p)

    @rule(data=st.data())
    def export(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-reg1", "m-reg2", "m-super1"))
        scope = data.draw(st.sampled_from(("own", "all")), label="scope")
        p: dict[str, Arg] = {"scope": Arg(scope, scope), "format": Arg("csv", "csv")}
        if scope == "own" and data.draw(st.integers(0, 4), label="dept?") == 0:
            code = data.draw(st.sampled_from(DEPTS), label="dept_code")
            p["dept_code"] = Arg(code, code)
        p = self.spoil(data, p, ("dept_code",))
        self.function("export", who, ops.export(self.model, who, p), p)

    @rule(data=st.data())
    def notices(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-view1", "m-none1", "m-ghost", "m-reg2"))
        given = [self.number(data, (*NUMBERS, STRANGER)) for _ in range(data.draw(st.integers(1, 4), label="n"))]
        arg = Arg([a.raw for a in given], [(a.raw, a.value) for a in given])
        if len(given) == 1 and data.draw(st.booleans(), label="as text?"):
            arg = Arg(given[0].raw, [(given[0].raw, given[0].value)])
        if data.draw(st.integers(0, 4), label="spoil?") == 0:
            bad = data.draw(st.sampled_from(BAD["address_no"]), label="bad element")
            arg = Arg([*arg.raw, bad] if isinstance(arg.raw, list) else [arg.raw, bad], bad=True)
        self.call("notices", who, ops.notices(self.model, who, arg), lambda actor: self.host.notices(actor, arg.raw))

    @rule(data=st.data())
    def advice(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-view1", "m-reg1", "m-reg2", "m-none1", "m-ghost"))
        arg = self.number(data, (*NUMBERS, STRANGER))
        if data.draw(st.integers(0, 5), label="spoil?") == 0:
            arg = Arg(data.draw(st.sampled_from(BAD["address_no"]), label="bad number"), bad=True)

        def invoke(actor: Actor) -> Any:
            answers = self.host.advice(actor, arg.raw)
            assert len(answers) == 1, answers
            return answers[0]

        self.call("advice", who, ops.advice(self.model, who, arg), invoke)

    # -- rules: users, audit, host, clock -----------------------------------------------------------------

    @rule(data=st.data())
    def users(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-admin1", "m-admin2"))
        op = data.draw(st.sampled_from(("add", "add", "roles", "roles", "disable", "enable", "update", "get", "list")))
        p: dict[str, Arg] = {"op": Arg(op, op)}
        if op != "list":
            target = data.draw(st.sampled_from(POOL), label="target")
            p["user_id"] = Arg(target, target)
        if op == "add":
            code = data.draw(st.sampled_from(DEPTS), label="dept_code")
            p["dept_code"] = Arg(code, code)
        if op in ("add", "roles"):
            roles = data.draw(st.sets(st.sampled_from(ALL_ROLES), max_size=2), label="roles")
            as_text = roles and data.draw(st.booleans(), label="roles as text?")  # "" would mean 'not given'
            p["roles"] = Arg(",".join(sorted(roles)), roles) if as_text else Arg(sorted(roles), roles)
        if op in ("add", "update"):
            if data.draw(st.booleans(), label="valid_from?"):
                p["valid_from"] = self.day(data, "valid_from", -400, 60)
            if data.draw(st.booleans(), label="valid_to?"):
                p["valid_to"] = self.day(data, "valid_to", -60, 400)
            if op == "update" and data.draw(st.booleans(), label="dept?"):
                code = data.draw(st.sampled_from(DEPTS), label="dept_code")
                p["dept_code"] = Arg(code, code)
        if op == "add" and data.draw(st.booleans(), label="enabled?"):
            flag = data.draw(st.booleans(), label="enabled")
            p["enabled"] = Arg(flag, flag)
        keys = (*(k for k in p if k != "op"), "op")
        p = self.spoil(data, p, keys)
        self.function("users", who, ops.users(self.model, who, p), p)

    @rule(data=st.data())
    def audit(self, data: st.DataObject) -> None:
        who = self.who(data, ("m-audit1",))
        op = data.draw(st.sampled_from(("verify", "read")), label="op")
        p = self.spoil(data, {"op": Arg(op, op)}, ("op",))
        self.function("audit", who, ops.audit(self.model, who, p), p)

    @rule(
        user=st.sampled_from(POOL),
        action=st.sampled_from(HOST_ACTIONS),
        answer=st.sampled_from(HOST_ANSWERS),
    )
    def host_answers(self, user: str, action: str, answer: object) -> None:
        """The host's dvflag_authorize answer for (user, action): only True allows, only None abstains."""
        self.host.masters.denials[(user, action)] = answer  # type: ignore[assignment]
        self.model.host_answers[(user, action)] = answer

    @rule(
        days=st.one_of(st.integers(-40, -1), st.integers(1, 400), st.sampled_from((1, 28, 31, 365, 366))),
        month_end=st.booleans(),
    )
    def move_clock(self, days: int, month_end: bool) -> None:
        """The host clock moves forward or back (within bounds), often onto a month's last day."""
        day = min(max(self.model.today + timedelta(days=days), EARLIEST), LATEST)
        if month_end:
            day = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        self.clock.set_day(day)
        self.model.today = day

    @invariant()
    def same_day(self) -> None:
        """The model's day is the host's local day (JST); runs after every step, so it also counts them."""
        self.counters["steps"] += 1
        self.steps += 1
        assert self.clock().astimezone(JST).date() == self.model.today

    def teardown(self) -> None:
        """The auditor reads the whole trail and verifies it: exactly the model's log of calls."""
        try:
            if not self.clean:  # a step already failed: its own message is the one to read
                return
            if self.steps >= self.full_length:
                self.counters["full"] += 1
            checker = Actor(CHECKER, "D0901")
            audit = self.functions["dvflag.audit"].call
            events = audit(checker, {"op": "read", "limit": 1000})
            seen = [(e.actor_id, e.action, e.outcome, e.reason_code) for e in events]
            expected = list(self.log)
            assert [s[1:] for s in seen] == [e[1:] for e in expected], "audit trail differs from the calls made"
            assert [s[0] for s in seen] == [e[0] for e in expected]
            assert audit(checker, {"op": "verify"}).ok
        finally:
            self.host.close()
