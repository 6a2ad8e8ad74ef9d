"""Descriptors agree with validation (issue 9 §1), as property tests through the real host functions.

For every function, hypothesis varies one parameter of a call the schema accepts (or adds an unknown
one). After the normalisation the field declares (``x-dvflag-normalize``):

1. what the input schema refuses (pattern, length, enum, type, required), the function refuses with a
   ``ValidationError`` naming one of the fields the schema complained about — so whatever validation
   accepts, the schema accepts; a refused call changes nothing;
2. for functions that change no data, what the schema accepts is refused only by rules the schema does
   not state (``UNSTATED_RULES``: a calendar day, a future date, a range, the characters of a name);
3. every error raised is one the descriptor lists, with the field it names; every call writes the one
   audit action the descriptor names; a function declared read-only changes no row.

Validation is plain Python, the same on every database, so this runs on SQLite only.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from dvflag_hookspecs import Actor, Field, FunctionDescriptor
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import DvflagError, UnknownFieldError, ValidationError
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.storage import migrate
from helpers import Row, make_host, seed_registrations, snapshot

ABSENT = object()
WIDE_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
UNSTATED_RULES = frozenset(
    {"date_format", "invalid_date", "era_range", "future", "range", "before_input", "before_previous_release",
     "person_mismatch", "dept_mismatch", "csv_only", "criteria", "search_key", "control_char", "variation_selector"}
)
"""Rules the input schema does not state: a calendar, today, another field or the masters, and which
characters a name or 所属名 may hold (controls, invisible format characters, a misplaced variation selector)."""

TRICKY = "0123456789０１２３４５６７８９①¹𝟏٣aAｱ_-. 　\t\n\u200b\u202e\ufe00\U000e0100𠮷髙﨑ー－/年月日令和R"
"""Characters near the rules' edges: full-width and compatibility digits, blanks, invisible characters,
variation selectors, kanji outside the BMP, date separators."""

PROFILE = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


# -- normalisation as the descriptor declares it --------------------------------------------------


def normalise(field: Field, value: Any) -> Any:
    """The value after the field's declared steps; ABSENT for a null or blank value."""
    if value is None or (isinstance(value, str) and value.strip(" \u3000") == ""):
        return ABSENT
    for step in field.normalize:
        if not isinstance(value, str):
            break
        if step == "trim":
            value = value.strip()
        elif step in ("nfc", "nfkc"):
            value = unicodedata.normalize(step.upper(), value)
        elif step == "digits":
            value = value.translate(WIDE_DIGITS)
        elif step == "integer" and value.isascii() and value.isdigit():
            value = int(value)
        elif step == "boolean" and value.lower() in ("true", "1", "false", "0"):
            value = value.lower() in ("true", "1")
        elif step == "list":
            value = [part.strip() for part in value.split(",") if part.strip()]
    return value


def schema_view(d: FunctionDescriptor, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as the input schema sees them."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key not in d.params:
            out[key] = value
            continue
        normal = normalise(d.field(key), value)
        if normal is not ABSENT:
            out[key] = normal
    return out


def complaints(d: FunctionDescriptor, params: Mapping[str, Any]) -> set[str]:
    """The fields the schema refuses ``params`` over (empty when it accepts them)."""
    validator = Draft202012Validator(d.input_schema())
    fields: set[str] = set()
    for err in validator.iter_errors(schema_view(d, params)):
        fields |= _fields_of(err)
    return fields


def _fields_of(err: Any) -> set[str]:
    if err.path:
        return {str(err.path[0])}
    if err.validator in ("required", "dependentRequired"):
        return {str(err.message).split("'")[1]}
    if err.validator == "not" and "required" in err.validator_value:
        return set(err.validator_value["required"])
    if err.validator == "additionalProperties":
        return set(err.instance) - set(err.schema.get("properties", {}))
    found: set[str] = set()
    for sub in err.context or ():
        found |= _fields_of(sub)
    return found


# -- value strategies per field --------------------------------------------------------------------


def junk() -> st.SearchStrategy[Any]:
    """Values of any JSON-ish type (floats left out: JSON has one number type; hosts send ints)."""
    return st.one_of(
        st.none(), st.booleans(), st.integers(-3, 10**12), st.text(TRICKY, max_size=24), st.text(max_size=24),
        st.lists(st.text(TRICKY, max_size=6), max_size=3),
    )


def _mutate(base: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid-looking text padded with blanks or with one character swapped or inserted."""
    pad = st.sampled_from(["", " ", "　", "\t", "\n", "\u200b"])

    def swap(text: str, ch: str, at: int, insert: bool) -> str:
        at = at % (len(text) + 1)
        return text[:at] + ch + text[at + (0 if insert else 1):]

    return st.one_of(
        st.builds(lambda a, t, b: a + t + b, pad, base, pad),
        st.builds(swap, base, st.sampled_from(TRICKY), st.integers(0, 40), st.booleans()),
    )


def values_for(field: Field) -> st.SearchStrategy[Any]:
    """Values around ``field``'s rules: valid ones, near misses and junk."""
    options: list[st.SearchStrategy[Any]] = [junk()]
    if field.choices:
        consts = [c.value for c in field.choices]
        if field.type == "array":
            items = st.sampled_from([*consts, "admin", "Viewer", " viewer"])
            options += [st.lists(items, max_size=4), st.lists(items, max_size=4).map(",".join)]
        else:
            options += [st.sampled_from(consts), st.sampled_from(consts).map(lambda c: f" {c}"),
                        st.sampled_from(consts).map(lambda c: str(c).upper()), st.sampled_from(consts).map(str)]
    if field.pattern is not None:
        valid = st.from_regex(field.pattern, fullmatch=True)
        options += [valid, _mutate(valid), st.text(TRICKY, min_size=0, max_size=40)]
    if field.type == "integer" and not field.choices:
        wide = str.maketrans("0123456789", "０１２３４５６７８９")
        options += [st.integers(-2, 10**9), st.integers(0, 10**6).map(str),
                    st.integers(0, 999).map(lambda n: str(n).translate(wide))]
    if field.type == "boolean":
        options.append(st.sampled_from([True, False, "true", "1", "false", "0", "TRUE", "yes", 2]))
    if field.format == "date":
        options += [st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(date.isoformat),
                    st.sampled_from(["令和6年4月1日", "R6.4.1", "平成31年5月1日", "2024/2/30", "S50.1.1",
                                     "明治5年1月1日"])]
    if field.name == "name":
        options += [st.text(TRICKY, min_size=1, max_size=210), st.text(min_size=95, max_size=110)]
    return st.one_of(*options)


# -- the host, its records and one base call per function -----------------------------------------


@dataclass
class World:
    """A started host on SQLite with records in every state a base call needs."""

    host: MockHost
    actors: dict[str, Actor]
    bases: dict[str, dict[str, Any]]

    def descriptor(self, function_id: str) -> FunctionDescriptor:
        d = self.host.functions()[function_id].descriptor
        assert d is not None
        return d


@contextlib.contextmanager
def open_world(data: DummyDataSet, tmp: Path, settings: Mapping[str, Any]) -> Iterator[World]:
    """A host on a fresh SQLite file with these settings, its records and one base call per function."""
    engine = sa.create_engine(f"sqlite:///{tmp / 'agree.sqlite3'}")
    # Hundreds of tiny transactions: durability is not under test here, validation is.
    sa.event.listen(engine, "connect", lambda dbapi, _rec: dbapi.execute("PRAGMA synchronous=OFF"))
    migrate.upgrade(engine)
    clock = MutableClock(data.reference_date)
    host = make_host(engine, data, clock, tmp, settings)
    master = [p.address_no for p in data.people if p.in_master]
    today = data.reference_date
    ids = seed_registrations(host, [
        Row(master[0], "D0201", today - timedelta(days=400)),
        Row(master[1], "D0201", today - timedelta(days=90), today - timedelta(days=10)),
    ])
    active, released = ids[(master[0], "D0201")], ids[(master[1], "D0201")]
    registrar = host.actor("u-kodomo-reg1")
    actors = {fid: registrar for fid in host.functions()}
    actors["dvflag.users"] = host.actor("u-joho-admin1")
    actors["dvflag.audit"] = host.actor("u-kansa-audit1")
    bases: dict[str, dict[str, Any]] = {
        "dvflag.register": {"address_no": master[2]},
        "dvflag.update": {"record_id": active, "row_version": 1, "sex_code": data.person(master[0]).sex_code},
        "dvflag.release": {"record_id": active, "row_version": 1},
        "dvflag.unrelease": {"record_id": released, "row_version": 1},
        "dvflag.delete": {"record_id": active, "row_version": 1, "reason": "mistaken_entry"},
        "dvflag.status": {"address_no": master[0]},
        "dvflag.search": {"dept_code": "D0201"},
        "dvflag.export": {},
        "dvflag.review_due": {},
        "dvflag.users": {},
        "dvflag.audit": {},
    }
    try:
        yield World(host, actors, bases)
    finally:
        host.close()
        engine.dispose()


@pytest.fixture(scope="module")
def world(data: DummyDataSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Default settings: 宛名番号 of 1–16 digits, the default code syntax and search cap."""
    with open_world(data, tmp_path_factory.mktemp("agree"), {}) as w:
        yield w


@pytest.fixture(scope="module")
def fixed_world(data: DummyDataSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A municipality's own settings: 15-digit numbers, its department code syntax, a smaller cap."""
    settings = {
        "dvflag.address_no_fixed_len": 15,
        "dvflag.dept_code_pattern": "D[0-9]{4}",
        "dvflag.search_max_rows": 50,
    }
    with open_world(data, tmp_path_factory.mktemp("agree_fixed"), settings) as w:
        yield w


def _listed(d: FunctionDescriptor, err: DvflagError) -> bool:
    if isinstance(err, UnknownFieldError):
        return any(e.code == err.code for e in d.errors)
    field = err.field if isinstance(err, ValidationError) else None
    return any(e.code == err.code and e.field == field for e in d.errors)


def check(world: World, function_id: str, params: dict[str, Any]) -> None:
    """The three properties for one call."""
    d = world.descriptor(function_id)
    refused_by_schema = complaints(d, params)
    writes = d.effects.changes_data
    if not refused_by_schema and writes:
        return  # a valid change would move the records the other examples rely on
    before = snapshot(world.host.engine)
    events = len(world.host.masters.audit_copy)
    error: DvflagError | None = None
    try:
        world.host.call(function_id, world.actors[function_id], **params)
    except DvflagError as caught:
        error = caught
    audited = world.host.masters.audit_copy[events:]
    assert [e.action for e in audited] == [d.audit_action], "the descriptor names another audit action"
    if d.effects.read_only:
        assert snapshot(world.host.engine) == before, f"{function_id} is declared read-only but changed data"
    if error is None:
        assert not refused_by_schema, f"{function_id}: schema refuses {refused_by_schema} in {params!r}; accepted"
        return
    assert _listed(d, error), f"{function_id}: {error.code} on {getattr(error, 'field', None)} is not in its errors"
    if refused_by_schema:
        assert isinstance(error, ValidationError), f"schema refuses {refused_by_schema}, function said {error}"
        if isinstance(error, UnknownFieldError):
            assert refused_by_schema - set(d.params), f"schema refuses {refused_by_schema}, validation said {error}"
        else:
            assert error.field in refused_by_schema, f"schema refuses {refused_by_schema}, validation: {error}"
        assert snapshot(world.host.engine) == before, "a refused call changed the tables"
    elif isinstance(error, ValidationError):
        assert error.rule in UNSTATED_RULES, f"schema accepts {params!r} but validation refused it: {error}"


def test_every_base_call_is_schema_valid(world: World) -> None:
    for function_id, base in world.bases.items():
        assert complaints(world.descriptor(function_id), base) == set(), function_id


def _agree(world: World, function_id: str, examples: int) -> None:
    d = world.descriptor(function_id)
    base = world.bases[function_id]
    one_field = st.sampled_from(d.fields).flatmap(lambda f: st.tuples(st.just(f.name), values_for(f)))
    unknown = st.tuples(st.sampled_from(["comment", "note", "Address_no", "name "]), junk())

    @settings(PROFILE, max_examples=examples)
    @given(st.one_of(one_field, unknown))
    def run(change: tuple[str, Any]) -> None:
        key, value = change
        check(world, function_id, {**base, key: value})

    run()


@pytest.mark.parametrize("function_id", [
    "dvflag.register", "dvflag.update", "dvflag.release", "dvflag.unrelease", "dvflag.delete", "dvflag.status",
    "dvflag.search", "dvflag.export", "dvflag.review_due", "dvflag.users", "dvflag.audit",
])
def test_schema_and_validation_agree(world: World, function_id: str) -> None:
    _agree(world, function_id, 60)


@pytest.mark.parametrize("function_id", ["dvflag.status", "dvflag.search", "dvflag.review_due", "dvflag.register"])
def test_they_agree_under_other_settings(fixed_world: World, function_id: str) -> None:
    d = fixed_world.descriptor(function_id)
    if "address_no" in d.params:
        assert d.field("address_no").pattern == r"^(?:[0-9０-９]{15})(?![\s\S])"
    if "dept_code" in d.params:
        assert d.field("dept_code").pattern == r"^(?:D[0-9]{4})(?![\s\S])"
    _agree(fixed_world, function_id, 40)


@pytest.mark.parametrize(("params", "field", "rule"), [
    ({"op": "verify", "from_seq": 1}, "from_seq", "not_applicable"),
    ({"op": "checkpoint", "checkpoint_seq": 1}, "checkpoint_seq", "not_applicable"),
    ({"op": "read", "checkpoint_hash": "a" * 64}, "checkpoint_hash", "not_applicable"),
    ({"checkpoint_hash": "a" * 64}, "checkpoint_seq", "required"),
])
def test_audit_refuses_what_its_operation_does_not_use(world: World, params: dict[str, Any], field: str,
                                                         rule: str) -> None:
    """Found by the agreement test: these were silently ignored, now refused as the schema says."""
    d = world.descriptor("dvflag.audit")
    assert field in complaints(d, params)
    events = len(world.host.masters.audit_copy)
    with pytest.raises(ValidationError) as info:
        world.host.call("dvflag.audit", world.actors["dvflag.audit"], **params)
    assert (info.value.field, info.value.rule) == (field, rule)
    (event,) = world.host.masters.audit_copy[events:]
    assert (event.action, event.outcome, event.reason_code) == ("audit", "error", f"invalid.{rule}")
