"""Issue 8 #12: nothing accepted is dropped. For every host function, every parameter it accepts
changes what it should (a parameter added without a check here fails the coverage test)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from dvflag_hookspecs import Actor
from dvflag_plugin.errors import DvflagError, PermissionDenied, StaleVersionError
from dvflag_plugin.mockhost import MockHost
from helpers import Row, registration_by_id, seed_registrations

REG, VIEW, ADMIN = "u-kodomo-reg1", "u-kodomo-view1", "u-joho-admin1"
AUDITOR, SUPER = "u-kansa-audit1", "u-soumu-super1"
OWN, OTHER = "D0201", "D0301"


@pytest.fixture
def host(staffed_host: MockHost) -> MockHost:
    return staffed_host


def call(host: MockHost, fid: str, user: str, **params: Any) -> Any:
    return host.call(f"dvflag.{fid}", host.actor(user), **params)


def people(host: MockHost, n: int, *, in_master: bool = True) -> list[Any]:
    return [p for p in host.data.people if p.in_master is in_master][:n]


def seeded(host: MockHost) -> dict[str, Any]:
    """Own active (A), own released (R), other department's active (O)."""
    a, r, o, b = people(host, 4)
    ids = seed_registrations(
        host,
        [
            Row(a.address_no, OWN, date(2025, 4, 1)),
            Row(r.address_no, OWN, date(2025, 6, 1), date(2026, 10, 1)),
            Row(o.address_no, OTHER, date(2026, 5, 1)),
            Row(b.address_no, OWN, date(2026, 6, 1)),
        ],
    )
    return {"A": a, "R": r, "O": o, "B": b, "a": ids[(a.address_no, OWN)], "r": ids[(r.address_no, OWN)]}


def rows_of(result: Any) -> set[str]:
    return {r.address_no for r in result.rows}


# -- one check per (function, parameter) -----------------------------------------------------------


def register_params(host: MockHost) -> set[str]:
    person = people(host, 1, in_master=False)[0]
    del host.masters.departments[OWN]  # the organisation master cannot resolve: dept_name is used
    reg = call(
        host, "register", REG, address_no=person.address_no, name="試験\u3000花子", sex_code=2,
        birth_date="2001-02-03", dept_code=OWN, dept_name="子ども家庭課（旧）", input_date="2026-11-01",
    )
    row = registration_by_id(host.engine, reg.record_id)
    assert (row.address_no, row.name, row.sex_code, row.birth_date) == (
        person.address_no, "試験\u3000花子", 2, date(2001, 2, 3)
    )
    assert (row.dept_code, row.dept_name, row.input_date) == (OWN, "子ども家庭課（旧）", date(2026, 11, 1))
    with pytest.raises(PermissionDenied):  # dept_code is the department written, so another one is denied
        call(host, "register", REG, address_no=people(host, 1)[0].address_no, dept_code=OTHER)
    return {"address_no", "name", "sex_code", "birth_date", "dept_code", "dept_name", "input_date"}


def update_params(host: MockHost) -> set[str]:
    s = seeded(host)
    with pytest.raises(StaleVersionError):
        call(host, "update", REG, record_id=s["a"], row_version=2, sex_code=9)
    reg = call(host, "update", REG, record_id=s["a"], row_version=1, name="変更\u3000後", sex_code=9,
               birth_date="1990-01-01")
    row = registration_by_id(host.engine, s["a"])
    assert (row.name, row.sex_code, row.birth_date, row.row_version) == ("変更\u3000後", 9, date(1990, 1, 1), 2)
    assert registration_by_id(host.engine, s["r"]).row_version == 1 and reg.record_id == s["a"]
    return {"record_id", "row_version", "name", "sex_code", "birth_date"}


def release_params(host: MockHost) -> set[str]:
    s = seeded(host)
    with pytest.raises(StaleVersionError):
        call(host, "release", REG, record_id=s["a"], row_version=3)
    call(host, "release", REG, record_id=s["a"], row_version=1, release_date="2026-11-02")
    assert registration_by_id(host.engine, s["a"]).release_date == date(2026, 11, 2)
    return {"record_id", "row_version", "release_date"}


def unrelease_params(host: MockHost) -> set[str]:
    s = seeded(host)
    with pytest.raises(StaleVersionError):
        call(host, "unrelease", REG, record_id=s["r"], row_version=5)
    call(host, "unrelease", REG, record_id=s["r"], row_version=1)
    assert registration_by_id(host.engine, s["r"]).release_date is None
    assert registration_by_id(host.engine, s["a"]).release_date is None
    return {"record_id", "row_version"}


def delete_params(host: MockHost) -> set[str]:
    s = seeded(host)
    with pytest.raises(StaleVersionError):
        call(host, "delete", REG, record_id=s["a"], row_version=2, reason="duplicate_entry")
    call(host, "delete", REG, record_id=s["a"], row_version=1, reason="duplicate_entry")
    assert registration_by_id(host.engine, s["a"]) is None and registration_by_id(host.engine, s["r"]) is not None
    assert host.masters.audit_copy[-1].details["reason"] == "duplicate_entry"
    return {"record_id", "row_version", "reason"}


def status_params(host: MockHost) -> set[str]:
    s = seeded(host)
    assert call(host, "status", VIEW, address_no=s["A"].address_no).held
    assert not call(host, "status", VIEW, address_no=s["R"].address_no).held
    return {"address_no"}


def search_params(host: MockHost) -> set[str]:
    s = seeded(host)
    a, r, o, b = s["A"], s["R"], s["O"], s["B"]
    assert rows_of(call(host, "search", VIEW, address_no=o.address_no)) == {o.address_no}
    assert a.address_no in rows_of(call(host, "search", VIEW, name=a.name))
    assert a.address_no in rows_of(call(host, "search", VIEW, birth_date=a.birth_date.isoformat()))
    assert rows_of(call(host, "search", REG, dept_code=OWN)) == {a.address_no, b.address_no}
    assert rows_of(call(host, "search", REG, state="released")) == {r.address_no}
    assert rows_of(call(host, "search", REG, state="all")) == {a.address_no, r.address_no, b.address_no}
    assert rows_of(call(host, "search", REG, input_from="2026-01-01")) == {b.address_no}
    assert rows_of(call(host, "search", REG, input_to="2026-01-01")) == {a.address_no}
    limited = call(host, "search", REG, limit=1)
    assert (len(limited.rows), limited.truncated) == (1, True)
    return {"address_no", "name", "birth_date", "dept_code", "state", "input_from", "input_to", "limit"}


def export_params(host: MockHost) -> set[str]:
    s = seeded(host)
    own = call(host, "export", REG)
    assert (own.format, own.row_count) == ("csv", 2)
    assert call(host, "export", REG, format="xlsx").format == "xlsx"
    assert call(host, "export", SUPER, scope="all").row_count == 3
    assert call(host, "export", SUPER, scope="all", dept_code=OTHER).row_count == 1
    assert call(host, "export", REG, state="released").row_count == 1
    assert call(host, "export", REG, input_from="2026-01-01").row_count == 1
    assert call(host, "export", REG, input_to="2026-01-01").row_count == 1
    assert not call(host, "export", REG, encoding="cp932").content.startswith(b"\xef\xbb\xbf")
    assert own.content.startswith(b"\xef\xbb\xbf")
    assert call(host, "export", REG, encoding="cp932", strict=False).media_type.endswith("Windows-31J")
    assert host.masters.audit_copy[-1].details["strict"] is False
    call(host, "export", REG, encoding="cp932", strict=True)
    assert host.masters.audit_copy[-1].details["strict"] is True
    assert s["a"]
    return {"format", "scope", "state", "dept_code", "input_from", "input_to", "encoding", "strict"}


def review_due_params(host: MockHost) -> set[str]:
    seeded(host)
    assert [i.registration.dept_code for i in call(host, "review_due", REG, dept_code=OWN)] == [OWN]
    with pytest.raises(PermissionDenied):
        call(host, "review_due", REG, dept_code=OTHER)
    return {"dept_code"}


def users_params(host: MockHost) -> set[str]:
    added = call(host, "users", ADMIN, op="add", user_id="u-new1", dept_code=OWN, roles=["viewer"],
                 valid_from="2026-01-01", valid_to="2027-03-31", enabled=False)
    assert (added.dept_code, added.roles, added.valid_from, added.valid_to, added.enabled) == (
        OWN, frozenset({"viewer"}), date(2026, 1, 1), date(2027, 3, 31), False
    )
    with pytest.raises(PermissionDenied) as info:  # created disabled: it does not work
        host.call("dvflag.status", Actor("u-new1", OWN), address_no="1")
    assert info.value.code == "user.disabled"
    got = call(host, "users", ADMIN, op="get", user_id="u-new1")
    assert got == added
    with pytest.raises(StaleVersionError):
        call(host, "users", ADMIN, op="update", user_id="u-new1", enabled=True, row_version=9)
    up = call(host, "users", ADMIN, op="update", user_id="u-new1", enabled=True, dept_code=OTHER, row_version=1)
    assert (up.enabled, up.dept_code) == (True, OTHER)
    assert host.call("dvflag.status", Actor("u-new1", OTHER), address_no="1").held is False
    assert call(host, "users", ADMIN, op="roles", user_id="u-new1", roles=["registrar"]).roles == {"registrar"}
    assert call(host, "users", ADMIN, op="disable", user_id="u-new1").enabled is False
    assert call(host, "users", ADMIN, op="enable", user_id="u-new1").enabled is True
    assert "u-new1" in {u.user_id for u in call(host, "users", ADMIN, op="list")}
    return {"op", "user_id", "dept_code", "roles", "valid_from", "valid_to", "enabled", "row_version"}


def audit_params(host: MockHost) -> set[str]:
    seeded(host)
    call(host, "status", VIEW, address_no="1")
    call(host, "users", ADMIN, op="list")
    events = call(host, "audit", AUDITOR, op="read")
    later = [e.seq for e in call(host, "audit", AUDITOR, op="read", from_seq=2)]
    assert later[: len(events) - 1] == [e.seq for e in events][1:] and later[0] == 2
    assert len(call(host, "audit", AUDITOR, op="read", limit=1)) == 1
    assert {e.action for e in call(host, "audit", AUDITOR, op="read", action="users")} == {"users"}
    assert {e.actor_id for e in call(host, "audit", AUDITOR, op="read", actor_id=VIEW)} == {VIEW}
    head = call(host, "audit", AUDITOR, op="checkpoint")
    assert call(host, "audit", AUDITOR, checkpoint_seq=head["seq"], checkpoint_hash=head["hash"]).ok
    assert not call(host, "audit", AUDITOR, checkpoint_seq=head["seq"], checkpoint_hash="0" * 64).ok
    return {"op", "from_seq", "limit", "action", "actor_id", "checkpoint_seq", "checkpoint_hash"}


CHECKS: dict[str, Callable[[MockHost], set[str]]] = {
    "dvflag.register": register_params, "dvflag.update": update_params, "dvflag.release": release_params,
    "dvflag.unrelease": unrelease_params, "dvflag.delete": delete_params, "dvflag.status": status_params,
    "dvflag.search": search_params, "dvflag.export": export_params, "dvflag.review_due": review_due_params,
    "dvflag.users": users_params, "dvflag.audit": audit_params,
}


@pytest.mark.parametrize("function_id", sorted(CHECKS))
def test_every_accepted_parameter_has_its_effect(host: MockHost, function_id: str) -> None:
    covered = CHECKS[function_id](host)
    assert covered == set(host.functions()[function_id].params), "a parameter is accepted but never checked"


def test_every_function_is_covered(host: MockHost) -> None:
    assert set(CHECKS) == set(host.functions())


def test_a_parameter_an_op_does_not_use_is_refused_not_ignored(host: MockHost) -> None:
    for params in ({"op": "list", "user_id": VIEW}, {"op": "disable", "user_id": VIEW, "roles": ["viewer"]},
                   {"op": "get", "user_id": VIEW, "enabled": True}):
        with pytest.raises(DvflagError) as info:
            call(host, "users", ADMIN, **params)
        assert info.value.code == "invalid.not_applicable"
