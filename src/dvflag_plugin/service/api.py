"""The typed facade over every operation; host functions and the CLI call only this."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dvflag_hookspecs import (
    Actor,
    AuditEvent,
    ExportResult,
    Notice,
    Registration,
    ReleaseAdvice,
    ReviewItem,
    SearchResult,
    Status,
    UserAccount,
    VerifyResult,
)

from . import audit_ops, exports, notices, queries, records, users
from .runtime import Runtime


class DvflagService:
    """One method per host function; each call is one audited transaction."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def register(self, actor: Actor, params: Mapping[str, Any]) -> Registration:
        """登録: the actor's department starts holding the person (or holds again)."""
        return self.runtime.run(actor, "register", lambda op: records.register(op, params), params=params)

    def update(self, actor: Actor, params: Mapping[str, Any]) -> Registration:
        """変更: correct 氏名・性別・生年月日 of an own record, with its row version."""
        return self.runtime.run(actor, "update", lambda op: records.update(op, params), params=params)

    def release(self, actor: Actor, params: Mapping[str, Any]) -> Registration:
        """解除: the department stops holding the person."""
        return self.runtime.run(actor, "release", lambda op: records.release(op, params), params=params)

    def unrelease(self, actor: Actor, params: Mapping[str, Any]) -> Registration:
        """解除取消: undo the own department's release."""
        return self.runtime.run(
            actor, "unrelease", lambda op: records.unrelease(op, params), params=params
        )

    def delete(self, actor: Actor, params: Mapping[str, Any]) -> dict[str, Any]:
        """削除: remove a registration entered by mistake (reason code required)."""
        return self.runtime.run(actor, "delete", lambda op: records.delete(op, params), params=params)

    def status(self, actor: Actor, params: Mapping[str, Any]) -> Status:
        """把握状況: which departments hold one number today."""
        return self.runtime.run(actor, "status", lambda op: queries.status(op, params), params=params)

    def search(self, actor: Actor, params: Mapping[str, Any]) -> SearchResult:
        """検索: by number, name, birth date, department, state and input-date range."""
        return self.runtime.run(actor, "search", lambda op: queries.search(op, params), params=params)

    def review_due(self, actor: Actor, params: Mapping[str, Any]) -> tuple[ReviewItem, ...]:
        """見直し対象: the own department's registrations due for review."""
        return self.runtime.run(actor, "review_due", lambda op: queries.review_due(op, params), params=params)

    def export(self, actor: Actor, params: Mapping[str, Any], *, via: str | None = None) -> ExportResult:
        """抽出・印刷: the own department's or all departments' list as CSV, Excel or PDF."""
        return self.runtime.run(actor, "export", lambda op: exports.export(op, params), via=via, params=params)

    def users(self, actor: Actor, params: Mapping[str, Any]) -> Any:
        """利用者管理: list, add, update, roles, disable, enable, attest."""
        return self.runtime.run(actor, "users", lambda op: users.users(op, params), params=params)

    def audit(
        self, actor: Actor, params: Mapping[str, Any]
    ) -> VerifyResult | tuple[AuditEvent, ...] | dict[str, Any]:
        """監査: verify, read or checkpoint the audit trail."""
        return self.runtime.run(actor, "audit", lambda op: audit_ops.audit(op, params), params=params)

    def notices(self, actor: Actor, address_nos: Sequence[str]) -> dict[str, list[Notice]]:
        """Cautions for one number or a batch: one call, one event."""
        answer = notices.screen_caution(self.runtime, actor, address_nos)
        if answer is not None:
            return answer
        return self.runtime.run(actor, "notices", lambda op: notices.notices(op, address_nos), reads_alone=True)

    def advice(self, actor: Actor, address_no: str) -> ReleaseAdvice:
        """Release advice before the host clears its disclosure flags."""
        return self.runtime.run(actor, "advice", lambda op: queries.advice(op, address_no))

    def user_list(self, actor: Actor) -> tuple[UserAccount, ...]:
        """Shorthand for ``users(actor, {"op": "list"})``."""
        result: tuple[UserAccount, ...] = self.users(actor, {"op": "list"})
        return result
