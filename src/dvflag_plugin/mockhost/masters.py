"""The mock host's address and organisation masters: PluginServices over the dummy data set."""

from __future__ import annotations

from dvflag_hookspecs import Actor, AuditEvent, Department, Person, hookimpl

from ..dummydata.model import DummyDataSet


class DummyMasters:
    """Implements every PluginServices hook over dummy data; keeps the host's copy of audit events."""

    def __init__(self, data: DummyDataSet) -> None:
        self.people = {p.address_no: p for p in data.people if p.in_master}
        self.departments = {d.dept_code: d for d in data.departments}
        self.audit_copy: list[AuditEvent] = []
        self.denials: dict[tuple[str, str], bool] = {}
        """(user_id, action) → answer of dvflag_authorize, for tests that narrow access."""

    @hookimpl
    def dvflag_resolve_person(self, address_no: str) -> Person | None:
        """The address master: None for 住登外 people."""
        person = self.people.get(address_no)
        return person.as_person() if person is not None else None

    @hookimpl
    def dvflag_resolve_department(self, dept_code: str) -> Department | None:
        """The organisation master."""
        dept = self.departments.get(dept_code)
        return dept.as_department() if dept is not None else None

    @hookimpl
    def dvflag_authorize(self, actor: Actor, action: str, dept_code: str | None) -> bool | None:
        """Abstain unless a test asked to narrow this user's action."""
        return self.denials.get((actor.user_id, action))

    @hookimpl
    def dvflag_audit_event(self, event: AuditEvent) -> None:
        """The host's own local audit store."""
        self.audit_copy.append(event)
