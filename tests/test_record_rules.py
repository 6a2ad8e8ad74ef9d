"""Rules of the record (DESIGN §3) and the audit trail's privacy (DESIGN §6), on every backend.

Active on day D ⇔ input_date ≤ D and (release_date IS NULL or D < release_date); release is explicit;
one row per (person, department), reopened on re-registration; unrelease and delete only by the
holding department; update under optimistic locking; the review list; release advice. No audit
event, in the database, in the host's copy or in the JSON-lines file, carries 氏名 or 生年月日.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_hookspecs import Actor, AuditEvent, Holding
from dvflag_plugin.audit import chain
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import DvflagError, PermissionDenied, StaleVersionError, StateError, ValidationError
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.service.records import DELETE_REASONS
from helpers import (
    Row,
    committed_events,
    expect_denied,
    expect_one_event,
    expect_refused,
    make_host,
    registration_by_id,
    registration_rows,
    seed_registrations,
    snapshot,
)

TODAY = date(2026, 11, 26)
OWN, OTHER = "D0201", "D0301"
REGISTRAR = "u-kodomo-reg1"  # 子ども家庭課
OTHER_REGISTRAR = "u-danjo-reg1"  # 男女共同参画課
VIEWER = "u-zeimu-view1"  # 税務課


@pytest.fixture
def host(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> Iterator[MockHost]:
    h = make_host(engine, data, clock, tmp_path)
    try:
        yield h
    finally:
        h.close()


def free_people(host: MockHost, count: int) -> list[str]:
    """Numbers of dummy people the host address master resolves."""
    return [p.address_no for p in host.data.people if p.in_master][:count]


def holders(host: MockHost, actor: Actor, number: str) -> list[str]:
    return [h.dept_code for h in host.call("dvflag.status", actor, address_no=number).holdings]


# -- the active-day formula -------------------------------------------------------------------------


def test_active_day_boundaries(host: MockHost, clock: MutableClock) -> None:
    (number,) = free_people(host, 1)
    registrar, viewer = host.actor(REGISTRAR), host.actor(VIEWER)
    reg = host.call("dvflag.register", registrar, address_no=number, input_date="2026-11-10")
    rel = host.call("dvflag.release", registrar, record_id=reg.record_id, row_version=1, release_date="令和8年11月20日")
    assert (rel.input_date, rel.release_date) == (date(2026, 11, 10), date(2026, 11, 20))

    for day, active in [
        (date(2026, 11, 9), False),  # D − 1 before input: not active
        (date(2026, 11, 10), True),  # input_date == D: active
        (date(2026, 11, 19), True),  # the day before the release: active
        (date(2026, 11, 20), False),  # release_date == D: not active
        (date(2026, 11, 21), False),
    ]:
        clock.set_day(day)
        assert holders(host, viewer, number) == ([OWN] if active else []), day
        assert (number in host.notices(viewer, [number])) is active, day
        found = host.call("dvflag.search", registrar, address_no=number, state="active")
        assert [r.record_id for r in found.rows] == ([reg.record_id] if active else []), day
        released = host.call("dvflag.search", registrar, address_no=number, state="released")
        assert [r.record_id for r in released.rows] == ([reg.record_id] if day >= date(2026, 11, 20) else []), day
        (advice,) = host.advice(host.actor(OTHER_REGISTRAR), number)
        assert advice.safe is (not active), day
        assert rel.active_on(day) is active  # the value's own formula agrees


def test_registration_without_release_is_active_from_its_input_day(host: MockHost, clock: MutableClock) -> None:
    (number,) = free_people(host, 1)
    host.call("dvflag.register", host.actor(REGISTRAR), address_no=number, input_date="R8.11.25")
    viewer = host.actor(VIEWER)
    clock.set_day(date(2026, 11, 24))
    assert holders(host, viewer, number) == []
    clock.set_day(date(2026, 11, 25))
    assert holders(host, viewer, number) == [OWN]


def test_release_on_the_input_day_is_allowed_and_never_active(host: MockHost, clock: MutableClock) -> None:
    (number,) = free_people(host, 1)
    registrar = host.actor(REGISTRAR)
    reg = host.call("dvflag.register", registrar, address_no=number, input_date="2026-11-10")
    rel, event = expect_one_event(
        host,
        lambda: host.call(
            "dvflag.release", registrar, record_id=reg.record_id, row_version=1, release_date="2026-11-10"
        ),
    )
    assert rel.release_date == rel.input_date == date(2026, 11, 10)
    assert event.details["release_date"] == "2026-11-10"
    clock.set_day(date(2026, 11, 10))
    assert holders(host, host.actor(VIEWER), number) == []
    # release_date < input_date is refused and changes nothing.
    other = host.call("dvflag.register", registrar, address_no=free_people(host, 2)[1], input_date="2026-11-10")
    expect_refused(
        host,
        lambda: host.call(
            "dvflag.release", registrar, record_id=other.record_id, row_version=1, release_date="2026-11-09"
        ),
        error=ValidationError,
        code="invalid.before_input",
        action="release",
    )


def test_time_passing_releases_nothing(host: MockHost, clock: MutableClock) -> None:
    (number,) = free_people(host, 1)
    reg = host.call("dvflag.register", host.actor(REGISTRAR), address_no=number)
    before = snapshot(host.engine)
    for day in (date(2027, 11, 26), date(2031, 1, 1), date(2040, 4, 1)):
        clock.set_day(day)
        assert holders(host, host.actor(VIEWER), number) == [OWN]
        assert number in host.notices(host.actor(VIEWER), [number])
    assert snapshot(host.engine) == before
    row = registration_by_id(host.engine, reg.record_id)
    assert row.release_date is None
    assert row.row_version == 1
    items = host.call("dvflag.review_due", host.actor(REGISTRAR))
    assert [(i.registration.record_id, i.overdue) for i in items] == [(reg.record_id, True)]


# -- one row per (person, department): re-registration reopens it -----------------------------------


@pytest.mark.parametrize("reopen_day", [date(2026, 3, 1), date(2026, 11, 26)], ids=["release-day", "later"])
def test_reregistering_a_released_person_reopens_the_same_row(
    host: MockHost, clock: MutableClock, reopen_day: date
) -> None:
    (number,) = free_people(host, 1)
    registrar = host.actor(REGISTRAR)
    clock.set_day(date(2026, 1, 10))
    first = host.call("dvflag.register", registrar, address_no=number)
    clock.set_day(date(2026, 3, 1))
    released = host.call("dvflag.release", registrar, record_id=first.record_id, row_version=1)
    assert released.release_date == date(2026, 3, 1)
    clock.set_day(reopen_day)
    again, event = expect_one_event(host, lambda: host.call("dvflag.register", registrar, address_no=number))
    assert again.record_id == first.record_id
    assert again.input_date == reopen_day
    assert again.release_date is None
    assert again.row_version == released.row_version + 1
    assert event.details["reopened"] is True
    assert event.details["record_id"] == first.record_id
    rows = [r for r in registration_rows(host.engine) if r.address_no == number]
    assert len(rows) == 1
    assert holders(host, host.actor(VIEWER), number) == [OWN]
    # The history of the earlier period lives in the audit trail.
    actions = [(e.action, e.target) for e in committed_events(host.engine) if e.outcome == "ok"]
    assert ("release", f"record:{first.record_id}") in actions


def test_reregistering_an_active_person_is_a_duplicate_while_other_departments_may(host: MockHost) -> None:
    (number,) = free_people(host, 1)
    host.call("dvflag.register", host.actor(REGISTRAR), address_no=number)
    from dvflag_plugin.errors import DuplicateError

    expect_refused(
        host,
        lambda: host.call("dvflag.register", host.actor(REGISTRAR), address_no=number),
        error=DuplicateError,
        code="duplicate",
        action="register",
    )
    other = host.call("dvflag.register", host.actor(OTHER_REGISTRAR), address_no=number)
    assert other.dept_code == OTHER
    assert sorted(holders(host, host.actor(VIEWER), number)) == [OWN, OTHER]


# -- unrelease, delete, update ------------------------------------------------------------------------


def test_unrelease_only_by_the_holding_department_and_only_when_released(host: MockHost) -> None:
    (number,) = free_people(host, 1)
    registrar, outsider = host.actor(REGISTRAR), host.actor(OTHER_REGISTRAR)
    reg = host.call("dvflag.register", registrar, address_no=number, input_date="2026-10-01")
    expect_refused(
        host,
        lambda: host.call("dvflag.unrelease", registrar, record_id=reg.record_id, row_version=reg.row_version),
        error=StateError,
        code="state.not_released",
        action="unrelease",
    )
    rel = host.call("dvflag.release", registrar, record_id=reg.record_id, row_version=1, release_date="2026-11-01")
    expect_denied(
        host,
        lambda: host.call("dvflag.unrelease", outsider, record_id=reg.record_id, row_version=rel.row_version),
        code="dept.other",
        action="unrelease",
    )
    assert holders(host, host.actor(VIEWER), number) == []
    undone, event = expect_one_event(
        host, lambda: host.call("dvflag.unrelease", registrar, record_id=reg.record_id, row_version=rel.row_version)
    )
    assert undone.release_date is None
    assert undone.input_date == date(2026, 10, 1)
    assert undone.row_version == rel.row_version + 1
    assert event.details["undone_release_date"] == "2026-11-01"
    assert holders(host, host.actor(VIEWER), number) == [OWN]


def test_delete_needs_a_reason_code_and_keeps_an_event_without_the_name(host: MockHost, tmp_path: Path) -> None:
    (number,) = free_people(host, 1)
    person = host.data.person(number)
    registrar = host.actor(REGISTRAR)
    reg = host.call("dvflag.register", registrar, address_no=number)
    expect_refused(
        host,
        lambda: host.call("dvflag.delete", registrar, record_id=reg.record_id, row_version=1),
        error=ValidationError,
        code="invalid.required",
        action="delete",
    )
    expect_refused(
        host,
        lambda: host.call(
            "dvflag.delete", registrar, record_id=reg.record_id, row_version=1, reason="誤って登録したため"
        ),
        error=ValidationError,
        code="invalid.reason_code",
        action="delete",
    )
    expect_denied(
        host,
        lambda: host.call(
            "dvflag.delete", host.actor(OTHER_REGISTRAR), record_id=reg.record_id, row_version=1, reason="wrong_person"
        ),
        code="dept.other",
        action="delete",
    )
    assert set(DELETE_REASONS) >= {"mistaken_entry", "wrong_person"}
    result, event = expect_one_event(
        host,
        lambda: host.call("dvflag.delete", registrar, record_id=reg.record_id, row_version=1, reason="wrong_person"),
    )
    assert result == {"record_id": reg.record_id, "deleted": True}
    assert registration_by_id(host.engine, reg.record_id) is None
    assert holders(host, host.actor(VIEWER), number) == []
    assert (event.action, event.outcome, event.target) == ("delete", "ok", f"record:{reg.record_id}")
    assert event.details["reason"] == "wrong_person"
    committed = [e for e in committed_events(host.engine) if e.action == "delete" and e.outcome == "ok"]
    assert [e.seq for e in committed] == [event.seq]
    assert_no_personal_data([event], tmp_path / "audit.jsonl", [person.name], [person.birth_date])
    # A deleted registration leaves room for a fresh one.
    fresh = host.call("dvflag.register", registrar, address_no=number)
    assert (fresh.row_version, fresh.release_date) == (1, None)
    assert holders(host, host.actor(VIEWER), number) == [OWN]


def test_update_uses_optimistic_locking(host: MockHost) -> None:
    (number,) = free_people(host, 1)
    registrar = host.actor(REGISTRAR)
    reg = host.call("dvflag.register", registrar, address_no=number)
    # Two screens read version 1; the first to write wins.
    first, event = expect_one_event(
        host, lambda: host.call("dvflag.update", registrar, record_id=reg.record_id, row_version=1, sex_code=9)
    )
    assert (first.sex_code, first.row_version) == (9, 2)
    assert event.details["fields"] == ["sex_code"]
    expect_refused(
        host,
        lambda: host.call("dvflag.update", registrar, record_id=reg.record_id, row_version=1, sex_code=0),
        error=StaleVersionError,
        code="stale_version",
        action="update",
    )
    assert registration_by_id(host.engine, reg.record_id).sex_code == 9
    second = host.call("dvflag.update", registrar, record_id=reg.record_id, row_version=2, birth_date="昭和56年1月20日")
    assert second.birth_date == date(1981, 1, 20)
    assert second.row_version == 3
    # Only the holding department may correct the record.
    expect_denied(
        host,
        lambda: host.call(
            "dvflag.update", host.actor(OTHER_REGISTRAR), record_id=reg.record_id, row_version=3, sex_code=1
        ),
        code="dept.other",
        action="update",
    )


# -- the review list (見直し対象) ----------------------------------------------------------------------


def test_review_list_boundaries_default_period(host: MockHost) -> None:
    a, b, c, d, e, f, g = free_people(host, 7)
    seed_registrations(
        host,
        [
            Row(a, OWN, date(2025, 11, 25)),  # due 2026-11-25: overdue
            Row(b, OWN, date(2025, 11, 26)),  # due today: overdue
            Row(c, OWN, date(2025, 11, 27)),  # due tomorrow: alert
            Row(d, OWN, date(2025, 12, 26)),  # due today + 1 month: alert
            Row(e, OWN, date(2025, 12, 27)),  # due a day after the alert window: not listed
            Row(f, OWN, date(2024, 1, 1), date(2026, 1, 1)),  # released: not listed
            Row(g, OTHER, date(2024, 1, 1)),  # another department's: not in this list
        ],
    )
    items, event = expect_one_event(host, lambda: host.call("dvflag.review_due", host.actor(REGISTRAR)))
    assert [(i.registration.address_no, i.due_date, i.overdue) for i in items] == [
        (a, date(2026, 11, 25), True),
        (b, date(2026, 11, 26), True),
        (c, date(2026, 11, 27), False),
        (d, date(2026, 12, 26), False),
    ]
    assert (event.target, event.details["count"], event.details["overdue"]) == (f"dept:{OWN}", 4, 2)
    expect_denied(
        host,
        lambda: host.call("dvflag.review_due", host.actor(REGISTRAR), dept_code=OTHER),
        code="dept.other",
        action="review_due",
    )
    other_items = host.call("dvflag.review_due", host.actor(OTHER_REGISTRAR))
    assert [i.registration.address_no for i in other_items] == [g]


def test_review_list_is_computed_from_input_date_after_reopening(host: MockHost, clock: MutableClock) -> None:
    (number,) = free_people(host, 1)
    registrar = host.actor(REGISTRAR)
    clock.set_day(date(2025, 5, 10))
    reg = host.call("dvflag.register", registrar, address_no=number)
    clock.set_day(date(2025, 8, 1))
    host.call("dvflag.release", registrar, record_id=reg.record_id, row_version=reg.row_version)
    clock.set_day(date(2026, 6, 1))
    host.call("dvflag.register", registrar, address_no=number)  # reopened: a new input date
    clock.set_day(date(2027, 4, 30))
    assert host.call("dvflag.review_due", registrar) == ()
    clock.set_day(date(2027, 5, 1))
    (item,) = host.call("dvflag.review_due", registrar)
    assert (item.due_date, item.overdue) == (date(2027, 6, 1), False)


@pytest.mark.parametrize(
    ("settings", "today", "input_day", "listed", "due"),
    [
        # period 6 months, no alert window: due exactly today is listed, tomorrow is not.
        (
            {"dvflag.review_period_months": 6, "dvflag.review_alert_months": 0},
            date(2026, 11, 26),
            date(2026, 5, 26),
            True,
            date(2026, 11, 26),
        ),
        (
            {"dvflag.review_period_months": 6, "dvflag.review_alert_months": 0},
            date(2026, 11, 26),
            date(2026, 5, 27),
            False,
            None,
        ),
        # month ends: 29 February plus a year is 28 February; it is due within the window.
        ({}, date(2029, 1, 28), date(2028, 2, 29), True, date(2029, 2, 28)),
        # 31 August plus six months is 28 February: due within the window of 28 January.
        ({"dvflag.review_period_months": 6}, date(2027, 1, 28), date(2026, 8, 31), True, date(2027, 2, 28)),
        ({"dvflag.review_period_months": 6}, date(2027, 1, 27), date(2026, 8, 31), False, None),
    ],
    ids=["p6-due-today", "p6-due-tomorrow", "leap-day", "month-end", "month-end-before-window"],
)
def test_review_list_settings_and_month_ends(
    engine: sa.Engine,
    data: DummyDataSet,
    clock: MutableClock,
    tmp_path: Path,
    settings: dict[str, Any],
    today: date,
    input_day: date,
    listed: bool,
    due: date | None,
) -> None:
    h = make_host(engine, data, clock, tmp_path, settings=settings)
    try:
        (number,) = free_people(h, 1)
        seed_registrations(h, [Row(number, OWN, input_day)])
        clock.set_day(today)
        items = h.call("dvflag.review_due", h.actor(REGISTRAR))
        assert [(i.registration.address_no, i.due_date) for i in items] == ([(number, due)] if listed else [])
    finally:
        h.close()


# -- release advice ---------------------------------------------------------------------------------


def test_release_advice_lists_other_holders_and_is_safe_only_when_none(host: MockHost) -> None:
    number = (
        "000000040268728"  # in the dummy set: held by 子ども家庭課, 男女共同参画課, 生活福祉課; 保険年金課 released
    )
    rows = [Row(r.address_no, r.dept_code, r.input_date, r.release_date) for r in host.data.registrations]
    ids = seed_registrations(host, [r for r in rows if r.address_no == number])
    assert len(ids) == 4
    registrar = host.actor(REGISTRAR)

    (advice,), event = expect_one_event(host, lambda: host.advice(registrar, number))
    assert advice.safe is False
    assert advice.other_count == 2
    assert advice.details_withheld is False
    assert advice.other_holders == (
        Holding("D0301", "男女共同参画課", date(2026, 6, 29), None),
        Holding("D0401", "生活福祉課", date(2026, 8, 28), None),
    )
    assert (event.action, event.target, event.details["other_count"]) == ("advice", number, 2)

    # The department whose own registration was released sees all three holders.
    (hoken,) = host.advice(host.actor("u-hoken-reg1"), number)
    assert [h.dept_code for h in hoken.other_holders] == ["D0201", "D0301", "D0401"]
    assert [h.input_date for h in hoken.other_holders] == [date(2026, 5, 10), date(2026, 6, 29), date(2026, 8, 28)]

    for user, dept in (("u-danjo-reg1", "D0301"), ("u-seikatsu-reg1", "D0401")):
        host.call("dvflag.release", host.actor(user), record_id=ids[(number, dept)], row_version=1)
    (after,) = host.advice(registrar, number)
    assert (after.safe, after.other_count, after.other_holders) == (True, 0, ())
    # The actor's own holding does not make it unsafe for the actor; it does for everyone else.
    (outsider,) = host.advice(host.actor("u-hoken-reg1"), number)
    assert outsider.safe is False
    assert [h.dept_code for h in outsider.other_holders] == ["D0201"]


# -- no 氏名 or 生年月日 in the audit trail --------------------------------------------------------------


def birth_forms(day: date) -> set[str]:
    """ISO and common Japanese renderings of a birth date, as staff might type or a log might show."""
    y, m, d = day.year, day.month, day.day
    forms = {
        day.isoformat(),
        f"{y}/{m:02d}/{d:02d}",
        f"{y}/{m}/{d}",
        f"{y}{m:02d}{d:02d}",
        f"{y}年{m}月{d}日",
        f"{y}.{m}.{d}",
    }
    for era, letter, start in (("令和", "R", 2019), ("平成", "H", 1989), ("昭和", "S", 1926)):
        n = y - start + 1
        if 0 < n < 100:
            year_texts = [str(n)] + (["元"] if n == 1 else [])
            forms |= {f"{era}{t}年{m}月{d}日" for t in year_texts}
            forms |= {f"{letter}{n}.{m}.{d}", f"{letter}{n}.{m:02d}.{d:02d}"}
    return forms


def name_forms(name: str) -> set[str]:
    parts = [p for p in name.replace("\u3000", " ").split(" ") if len(p) >= 2]
    return {name, name.replace("\u3000", "").replace(" ", ""), *parts}


def event_text(event: AuditEvent) -> str:
    body = chain.event_body(event.seq, event.event_id, event.occurred_at, event)
    return chain.canonical_json({**body, "prev_hash": event.prev_hash, "hash": event.hash})


def assert_no_personal_data(
    events: list[AuditEvent], log_file: Path, names: list[str], births: list[date], typed: tuple[str, ...] = ()
) -> None:
    forbidden = set(typed)
    for name in names:
        forbidden |= name_forms(name)
    for day in births:
        forbidden |= birth_forms(day)
    assert events
    for event in events:
        text = event_text(event)
        leaked = sorted(f for f in forbidden if f in text)
        assert not leaked, f"audit event {event.seq} ({event.action}/{event.outcome}) carries {leaked}: {text}"
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert lines
    for line in lines:
        json.loads(line)
        leaked = sorted(f for f in forbidden if f in line)
        assert not leaked, f"audit log line carries {leaked}: {line}"


def test_audit_events_never_carry_name_or_birth_date(host: MockHost, tmp_path: Path) -> None:
    registrar, outsider = host.actor(REGISTRAR), host.actor(OTHER_REGISTRAR)
    viewer, auditor = host.actor(VIEWER), host.actor("u-kansa-audit1")
    tsuchiya = host.data.person("000000072493016")  # born 令和元年5月1日 (in the address master)
    suzuki = host.data.person("000000099045166")  # born 昭和56年1月20日 (住登外: entered by hand)
    assert tsuchiya.birth_date == date(2019, 5, 1)
    assert not suzuki.in_master
    typed = ("平成31年5月1日", "S56.1.20", "昭和56年2月30日", "2099-01-01")

    def attempt(call: Any) -> Any:
        try:
            return call()
        except DvflagError as err:
            return err

    t = host.call("dvflag.register", registrar, address_no=tsuchiya.address_no)
    s = host.call(
        "dvflag.register",
        registrar,
        address_no=suzuki.address_no,
        name=suzuki.name,
        sex_code=suzuki.sex_code,
        birth_date="昭和56年1月20日",
    )
    assert s.birth_date == suzuki.birth_date
    assert s.name == suzuki.name
    steps = [
        # a staff member types the old era for a 令和 birthday; a duplicate; impossible dates; the future
        lambda: host.call(
            "dvflag.update", registrar, record_id=t.record_id, row_version=1, birth_date="平成31年5月1日"
        ),
        lambda: host.call(
            "dvflag.register",
            registrar,
            address_no=suzuki.address_no,
            name=suzuki.name,
            sex_code=suzuki.sex_code,
            birth_date="S56.1.20",
        ),
        lambda: host.call(
            "dvflag.update", registrar, record_id=s.record_id, row_version=1, birth_date="昭和56年2月30日"
        ),
        lambda: host.call("dvflag.update", registrar, record_id=s.record_id, row_version=1, birth_date="2099-01-01"),
        lambda: host.call(
            "dvflag.update", registrar, record_id=s.record_id, row_version=1, name=suzuki.name, birth_date="1981-01-20"
        ),
        lambda: host.call("dvflag.update", outsider, record_id=s.record_id, row_version=2, name=suzuki.name),
        lambda: host.call("dvflag.search", viewer, name="すずき　まゆみ"),
        lambda: host.call("dvflag.search", viewer, name=suzuki.name, birth_date="昭和56年1月20日"),
        lambda: host.call("dvflag.search", viewer, birth_date="R1.5.1", state="all"),
        lambda: host.call("dvflag.search", viewer, birth_date="昭和56年2月30日"),
        lambda: host.call("dvflag.status", viewer, address_no=suzuki.address_no),
        lambda: host.notices(viewer, [tsuchiya.address_no, suzuki.address_no]),
        lambda: host.advice(outsider, suzuki.address_no),
        lambda: host.call("dvflag.review_due", registrar),
        lambda: host.call("dvflag.release", registrar, record_id=t.record_id, row_version=1),
        lambda: host.call("dvflag.unrelease", registrar, record_id=t.record_id, row_version=2),
        lambda: host.call("dvflag.delete", registrar, record_id=s.record_id, row_version=2, reason="mistaken_entry"),
        lambda: host.call("dvflag.audit", auditor, op="read"),
        lambda: host.call("dvflag.audit", auditor, op="verify"),
    ]
    outcomes = [attempt(step) for step in steps]
    refused = [type(o).__name__ for o in outcomes if isinstance(o, DvflagError)]
    assert refused == [
        "ValidationError",
        "DuplicateError",
        "ValidationError",
        "ValidationError",
        "PermissionDenied",
        "ValidationError",
    ]
    found = outcomes[7]
    assert [r.address_no for r in found.rows] == [suzuki.address_no]
    events = committed_events(host.engine)
    assert len(events) == 2 + len(steps)
    assert [e.hash for e in events] == [e.hash for e in host.masters.audit_copy]
    assert {e.outcome for e in events} == {"ok", "error", "denied"}
    assert_no_personal_data(
        events,
        tmp_path / "audit.jsonl",
        [tsuchiya.name, suzuki.name],
        [tsuchiya.birth_date, suzuki.birth_date],
        typed,
    )
    assert isinstance(outcomes[5], PermissionDenied)


def test_a_deleted_records_id_is_never_given_again(host: MockHost) -> None:
    """`record:N` in the audit trail must name one registration for ever (SQLite reused ids before)."""
    registrar = host.actor("u-kodomo-reg1")
    numbers = [p.address_no for p in host.data.people if p.in_master][:2]
    first = host.call("dvflag.register", registrar, address_no=numbers[0])
    host.call(
        "dvflag.delete", registrar, record_id=first.record_id, row_version=first.row_version,
        reason="mistaken_entry"
    )
    second = host.call("dvflag.register", registrar, address_no=numbers[1])
    assert second.record_id != first.record_id
