"""Issue 8, input: typed parameters, bounded echo, strict codes and numbers, names, master data.

Every refusal is a typed error naming the field, changes nothing and leaves one audit event.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_hookspecs import Actor, Department, Person, hookimpl
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import HostContractError, UnknownFieldError, ValidationError
from dvflag_plugin.mockhost import MockHost, MutableClock
from helpers import Row, committed_events, expect_refused, make_host, mostly_on_sqlite, seed_registrations, snapshot

REGISTRAR, VIEWER, ADMIN, AUDITOR = "u-kodomo-reg1", "u-kodomo-view1", "u-joho-admin1", "u-kansa-audit1"


@pytest.fixture
def host(staffed_host: MockHost) -> MockHost:
    return staffed_host


def _free(host: MockHost) -> Any:
    return next(p for p in host.data.people if p.in_master)


def _deep(n: int) -> Any:
    value: Any = "x"
    for _ in range(n):
        value = [value]
    return value


# -- 6. a Mapping of known names to values of the right type --------------------------------------

ACTOR_OF = {
    "dvflag.register": REGISTRAR, "dvflag.update": REGISTRAR, "dvflag.release": REGISTRAR,
    "dvflag.unrelease": REGISTRAR, "dvflag.delete": REGISTRAR, "dvflag.review_due": REGISTRAR,
    "dvflag.export": REGISTRAR, "dvflag.status": VIEWER, "dvflag.search": VIEWER, "dvflag.users": ADMIN,
    "dvflag.audit": AUDITOR,
}
BAD_PARAMS: list[tuple[str, Any, str]] = [
    ("dvflag.users", {"op": "add", "user_id": "u-n", "dept_code": "D0201", "valid_from": date(1, 1, 1)}, "valid_from"),
    ("dvflag.register", [("address_no", "000000000000001"), ("name", "辻\u3000真琴")], "params"),
    ("dvflag.register", None, "params"),
    ("dvflag.search", (p for p in [("name", "辻")]), "params"),
    ("dvflag.status", {1: "000000000000001"}, "params"),
    ("dvflag.register", {"address_no": 1}, "address_no"),
    ("dvflag.register", {"address_no": "000000000000001", "name": ["辻"]}, "name"),
    ("dvflag.register", {"address_no": "000000000000001", "birth_date": 20200101}, "birth_date"),
    ("dvflag.register", {"address_no": "000000000000001", "sex_code": 1.0}, "sex_code"),
    ("dvflag.register", {"address_no": "000000000000001", "input_date": datetime(2026, 1, 1)}, "input_date"),  # noqa: DTZ001  # noqa: DTZ001
    ("dvflag.register", {"address_no": "000000000000001", "name": _deep(5000)}, "name"),
    ("dvflag.update", {"record_id": 2**63, "row_version": 1, "sex_code": 1}, "record_id"),
    ("dvflag.update", {"record_id": 1, "row_version": -(2**70), "sex_code": 1}, "row_version"),
    ("dvflag.release", {"record_id": True, "row_version": 1}, "record_id"),
    ("dvflag.delete", {"record_id": 1, "row_version": 1, "reason": {"code": "duplicate_entry"}}, "reason"),
    ("dvflag.search", {"address_no": "1", "state": {}}, "state"),
    ("dvflag.search", {"address_no": "1", "input_from": 0}, "input_from"),
    ("dvflag.search", {"address_no": "1", "limit": 2**63}, "limit"),
    ("dvflag.search", {"address_no": "1", "limit": True}, "limit"),
    ("dvflag.status", {"address_no": b"000000000000001"}, "address_no"),
    ("dvflag.export", {"strict": []}, "strict"),
    ("dvflag.export", {"format": ["csv"]}, "format"),
    ("dvflag.review_due", {"dept_code": 201}, "dept_code"),
    ("dvflag.users", {"op": "add", "user_id": "u-new", "dept_code": "D0201", "valid_from": []}, "valid_from"),
    ("dvflag.users", {"op": "add", "user_id": "u-new", "dept_code": "D0201", "roles": [1, 2]}, "roles"),
    ("dvflag.users", {"op": "add", "user_id": "u-new", "dept_code": "D0201", "enabled": "maybe"}, "enabled"),
    ("dvflag.users", {"op": "update", "user_id": "u-kodomo-view1", "roles": ["viewer"]}, "roles"),
    ("dvflag.audit", {"op": "read", "from_seq": 2**63}, "from_seq"),
    ("dvflag.audit", {"op": "verify", "checkpoint_seq": 1, "checkpoint_hash": "zz"}, "checkpoint_hash"),
]


@pytest.mark.parametrize(
    ("function_id", "params", "field"),
    mostly_on_sqlite(BAD_PARAMS, everywhere=3, columns=3),
    ids=[f"{c[0]}-{c[2]}" for c in BAD_PARAMS],
)
def test_a_wrong_type_is_a_validation_error_naming_the_field(
    host: MockHost, function_id: str, params: Any, field: str
) -> None:
    before, events = snapshot(host.engine), len(host.masters.audit_copy)
    with pytest.raises(ValidationError) as info:  # never TypeError, OverflowError, RecursionError, a driver error
        host.functions()[function_id].call(host.actor(ACTOR_OF[function_id]), params)
    assert info.value.field == field, (info.value.field, info.value.message)
    assert snapshot(host.engine) == before
    assert len(host.masters.audit_copy) == events + 1
    event = host.masters.audit_copy[-1]
    assert (event.action, event.outcome, event.reason_code) == (function_id.split(".")[1], "error", info.value.code)
    assert "辻" not in json.dumps(dict(event.details), ensure_ascii=False)


def test_a_batch_given_as_a_generator_or_with_a_non_string_is_refused(host: MockHost) -> None:
    actor = Actor("screen", "D0102")
    for batch in ((n for n in ["1", "2"]), ["1", 2, "3"], {"1": 1}):
        before = snapshot(host.engine)
        with pytest.raises(ValidationError) as info:
            host.notices(actor, batch)  # type: ignore[arg-type]
        assert info.value.field == "address_nos"
        assert snapshot(host.engine) == before
        assert host.masters.audit_copy[-1].outcome == "error"


# -- 7. nothing typed is echoed unbounded or verbatim ---------------------------------------------


def test_a_list_of_pairs_never_puts_a_name_into_the_trail(host: MockHost, tmp_path: Path) -> None:
    person = _free(host)
    with pytest.raises(ValidationError):
        host.functions()["dvflag.register"].call(
            host.actor(REGISTRAR), [("address_no", person.address_no), ("name", person.name)]
        )
    lines = (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
    trail = json.dumps([dict(e.details) for e in committed_events(host.engine)], ensure_ascii=False)
    for part in person.name.split("\u3000"):  # a repr() would escape the full-width space, not the kanji
        assert part not in lines and part not in trail


def test_a_flood_of_unknown_names_is_counted_not_echoed(host: MockHost) -> None:
    params = {f"f{i:06d}\u202e{'x' * 20}": 1 for i in range(100_000)}
    params["kana"] = 1
    err, event = expect_refused(
        host,
        lambda: host.call("dvflag.status", host.actor(VIEWER), **params),
        error=UnknownFieldError,
        code="invalid.unknown_field",
        action="status",
    )
    assert isinstance(err, UnknownFieldError) and err.count == 100_001
    assert err.fields == ("kana",)
    assert len(json.dumps(dict(event.details), ensure_ascii=False)) < 1000
    assert "\u202e" not in event.details["message"] and "100000" in event.details["message"]


def test_unknown_role_names_are_echoed_only_when_they_look_like_codes(host: MockHost) -> None:
    err, event = expect_refused(
        host,
        lambda: host.call(
            "dvflag.users", host.actor(ADMIN), op="add", user_id="u-new", dept_code="D0201",
            roles=["wizard", "辻\u3000真琴", "x" * 500],
        ),
        error=ValidationError,
        code="invalid.unknown_role",
        action="users",
    )
    assert "wizard" in err.message and "辻" not in err.message and "x" * 17 not in err.message
    assert event.details["message"] == err.message


# -- 8. codes are codes ---------------------------------------------------------------------------

BAD_CODES = ["D0201 ", " D0201", "Ｄ0201", "D02\u202e01", "D0201'--", "D0201\u00a0", "D" * 17, "総務部"]


@pytest.mark.parametrize("code", mostly_on_sqlite(BAD_CODES, everywhere=2))
def test_a_department_code_out_of_syntax_is_refused_everywhere(host: MockHost, code: str) -> None:
    number = _free(host).address_no
    calls = [
        ("register", lambda: host.call("dvflag.register", host.actor(REGISTRAR), address_no=number, dept_code=code)),
        ("search", lambda: host.call("dvflag.search", host.actor(VIEWER), address_no=number, dept_code=code)),
        ("review_due", lambda: host.call("dvflag.review_due", host.actor(REGISTRAR), dept_code=code)),
        ("export", lambda: host.call("dvflag.export", host.actor(REGISTRAR), dept_code=code)),
        ("users", lambda: host.call("dvflag.users", host.actor(ADMIN), op="add", user_id="u-n", dept_code=code)),
    ]
    for action, call in calls:
        _, event = expect_refused(host, call, error=ValidationError, code="invalid.code_syntax", action=action)
        assert code not in json.dumps(dict(event.details), ensure_ascii=False)


def test_code_syntax_is_a_setting(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> None:
    host = make_host(engine, data, clock, tmp_path, settings={"dvflag.dept_code_pattern": r"D[0-9]{4}"})
    try:
        with pytest.raises(ValidationError) as info:
            host.call("dvflag.review_due", host.actor(REGISTRAR), dept_code="X0201")
        assert info.value.rule == "code_syntax"
        assert host.call("dvflag.review_due", host.actor(REGISTRAR), dept_code="D0201") == ()
    finally:
        host.close()


# -- 9. address numbers ---------------------------------------------------------------------------

LOOK_ALIKES = ["𝟏𝟐𝟑", "①②③", "¹²³", "١٢٣", "१२३", "123 ", " 123", "12\u00a03", "12.3", "-123", "+123"]


@pytest.mark.parametrize("number", mostly_on_sqlite(LOOK_ALIKES))
def test_only_ascii_and_full_width_digits_are_numbers(host: MockHost, number: str) -> None:
    for call, action in (
        (lambda: host.call("dvflag.status", host.actor(VIEWER), address_no=number), "status"),
        (lambda: host.notices(Actor("screen", "D0102"), [number]), "notices"),
        (lambda: host.notices(Actor("screen", "D0102"), ["1", number]), "notices"),
    ):
        expect_refused(host, call, error=ValidationError, code="invalid.digits", action=action)


def test_full_width_digits_are_the_same_number_single_and_batch(host: MockHost) -> None:
    number = _free(host).address_no
    seed_registrations(host, [Row(number, "D0201", date(2026, 4, 1))])
    wide = number.translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})
    assert host.call("dvflag.status", host.actor(VIEWER), address_no=wide).held
    assert list(host.notices(Actor("screen", "D0102"), [wide, "1"])) == [wide]


def test_a_batch_element_gets_the_single_number_length_rule(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    host = make_host(engine, data, clock, tmp_path, settings={"dvflag.address_no_fixed_len": 15})
    try:
        number = _free(host).address_no
        seed_registrations(host, [Row(number, "D0201", date(2026, 4, 1))])
        actor = Actor("screen", "D0102")
        for bad in (number.lstrip("0"), number + "0", "1" * 17):
            err, _ = expect_refused(
                host, lambda bad=bad: host.notices(actor, [number, bad, number]),
                error=ValidationError, code="invalid.length", action="notices",
            )
            assert "2件目" in err.message
            with pytest.raises(ValidationError):  # a single lookup refuses it too
                host.notices(actor, [bad])
        sep = number[:5] + "\x1f" + number[5:]
        with pytest.raises(ValidationError):
            host.notices(actor, [number, sep])
    finally:
        host.close()


# -- 10. names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["\t辻\u3000真琴", "\r辻\u3000真琴", "辻\u3000真琴\n", "\x00辻", "辻\u202e真琴"])
def test_a_control_character_in_a_name_is_refused_not_trimmed(host: MockHost, name: str) -> None:
    person = next(p for p in host.data.people if not p.in_master)
    expect_refused(
        host,
        lambda: host.call(
            "dvflag.register", host.actor(REGISTRAR), address_no=person.address_no, name=name,
            sex_code=person.sex_code, birth_date=person.birth_date.isoformat(),
        ),
        error=ValidationError,
        code="invalid.control_char",
        action="register",
    )


# -- 11. master data is checked, not trusted ------------------------------------------------------


class BadMaster:
    """Answers first (registered last), with whatever a test puts in ``person`` / ``dept``."""

    def __init__(self) -> None:
        self.person: Any = None
        self.dept: Any = None

    @hookimpl
    def dvflag_resolve_person(self, address_no: str) -> Any:
        return self.person

    @hookimpl
    def dvflag_resolve_department(self, dept_code: str) -> Any:
        return self.dept


BAD_PERSONS = [
    Person("\t辻\u3000真琴", 0, date(2017, 1, 5)),
    Person("辻\u202e真琴", 0, date(2017, 1, 5)),
    Person("辻" * 101, 0, date(2017, 1, 5)),
    Person("", 0, date(2017, 1, 5)),
    Person(None, 0, date(2017, 1, 5)),  # type: ignore[arg-type]
    Person("辻\u3000真琴", "1", date(2017, 1, 5)),  # type: ignore[arg-type]
    Person("辻\u3000真琴", 3, date(2017, 1, 5)),
    Person("辻\u3000真琴", True, date(2017, 1, 5)),  # type: ignore[arg-type]
    Person("辻\u3000真琴", 0, datetime(2017, 1, 5)),  # noqa: DTZ001
    Person("辻\u3000真琴", 0, "2017-01-05"),  # type: ignore[arg-type]
    Person("辻\u3000真琴", 0, date(2099, 1, 5)),
    {"name": "辻\u3000真琴", "sex_code": 0, "birth_date": date(2017, 1, 5)},
]
BAD_DEPTS = [
    Department("D0301", "男女共同参画課"),
    Department("D0201", "子ども\x00家庭課"),
    Department("D0201", "子" * 101),
    Department("D0201", ""),
    ("D0201", "子ども家庭課"),
]


@pytest.mark.parametrize(
    "answer", mostly_on_sqlite([*BAD_PERSONS, *BAD_DEPTS]), ids=range(len(BAD_PERSONS) + len(BAD_DEPTS))
)
def test_a_bad_master_answer_is_a_host_contract_error(host: MockHost, answer: Any) -> None:
    bad = BadMaster()
    host.pm.register(bad, name="bad-master")
    if isinstance(answer, Department | tuple):
        bad.dept = answer
    else:
        bad.person = answer
    err, event = expect_refused(
        host,
        lambda: host.call("dvflag.register", host.actor(REGISTRAR), address_no=_free(host).address_no),
        error=HostContractError,
        code="host.contract",
        action="register",
    )
    assert ("dvflag_resolve_department" if bad.dept is not None else "dvflag_resolve_person") in err.message
    assert "辻" not in err.message and "辻" not in str(dict(event.details))


def test_a_dept_name_different_from_the_master_is_refused_not_dropped(host: MockHost) -> None:
    number = _free(host).address_no
    expect_refused(
        host,
        lambda: host.call("dvflag.register", host.actor(REGISTRAR), address_no=number, dept_name="別の課"),
        error=ValidationError,
        code="invalid.dept_mismatch",
        action="register",
    )
    reg = host.call("dvflag.register", host.actor(REGISTRAR), address_no=number, dept_name="子ども家庭課")
    assert reg.dept_name == "子ども家庭課"
