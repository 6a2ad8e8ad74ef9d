"""Issue 8, "Fuzzing the seams": every host function and hook called with generated junk.

Junk covers types (None, bools, floats, huge ints, bytes, dates, objects, generators), sizes (100,000
characters, 10,000 elements), unicode classes (bidi overrides, controls, lone surrogates, NBSP, full-width
and mathematical digits, 4-byte kanji, IVS), nesting and lists of pairs, for parameters and for the Actor.
Each attempt must end in a typed ``DvflagError`` (never a raw exception), change no table, and leave
exactly one audit event. ``make test`` runs a bounded number of examples on every backend, derandomised;
``make fuzz`` (``DVFLAG_FUZZ_EXAMPLES``) runs more, at random.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dvflag_hookspecs import Actor, Department, Person, hookimpl
from dvflag_hookspecs import roles as r
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import DvflagError, PermissionDenied
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.storage.schema import registration
from dvflag_plugin.storage.transactions import transaction
from helpers import Row, make_host, seed_registrations, snapshot

FUZZ = int(os.environ.get("DVFLAG_FUZZ_EXAMPLES", "0"))
EXAMPLES = FUZZ or 120

FUNCTION_ACTORS = {
    r.F_REGISTER: "u-kodomo-reg1", r.F_UPDATE: "u-kodomo-reg1", r.F_RELEASE: "u-kodomo-reg1",
    r.F_UNRELEASE: "u-kodomo-reg1", r.F_DELETE: "u-kodomo-reg1", r.F_REVIEW_DUE: "u-kodomo-reg1",
    r.F_STATUS: "u-kodomo-view1", r.F_SEARCH: "u-kodomo-view1", r.F_EXPORT: "u-danjo-super1",
    r.F_USERS: "u-joho-admin1", r.F_AUDIT: "u-kansa-audit1",
}
"""A user whose roles let the call past the registry, so that the junk reaches the input checks."""
HOOKS = ("aatena_person_notices", "aatena_before_disclosure_flags_cleared")
ACTIONS = {fid: fid.removeprefix("dvflag.") for fid in r.FUNCTION_IDS} | {
    "aatena_person_notices": "notices", "aatena_before_disclosure_flags_cleared": "advice",
}

SPECIAL_TEXT = (
    "", " ", "\u3000", "\u00a0", "\t", "\r\n", "\x00", "\x1f", "\u202e", "\u2066", "\u200b", "\ufeff", "\ud800",
    "\udfff", "\U0001f600", "𠮷", "葛\U000e0100", "髙﨑", "１２３", "𝟏𝟐𝟑", "①②", "¹²", "0" * 17, "000000000000001",
    "000000000000001 ", "u-kodomo-reg1 ", "D0201", "D0201\u202e", "令和6年4月1日", "R6.4.1", "2026-02-30", "9999-12-31",
    "x" * 100_000, "' OR 1=1 --", "${jndi:x}", "\\", "%s%n", "NaN",
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**62, max_value=2**80),
    st.integers(min_value=-(2**80), max_value=-1), st.floats(), st.sampled_from(SPECIAL_TEXT),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=12),
    st.binary(max_size=12), st.dates(), st.just(object()), st.just(date.max),
)


def _generator(items: list[Any]) -> Iterator[Any]:
    return (x for x in items)


junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), inner, max_size=3),
        st.builds(_generator, st.lists(inner, max_size=3)),
        st.just(list(range(10_000))),
        st.just(["000000000000001"] * 3 + [None]),
    ),
    max_leaves=6,
)


def params_for(fields: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Junk shaped like parameters: known names with junk values, lists of pairs, or anything at all."""
    names = st.sampled_from((*fields, "bogus", "氏名", "name ", "__class__"))
    return st.one_of(
        st.dictionaries(names, junk, max_size=4),
        st.lists(st.tuples(names, junk), max_size=3),
        junk,
    )


actors = st.one_of(
    st.builds(Actor, user_id=junk, dept_code=junk),
    st.builds(Actor, user_id=st.sampled_from(SPECIAL_TEXT), dept_code=st.just("D0201")),
    junk,
)


@pytest.fixture
def host(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> Iterator[MockHost]:
    h = make_host(engine, data, clock, tmp_path)
    numbers = [p.address_no for p in data.people if p.in_master][:3]
    seed_registrations(h, [Row(numbers[0], "D0201", date(2026, 4, 1)), Row(numbers[1], "D0301", date(2025, 1, 1)),
                           Row(numbers[2], "D0201", date(2026, 1, 1), date(2026, 6, 1))])
    try:
        yield h
    finally:
        h.close()


def _attempt(host: MockHost, target: str, actor: Any, payload: Any) -> tuple[bool, BaseException | None]:
    """Call one function or hook; True when it answered, else the error it raised."""
    try:
        if target in HOOKS:
            hook = getattr(host.pm.hook, target)
            if target == "aatena_person_notices":
                hook(actor=actor, address_nos=payload)
            else:
                hook(actor=actor, address_no=payload)
        else:
            host.functions()[target].call(actor, payload)
    except Exception as err:
        return False, err
    return True, None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 300 else text[:300] + f"… ({len(text)} chars)"


@settings(
    max_examples=EXAMPLES,
    derandomize=not FUZZ,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_junk_at_every_seam_is_a_typed_audited_refusal(host: MockHost, data: st.DataObject) -> None:
    """100% typed errors, 0 raw exceptions, nothing changed, every attempt audited exactly once."""
    target = data.draw(st.sampled_from((*r.FUNCTION_IDS, *HOOKS)), label="target")
    if data.draw(st.integers(0, 3), label="junk actor?") == 0:
        actor = data.draw(actors, label="actor")
    else:
        user = FUNCTION_ACTORS.get(target, "u-kodomo-view1")
        actor = host.actor(user)
    if target in HOOKS:
        payload = data.draw(junk, label="numbers")
    else:
        payload = data.draw(params_for(host.functions()[target].params), label="params")
    before_rows = snapshot(host.engine)
    before_events = len(host.masters.audit_copy)
    answered, err = _attempt(host, target, actor, payload)
    if err is not None:
        assert isinstance(err, DvflagError), (
            f"{target}: raw {type(err).__name__}: {_short(err)} for actor {_short(actor)}, input {_short(payload)}"
        )
        assert snapshot(host.engine) == before_rows, f"{target}: a refused call changed the tables"
    events = host.masters.audit_copy[before_events:]
    assert len(events) == 1, f"{target}: {len(events)} audit events for one attempt ({'ok' if answered else err})"
    assert events[0].action == ACTIONS[target]
    echoed = json.dumps(events[0].details, ensure_ascii=False, default=str) + str(events[0].target)
    assert len(echoed) < 4096 and "x" * 200 not in echoed, f"{target}: the event echoes input: {_short(echoed)}"
    if err is None:
        assert (events[0].outcome, events[0].reason_code) == ("ok", None)
    else:
        assert isinstance(err, DvflagError)
        outcome = "denied" if isinstance(err, PermissionDenied) else "error"
        assert (events[0].outcome, events[0].reason_code) == (outcome, err.code)

def test_functions_and_migrations_hooks_take_no_input(host: MockHost) -> None:
    """aatena_functions and aatena_migrations have no parameters to fuzz: they answer the same every time."""
    first = host.hooks.functions()
    assert sorted(first) == sorted(r.FUNCTION_IDS)
    again = host.hooks.functions()
    assert {k: f.params for k, f in first.items()} == {k: f.params for k, f in again.items()}
    assert [m.plugin for m in host.hooks.migrations()] == ["dvflag"]


class JunkHost:
    """A host whose masters and authorization answer with whatever the example drew (tried first)."""

    def __init__(self) -> None:
        self.person: Any = None
        self.department: Any = None
        self.authorize: Any = None

    @hookimpl(tryfirst=True)
    def dvflag_resolve_person(self, address_no: str) -> Any:
        return self.person

    @hookimpl(tryfirst=True)
    def dvflag_resolve_department(self, dept_code: str) -> Any:
        return self.department

    @hookimpl
    def dvflag_authorize(self, actor: Actor, action: str, dept_code: str | None) -> Any:
        return self.authorize


master_answers = st.one_of(
    junk,
    st.builds(Person, name=junk, sex_code=junk, birth_date=junk),
    st.builds(Department, dept_code=st.sampled_from(("D0201", "D0301", "")), dept_name=junk),
)


@settings(
    max_examples=max(EXAMPLES // 2, 40),
    derandomize=not FUZZ,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(person=master_answers, department=master_answers, answer=junk, target=st.sampled_from(
    ("dvflag.register", "dvflag.status", "aatena_before_disclosure_flags_cleared")))
def test_junk_from_the_host_is_a_typed_audited_refusal(
    host: MockHost, person: Any, department: Any, answer: Any, target: str
) -> None:
    """Master data and authorization answers are checked (items 2, 11): junk is refused, never stored."""
    junk_host = host.pm.get_plugin("junk-host")
    if junk_host is None:
        junk_host = JunkHost()
        host.pm.register(junk_host, name="junk-host")
    junk_host.person, junk_host.department, junk_host.authorize = person, department, answer
    actor = host.actor("u-kodomo-reg1")
    number = next(p.address_no for p in host.data.people if p.in_master and p.address_no.endswith("0"))
    payload: Any = number if target in HOOKS else {"address_no": number}
    before_rows = snapshot(host.engine)
    before_events = len(host.masters.audit_copy)
    answered, err = _attempt(host, target, actor, payload)
    events = host.masters.audit_copy[before_events:]
    assert len(events) == 1, f"{target}: {len(events)} audit events"
    if err is not None:
        assert isinstance(err, DvflagError), f"{target}: raw {type(err).__name__}: {_short(err)}"
        assert snapshot(host.engine) == before_rows
        assert (events[0].outcome, events[0].reason_code) == (
            "denied" if isinstance(err, PermissionDenied) else "error", err.code)
    malformed = answer is not None and answer is not True
    if malformed and target != "aatena_before_disclosure_flags_cleared":  # advice only withholds details
        assert err is not None and err.code in ("host.invalid_answer", "host.denied"), (answered, err)
    if target == "dvflag.register" and answered:
        with transaction(host.engine) as conn:  # clean-up for the next example, not under test
            conn.execute(sa.delete(registration).where(registration.c.address_no == number))
