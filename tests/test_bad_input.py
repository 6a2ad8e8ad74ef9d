"""Bad input (DESIGN §7, issue 2 item 7): a typed error naming the field and the rule, in Japanese;
nothing changed; one audit event ('error', or 'denied' for a denial) carrying the reason code.

Every case runs through the host functions as a screen calls them, on every backend.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_hookspecs import Actor
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import (
    DuplicateError,
    DvflagError,
    NotFoundError,
    PermissionDenied,
    StaleVersionError,
    StateError,
    UnknownFieldError,
    ValidationError,
)
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.rules.validation import label
from helpers import Row, expect_one_event, expect_refused, make_host, registration_rows, seed_registrations

TODAY = date(2026, 11, 26)
REGISTRAR = "u-kodomo-reg1"  # 子ども家庭課 D0201
OWN, OTHER = "D0201", "D0301"
MANUAL_NO = "000000099045166"  # 住登外: the host address master cannot resolve this dummy person
MANUAL = {"address_no": MANUAL_NO, "name": "鈴木　真由美", "sex_code": 2, "birth_date": "1981-01-20"}


@pytest.fixture
def host(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> Iterator[MockHost]:
    h = make_host(engine, data, clock, tmp_path)
    try:
        yield h
    finally:
        h.close()


@dataclass
class Setup:
    """A registrar, its active and released records, another department's record, a free person."""

    host: MockHost
    actor: Actor
    n_active: str
    n_released: str
    n_other: str
    n_free: str
    ids: dict[str, int] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """Symbolic parameters: $R_ACTIVE, $R_RELEASED, $R_OTHER (record ids), $N_* (numbers)."""
        if isinstance(value, str) and value.startswith("$"):
            return {
                "$R_ACTIVE": self.ids.get("active"),
                "$R_RELEASED": self.ids.get("released"),
                "$R_OTHER": self.ids.get("other"),
                "$N_ACTIVE": self.n_active,
                "$N_FREE": self.n_free,
            }[value]
        return value


@pytest.fixture
def s(host: MockHost) -> Setup:
    n_active, n_released, n_other, n_free = [p.address_no for p in host.data.people if p.in_master][:4]
    ids = seed_registrations(
        host,
        [
            Row(n_active, OWN, date(2026, 4, 1)),
            Row(n_released, OWN, date(2026, 4, 1), date(2026, 6, 1)),
            Row(n_other, OTHER, date(2026, 4, 1)),
        ],
    )
    return Setup(
        host,
        host.actor(REGISTRAR),
        n_active,
        n_released,
        n_other,
        n_free,
        {"active": ids[(n_active, OWN)], "released": ids[(n_released, OWN)], "other": ids[(n_other, OTHER)]},
    )


@dataclass(frozen=True)
class Case:
    """One bad input: the call, and the typed error, reason code and field it must give."""

    function: str
    params: dict[str, Any]
    error: type[DvflagError]
    code: str
    field: str | None = None


TOMORROW = (TODAY + timedelta(days=1)).isoformat()

CASES: dict[str, Case] = {
    # 団体内統合宛名番号
    "address_no_non_digit": Case(
        "dvflag.register", {"address_no": "12-3456"}, ValidationError, "invalid.digits", "address_no"
    ),
    "address_no_letter": Case(
        "dvflag.status", {"address_no": "00000000000001A"}, ValidationError, "invalid.digits", "address_no"
    ),
    "address_no_full_width_letter": Case(
        "dvflag.register", {"address_no": "１２３ａ"}, ValidationError, "invalid.digits", "address_no"
    ),
    "address_no_too_long": Case(
        "dvflag.register", {"address_no": "1" * 17}, ValidationError, "invalid.length", "address_no"
    ),
    "address_no_integer": Case("dvflag.register", {"address_no": 1330}, ValidationError, "invalid.type", "address_no"),
    "address_no_empty": Case("dvflag.register", {"address_no": ""}, ValidationError, "invalid.required", "address_no"),
    "address_no_ideographic_space": Case(
        "dvflag.status", {"address_no": "\u3000"}, ValidationError, "invalid.required", "address_no"
    ),
    # 性別・生年月日・氏名 (manual entry of a 住登外 person)
    "sex_code_unknown": Case(
        "dvflag.register", {**MANUAL, "sex_code": 3}, ValidationError, "invalid.sex_code", "sex_code"
    ),
    "sex_code_text": Case(
        "dvflag.register", {**MANUAL, "sex_code": "女"}, ValidationError, "invalid.sex_code", "sex_code"
    ),
    "birth_date_future": Case(
        "dvflag.register", {**MANUAL, "birth_date": TOMORROW}, ValidationError, "invalid.future", "birth_date"
    ),
    "birth_date_bad_wareki": Case(
        "dvflag.register",
        {**MANUAL, "birth_date": "平成31年5月1日"},
        ValidationError,
        "invalid.era_range",
        "birth_date",
    ),
    "birth_date_no_such_day": Case(
        "dvflag.register",
        {**MANUAL, "birth_date": "2024-02-30"},
        ValidationError,
        "invalid.invalid_date",
        "birth_date",
    ),
    "birth_date_unreadable": Case(
        "dvflag.register",
        {**MANUAL, "birth_date": "昭和の終わり"},
        ValidationError,
        "invalid.date_format",
        "birth_date",
    ),
    "name_empty": Case("dvflag.register", {**MANUAL, "name": ""}, ValidationError, "invalid.required", "name"),
    "name_too_long": Case(
        "dvflag.register", {**MANUAL, "name": "あ" * 101}, ValidationError, "invalid.too_long", "name"
    ),
    "name_control_char": Case(
        "dvflag.register",
        {**MANUAL, "name": "鈴木\x00真由美"},
        ValidationError,
        "invalid.control_char",
        "name",
    ),
    "sex_code_missing_manual": Case(
        "dvflag.register", {**MANUAL, "sex_code": None}, ValidationError, "invalid.required", "sex_code"
    ),
    "person_mismatch": Case(
        "dvflag.register",
        {"address_no": "$N_FREE", "sex_code": 9},
        ValidationError,
        "invalid.person_mismatch",
        "sex_code",
    ),
    # 入力日・解除日
    "input_date_future": Case(
        "dvflag.register",
        {"address_no": "$N_FREE", "input_date": TOMORROW},
        ValidationError,
        "invalid.future",
        "input_date",
    ),
    "release_before_input": Case(
        "dvflag.release",
        {"record_id": "$R_ACTIVE", "row_version": 1, "release_date": "2026-03-31"},
        ValidationError,
        "invalid.before_input",
        "release_date",
    ),
    "release_future": Case(
        "dvflag.release",
        {"record_id": "$R_ACTIVE", "row_version": 1, "release_date": TOMORROW},
        ValidationError,
        "invalid.future",
        "release_date",
    ),
    "release_already_released": Case(
        "dvflag.release", {"record_id": "$R_RELEASED", "row_version": 1}, StateError, "state.released"
    ),
    "unrelease_not_released": Case(
        "dvflag.unrelease", {"record_id": "$R_ACTIVE", "row_version": 1}, StateError, "state.not_released"
    ),
    # unknown fields: refused, never dropped or stored
    "unknown_field_register": Case(
        "dvflag.register",
        {"address_no": "$N_FREE", "kana": "スズキ"},
        UnknownFieldError,
        "invalid.unknown_field",
        "kana",
    ),
    "unknown_field_update": Case(
        "dvflag.update",
        {"record_id": "$R_ACTIVE", "row_version": 1, "memo": "x"},
        UnknownFieldError,
        "invalid.unknown_field",
        "memo",
    ),
    # records: duplicate, optimistic locking, unknown id, another department's record
    "duplicate_active": Case("dvflag.register", {"address_no": "$N_ACTIVE"}, DuplicateError, "duplicate"),
    "stale_row_version": Case(
        "dvflag.update",
        {"record_id": "$R_ACTIVE", "row_version": 2, "sex_code": 9},
        StaleVersionError,
        "stale_version",
    ),
    "stale_row_version_release": Case(
        "dvflag.release", {"record_id": "$R_ACTIVE", "row_version": 7}, StaleVersionError, "stale_version"
    ),
    "update_without_row_version": Case(
        "dvflag.update",
        {"record_id": "$R_ACTIVE", "sex_code": 9},
        ValidationError,
        "invalid.required",
        "row_version",
    ),
    "unknown_record_id": Case(
        "dvflag.update",
        {"record_id": 999999, "row_version": 1, "sex_code": 9},
        NotFoundError,
        "not_found.record",
    ),
    "record_id_not_a_number": Case(
        "dvflag.release", {"record_id": "abc"}, ValidationError, "invalid.positive_int", "record_id"
    ),
    "other_department_record": Case(
        "dvflag.release", {"record_id": "$R_OTHER", "row_version": 1}, PermissionDenied, "dept.other"
    ),
    "other_department_register": Case(
        "dvflag.register", {"address_no": "$N_FREE", "dept_code": OTHER}, PermissionDenied, "dept.other"
    ),
    # delete needs a reason code
    "delete_without_reason": Case(
        "dvflag.delete",
        {"record_id": "$R_ACTIVE", "row_version": 1},
        ValidationError,
        "invalid.required",
        "reason",
    ),
    "delete_free_text_reason": Case(
        "dvflag.delete",
        {"record_id": "$R_ACTIVE", "reason": "本人から電話"},
        ValidationError,
        "invalid.reason_code",
        "reason",
    ),
    # search
    "search_unknown_state": Case("dvflag.search", {"state": "deleted"}, ValidationError, "invalid.choice", "state"),
    "search_reversed_range": Case(
        "dvflag.search",
        {"input_from": "2026-05-01", "input_to": "2026-04-01"},
        ValidationError,
        "invalid.range",
        "input_from",
    ),
}

FIELD_WORDS = {"state": "状態", "input_from": "入力日"}
"""How the message names a field that has no entry in the label table."""

EVENT_ACTION = {fid: fid.split(".", 1)[1] for fid in {c.function for c in CASES.values()}}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(host: MockHost, s: Setup, name: str) -> None:
    case = CASES[name]
    params = {k: s.resolve(v) for k, v in case.params.items()}
    err, event = expect_refused(
        host,
        lambda: host.call(case.function, s.actor, **params),
        error=case.error,
        code=case.code,
        action=EVENT_ACTION[case.function],
    )
    assert type(err) is case.error
    assert err.message, "a staff-facing message is required"
    assert any("\u3040" <= ch <= "\u9fff" for ch in err.message), f"message not in Japanese: {err.message}"
    if case.field is not None:
        assert isinstance(err, ValidationError)
        assert err.field == case.field
        assert err.code == f"invalid.{err.rule}"
        named = FIELD_WORDS.get(case.field, label(case.field))
        assert named in err.message, f"the message must name the field: {err.message}"
    assert event.details["message"]
    # Neither the person's 氏名/生年月日 nor a refused value typed for them reaches the audit trail.
    text = json.dumps(dataclasses.asdict(event), ensure_ascii=False, default=str)
    typed = [str(params[f]) for f in ("name", "birth_date") if params.get(f) not in (None, "")]
    for forbidden in (MANUAL["name"], "1981-01-20", "昭和56年1月20日", *typed):
        assert forbidden not in text, f"audit event carries {forbidden!r}: {text}"


def test_unknown_field_is_refused_and_nothing_is_stored(host: MockHost, s: Setup) -> None:
    expect_refused(
        host,
        lambda: host.call("dvflag.register", s.actor, address_no=s.n_free, memo="転居先は○○市"),
        error=UnknownFieldError,
        code="invalid.unknown_field",
        action="register",
    )
    numbers = [r.address_no for r in registration_rows(host.engine)]
    assert s.n_free not in numbers
    # A host function refuses a name it does not list, before anything is read or written.
    assert "memo" not in host.functions()["dvflag.register"].params


def test_full_width_digits_are_accepted_and_stored_ascii(host: MockHost, s: Setup) -> None:
    wide = s.n_free.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert wide != s.n_free
    reg, event = expect_one_event(host, lambda: host.call("dvflag.register", s.actor, address_no=wide))
    assert reg.address_no == s.n_free
    assert event.target == s.n_free
    stored = [r.address_no for r in registration_rows(host.engine) if r.id == reg.record_id]
    assert stored == [s.n_free]
    assert stored[0].isascii()
    status = host.call("dvflag.status", s.actor, address_no=wide)
    assert status.address_no == s.n_free
    assert [h.dept_code for h in status.holdings] == [OWN]
    cautions = host.notices(s.actor, [wide])
    assert list(cautions) == [wide]
    assert cautions[wide][0].address_no == s.n_free
    # The same person in ASCII is the same key: a second registration is a duplicate.
    expect_refused(
        host,
        lambda: host.call("dvflag.register", s.actor, address_no=s.n_free),
        error=DuplicateError,
        code="duplicate",
        action="register",
    )


@pytest.mark.parametrize(
    ("number", "ok"),
    [("1", True), ("1" * 16, True), ("1" * 17, False), ("０" * 16, True)],
    ids=["len1", "len16", "len17", "fullwidth16"],
)
def test_default_length_is_1_to_16(host: MockHost, s: Setup, number: str, ok: bool) -> None:
    call = lambda: host.call("dvflag.status", s.actor, address_no=number)  # noqa: E731
    if ok:
        status, event = expect_one_event(host, call)
        assert status.holdings == ()
        assert event.outcome == "ok"
    else:
        err, _ = expect_refused(host, call, error=ValidationError, code="invalid.length", action="status")
        assert "1〜16桁" in err.message


@pytest.mark.parametrize(("length", "ok"), [(14, False), (15, True), (16, False)])
def test_fixed_length_setting(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path, length: int, ok: bool
) -> None:
    h = make_host(engine, data, clock, tmp_path, settings={"dvflag.address_no_fixed_len": 15})
    try:
        actor = h.actor(REGISTRAR)
        person = next(p for p in data.people if p.in_master)
        assert len(person.address_no) == 15
        number = person.address_no.rjust(length, "0")[-length:]
        call = lambda: h.call("dvflag.register", actor, address_no=number)  # noqa: E731
        if ok:
            reg, event = expect_one_event(h, call)
            assert reg.address_no == person.address_no
            assert event.outcome == "ok"
        else:
            err, _ = expect_refused(h, call, error=ValidationError, code="invalid.length", action="register")
            assert err.field == "address_no"
            assert "15桁" in err.message
    finally:
        h.close()


def test_batch_notices_refuse_a_bad_number_and_name_its_position(host: MockHost, s: Setup) -> None:
    err, event = expect_refused(
        host,
        lambda: host.notices(s.actor, [s.n_active, "12x4", s.n_free]),
        error=ValidationError,
        code="invalid.digits",
        action="notices",
    )
    assert err.field == "address_nos"
    assert "2件目" in err.message
    assert event.details["count"] == 3


def test_manual_entry_without_name_is_required(host: MockHost, s: Setup) -> None:
    params = {k: v for k, v in MANUAL.items() if k != "name"}
    err, _ = expect_refused(
        host,
        lambda: host.call("dvflag.register", s.actor, **params),
        error=ValidationError,
        code="invalid.required",
        action="register",
    )
    assert err.field == "name"
    assert "氏名" in err.message
