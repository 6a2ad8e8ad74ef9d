"""Load the dummy data set into a fresh mock host through its host functions (every step audited)."""

from __future__ import annotations

from ...dummydata.model import DummyDataSet
from ..host import MockHost


def registrar_of(data: DummyDataSet, dept_code: str) -> str | None:
    """The first enabled registrar of a department."""
    for staff in data.staff:
        if staff.dept_code == dept_code and staff.host_dept_code == dept_code and "registrar" in staff.roles \
                and staff.enabled and staff.valid_to is None and staff.valid_from <= data.reference_date:
            return staff.user_id
    return None


def seed(host: MockHost, *, users: bool = True) -> int:
    """Staff into the registry, then each dummy registration by its department's registrar; returns the count."""
    if users:
        host.seed_users()
    done = 0
    for row in host.data.registrations:
        user_id = registrar_of(host.data, row.dept_code)
        if user_id is None:
            continue
        actor = host.actor(user_id)
        person = host.data.person(row.address_no)
        manual = {} if person.in_master else {
            "name": person.name, "sex_code": person.sex_code, "birth_date": person.birth_date.isoformat(),
        }
        reg = host.call("dvflag.register", actor, address_no=row.address_no,
                        input_date=row.input_date.isoformat(), **manual)
        if row.release_date is not None:
            host.call("dvflag.release", actor, record_id=reg.record_id, row_version=reg.row_version,
                      release_date=row.release_date.isoformat())
        done += 1
    return done
