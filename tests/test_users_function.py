"""利用者管理 through the host function ``dvflag.users`` (DESIGN §5, issue 2 item 6), on every backend.

list / get / add / update / roles / disable / enable, each audited as one 'users' event; unknown
roles refused; a user_admin cannot change its own roles; validity dates take effect on their days.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_hookspecs import Actor, UserAccount
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import DuplicateError, NotFoundError, StaleVersionError, ValidationError
from dvflag_plugin.mockhost import MockHost, MutableClock
from helpers import expect_denied, expect_one_event, expect_refused, make_host, snapshot

ADMIN = "u-joho-admin1"
ADMIN2 = "u-joho-admin2"
NUMBER = "000000000001330"  # a dummy person of the address master


@pytest.fixture
def host(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> Iterator[MockHost]:
    h = make_host(engine, data, clock, tmp_path)
    try:
        yield h
    finally:
        h.close()


def users(host: MockHost, actor: Actor | None = None, **params: Any) -> Any:
    return host.call("dvflag.users", actor or host.actor(ADMIN), **params)


def test_list_and_get(host: MockHost) -> None:
    accounts, event = expect_one_event(host, lambda: users(host, op="list"))
    assert [a.user_id for a in accounts] == sorted(s.user_id for s in host.data.staff)
    assert (event.action, event.outcome, event.target) == ("users", "ok", None)
    assert (event.details["op"], event.details["count"]) == ("list", len(host.data.staff))
    account, event = expect_one_event(host, lambda: users(host, op="get", user_id="u-hoken-moved1"))
    assert account == UserAccount(
        user_id="u-hoken-moved1",
        dept_code="D0103",
        roles=frozenset({"registrar"}),
        enabled=True,
        valid_from=date(2025, 4, 1),
        valid_to=None,
        row_version=1,
    )
    assert (event.target, event.details["op"]) == ("user:u-hoken-moved1", "get")
    expect_refused(
        host,
        lambda: users(host, op="get", user_id="u-nobody"),
        error=NotFoundError,
        code="not_found.user",
        action="users",
    )


def test_add_user_then_it_may_act(host: MockHost) -> None:
    new = Actor("u-zeimu-view9", "D0102")
    expect_denied(
        host, lambda: host.call("dvflag.status", new, address_no=NUMBER), code="user.unknown", action="status"
    )
    account, event = expect_one_event(
        host, lambda: users(host, op="add", user_id=new.user_id, dept_code="D0102", roles=["viewer"])
    )
    assert account.roles == frozenset({"viewer"})
    assert (account.enabled, account.valid_from, account.valid_to) == (True, date(2026, 11, 26), None)
    assert (event.target, event.details["op"], event.details["roles"]) == ("user:u-zeimu-view9", "add", ["viewer"])
    status = host.call("dvflag.status", new, address_no=NUMBER)
    assert status.holdings == ()
    expect_denied(
        host, lambda: host.call("dvflag.register", new, address_no=NUMBER), code="role.missing", action="register"
    )
    expect_refused(
        host,
        lambda: users(host, op="add", user_id=new.user_id, dept_code="D0102", roles=["viewer"]),
        error=DuplicateError,
        code="duplicate.user",
        action="users",
    )


@pytest.mark.parametrize("roles", [["viewer", "superuser"], "viewer,admin", ["Registrar"]])
def test_unknown_role_is_refused(host: MockHost, roles: Any) -> None:
    err, _ = expect_refused(
        host,
        lambda: users(host, op="add", user_id="u-new1", dept_code="D0102", roles=roles),
        error=ValidationError,
        code="invalid.unknown_role",
        action="users",
    )
    assert err.field == "roles"
    assert "ロール" in err.message
    expect_refused(
        host,
        lambda: users(host, op="roles", user_id="u-kodomo-view1", roles=roles),
        error=ValidationError,
        code="invalid.unknown_role",
        action="users",
    )


def test_roles_change_takes_effect_and_is_audited(host: MockHost) -> None:
    viewer = host.actor("u-kodomo-view1")
    expect_denied(
        host, lambda: host.call("dvflag.register", viewer, address_no=NUMBER), code="role.missing", action="register"
    )
    account, event = expect_one_event(
        host, lambda: users(host, op="roles", user_id=viewer.user_id, roles="viewer, registrar", row_version=1)
    )
    assert account.roles == frozenset({"viewer", "registrar"})
    assert account.row_version == 2
    assert (event.target, event.details["op"], event.details["roles"]) == (
        "user:u-kodomo-view1",
        "roles",
        ["registrar", "viewer"],
    )
    reg = host.call("dvflag.register", viewer, address_no=NUMBER)
    assert reg.dept_code == viewer.dept_code
    # Removing every role leaves a registered user who may do nothing guarded.
    users(host, op="roles", user_id=viewer.user_id, roles=[])
    expect_denied(
        host, lambda: host.call("dvflag.status", viewer, address_no=NUMBER), code="role.missing", action="status"
    )


def test_user_admin_cannot_change_own_roles(host: MockHost) -> None:
    admin = host.actor(ADMIN)
    for roles in (["user_admin", "supervisor"], [], ["auditor"]):
        expect_denied(
            host,
            lambda r=roles: users(host, admin, op="roles", user_id=ADMIN, roles=r),
            code="users.own_roles",
            action="users",
        )
    account = users(host, host.actor(ADMIN2), op="roles", user_id=ADMIN, roles=["user_admin", "auditor"])
    assert account.roles == frozenset({"user_admin", "auditor"})


def test_disable_and_enable(host: MockHost) -> None:
    viewer = host.actor("u-kodomo-view1")
    account, event = expect_one_event(host, lambda: users(host, op="disable", user_id=viewer.user_id))
    assert account.enabled is False
    assert (event.target, event.details["op"]) == ("user:u-kodomo-view1", "disable")
    expect_denied(
        host, lambda: host.call("dvflag.status", viewer, address_no=NUMBER), code="user.disabled", action="status"
    )
    account, event = expect_one_event(host, lambda: users(host, op="enable", user_id=viewer.user_id))
    assert account.enabled is True
    assert event.details["op"] == "enable"
    assert host.call("dvflag.status", viewer, address_no=NUMBER).holdings == ()


def test_update_department_and_validity_dates(host: MockHost, clock: MutableClock) -> None:
    viewer = host.actor("u-kodomo-view1")  # D0201, valid from 2025-04-01
    account, event = expect_one_event(
        host, lambda: users(host, op="update", user_id=viewer.user_id, valid_to="令和8年11月30日", row_version=1)
    )
    assert (account.valid_to, account.row_version) == (date(2026, 11, 30), 2)
    assert event.details["fields"] == ["valid_to"]
    clock.set_day(date(2026, 11, 30))
    assert host.call("dvflag.status", viewer, address_no=NUMBER).as_of == date(2026, 11, 30)
    clock.set_day(date(2026, 12, 1))
    expect_denied(
        host, lambda: host.call("dvflag.status", viewer, address_no=NUMBER), code="user.expired", action="status"
    )
    clock.set_day(date(2026, 11, 26))
    # Moving the registry entry to another department: the host still reports the old one.
    users(host, op="update", user_id=viewer.user_id, dept_code="D0202")
    expect_denied(
        host, lambda: host.call("dvflag.status", viewer, address_no=NUMBER), code="user.dept_mismatch", action="status"
    )
    assert host.call("dvflag.status", Actor(viewer.user_id, "D0202"), address_no=NUMBER).holdings == ()


def test_validity_dates_on_add(host: MockHost, clock: MutableClock) -> None:
    new = Actor("u-temp-view1", "D0104")
    expect_refused(
        host,
        lambda: users(
            host,
            op="add",
            user_id=new.user_id,
            dept_code="D0104",
            roles=["viewer"],
            valid_from="2027-04-01",
            valid_to="2027-03-31",
        ),
        error=ValidationError,
        code="invalid.range",
        action="users",
    )
    account = users(
        host,
        op="add",
        user_id=new.user_id,
        dept_code="D0104",
        roles=["viewer"],
        valid_from="令和9年4月1日",
        valid_to="2028-03-31",
    )
    assert (account.valid_from, account.valid_to) == (date(2027, 4, 1), date(2028, 3, 31))
    for day, reason in (
        (date(2027, 3, 31), "user.not_yet_valid"),
        (date(2027, 4, 1), None),
        (date(2028, 3, 31), None),
        (date(2028, 4, 1), "user.expired"),
    ):
        clock.set_day(day)
        if reason is None:
            assert host.call("dvflag.status", new, address_no=NUMBER).as_of == day
        else:
            expect_denied(
                host, lambda: host.call("dvflag.status", new, address_no=NUMBER), code=reason, action="status"
            )
    clock.set_day(date(2026, 11, 26))
    expect_refused(
        host,
        lambda: users(host, op="update", user_id=new.user_id, valid_to="2027-01-01"),
        error=ValidationError,
        code="invalid.range",
        action="users",
    )


def test_stale_row_version_and_bad_requests(host: MockHost) -> None:
    users(host, op="disable", user_id="u-kodomo-view1", row_version=1)
    expect_refused(
        host,
        lambda: users(host, op="enable", user_id="u-kodomo-view1", row_version=1),
        error=StaleVersionError,
        code="stale_version",
        action="users",
    )
    expect_refused(
        host,
        lambda: users(host, op="purge", user_id="u-kodomo-view1"),
        error=ValidationError,
        code="invalid.choice",
        action="users",
    )
    expect_refused(
        host,
        lambda: users(host, op="add", user_id="u-x", dept_code="D0102", roles=["viewer"], note="x"),
        error=ValidationError,
        code="invalid.unknown_field",
        action="users",
    )
    expect_refused(
        host,
        lambda: users(host, op="update", user_id="u-kodomo-view1"),
        error=ValidationError,
        code="invalid.required",
        action="users",
    )
    expect_refused(
        host,
        lambda: users(host, op="add", user_id="", dept_code="D0102"),
        error=ValidationError,
        code="invalid.required",
        action="users",
    )


@pytest.mark.parametrize("user", ["u-kodomo-reg1", "u-soumu-super1", "u-kansa-audit1", "u-kodomo-disabled1"])
def test_only_user_admin_may_manage_users(host: MockHost, user: str) -> None:
    actor = host.actor(user)
    reason = "user.disabled" if user == "u-kodomo-disabled1" else "role.missing"
    before = snapshot(host.engine)
    for params in (
        {"op": "list"},
        {"op": "roles", "user_id": user, "roles": ["user_admin"]},
        {"op": "add", "user_id": "u-sneaky", "dept_code": "D0102", "roles": ["registrar"]},
    ):
        expect_denied(host, lambda p=params: users(host, actor, **p), code=reason, action="users")
    assert snapshot(host.engine) == before


def test_every_users_call_is_one_audit_event(host: MockHost) -> None:
    start = len(host.masters.audit_copy)
    users(host, op="list")
    users(host, op="add", user_id="u-new2", dept_code="D0102", roles=["viewer"])
    users(host, op="roles", user_id="u-new2", roles=["viewer", "registrar"])
    users(host, op="disable", user_id="u-new2")
    users(host, op="enable", user_id="u-new2")
    users(host, op="update", user_id="u-new2", valid_to="2027-03-31")
    users(host, op="get", user_id="u-new2")
    events = host.masters.audit_copy[start:]
    assert [(e.action, e.outcome, e.details["op"]) for e in events] == [
        ("users", "ok", op) for op in ("list", "add", "roles", "disable", "enable", "update", "get")
    ]
    assert {e.actor_id for e in events} == {ADMIN}
    verify = host.call("dvflag.audit", host.actor("u-kansa-audit1"), op="verify")
    assert verify.ok
    assert verify.checked == len(events)


# -- attest: one event with the digest of every account (verify's baseline) ------------------------


def test_attest_records_every_accounts_digest_in_one_event_without_names(host: MockHost) -> None:
    from dvflag_plugin.audit.account_digest import account_digest

    before = snapshot(host.engine)
    accounts, event = expect_one_event(host, lambda: users(host, op="attest"))
    assert snapshot(host.engine) == before  # attests, changes nothing
    assert [a.user_id for a in accounts] == sorted(s.user_id for s in host.data.staff)
    assert (event.action, event.outcome, event.target) == ("users", "ok", None)
    assert (event.details["op"], event.details["count"]) == ("attest", len(host.data.staff))
    expected = {a.user_id: account_digest(a.user_id, a.dept_code, a.roles, a.enabled, a.valid_from, a.valid_to)
                for a in accounts}  # fmt: skip
    assert event.details["accounts"] == expected
    assert set(event.details) <= {"op", "count", "accounts", "auth"}  # user ids and digests only
    text = repr(event.details)
    assert not any(p.name in text for p in host.data.people)


@pytest.mark.parametrize("user_id", ["u-zeimu-view1", "u-kodomo-reg1", "u-soumu-super1", "u-kansa-audit1"])
def test_attest_is_denied_to_everyone_but_a_user_admin(host: MockHost, user_id: str) -> None:
    event = expect_denied(host, lambda: users(host, host.actor(user_id), op="attest"), code="role.missing",
                          action="users")  # fmt: skip
    assert "accounts" not in event.details


def test_attest_takes_no_other_parameter(host: MockHost) -> None:
    expect_refused(host, lambda: users(host, op="attest", user_id="u-zeimu-view1"), error=ValidationError,
                   code="invalid.not_applicable", action="users")  # fmt: skip
