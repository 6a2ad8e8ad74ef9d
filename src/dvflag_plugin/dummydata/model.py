"""Frozen, typed values of the synthetic dummy data set (ダミーデータ) and their stable JSON form.

Every value here is invented by the generator; none describes a real person (DESIGN §7).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from dvflag_hookspecs.roles import ALL_ROLES
from dvflag_hookspecs.values import Department, Person

FORMAT: Final = "dvflag-dummydata/1"
"""Format tag written into every JSON file; from_json refuses other formats."""
NOTICE: Final = (
    "ダミーデータ（架空の人物・所属・利用者）。実在の人物とは関係ありません。"
    " Synthetic test data: no entry describes a real person."
)
"""Fixed notice written into every JSON file so nobody mistakes it for real register data."""
DEFAULT_TODAY: Final = date(2026, 11, 26)
"""Reference date the committed small set is built for (validity and review cases are relative to it)."""
SEX_CODES: Final = (0, 1, 2, 9)
"""JIS X 5218 codes a person may carry."""
NAME_MAX_CHARS: Final = 100
"""Upper bound of 氏名 (DESIGN §2)."""


@dataclass(frozen=True, slots=True)
class DummyDepartment:
    """A department (所属) of the fictitious ward office: 5-character ASCII code and Japanese name."""

    dept_code: str
    dept_name: str

    def as_department(self) -> Department:
        """The same department as the seam value a host stub returns from dvflag_resolve_department."""
        return Department(dept_code=self.dept_code, dept_name=self.dept_name)


@dataclass(frozen=True, slots=True)
class DummyPerson:
    """A fictitious person: address number, 氏名, 性別, 生年月日 and whether the address master knows them.

    ``in_master=False`` is a 住登外 person: a host stub must not resolve them (manual entry case).
    """

    address_no: str
    name: str
    sex_code: int
    birth_date: date
    in_master: bool

    def as_person(self) -> Person:
        """The same person as the seam value a host stub returns from dvflag_resolve_person."""
        return Person(name=self.name, sex_code=self.sex_code, birth_date=self.birth_date)


@dataclass(frozen=True, slots=True)
class DummyStaff:
    """A fictitious staff user of the plugin registry; ``note`` says which case it exercises.

    ``dept_code`` is the department in the plugin's user registry, ``host_dept_code`` the one the host
    reports for the user; they differ only for the "moved department" edge case.
    """

    user_id: str
    dept_code: str
    host_dept_code: str
    roles: tuple[str, ...]
    enabled: bool
    valid_from: date
    valid_to: date | None
    note: str


@dataclass(frozen=True, slots=True)
class DummyRegistration:
    """An initial registration: which department holds which person since when, and until when."""

    address_no: str
    dept_code: str
    input_date: date
    release_date: date | None


@dataclass(frozen=True, slots=True)
class DummyDataSet:
    """The whole dummy data set; ``reference_date`` is the 'today' its relative cases were built for."""

    departments: tuple[DummyDepartment, ...]
    people: tuple[DummyPerson, ...]
    staff: tuple[DummyStaff, ...]
    registrations: tuple[DummyRegistration, ...]
    reference_date: date = DEFAULT_TODAY

    def person(self, address_no: str) -> DummyPerson:
        """The person with this address number (KeyError if absent)."""
        for p in self.people:
            if p.address_no == address_no:
                return p
        raise KeyError(address_no)

    def department(self, dept_code: str) -> DummyDepartment:
        """The department with this code (KeyError if absent)."""
        for d in self.departments:
            if d.dept_code == dept_code:
                return d
        raise KeyError(dept_code)

    def department_by_name(self, dept_name: str) -> DummyDepartment:
        """The department with this Japanese name (KeyError if absent)."""
        for d in self.departments:
            if d.dept_name == dept_name:
                return d
        raise KeyError(dept_name)

    def user(self, user_id: str) -> DummyStaff:
        """The staff user with this id (KeyError if absent)."""
        for s in self.staff:
            if s.user_id == user_id:
                return s
        raise KeyError(user_id)

    def to_json(self) -> str:
        """Stable JSON text: fixed key order, ensure_ascii=False, indent=1, ISO dates, final newline."""
        obj: dict[str, object] = {
            "format": FORMAT,
            "notice": NOTICE,
            "reference_date": self.reference_date.isoformat(),
            "departments": [{"dept_code": d.dept_code, "dept_name": d.dept_name} for d in self.departments],
            "people": [
                {
                    "address_no": p.address_no,
                    "name": p.name,
                    "sex_code": p.sex_code,
                    "birth_date": p.birth_date.isoformat(),
                    "in_master": p.in_master,
                }
                for p in self.people
            ],
            "staff": [
                {
                    "user_id": s.user_id,
                    "dept_code": s.dept_code,
                    "host_dept_code": s.host_dept_code,
                    "roles": list(s.roles),
                    "enabled": s.enabled,
                    "valid_from": s.valid_from.isoformat(),
                    "valid_to": _iso_or_none(s.valid_to),
                    "note": s.note,
                }
                for s in self.staff
            ],
            "registrations": [
                {
                    "address_no": r.address_no,
                    "dept_code": r.dept_code,
                    "input_date": r.input_date.isoformat(),
                    "release_date": _iso_or_none(r.release_date),
                }
                for r in self.registrations
            ],
        }
        return json.dumps(obj, ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> DummyDataSet:
        """Parse and check JSON written by to_json; unknown or missing fields raise ValueError."""
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        top = _record(json.loads(text), "dummy data", _TOP_KEYS)
        if top["format"] != FORMAT:
            raise ValueError(f"dummy data: format must be {FORMAT!r}, got {top['format']!r}")
        departments = tuple(
            DummyDepartment(
                dept_code=_code(o, "dept_code", w),
                dept_name=_text(o, "dept_name", w),
            )
            for o, w in _records(top, "departments", ("dept_code", "dept_name"))
        )
        people = tuple(
            DummyPerson(
                address_no=_address_no(o, "address_no", w),
                name=_name(o, "name", w),
                sex_code=_sex_code(o, "sex_code", w),
                birth_date=_date(o, "birth_date", w),
                in_master=_bool(o, "in_master", w),
            )
            for o, w in _records(top, "people", ("address_no", "name", "sex_code", "birth_date", "in_master"))
        )
        staff = tuple(
            DummyStaff(
                user_id=_text(o, "user_id", w),
                dept_code=_code(o, "dept_code", w),
                host_dept_code=_code(o, "host_dept_code", w),
                roles=_roles(o, "roles", w),
                enabled=_bool(o, "enabled", w),
                valid_from=_date(o, "valid_from", w),
                valid_to=_opt_date(o, "valid_to", w),
                note=_text(o, "note", w),
            )
            for o, w in _records(top, "staff", _STAFF_KEYS)
        )
        reg_keys = ("address_no", "dept_code", "input_date", "release_date")
        registrations = tuple(
            DummyRegistration(
                address_no=_address_no(o, "address_no", w),
                dept_code=_code(o, "dept_code", w),
                input_date=_date(o, "input_date", w),
                release_date=_opt_date(o, "release_date", w),
            )
            for o, w in _records(top, "registrations", reg_keys)
        )
        return cls(
            departments=departments,
            people=people,
            staff=staff,
            registrations=registrations,
            reference_date=_date(top, "reference_date", "dummy data"),
        )


_TOP_KEYS: Final = ("format", "notice", "reference_date", "departments", "people", "staff", "registrations")
_STAFF_KEYS: Final = (
    "user_id",
    "dept_code",
    "host_dept_code",
    "roles",
    "enabled",
    "valid_from",
    "valid_to",
    "note",
)


def _iso_or_none(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _record(obj: Any, where: str, keys: tuple[str, ...]) -> Mapping[str, Any]:
    """Check that ``obj`` is an object with exactly ``keys`` (unknown fields are refused, DESIGN §7)."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object")
    unknown = sorted(set(obj) - set(keys))
    missing = sorted(set(keys) - set(obj))
    if unknown or missing:
        raise ValueError(f"{where}: unknown fields {unknown}, missing fields {missing}")
    return obj


def _records(top: Mapping[str, Any], key: str, keys: tuple[str, ...]) -> list[tuple[Mapping[str, Any], str]]:
    items = top[key]
    if not isinstance(items, list):
        raise ValueError(f"dummy data: {key} must be a list")
    return [(_record(item, f"{key}[{i}]", keys), f"{key}[{i}]") for i, item in enumerate(items)]


def _text(o: Mapping[str, Any], key: str, where: str) -> str:
    value = o[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}.{key}: must be a non-empty string")
    return value


def _code(o: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(o, key, where)
    if not (value.isascii() and value.isalnum()):
        raise ValueError(f"{where}.{key}: must be ASCII letters and digits, got {value!r}")
    return value


def _address_no(o: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(o, key, where)
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"{where}.{key}: must be ASCII digits (a string, leading zeros kept), got {value!r}")
    return value


def _name(o: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(o, key, where)
    if len(value) > NAME_MAX_CHARS or unicodedata.normalize("NFC", value) != value:
        raise ValueError(f"{where}.{key}: must be NFC and at most {NAME_MAX_CHARS} characters")
    return value


def _sex_code(o: Mapping[str, Any], key: str, where: str) -> int:
    value = o[key]
    if isinstance(value, bool) or value not in SEX_CODES:
        raise ValueError(f"{where}.{key}: must be one of {SEX_CODES} (JIS X 5218), got {value!r}")
    return int(value)


def _bool(o: Mapping[str, Any], key: str, where: str) -> bool:
    value = o[key]
    if not isinstance(value, bool):
        raise ValueError(f"{where}.{key}: must be true or false")
    return value


def _date(o: Mapping[str, Any], key: str, where: str) -> date:
    value = _text(o, key, where)
    try:
        if len(value) != len("YYYY-MM-DD"):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}.{key}: must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def _opt_date(o: Mapping[str, Any], key: str, where: str) -> date | None:
    return None if o[key] is None else _date(o, key, where)


def _roles(o: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = o[key]
    if not isinstance(value, list) or any(r not in ALL_ROLES for r in value):
        raise ValueError(f"{where}.{key}: must be a list drawn from {ALL_ROLES}")
    return tuple(str(r) for r in value)
