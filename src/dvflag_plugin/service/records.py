"""Changes to registrations (DESIGN §3): register, update, release, unrelease, delete."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa

from dvflag_hookspecs import Person, Registration

from ..audit import row_digest
from ..errors import DuplicateError, NotFoundError, StaleVersionError, StateError, ValidationError
from ..rules import validation as v
from ..rules.record import is_active
from ..storage.schema import DEPT_NAME_LEN, registration
from ..storage.transactions import begin_write, inserted_id
from .masterdata import resolved_dept_name, resolved_person
from .runtime import Op

REGISTER_FIELDS = ("address_no", "name", "sex_code", "birth_date", "dept_code", "dept_name", "input_date")
UPDATE_FIELDS = ("record_id", "row_version", "name", "sex_code", "birth_date")
RELEASE_FIELDS = ("record_id", "row_version", "release_date")
UNRELEASE_FIELDS = ("record_id", "row_version")
DELETE_FIELDS = ("record_id", "row_version", "reason")

DELETE_REASONS = {
    "mistaken_entry": "誤登録",
    "wrong_person": "対象者の誤り",
    "wrong_department": "所属の誤り",
    "duplicate_entry": "重複登録",
}
"""削除理由: a code, so that the audit trail never holds free text about the person."""

_by_id = sa.select(registration).where(registration.c.id == sa.bindparam("record_id"))
_by_person_dept = sa.select(registration).where(
    registration.c.address_no == sa.bindparam("address_no"), registration.c.dept_code == sa.bindparam("dept_code")
)


def to_value(row: Any) -> Registration:
    """A registration row as the contract's value."""
    return Registration(
        record_id=int(row.id), address_no=row.address_no, name=row.name, sex_code=int(row.sex_code),
        birth_date=row.birth_date, dept_code=row.dept_code, dept_name=row.dept_name,
        input_date=row.input_date, release_date=row.release_date, row_version=int(row.row_version),
    )


_by_id_locked = _by_id.with_for_update()


def _locking(op: Op) -> bool:
    """Row locks on what a change touches (SQLite's write transaction already serialises writers)."""
    return op.conn.dialect.name != "sqlite"


def _load(op: Op, record_id: int, *, lock: bool = False) -> Registration:
    """One registration; ``lock``: hold its row until commit, so that a racing change waits, then sees it."""
    stmt = _by_id_locked if lock and _locking(op) else _by_id
    row = op.conn.execute(stmt, {"record_id": record_id}).first()
    if row is None:
        raise NotFoundError(f"レコードID {record_id} の登録は存在しません", code="not_found.record")
    return to_value(row)


def _check_version(current: Registration, given: object) -> None:
    version = v.positive_int(given, field="row_version")
    if version != current.row_version:
        raise StaleVersionError(
            "この登録は他の操作で更新されています。最新の内容を再表示してから操作してください"
            f"（指定された版: {version}、現在の版: {current.row_version}）",
        )


def _leaves(op: Op, reg: Registration) -> Registration:
    """Record in the change event the state it leaves: row version, 解除日 and the salted row digest.

    Verify replays these against dvf_registration; the digest (keyed by a secret derived from the
    signing key) covers 氏名・性別・生年月日 without letting the trail confirm a guess.
    """
    op.details.update(
        record_id=reg.record_id, row_version=reg.row_version,
        release_date=reg.release_date.isoformat() if reg.release_date is not None else None,
    )
    secret = op.rt.audit_keys.digest_secret
    if secret is not None:
        state = {**dataclasses.asdict(reg), "id": reg.record_id}
        op.details["row_digest"] = row_digest.row_digest(state, row_digest.derived_salt(secret, reg.record_id))
    return reg


def _write(op: Op, record_id: int, expected_version: int, values: dict[str, Any]) -> Registration:
    """Update one row under optimistic locking; a lost race changes nothing."""
    values = {**values, "row_version": expected_version + 1, "updated_at": op.now.replace(tzinfo=None)}
    result = op.conn.execute(
        sa.update(registration)
        .where(registration.c.id == record_id, registration.c.row_version == expected_version)
        .values(**values)
    )
    if result.rowcount != 1:
        raise StaleVersionError("この登録は他の操作で更新されています。再表示してから操作してください")
    written = _load(op, record_id)
    op.changed_number(written.address_no)
    return _leaves(op, written)


def _person(op: Op, address_no: str, p: Mapping[str, Any]) -> tuple[Person, str]:
    """The person's items: from the host address master, or entered by hand (住登外)."""
    resolved = resolved_person(op, address_no)
    given_name = v.person_name(p["name"]) if p.get("name") is not None else None
    given_sex = v.sex_code(p["sex_code"]) if p.get("sex_code") is not None else None
    given_birth = (
        v.not_future(v.a_date(p["birth_date"], op.rt.eras, field="birth_date"), op.today, field="birth_date")
        if p.get("birth_date") is not None
        else None
    )
    if resolved is not None:
        for field, given, known in (
            ("name", given_name, resolved.name),
            ("sex_code", given_sex, resolved.sex_code),
            ("birth_date", given_birth, resolved.birth_date),
        ):
            if given is not None and given != known:
                raise ValidationError(
                    field, "person_mismatch", f"{v.label(field)}が宛名情報と一致しません。宛名情報を確認してください"
                )
        return resolved, "host"
    name = v.required({"name": given_name}, "name")
    sex = v.required({"sex_code": given_sex}, "sex_code")
    birth = v.required({"birth_date": given_birth}, "birth_date")
    return Person(name=name, sex_code=sex, birth_date=birth), "manual"


def _dept_name(op: Op, dept_code: str, given: object) -> str:
    """The master's 所属名; a given one must equal it (never silently dropped), else it is required."""
    known = resolved_dept_name(op, dept_code)
    typed = v.short_text(given, field="dept_name", max_len=DEPT_NAME_LEN) if given is not None else None
    if known is not None:
        if typed is not None and typed != known:
            raise ValidationError(
                "dept_name",
                "dept_mismatch",
                "所属名が組織情報と一致しません。所属名を省略するか組織情報を確認してください",
            )
        return known
    if typed is None:
        raise ValidationError("dept_name", "required", "所属名を解決できません。所属名を入力してください")
    return typed


def register(op: Op, params: Mapping[str, Any]) -> Registration:
    """Register a person as held by the actor's department; reopen a released row."""
    op.require_role("register")  # an outsider gets a denial, not a validation hint
    p = v.check_fields(params, REGISTER_FIELDS)
    address_no = v.address_no(p.get("address_no"), op.rt.settings)
    op.target = address_no
    dept_code = (
        v.code(p["dept_code"], op.rt.settings, field="dept_code")
        if p.get("dept_code") is not None
        else op.actor.dept_code
    )
    op.details["dept_code"] = dept_code
    op.require("register", dept_code)
    person, source = _person(op, address_no, p)
    input_date = (
        v.not_future(v.a_date(p["input_date"], op.rt.eras, field="input_date"), op.today, field="input_date")
        if p.get("input_date") is not None
        else op.today
    )
    if person.birth_date > op.today:
        raise ValidationError("birth_date", "future", "生年月日に未来の日付は指定できません")
    dept_name = _dept_name(op, dept_code, p.get("dept_name"))
    op.details["person_source"] = source
    begin_write(op.conn)  # the host has answered: only now the write lock (SQLite), never during its hooks
    existing = op.conn.execute(_by_person_dept, {"address_no": address_no, "dept_code": dept_code}).first()
    if existing is not None and _locking(op):
        # Lock the row found (a record lock; locking a missing key would take gap locks on MariaDB
        # that make concurrent first registrations deadlock). A new row is guarded by the unique key.
        existing = op.conn.execute(_by_id_locked, {"record_id": existing.id}).first()
    values = {
        "name": person.name, "sex_code": person.sex_code, "birth_date": person.birth_date,
        "dept_name": dept_name, "input_date": input_date, "release_date": None,
    }
    if existing is not None:
        current = to_value(existing)
        if current.release_date is None or is_active(current.input_date, current.release_date, op.today):
            raise DuplicateError(
                f"この所属（{dept_code}）は既にこの宛名番号を有効な登録として保持しています"
                f"（レコードID {current.record_id}）"
            )
        if current.release_date is not None and input_date < current.release_date:
            raise ValidationError(
                "input_date",
                "before_previous_release",
                f"入力日は前回の解除日（{current.release_date.isoformat()}）以降の日付を指定してください",
            )
        op.details.update(record_id=current.record_id, reopened=True)
        return _write(op, current.record_id, current.row_version, values)
    now = op.now.replace(tzinfo=None)
    result = None
    try:
        with op.conn.begin_nested():
            result = op.conn.execute(
                sa.insert(registration).values(
                    address_no=address_no, dept_code=dept_code, row_version=1, created_at=now, updated_at=now,
                    **values,
                )
            )
    except sa.exc.IntegrityError:
        pass  # raised below, outside the handler: the driver's text (with 氏名) is not chained
    if result is None:
        raise DuplicateError(f"この所属（{dept_code}）は既にこの宛名番号を登録しています")
    record_id = inserted_id(result)
    op.details["record_id"] = record_id
    op.changed_number(address_no)
    return _leaves(op, _load(op, record_id))


def _own_record(op: Op, action: str, p: Mapping[str, Any]) -> Registration:
    """The record named by ``record_id``, held by the actor's department, at the given row version."""
    record_id = v.positive_int(v.required(p, "record_id"), field="record_id")
    op.target = f"record:{record_id}"
    version = v.positive_int(v.required(p, "row_version"), field="row_version")
    seen = _load(op, record_id)
    op.details["dept_code"] = seen.dept_code
    op.require(action, seen.dept_code)  # the host's dvflag_authorize: no lock held while it answers
    begin_write(op.conn)
    current = _load(op, record_id, lock=True)  # again, under the lock: a change committed meanwhile wins
    _check_version(current, version)
    return current


def update(op: Op, params: Mapping[str, Any]) -> Registration:
    """Correct 氏名・性別・生年月日 of the own department's record (optimistic locking required)."""
    op.require_role("update")  # role and validity first: an outsider learns nothing
    p = v.check_fields(params, UPDATE_FIELDS)
    current = _own_record(op, "update", p)
    values: dict[str, Any] = {}
    if p.get("name") is not None:
        values["name"] = v.person_name(p["name"])
    if p.get("sex_code") is not None:
        values["sex_code"] = v.sex_code(p["sex_code"])
    if p.get("birth_date") is not None:
        values["birth_date"] = v.not_future(
            v.a_date(p["birth_date"], op.rt.eras, field="birth_date"), op.today, field="birth_date"
        )
    if not values:
        raise ValidationError("name", "required", "変更する項目（氏名・性別・生年月日）を指定してください")
    op.details["fields"] = sorted(values)
    return _write(op, current.record_id, current.row_version, values)


def release(op: Op, params: Mapping[str, Any]) -> Registration:
    """解除: end the own department's protection on a day (today by default)."""
    op.require_role("release")
    p = v.check_fields(params, RELEASE_FIELDS)
    current = _own_record(op, "release", p)
    if current.release_date is not None:
        raise StateError("この登録は既に解除されています", code="state.released")
    day = (
        v.not_future(v.a_date(p["release_date"], op.rt.eras, field="release_date"), op.today, field="release_date")
        if p.get("release_date") is not None
        else op.today
    )
    if day < current.input_date:
        raise ValidationError("release_date", "before_input", "解除日は入力日以降の日付を指定してください")
    op.details["release_date"] = day.isoformat()
    return _write(op, current.record_id, current.row_version, {"release_date": day})


def unrelease(op: Op, params: Mapping[str, Any]) -> Registration:
    """解除取消: undo a release; only the holding department may."""
    op.require_role("unrelease")
    p = v.check_fields(params, UNRELEASE_FIELDS)
    current = _own_record(op, "unrelease", p)
    if current.release_date is None:
        raise StateError("この登録は解除されていません", code="state.not_released")
    op.details["undone_release_date"] = current.release_date.isoformat()
    return _write(op, current.record_id, current.row_version, {"release_date": None})


def delete(op: Op, params: Mapping[str, Any]) -> dict[str, Any]:
    """削除: remove a registration entered by mistake; a reason is required and audited."""
    op.require_role("delete")
    p = v.check_fields(params, DELETE_FIELDS)
    reason = v.required(p, "reason")
    if reason not in DELETE_REASONS:
        choices = "、".join(f"{k}（{label}）" for k, label in DELETE_REASONS.items())
        raise ValidationError("reason", "reason_code", f"削除理由は次のいずれかを指定してください: {choices}")
    current = _own_record(op, "delete", p)
    result = op.conn.execute(
        sa.delete(registration).where(
            registration.c.id == current.record_id, registration.c.row_version == current.row_version
        )
    )
    if result.rowcount != 1:
        raise StaleVersionError("この登録は他の操作で更新されています。再表示してから操作してください")
    op.changed_number(current.address_no)
    # The reason is a fixed code, never free text: no personal detail can reach the audit trail.
    op.details.update(
        reason=reason, address_no=current.address_no, record_id=current.record_id, row_version=current.row_version
    )
    return {"record_id": current.record_id, "deleted": True}


def today_or(op: Op, value: object, field: str) -> date:
    """A date parameter or today."""
    return op.today if value is None else v.a_date(value, op.rt.eras, field=field)
