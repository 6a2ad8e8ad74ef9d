"""Who may do what (DESIGN §5): every role × action × own/other-department cell, on every backend.

The expectations below are written from DESIGN §5, not read from ``rules.permissions.MATRIX``:
an allowed cell asserts the effect of the call; a denied cell asserts PermissionDenied with its
reason code, that no row changed, and that one 'denied' event with that reason was committed and
copied to the host through ``dvflag_audit_event``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_hookspecs import Actor, ExportResult, Holding, UserAccount, VerifyResult
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import PermissionDenied
from dvflag_plugin.mockhost import MockHost, MutableClock
from helpers import (
    Row,
    expect_denied,
    expect_one_event,
    make_host,
    registration_by_id,
    registration_rows,
    seed_registrations,
    snapshot,
)

TODAY = date(2026, 11, 26)  # the dummy data set's reference day
OTHER_DEPT = "D0301"  # 男女共同参画課: no role user below belongs to it

ROLE_USERS = {
    "viewer": "u-kodomo-view1",
    "registrar": "u-kodomo-reg1",
    "supervisor": "u-soumu-super1",
    "user_admin": "u-joho-admin1",
    "auditor": "u-kansa-audit1",
    "none": "u-zeimu-noroles1",  # registered, no role at all
    "unregistered": "",  # a host user the plugin registry does not know
}
UNREGISTERED = Actor(user_id="u-not-in-registry", dept_code="D0102")

# Who may, per DESIGN §5 (own-department-only actions are marked below).
MAY: dict[str, frozenset[str]] = {
    "register": frozenset({"registrar"}),
    "update": frozenset({"registrar"}),
    "release": frozenset({"registrar"}),
    "unrelease": frozenset({"registrar"}),
    "delete": frozenset({"registrar"}),
    "review_due": frozenset({"registrar"}),
    "export-own": frozenset({"registrar"}),
    "export-all": frozenset({"supervisor"}),
    "status": frozenset({"viewer", "registrar"}),
    "search": frozenset({"viewer", "registrar"}),
    "users": frozenset({"user_admin"}),
    "audit-read": frozenset({"auditor"}),
    "audit-verify": frozenset({"auditor"}),
    "notices": frozenset(ROLE_USERS),  # any host user, even unregistered
    "advice": frozenset(ROLE_USERS),  # any host user; details by role (checked in the effect)
}
OWN_DEPT_ONLY = frozenset({"register", "update", "release", "unrelease", "delete", "review_due"})

CELLS: list[tuple[str, str]] = [
    *((action, scope) for action in sorted(OWN_DEPT_ONLY) for scope in ("own", "other")),
    ("export-own", "-"),
    ("export-all", "-"),
    ("status", "-"),
    ("search", "-"),
    ("users", "-"),
    ("audit-read", "-"),
    ("audit-verify", "-"),
    ("notices", "-"),
    ("advice", "-"),
]
EVENT_ACTION = {
    "export-own": "export",
    "export-all": "export",
    "audit-read": "audit",
    "audit-verify": "audit",
}


def expected_denial(role: str, action: str, scope: str) -> str | None:
    """The reason code DESIGN §5 gives for this cell, or None when it is allowed."""
    if action in ("notices", "advice"):
        return None
    if role == "unregistered":
        return "user.unknown"
    if role not in MAY[action]:
        return "role.missing"
    if action in OWN_DEPT_ONLY and scope == "other":
        return "dept.other"
    return None


@pytest.fixture
def host(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> Iterator[MockHost]:
    """A host with the staff registered (one transaction) and nothing else."""
    h = make_host(engine, data, clock, tmp_path)
    try:
        yield h
    finally:
        h.close()


@dataclass
class World:
    """An actor, its own department's and another department's registrations, and a free person."""

    host: MockHost
    actor: Actor
    own: str
    other: str
    own_active: str
    own_released: str
    other_active: str
    other_released: str
    free: str
    ids: dict[tuple[str, str], int]

    def record(self, scope: str, state: str) -> int:
        dept = self.own if scope == "own" else self.other
        if scope == "own":
            number = self.own_active if state == "active" else self.own_released
        else:
            number = self.other_active if state == "active" else self.other_released
        return self.ids[(number, dept)]

    def call(self, function_id: str, **params: Any) -> Any:
        return self.host.call(function_id, self.actor, **params)


def build_world(host: MockHost, role: str) -> World:
    actor = UNREGISTERED if role == "unregistered" else host.actor(ROLE_USERS[role])
    own = actor.dept_code
    numbers = [p.address_no for p in host.data.people if p.in_master][:5]
    own_active, own_released, other_active, other_released, free = numbers
    ids = seed_registrations(
        host,
        [
            Row(own_active, own, date(2025, 11, 1)),
            Row(own_released, own, date(2025, 6, 1), date(2026, 10, 1)),
            Row(other_active, OTHER_DEPT, date(2025, 11, 1)),
            Row(other_released, OTHER_DEPT, date(2025, 6, 1), date(2026, 10, 1)),
        ],
    )
    return World(host, actor, own, OTHER_DEPT, own_active, own_released, other_active, other_released, free, ids)


# -- the calls of each cell, and what an allowed call must have done --------------------------------


def perform(w: World, action: str, scope: str) -> Any:
    if action == "register":
        extra = {} if scope == "own" else {"dept_code": w.other}
        return w.call("dvflag.register", address_no=w.free, **extra)
    if action == "update":
        return w.call("dvflag.update", record_id=w.record(scope, "active"), row_version=1, sex_code=9)
    if action == "release":
        return w.call("dvflag.release", record_id=w.record(scope, "active"), row_version=1)
    if action == "unrelease":
        return w.call("dvflag.unrelease", record_id=w.record(scope, "released"), row_version=1)
    if action == "delete":
        return w.call("dvflag.delete", record_id=w.record(scope, "active"), row_version=1, reason="mistaken_entry")
    if action == "review_due":
        return w.call("dvflag.review_due", **({} if scope == "own" else {"dept_code": w.other}))
    if action == "export-own":
        return w.call("dvflag.export", format="csv", scope="own")
    if action == "export-all":
        return w.call("dvflag.export", format="csv", scope="all")
    if action == "status":
        return w.call("dvflag.status", address_no=w.other_active)
    if action == "search":
        return w.call("dvflag.search", address_no=w.other_active, state="all")
    if action == "users":
        return w.call("dvflag.users", op="list")
    if action == "audit-read":
        return w.call("dvflag.audit", op="read")
    if action == "audit-verify":
        return w.call("dvflag.audit", op="verify")
    if action == "notices":
        return w.host.notices(w.actor, [w.own_active, w.free, w.own_released])
    if action == "advice":
        return w.host.advice(w.actor, w.other_active)
    raise AssertionError(action)


def check_effect(w: World, role: str, action: str, result: Any) -> None:
    engine = w.host.engine
    if action == "register":
        assert result.address_no == w.free
        assert result.dept_code == w.own
        assert result.release_date is None
        assert result.input_date == TODAY
        assert result.row_version == 1
        assert result.name == w.host.data.person(w.free).name
        assert len(registration_rows(engine)) == 5
    elif action == "update":
        row = registration_by_id(engine, w.record("own", "active"))
        assert (row.sex_code, row.row_version) == (9, 2)
        assert result.sex_code == 9
    elif action == "release":
        row = registration_by_id(engine, w.record("own", "active"))
        assert (row.release_date, row.row_version) == (TODAY, 2)
    elif action == "unrelease":
        row = registration_by_id(engine, w.record("own", "released"))
        assert (row.release_date, row.row_version) == (None, 2)
    elif action == "delete":
        assert registration_by_id(engine, w.record("own", "active")) is None
        assert result == {"record_id": w.record("own", "active"), "deleted": True}
        assert len(registration_rows(engine)) == 3
    elif action == "review_due":
        assert [(i.registration.address_no, i.registration.dept_code, i.overdue) for i in result] == [
            (w.own_active, w.own, True)
        ]
        assert result[0].due_date == date(2026, 11, 1)
    elif action in ("export-own", "export-all"):
        assert isinstance(result, ExportResult)
        assert result.format == "csv"
        assert w.own_active.encode("ascii") in result.content
        if action == "export-own":
            assert w.other_active.encode("ascii") not in result.content
        else:
            assert w.other_active.encode("ascii") in result.content
    elif action == "status":
        assert result.address_no == w.other_active
        assert result.as_of == TODAY
        assert result.holdings == (Holding(w.other, "男女共同参画課", date(2025, 11, 1), None),)
    elif action == "search":
        assert [(r.address_no, r.dept_code) for r in result.rows] == [(w.other_active, w.other)]
    elif action == "users":
        assert all(isinstance(u, UserAccount) for u in result)
        assert {u.user_id for u in result} == {s.user_id for s in w.host.data.staff}
    elif action == "audit-read":
        assert [(e.seq, e.action, e.actor_id, e.target) for e in result] == [
            (1, "status", "u-koseki-view1", w.own_active)
        ]
    elif action == "audit-verify":
        assert isinstance(result, VerifyResult)
        assert (result.checked, result.head_seq, result.signature) == (1, 1, "unsigned")
        # The world's registrations were seeded straight into the table, not through the plugin: the
        # registry replay reports each of them as added behind the plugin's back, and the change
        # counter the seeding moved, and the change log row it wrote, disagree with the trail's (empty)
        # change events. Nothing else.
        assert not result.ok
        assert {f for f in result.findings if "変更カウンタ" not in f and "変更ログ" not in f} == {
            f"レコードID {rid} の登録が、監査証跡に記録のないまま追加されています" for rid in w.ids.values()
        }
    elif action == "notices":
        # Only the number held today gets the caution, without naming any department.
        assert list(result) == [w.own_active]
        (notice,) = result[w.own_active]
        assert notice.level == "caution"
        assert notice.address_no == w.own_active
        assert not any(d.dept_name in notice.message for d in w.host.data.departments)
    elif action == "advice":
        (advice,) = result
        assert advice.address_no == w.other_active
        assert advice.safe is False
        assert advice.other_count == 1
        if role in ("viewer", "registrar"):
            assert advice.details_withheld is False
            assert advice.other_holders == (Holding(w.other, "男女共同参画課", date(2025, 11, 1), None),)
        else:
            assert advice.details_withheld is True
            assert advice.other_holders == ()
            assert "男女共同参画課" not in advice.message
            assert w.other not in advice.message
    else:  # pragma: no cover
        raise AssertionError(action)


@pytest.mark.parametrize("role", list(ROLE_USERS))
@pytest.mark.parametrize(("action", "scope"), CELLS, ids=[a if s == "-" else f"{a}-{s}" for a, s in CELLS])
def test_matrix_cell(host: MockHost, role: str, action: str, scope: str) -> None:
    w = build_world(host, role)
    if action.startswith("audit-"):
        host.call("dvflag.status", host.actor("u-koseki-view1"), address_no=w.own_active)  # one event to read
    reason = expected_denial(role, action, scope)
    event_action = EVENT_ACTION.get(action, action)
    if reason is None:
        result, event = expect_one_event(host, lambda: perform(w, action, scope))
        assert (event.action, event.outcome, event.reason_code) == (event_action, "ok", None)
        assert (event.actor_id, event.actor_dept) == (w.actor.user_id, w.actor.dept_code)
        check_effect(w, role, action, result)
    else:
        event = expect_denied(host, lambda: perform(w, action, scope), code=reason, action=event_action)
        assert (event.actor_id, event.actor_dept) == (w.actor.user_id, w.actor.dept_code)


def test_export_own_scope_for_another_department_is_denied(host: MockHost) -> None:
    w = build_world(host, "registrar")
    expect_denied(
        host,
        lambda: w.call("dvflag.export", format="csv", scope="own", dept_code=w.other),
        code="dept.other",
        action="export",
    )


@pytest.mark.parametrize("role", ["user_admin", "auditor"])
def test_user_admin_and_auditor_see_no_registrations(host: MockHost, role: str) -> None:
    actor = host.actor(ROLE_USERS[role])
    number = next(p.address_no for p in host.data.people if p.in_master)
    # Even a registration of the actor's own department stays invisible.
    seed_registrations(
        host, [Row(number, actor.dept_code, date(2025, 11, 1)), Row(number, OTHER_DEPT, date(2026, 1, 5))]
    )
    expect_denied(
        host,
        lambda: host.call("dvflag.status", actor, address_no=number),
        code="role.missing",
        action="status",
    )
    expect_denied(host, lambda: host.call("dvflag.search", actor, state="all"), code="role.missing", action="search")
    expect_denied(host, lambda: host.call("dvflag.review_due", actor), code="role.missing", action="review_due")
    (advice,) = host.advice(actor, number)
    assert (advice.safe, advice.other_count, advice.details_withheld, advice.other_holders) == (
        False,
        1,
        True,
        (),
    )


# -- account state: disabled, validity dates (boundary days), department mismatch ------------------


def test_disabled_user_is_denied_everything(host: MockHost) -> None:
    w = build_world(host, "registrar")
    disabled = host.actor("u-kodomo-disabled1")  # registrar of the same department, disabled
    assert disabled.dept_code == w.own
    expect_denied(
        host,
        lambda: host.call("dvflag.register", disabled, address_no=w.free),
        code="user.disabled",
        action="register",
    )
    expect_denied(
        host,
        lambda: host.call("dvflag.status", disabled, address_no=w.own_active),
        code="user.disabled",
        action="status",
    )
    expect_denied(
        host,
        lambda: host.call("dvflag.release", disabled, record_id=w.record("own", "active"), row_version=1),
        code="user.disabled",
        action="release",
    )
    # Notices are for any host user; a disabled registry entry does not take the caution away.
    assert list(host.notices(disabled, [w.own_active])) == [w.own_active]


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 3, 31), None),  # valid_to itself is still valid
        (date(2026, 4, 1), "user.expired"),  # the day after valid_to
    ],
)
def test_validity_end_boundary(host: MockHost, clock: MutableClock, day: date, reason: str | None) -> None:
    actor = host.actor("u-seikatsu-expired1")  # registrar of 生活福祉課, valid 2024-04-01 .. 2026-03-31
    number = next(p.address_no for p in host.data.people if p.in_master)
    clock.set_day(day)
    call = lambda: host.call("dvflag.register", actor, address_no=number)  # noqa: E731
    if reason is None:
        reg, event = expect_one_event(host, call)
        assert reg.input_date == day
        assert reg.dept_code == actor.dept_code
        assert event.outcome == "ok"
    else:
        expect_denied(host, call, code=reason, action="register")


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2027, 3, 31), "user.not_yet_valid"),  # the day before valid_from
        (date(2027, 4, 1), None),  # valid_from itself
    ],
)
def test_validity_start_boundary(host: MockHost, clock: MutableClock, day: date, reason: str | None) -> None:
    actor = host.actor("u-kaigo-future1")  # registrar of 介護保険課, valid from 2027-04-01
    number = next(p.address_no for p in host.data.people if p.in_master)
    clock.set_day(day)
    call = lambda: host.call("dvflag.register", actor, address_no=number)  # noqa: E731
    if reason is None:
        reg, event = expect_one_event(host, call)
        assert reg.input_date == day
        assert event.outcome == "ok"
    else:
        expect_denied(host, call, code=reason, action="register")


@pytest.mark.parametrize(
    ("utc_now", "reason"),
    [
        (datetime(2026, 3, 31, 14, 59, tzinfo=UTC), None),  # 23:59 JST on 2026-03-31
        (datetime(2026, 3, 31, 15, 0, tzinfo=UTC), "user.expired"),  # 00:00 JST on 2026-04-01
    ],
)
def test_validity_uses_the_local_day(
    host: MockHost, clock: MutableClock, utc_now: datetime, reason: str | None
) -> None:
    actor = host.actor("u-seikatsu-expired1")
    number = next(p.address_no for p in host.data.people if p.in_master)
    clock.now = utc_now
    call = lambda: host.call("dvflag.status", actor, address_no=number)  # noqa: E731
    if reason is None:
        status, _ = expect_one_event(host, call)
        assert status.as_of == date(2026, 3, 31)
        assert status.holdings == ()
    else:
        expect_denied(host, call, code=reason, action="status")


def test_host_department_differs_from_registry(host: MockHost) -> None:
    moved = host.actor("u-hoken-moved1")  # registry: 保険年金課 D0103; host now says 税務課 D0102
    assert moved.dept_code == "D0102"
    numbers = [p.address_no for p in host.data.people if p.in_master][:2]
    seed_registrations(host, [Row(numbers[0], "D0103", date(2026, 1, 5))])
    expect_denied(
        host,
        lambda: host.call("dvflag.register", moved, address_no=numbers[1]),
        code="user.dept_mismatch",
        action="register",
    )
    expect_denied(
        host,
        lambda: host.call("dvflag.register", moved, address_no=numbers[1], dept_code="D0103"),
        code="user.dept_mismatch",
        action="register",
    )
    expect_denied(
        host,
        lambda: host.call("dvflag.status", moved, address_no=numbers[0]),
        code="user.dept_mismatch",
        action="status",
    )
    expect_denied(
        host,
        lambda: host.call("dvflag.review_due", moved, dept_code="D0103"),
        code="user.dept_mismatch",
        action="review_due",
    )
    # Reported by the host in the registry's department, the same user is allowed.
    status, _ = expect_one_event(
        host, lambda: host.call("dvflag.status", Actor("u-hoken-moved1", "D0103"), address_no=numbers[0])
    )
    assert [h.dept_code for h in status.holdings] == ["D0103"]


# -- the host may only narrow (dvflag_authorize) ----------------------------------------------------


def test_host_hook_false_denies_an_allowed_action(host: MockHost) -> None:
    w = build_world(host, "registrar")
    host.masters.denials[(w.actor.user_id, "register")] = False
    expect_denied(host, lambda: w.call("dvflag.register", address_no=w.free), code="host.denied", action="register")
    calls = [c.kwargs for c in host.recorder.named("dvflag_authorize") if c.kwargs["action"] == "register"]
    assert calls
    assert calls[-1]["actor"] == w.actor
    assert calls[-1]["dept_code"] == w.own
    # Other actions of the same user are untouched by that answer.
    status, _ = expect_one_event(host, lambda: w.call("dvflag.status", address_no=w.own_active))
    assert [h.dept_code for h in status.holdings] == [w.own]


def test_host_hook_false_withholds_advice_details(host: MockHost) -> None:
    w = build_world(host, "viewer")
    host.masters.denials[(w.actor.user_id, "advice_details")] = False
    (advice,) = host.advice(w.actor, w.other_active)
    assert advice.safe is False
    assert advice.other_count == 1
    assert advice.details_withheld is True
    assert advice.other_holders == ()


@pytest.mark.parametrize(
    ("role", "action", "reason"),
    [
        ("viewer", "register", "role.missing"),
        ("none", "status", "role.missing"),
        ("registrar", "release", "dept.other"),
        ("unregistered", "search", "user.unknown"),
        ("auditor", "users", "role.missing"),
    ],
)
def test_host_hook_true_never_grants(host: MockHost, role: str, action: str, reason: str) -> None:
    w = build_world(host, role)
    host.masters.denials[(w.actor.user_id, action)] = True  # the host says yes; the registry decides
    calls: dict[str, Callable[[], Any]] = {
        "register": lambda: w.call("dvflag.register", address_no=w.free),
        "status": lambda: w.call("dvflag.status", address_no=w.own_active),
        "release": lambda: w.call("dvflag.release", record_id=w.record("other", "active"), row_version=1),
        "search": lambda: w.call("dvflag.search"),
        "users": lambda: w.call("dvflag.users", op="list"),
    }
    expect_denied(host, calls[action], code=reason, action=action)


def test_disabled_user_with_host_true_is_still_denied(host: MockHost) -> None:
    disabled = host.actor("u-kodomo-disabled1")
    number = next(p.address_no for p in host.data.people if p.in_master)
    host.masters.denials[(disabled.user_id, "register")] = True
    expect_denied(
        host,
        lambda: host.call("dvflag.register", disabled, address_no=number),
        code="user.disabled",
        action="register",
    )


# -- user administration ------------------------------------------------------------------------------


def test_user_admin_cannot_change_own_roles(host: MockHost) -> None:
    admin = host.actor("u-joho-admin1")
    for roles in (["user_admin", "registrar"], ["user_admin"], []):
        expect_denied(
            host,
            lambda r=roles: host.call("dvflag.users", admin, op="roles", user_id=admin.user_id, roles=r),
            code="users.own_roles",
            action="users",
        )
    # A second user_admin may change the first one's roles.
    other_admin = host.actor("u-joho-admin2")
    before = snapshot(host.engine)
    account, event = expect_one_event(
        host,
        lambda: host.call(
            "dvflag.users", other_admin, op="roles", user_id=admin.user_id, roles=["user_admin", "auditor"]
        ),
    )
    assert account.roles == frozenset({"user_admin", "auditor"})
    assert (event.outcome, event.target) == ("ok", f"user:{admin.user_id}")
    assert snapshot(host.engine) != before


def test_unregistered_user_gets_the_caution_and_the_bare_advice(host: MockHost) -> None:
    w = build_world(host, "unregistered")
    cautions, event = expect_one_event(host, lambda: host.notices(w.actor, [w.other_active, w.free]))
    assert list(cautions) == [w.other_active]
    assert (event.action, event.outcome, event.actor_id) == ("notices", "ok", w.actor.user_id)
    (advice,) = host.advice(w.actor, w.other_active)
    assert (advice.safe, advice.other_count, advice.details_withheld, advice.other_holders) == (
        False,
        1,
        True,
        (),
    )
    (free,) = host.advice(w.actor, w.free)
    assert free.safe is True
    assert free.other_count == 0


def test_denied_call_raises_permission_denied_with_japanese_message(host: MockHost) -> None:
    w = build_world(host, "viewer")
    with pytest.raises(PermissionDenied) as info:
        w.call("dvflag.register", address_no=w.free)
    assert info.value.code == "role.missing"
    assert "権限" in info.value.message
