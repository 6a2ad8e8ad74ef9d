"""Who may do what (DESIGN §5): the role × action × own/other-department matrix. Deny by default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from dvflag_hookspecs.roles import AUDITOR, REGISTRAR, SUPERVISOR, USER_ADMIN, VIEWER


@dataclass(frozen=True, slots=True)
class Rule:
    """Roles that may perform an action, and whether it is limited to the actor's own department."""

    roles: frozenset[str]
    own_department_only: bool


def _rule(*roles: str, own: bool = False) -> Rule:
    return Rule(frozenset(roles), own)


MATRIX: Final[dict[str, Rule]] = {
    "status": _rule(VIEWER, REGISTRAR),
    "search": _rule(VIEWER, REGISTRAR),
    "advice_details": _rule(VIEWER, REGISTRAR),
    "register": _rule(REGISTRAR, own=True),
    "update": _rule(REGISTRAR, own=True),
    "release": _rule(REGISTRAR, own=True),
    "unrelease": _rule(REGISTRAR, own=True),
    "delete": _rule(REGISTRAR, own=True),
    "review_due": _rule(REGISTRAR, own=True),
    "export_own": _rule(REGISTRAR, own=True),
    "export_all": _rule(SUPERVISOR),
    "users": _rule(USER_ADMIN),
    "audit_read": _rule(AUDITOR),
    "audit_verify": _rule(AUDITOR),
}
"""Every action the registry guards. An action missing here is denied to everyone."""

OPEN_ACTIONS: Final = frozenset({"notices", "advice"})
"""Actions any host user may perform: the caution and the bare 'safe or not' answer, no details."""

DENIAL_MESSAGES: Final[dict[str, str]] = {
    "user.unknown": "この利用者は本機能の利用者として登録されていません",
    "user.disabled": "この利用者は無効化されています",
    "user.not_yet_valid": "この利用者の有効期間が始まっていません",
    "user.expired": "この利用者の有効期間が終了しています",
    "user.dept_mismatch": "ホストの所属と利用者登録の所属が一致しません",
    "role.missing": "この操作を行う権限（ロール）がありません",
    "dept.other": "他所属のデータは操作できません",
    "host.denied": "ホストシステムがこの操作を許可していません",
    "host.invalid_answer": "ホストシステムの許可判定の回答が不正なため、操作を拒否しました",
    "users.own_roles": "自分自身のロールは変更できません",
    "users.own_account": "自分自身の利用者情報は変更できません",
    "action.unknown": "未定義の操作です",
}


@dataclass(frozen=True, slots=True)
class Account:
    """A registry entry as the access check needs it."""

    user_id: str
    dept_code: str
    roles: frozenset[str]
    enabled: bool
    valid_from: date
    valid_to: date | None


def account_problem(account: Account | None, actor_dept: str, today: date) -> str | None:
    """Why this account may use nothing today, or None when it is usable."""
    if account is None:
        return "user.unknown"
    if not account.enabled:
        return "user.disabled"
    if today < account.valid_from:
        return "user.not_yet_valid"
    if account.valid_to is not None and today > account.valid_to:
        return "user.expired"
    if account.dept_code != actor_dept:
        return "user.dept_mismatch"
    return None


def decide(account: Account | None, actor_dept: str, action: str, target_dept: str | None, today: date) -> str | None:
    """The denial reason for ``action`` on ``target_dept``'s data, or None when the registry allows it."""
    rule = MATRIX.get(action)
    if rule is None:
        return "action.unknown"
    problem = account_problem(account, actor_dept, today)
    if problem is not None or account is None:
        return problem or "user.unknown"
    if not account.roles & rule.roles:
        return "role.missing"
    if rule.own_department_only and target_dept is not None and target_dept != account.dept_code:
        return "dept.other"
    return None
