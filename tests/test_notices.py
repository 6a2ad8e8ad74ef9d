"""aatena_person_notices: one number or a batch, one call, cautions without details, always current."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dvflag_hookspecs import Actor
from dvflag_plugin.errors import ValidationError
from dvflag_plugin.mockhost import MockHost


def _held(host: MockHost) -> str:
    number = next(p.address_no for p in host.data.people if p.in_master)
    host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=number)
    return number


def test_any_host_user_gets_the_caution_without_details(host: MockHost) -> None:
    number = _held(host)
    stranger = Actor("host-user-not-in-registry", "D0999")
    found = host.notices(stranger, [number])
    (notice,) = found[number]
    assert notice.level == "caution" and notice.address_no == number
    assert "子ども家庭課" not in notice.message and "D0201" not in notice.message


def test_numbers_not_held_are_absent(host: MockHost) -> None:
    _held(host)
    assert host.notices(Actor("x", "D0102"), ["000000000099999"]) == {}


def test_batch_marks_only_held_numbers_and_keeps_input_keys(host: MockHost) -> None:
    number = _held(host)
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    batch = [f"{i:015d}" for i in range(100, 20100)] + [number, full_width]
    found = host.notices(Actor("batch", "D0102"), batch)
    assert set(found) == {number, full_width}
    assert all(n.address_no == number for ns in found.values() for n in ns)
    events = host.recorder.named("aatena_person_notices")
    assert len(events) == 1 and len(events[0].kwargs["address_nos"]) == len(batch)
    audit = [e for e in host.masters.audit_copy if e.action == "notices"]
    assert len(audit) == 1 and audit[0].details["flagged"] == [number] and audit[0].details["count"] == len(batch)


def test_empty_batch_is_one_audited_call(host: MockHost) -> None:
    assert host.notices(Actor("batch", "D0102"), []) == {}
    assert [e.details["count"] for e in host.masters.audit_copy if e.action == "notices"] == [0]


@pytest.mark.parametrize("bad", [["12a"], ["000000000000001", "x1"], ["000000000000001", ""]])
def test_bad_numbers_are_refused_and_audited(host: MockHost, bad: list[str]) -> None:
    with pytest.raises(ValidationError) as info:
        host.notices(Actor("batch", "D0102"), bad)
    assert info.value.field == "address_nos"
    last = host.masters.audit_copy[-1]
    assert (last.action, last.outcome) == ("notices", "error")


def test_release_and_next_day_are_reflected(host: MockHost) -> None:
    number = _held(host)
    actor = Actor("screen", "D0102")
    assert number in host.notices(actor, [number])
    reg = host.call("dvflag.search", host.actor("u-kodomo-reg1"), address_no=number).rows[0]
    reg = host.call("dvflag.release", host.actor("u-kodomo-reg1"), record_id=reg.record_id, row_version=reg.row_version)
    # Released today: not active today (D < release_date fails on the release day itself).
    assert host.notices(actor, [number]) == {}
    host.call("dvflag.unrelease", host.actor("u-kodomo-reg1"), record_id=reg.record_id, row_version=reg.row_version)
    assert number in host.notices(actor, [number])
    host.clock.advance(timedelta(days=400))  # time alone releases nothing
    assert number in host.notices(actor, [number])


def test_a_screen_lookup_after_a_change_does_not_reload_a_large_held_set(
    host: MockHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dvflag_plugin.service import notices

    monkeypatch.setattr(notices, "RELOAD_LIMIT", 0)  # as if the held set were larger than the limit
    number = _held(host)
    batch = [number, "000000000099999"]
    host.notices(Actor("batch", "D0102"), batch)  # fills the cache
    runtime = host.pm.get_plugin("dvflag.runtime").service.runtime
    warm = runtime.active_cache
    other = next(p.address_no for p in host.data.people if p.in_master and p.address_no != number)
    host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=other)
    assert other in host.notices(Actor("screen", "D0102"), [other])  # answered by one indexed query
    assert runtime.active_cache is warm  # … without reloading the held set
    assert set(host.notices(Actor("batch", "D0102"), [number, other])) == {number, other}
    assert runtime.active_cache is not warm
