"""利用者管理: the plugin's user registry (host user id → department, roles, validity)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa

from dvflag_hookspecs import ALL_ROLES, UserAccount
from dvflag_hookspecs.roles import USER_ADMIN

from ..audit.account_digest import ATTEST_KEY, DETAIL_KEY, account_digest
from ..errors import (
    DuplicateError,
    NotFoundError,
    PermissionDenied,
    StaleVersionError,
    StateError,  # the last-user_admin rule
    ValidationError,
)
from ..rules import permissions
from ..rules import validation as v
from ..storage.exact import exactly
from ..storage.schema import app_user, user_role
from ..storage.transactions import begin_write, inserted_id
from .runtime import Op

OPS = ("list", "get", "add", "update", "roles", "disable", "enable", "attest")
USER_FIELDS = ("op", "user_id", "dept_code", "roles", "valid_from", "valid_to", "enabled", "row_version")
OP_FIELDS: dict[str, frozenset[str]] = {
    "list": frozenset({"op"}),
    "get": frozenset({"op", "user_id"}),
    "add": frozenset({"op", "user_id", "dept_code", "roles", "valid_from", "valid_to", "enabled"}),
    "update": frozenset({"op", "user_id", "dept_code", "valid_from", "valid_to", "enabled", "row_version"}),
    "roles": frozenset({"op", "user_id", "roles", "row_version"}),
    "disable": frozenset({"op", "user_id", "row_version"}),
    "enable": frozenset({"op", "user_id", "row_version"}),
    "attest": frozenset({"op"}),
}
"""What each op uses; any other parameter given with it is refused, never silently ignored."""
_ROLE_NAME = re.compile(r"[a-z_]{1,16}", re.ASCII)

_user_row = sa.select(app_user).where(exactly(app_user.c.user_id, sa.bindparam("user_id")))


def parse_roles(value: object) -> frozenset[str]:
    """Roles as a list (or comma-separated text) of known role names."""
    items: Iterable[object]
    if isinstance(value, str):
        items = [r.strip() for r in value.split(",") if r.strip()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        raise ValidationError("roles", "type", "ロールは一覧で指定してください")
    if not all(isinstance(r, str) for r in items):
        raise ValidationError("roles", "type", "ロールは文字列の一覧で指定してください")
    roles = frozenset(str(r) for r in items)
    unknown = sorted(roles - set(ALL_ROLES))
    if unknown:
        shown = [r for r in unknown if _ROLE_NAME.fullmatch(r)][:5]  # never echo what is not a code
        hidden = len(unknown) - len(shown)
        text = ", ".join(shown) + (f" ほか{hidden}件" if hidden else "")
        raise ValidationError("roles", "unknown_role", f"未定義のロールです: {text}（可: {', '.join(ALL_ROLES)}）")
    return roles


def _account(conn: sa.Connection, row: Any) -> UserAccount:
    roles = frozenset(conn.execute(sa.select(user_role.c.role_name).where(user_role.c.user_pk == row.id)).scalars())
    return UserAccount(
        user_id=row.user_id, dept_code=row.dept_code, roles=roles, enabled=bool(row.enabled),
        valid_from=row.valid_from, valid_to=row.valid_to, row_version=int(row.row_version),
    )


def _get_row(conn: sa.Connection, user_id: str) -> Any:
    row = conn.execute(_user_row, {"user_id": user_id}).first()
    if row is None or row.user_id != user_id:  # exact, whatever the collation says
        raise NotFoundError(f"利用者 {user_id} は登録されていません", code="not_found.user")
    return row


def _set_roles(conn: sa.Connection, user_pk: int, roles: frozenset[str]) -> None:
    conn.execute(sa.delete(user_role).where(user_role.c.user_pk == user_pk))
    if roles:
        conn.execute(sa.insert(user_role), [{"user_pk": user_pk, "role_name": r} for r in sorted(roles)])


def add_user(
    conn: sa.Connection, *, now: Any, user_id: str, dept_code: str, roles: frozenset[str],
    valid_from: date, valid_to: date | None, enabled: bool = True,
) -> UserAccount:
    """Insert a user and its roles (shared by the host function and the bootstrap CLI)."""
    if any(r.user_id == user_id for r in conn.execute(_user_row, {"user_id": user_id})):
        raise DuplicateError(f"利用者 {user_id} は既に登録されています", code="duplicate.user")
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError("valid_to", "range", "有効終了日は有効開始日以降にしてください")
    stamp = now.replace(tzinfo=None)
    result = conn.execute(
        sa.insert(app_user).values(
            user_id=user_id, dept_code=dept_code, enabled=int(enabled), valid_from=valid_from, valid_to=valid_to,
            row_version=1, created_at=stamp, updated_at=stamp,
        )
    )
    _set_roles(conn, inserted_id(result), roles)
    return _account(conn, _get_row(conn, user_id))


def modify_user(conn: sa.Connection, *, now: Any, user_id: str, changes: Mapping[str, Any],
                roles: frozenset[str] | None, row_version: int | None) -> UserAccount:
    """Change a user's department, validity, enabled flag or roles (optimistic locking optional)."""
    row = _get_row(conn, user_id)
    if row_version is not None and row_version != row.row_version:
        raise StaleVersionError("利用者情報は他の操作で更新されています。再表示してください")
    valid_from = changes.get("valid_from", row.valid_from)
    valid_to = changes.get("valid_to", row.valid_to)
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError("valid_to", "range", "有効終了日は有効開始日以降にしてください")
    _keep_a_user_admin(conn, row, changes, roles)
    result = conn.execute(
        sa.update(app_user)
        .where(app_user.c.id == row.id, app_user.c.row_version == row.row_version)
        .values(**changes, row_version=row.row_version + 1, updated_at=now.replace(tzinfo=None))
    )
    if result.rowcount != 1:
        raise StaleVersionError("利用者情報は他の操作で更新されています。再表示してください")
    if roles is not None:
        _set_roles(conn, int(row.id), roles)
    return _account(conn, _get_row(conn, user_id))


_enabled_admins = (
    sa.select(sa.func.count())
    .select_from(app_user.join(user_role, user_role.c.user_pk == app_user.c.id))
    .where(app_user.c.enabled == 1, user_role.c.role_name == USER_ADMIN, app_user.c.id != sa.bindparam("user_pk"))
)


def _keep_a_user_admin(
    conn: sa.Connection, row: Any, changes: Mapping[str, Any], roles: frozenset[str] | None
) -> None:
    """Refuse to disable, or take user_admin from, the last enabled 利用者管理者: the registry would lock."""
    is_admin = bool(row.enabled) and USER_ADMIN in _account(conn, row).roles
    stays_admin = bool(changes.get("enabled", row.enabled)) and (roles is None or USER_ADMIN in roles)
    if is_admin and not stays_admin and conn.execute(_enabled_admins, {"user_pk": row.id}).scalar_one() == 0:
        raise StateError(
            f"利用者 {row.user_id} は最後の有効な利用者管理者です。先に別の利用者管理者を登録・有効化してください",
            code="state.last_user_admin",
        )


def list_users(conn: sa.Connection) -> tuple[UserAccount, ...]:
    """All users, by user id."""
    rows = conn.execute(sa.select(app_user).order_by(app_user.c.user_id)).all()
    return tuple(_account(conn, r) for r in rows)


def attest(op: Op) -> tuple[UserAccount, ...]:
    """Record the digest of every account in this operation's event: verify's baseline for each.

    Accounts never changed through the plugin since digests were added have none otherwise. The rows
    are read with locking reads (``FOR UPDATE``; on SQLite under the write lock), so that a change
    committing meanwhile is sealed after this event and its digest is the later one. The event
    carries user ids and digests only; the result lists the accounts for the administrator to review.
    """
    begin_write(op.conn)
    rows = op.conn.execute(sa.select(app_user).order_by(app_user.c.user_id).with_for_update()).all()
    roles: dict[int, list[str]] = {}
    for pk, role in op.conn.execute(sa.select(user_role.c.user_pk, user_role.c.role_name).with_for_update()):
        roles.setdefault(int(pk), []).append(str(role))
    found = tuple(
        UserAccount(
            user_id=r.user_id, dept_code=r.dept_code, roles=frozenset(roles.get(int(r.id), [])),
            enabled=bool(r.enabled), valid_from=r.valid_from, valid_to=r.valid_to, row_version=int(r.row_version),
        )
        for r in rows
    )
    op.details["count"] = len(found)
    op.details[ATTEST_KEY] = {
        a.user_id: account_digest(a.user_id, a.dept_code, a.roles, a.enabled, a.valid_from, a.valid_to)
        for a in found
    }
    return found


def users(op: Op, params: Mapping[str, Any]) -> Any:
    """The dvflag.users function: list / get / add / update / roles / disable / enable / attest.

    A user_admin changes nothing about its own account, by any op.
    """
    op.require_role("users")  # an outsider is denied before its parameters are read
    p = v.check_fields(params, USER_FIELDS)
    action = v.choice(p.get("op"), "op", OPS, "list")
    op.details["op"] = action
    v.only_fields(p, OP_FIELDS[action], action)
    op.require("users")
    if action == "list":
        found = list_users(op.conn)
        op.details["count"] = len(found)
        return found
    if action == "attest":
        return attest(op)
    settings = op.rt.settings
    user_id = v.code(v.required(p, "user_id"), settings, field="user_id", kind="user_id")
    op.target = f"user:{user_id}"
    if action == "get":
        return _account(op.conn, _get_row(op.conn, user_id))
    if user_id == op.actor.user_id:
        reason = "users.own_roles" if action == "roles" else "users.own_account"
        raise PermissionDenied(permissions.DENIAL_MESSAGES[reason], code=reason)
    begin_write(op.conn)  # a change: the write lock (SQLite) only now, after the host's dvflag_authorize
    enabled = v.flag(p["enabled"], "enabled") if p.get("enabled") is not None else None
    if action == "add":
        roles = parse_roles(p.get("roles") if p.get("roles") is not None else [])
        account = add_user(
            op.conn, now=op.now, user_id=user_id,
            dept_code=v.code(v.required(p, "dept_code"), settings, field="dept_code"),
            roles=roles,
            valid_from=_day(op, p, "valid_from") or op.today,
            valid_to=_day(op, p, "valid_to"),
            enabled=True if enabled is None else enabled,
        )
        op.details["roles"] = sorted(roles)
        op.details["enabled"] = account.enabled
        return digested(op, account)
    changes: dict[str, Any] = {}
    roles_change: frozenset[str] | None = None
    if action == "roles":
        roles_change = parse_roles(v.required(p, "roles"))
        op.details["roles"] = sorted(roles_change)
    elif action in ("disable", "enable"):
        changes["enabled"] = int(action == "enable")
    else:  # update
        if p.get("dept_code") is not None:
            changes["dept_code"] = v.code(p["dept_code"], settings, field="dept_code")
        for field in ("valid_from", "valid_to"):
            day = _day(op, p, field)
            if day is not None:
                changes[field] = day
        if enabled is not None:
            changes["enabled"] = int(enabled)
        if not changes:
            raise ValidationError(
                "dept_code", "required", "変更する項目（所属コード・有効期間・有効）を指定してください"
            )
        op.details["fields"] = sorted(changes)
    version = v.positive_int(p["row_version"], field="row_version") if p.get("row_version") is not None else None
    account = modify_user(
        op.conn, now=op.now, user_id=user_id, changes=changes, roles=roles_change, row_version=version
    )
    return digested(op, account)


def digested(op: Op, account: UserAccount) -> UserAccount:
    """Record the digest of the account as the change leaves it, for verify's replay; return it."""
    op.details[DETAIL_KEY] = account_digest(
        account.user_id, account.dept_code, account.roles, account.enabled, account.valid_from, account.valid_to
    )
    return account


def _day(op: Op, p: Mapping[str, Any], field: str) -> date | None:
    return v.a_date(p[field], op.rt.eras, field=field) if p.get(field) is not None else None
