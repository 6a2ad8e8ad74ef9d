"""Operator actions outside any host session (CLI): audited, with the operator as the actor."""

from __future__ import annotations

import getpass
import re
from datetime import date
from typing import Any

from dvflag_hookspecs import Actor, UserAccount

from ..rules import validation as v
from . import users
from .runtime import Op, Runtime

OPERATOR_DEPT = "-"


def operator_actor() -> Actor:
    """The OS account running the CLI, marked as such in the audit trail."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry in some containers
        name = "unknown"
    clean = re.sub(r"[^A-Za-z0-9_.@-]", "_", name).lstrip("_.@-") or "unknown"  # a valid actor id, whatever the OS
    return Actor(user_id=f"cli:{clean}"[:64], dept_code=OPERATOR_DEPT)


def add_user(
    rt: Runtime, actor: Actor, *, user_id: str, dept_code: str, roles: frozenset[str],
    valid_from: date | None = None, valid_to: date | None = None, enabled: bool = True,
) -> UserAccount:
    """Bootstrap a user (typically the first 利用者管理者); audited like any operation."""

    def work(op: Op) -> UserAccount:
        op.details.update(op="add", source="cli")
        uid = v.code(user_id, rt.settings, field="user_id", kind="user_id")
        op.target = f"user:{uid}"
        dept = v.code(dept_code, rt.settings, field="dept_code")
        op.details.update(roles=sorted(users.parse_roles(list(roles))), dept_code=dept)
        return users.digested(op, users.add_user(
            op.conn, now=op.now, user_id=uid, dept_code=dept, roles=roles,
            valid_from=valid_from or op.today, valid_to=valid_to, enabled=enabled,
        ))

    return rt.run(actor, "users", work, writes=True)


def list_users(rt: Runtime, actor: Actor) -> tuple[UserAccount, ...]:
    """The registry for the operator (CLI ``users list``): a read, audited like any other."""

    def work(op: Op) -> tuple[UserAccount, ...]:
        found = users.list_users(op.conn)
        op.details.update(op="list", source="cli", count=len(found))
        return found

    return rt.run(actor, "users", work)


def attest_users(rt: Runtime, actor: Actor) -> tuple[UserAccount, ...]:
    """Attest every account from the CLI (``users attest``): one event with the digest of each."""

    def work(op: Op) -> tuple[UserAccount, ...]:
        op.details.update(op="attest", source="cli")
        return users.attest(op)

    return rt.run(actor, "users", work, writes=True)


def modify_user(
    rt: Runtime, actor: Actor, *, user_id: str, changes: dict[str, Any], roles: frozenset[str] | None
) -> UserAccount:
    """Disable a user or set its roles from the CLI."""

    def work(op: Op) -> UserAccount:
        op.details.update(op="modify", source="cli", fields=sorted(changes))
        op.target = f"user:{v.code(user_id, rt.settings, field='user_id', kind='user_id')}"
        if roles is not None:
            op.details["roles"] = sorted(roles)
        account = users.modify_user(
            op.conn, now=op.now, user_id=user_id, changes=changes, roles=roles, row_version=None
        )
        return users.digested(op, account)

    return rt.run(actor, "users", work, writes=True)
