"""Operator actions outside any host session (CLI): audited, with the operator as the actor."""

from __future__ import annotations

import getpass
from datetime import date
from typing import Any

from dvflag_hookspecs import Actor, UserAccount

from ..audit import chain
from ..errors import DvflagError
from ..storage.transactions import transaction, with_retries
from . import users
from .runtime import Runtime

OPERATOR_DEPT = "-"


def operator_actor() -> Actor:
    """The OS account running the CLI, marked as such in the audit trail."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry in some containers
        name = "unknown"
    return Actor(user_id=f"cli:{name}"[:64], dept_code=OPERATOR_DEPT)


def _audited(rt: Runtime, actor: Actor, target: str, details: dict[str, Any], work: Any) -> Any:
    now = rt.now()

    def attempt() -> Any:
        with transaction(rt.engine) as conn:
            head = chain.lock_head(conn)
            result = work(conn, now)
            event = chain.append(
                conn, head, chain.Draft(actor.user_id, actor.dept_code, "users", target, "ok", None, details),
                now=now, changed=False,
            )
        return result, event

    try:
        result, event = with_retries(attempt)
    except DvflagError as err:
        rt.audit_alone(actor, "users", target, "error", err.code, {**details, "message": err.message})
        raise
    rt._published(event)
    return result


def add_user(
    rt: Runtime, actor: Actor, *, user_id: str, dept_code: str, roles: frozenset[str],
    valid_from: date | None = None, valid_to: date | None = None, enabled: bool = True,
) -> UserAccount:
    """Bootstrap a user (typically the first 利用者管理者)."""
    details = {"op": "add", "source": "cli", "roles": sorted(roles), "dept_code": dept_code}
    start = valid_from or rt.today()

    def work(conn: Any, now: Any) -> UserAccount:
        return users.add_user(
            conn, now=now, user_id=user_id, dept_code=dept_code, roles=roles, valid_from=start,
            valid_to=valid_to, enabled=enabled,
        )

    result: UserAccount = _audited(rt, actor, f"user:{user_id}", details, work)
    return result


def modify_user(
    rt: Runtime, actor: Actor, *, user_id: str, changes: dict[str, Any], roles: frozenset[str] | None
) -> UserAccount:
    """Disable a user or set its roles from the CLI."""
    details: dict[str, Any] = {"op": "modify", "source": "cli", "fields": sorted(changes)}
    if roles is not None:
        details["roles"] = sorted(roles)

    def work(conn: Any, now: Any) -> UserAccount:
        return users.modify_user(conn, now=now, user_id=user_id, changes=changes, roles=roles, row_version=None)

    result: UserAccount = _audited(rt, actor, f"user:{user_id}", details, work)
    return result
