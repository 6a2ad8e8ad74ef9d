"""Answers of the host's masters (dvflag_resolve_person / _department), checked like staff input.

A host bug must not store a 氏名 with a control character or a department name from another code:
a bad answer is a HostContractError naming the hook, and it never echoes the answer itself.
"""

from __future__ import annotations

from datetime import date, datetime

from dvflag_hookspecs import Department, Person

from ..errors import HostContractError, ValidationError
from ..rules import validation as v
from ..storage.schema import DEPT_NAME_LEN
from .runtime import Op


def _broken(hook: str, what: str) -> HostContractError:
    return HostContractError(f"ホストの {hook} の回答が契約に反しています（{what}）。ホストの管理者に連絡してください")


def resolved_person(op: Op, address_no: str) -> Person | None:
    """The address master's 氏名・性別・生年月日 for ``address_no``, validated, or None."""
    answer = op.rt.host.resolve_person(address_no) if op.rt.host is not None else None
    if answer is None:
        return None
    hook = "dvflag_resolve_person"
    if not isinstance(answer, Person):
        raise _broken(hook, "Person ではありません")
    birth = answer.birth_date
    if not isinstance(birth, date) or isinstance(birth, datetime) or birth > op.today:
        raise _broken(hook, "birth_date")
    if isinstance(answer.sex_code, bool) or not isinstance(answer.sex_code, int):
        raise _broken(hook, "sex_code")
    try:
        name = v.person_name(answer.name)
        sex = v.sex_code(answer.sex_code)
    except ValidationError as err:
        raise _broken(hook, f"{err.field}: {err.rule}") from None
    return Person(name=name, sex_code=sex, birth_date=birth)


def resolved_dept_name(op: Op, dept_code: str) -> str | None:
    """The organisation master's 所属名 for ``dept_code``, validated, or None."""
    answer = op.rt.host.resolve_department(dept_code) if op.rt.host is not None else None
    if answer is None:
        return None
    hook = "dvflag_resolve_department"
    if not isinstance(answer, Department) or answer.dept_code != dept_code:
        raise _broken(hook, "Department でないか、所属コードが問い合わせと異なります")
    try:
        return v.short_text(answer.dept_name, field="dept_name", max_len=DEPT_NAME_LEN)
    except ValidationError as err:
        raise _broken(hook, f"dept_name: {err.rule}") from None
