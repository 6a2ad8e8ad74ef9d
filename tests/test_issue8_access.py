"""Issue 8, access control: exact user ids, a host that fails closed, separation of duties,
permission before input, row_version for every change. On every backend."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pytest

from dvflag_hookspecs import Actor
from dvflag_plugin.errors import PermissionDenied, ValidationError
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.service.runtime import INVALID_ACTOR
from helpers import Row, expect_denied, expect_refused, mostly_on_sqlite, seed_registrations, snapshot

ADMIN, ADMIN2 = "u-joho-admin1", "u-joho-admin2"
REGISTRAR, VIEWER = "u-kodomo-reg1", "u-kodomo-view1"


@pytest.fixture
def host(staffed_host: MockHost) -> MockHost:
    return staffed_host


def _held(host: MockHost) -> tuple[str, int]:
    number = next(p.address_no for p in host.data.people if p.in_master)
    ids = seed_registrations(host, [Row(number, "D0201", date(2026, 4, 1))])
    return number, ids[(number, "D0201")]


# -- 1. exact user ids --------------------------------------------------------------------------


SPOOFED = [
    "u-joho-admin1 ",  # MariaDB PAD SPACE matched this to u-joho-admin1
    " u-joho-admin1",
    "u-joho-admin1\u00a0",  # NBSP
    "u-joho-admin1\u3000",  # full-width space
    "u-joho-admin1\t",
    "\u202eu-joho-admin1",  # bidi override
    "u-joho-admin1\u200b",  # zero-width space
    "U-JOHO-ADMIN1",
    "",
]


@pytest.mark.parametrize("user_id", SPOOFED)
def test_a_look_alike_user_id_is_refused_before_anything_and_audited_with_a_placeholder(
    host: MockHost, user_id: str
) -> None:
    before = snapshot(host.engine)
    with pytest.raises(PermissionDenied) as info:
        host.call("dvflag.users", Actor(user_id, "D0802"), op="roles", user_id=ADMIN, roles=["auditor"])
    assert info.value.code in ("actor.invalid", "user.unknown")
    assert snapshot(host.engine) == before
    event = host.masters.audit_copy[-1]
    assert event.outcome == "denied"
    if info.value.code == "actor.invalid":
        assert (event.actor_id, event.actor_dept) == (INVALID_ACTOR.user_id, INVALID_ACTOR.dept_code)
    if user_id != user_id.strip() or not user_id.isascii():
        assert info.value.code == "actor.invalid"


@pytest.mark.parametrize("bad", mostly_on_sqlite([None, 42, ("u-joho-admin1",), b"u-joho-admin1"]))
def test_an_actor_of_the_wrong_type_is_refused_not_a_crash(host: MockHost, bad: Any) -> None:
    before = len(host.masters.audit_copy)
    with pytest.raises(PermissionDenied) as info:
        host.call("dvflag.status", Actor(bad, "D0201"), address_no="1")
    assert info.value.code == "actor.invalid"
    assert len(host.masters.audit_copy) == before + 1
    assert host.masters.audit_copy[-1].actor_id == INVALID_ACTOR.user_id
    with pytest.raises(PermissionDenied):
        host.call("dvflag.status", Actor("u-kodomo-view1", bad), address_no="1")
    svc_host_bad = host.functions()["dvflag.status"]
    with pytest.raises(PermissionDenied):
        svc_host_bad.call(bad, {"address_no": "1"})


def test_the_registry_lookup_is_exact_even_behind_the_validation(host: MockHost) -> None:
    """The query compares bytes (no PAD SPACE) and the fetched id is compared again."""
    from dvflag_plugin.service.runtime import _account_by_user_id, load_account

    with host.engine.connect() as conn:
        assert conn.execute(_account_by_user_id, {"user_id": ADMIN + " "}).first() is None  # in SQL already
        assert conn.execute(_account_by_user_id, {"user_id": ADMIN}).first() is not None
        assert load_account(conn, ADMIN) is not None
        assert load_account(conn, ADMIN + " ") is None
        assert load_account(conn, ADMIN + "  ") is None
    with pytest.raises(ValidationError) as info:
        host.call("dvflag.users", host.actor(ADMIN2), op="get", user_id=ADMIN + " ")
    assert info.value.field == "user_id"


def test_users_refuses_a_look_alike_id_to_store(host: MockHost) -> None:
    for bad in ("u-new ", "u-new\u00a0", "\u202eu-new", "u new", "ｕ-new"):
        expect_refused(
            host,
            lambda bad=bad: host.call("dvflag.users", host.actor(ADMIN), op="add", user_id=bad, dept_code="D0201"),
            error=ValidationError,
            code="invalid.code_syntax",
            action="users",
        )


# -- 2. the host's authorization fails closed -----------------------------------------------------


@pytest.mark.parametrize("answer", mostly_on_sqlite([0, "", [], "no", "yes", object(), 1]))
def test_a_malformed_host_answer_denies(host: MockHost, answer: Any, caplog: pytest.LogCaptureFixture) -> None:
    number, _ = _held(host)
    host.masters.denials[(VIEWER, "status")] = answer
    caplog.set_level(logging.DEBUG, logger="dvflag")
    for _ in range(2):
        expect_denied(
            host,
            lambda: host.call("dvflag.status", host.actor(VIEWER), address_no=number),
            code="host.invalid_answer",
            action="status",
        )
    logged = [r for r in caplog.records if "dvflag_authorize" in r.getMessage()]
    assert len(logged) == 1  # the host's mistake is logged once
    assert number not in logged[0].getMessage()


def test_true_allows_and_none_abstains(host: MockHost) -> None:
    number, _ = _held(host)
    for answer in (True, None):
        host.masters.denials[(VIEWER, "status")] = answer
        assert host.call("dvflag.status", host.actor(VIEWER), address_no=number).held


# -- 3. a user_admin changes nothing about its own account ---------------------------------------


OWN_CHANGES: list[dict[str, Any]] = [
    {"op": "roles", "roles": ["user_admin", "auditor"]},
    {"op": "roles", "roles": ["user_admin"]},
    {"op": "update", "valid_to": "2099-12-31"},
    {"op": "update", "valid_from": "2020-04-01"},
    {"op": "update", "dept_code": "D0201"},
    {"op": "update", "enabled": True},
    {"op": "disable"},
    {"op": "enable"},
    {"op": "add", "dept_code": "D0802", "roles": ["registrar"]},
]


@pytest.mark.parametrize("change", OWN_CHANGES, ids=lambda c: "-".join(f"{k}" for k in c))
def test_a_user_admin_cannot_change_its_own_account(host: MockHost, change: dict[str, Any]) -> None:
    code = "users.own_roles" if change["op"] == "roles" else "users.own_account"
    expect_denied(
        host, lambda: host.call("dvflag.users", host.actor(ADMIN), user_id=ADMIN, **change), code=code, action="users"
    )


def test_a_user_admin_may_read_its_own_account_and_change_another(host: MockHost) -> None:
    own = host.call("dvflag.users", host.actor(ADMIN), op="get", user_id=ADMIN)
    assert own.user_id == ADMIN
    other = host.call("dvflag.users", host.actor(ADMIN), op="update", user_id=ADMIN2, valid_to="2030-03-31")
    assert other.valid_to == date(2030, 3, 31)


# -- 5. permission before input -------------------------------------------------------------------


OUTSIDERS = ["u-not-in-registry", "u-kodomo-disabled1", "u-seikatsu-expired1", "u-kaigo-future1", "u-zeimu-noroles1"]
JUNK_CALLS: list[tuple[str, Any]] = [
    ("dvflag.register", {"kana": "スズキ", "address_no": 5}),
    ("dvflag.update", [("name", "x")]),
    ("dvflag.release", None),
    ("dvflag.unrelease", {"bogus": 1}),
    ("dvflag.delete", {"reason": {}}),
    ("dvflag.status", {"address_no": None, "x": 1}),
    ("dvflag.search", {"limit": 2**63}),
    ("dvflag.export", {"scope": "everything", "zzz": 1}),
    ("dvflag.review_due", {"dept_code": []}),
    ("dvflag.users", {"op": "purge"}),
    ("dvflag.audit", {"op": "erase"}),
]


@pytest.mark.parametrize("user_id", OUTSIDERS)
def test_an_outsider_is_denied_before_its_parameters_are_examined(host: MockHost, user_id: str) -> None:
    actor = Actor(user_id, "D0102") if user_id == "u-not-in-registry" else host.actor(user_id)
    for function_id, params in JUNK_CALLS:
        before = len(host.masters.audit_copy)
        with pytest.raises(PermissionDenied) as info:
            host.functions()[function_id].call(actor, params)
        assert info.value.code.startswith(("user.", "role.")), (function_id, info.value.code)
        assert len(host.masters.audit_copy) == before + 1
        assert host.masters.audit_copy[-1].outcome == "denied"


# -- 13. row_version is required for every change --------------------------------------------------


@pytest.mark.parametrize(
    ("function_id", "extra"),
    [("dvflag.release", {}), ("dvflag.unrelease", {}), ("dvflag.delete", {"reason": "mistaken_entry"})],
)
def test_row_version_is_required(host: MockHost, function_id: str, extra: dict[str, Any]) -> None:
    _, record_id = _held(host)
    err, _ = expect_refused(
        host,
        lambda: host.call(function_id, host.actor(REGISTRAR), record_id=record_id, **extra),
        error=ValidationError,
        code="invalid.required",
        action=function_id.split(".")[1],
    )
    assert isinstance(err, ValidationError) and err.field == "row_version"


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("os_user", ["root", "Jane Doe", "山田", "-x", "a" * 100])
def test_the_operator_actor_is_always_a_valid_actor(
    host: MockHost, os_user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dvflag_plugin.config import Settings
    from dvflag_plugin.service import bootstrap
    from dvflag_plugin.service.runtime import actor_problem

    monkeypatch.setattr(bootstrap.getpass, "getuser", lambda: os_user)
    actor = bootstrap.operator_actor()
    assert actor.user_id.startswith("cli:")
    assert actor_problem(actor, Settings()) is None
