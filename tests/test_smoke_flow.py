"""The walkthrough of DESIGN §1 end to end on every backend: register, caution, status, advice."""

from __future__ import annotations

from dvflag_plugin.mockhost import MockHost


def test_register_caution_status_advice(host: MockHost) -> None:
    person = next(p for p in host.data.people if p.in_master)
    registrar = host.actor("u-kodomo-reg1")
    reg = host.call("dvflag.register", registrar, address_no=person.address_no)
    assert reg.address_no == person.address_no and reg.name == person.name and reg.release_date is None
    cautions = host.notices(host.actor("u-kodomo-view1"), [person.address_no])
    assert list(cautions) == [person.address_no]
    status = host.call("dvflag.status", host.actor("u-kodomo-view1"), address_no=person.address_no)
    assert [h.dept_code for h in status.holdings] == [registrar.dept_code]
    actions = [e.action for e in host.masters.audit_copy]
    assert actions == ["register", "notices", "status"]
