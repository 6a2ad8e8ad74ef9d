"""The host functions (DESIGN §4): ids, Japanese labels, roles, descriptors and the callables a host UI uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dvflag_hookspecs import Actor, HostFunction
from dvflag_hookspecs import roles as r

from ..service import audit_ops, queries, records, users
from ..service.api import DvflagService
from ..service.exports import EXPORT_FIELDS
from .descriptors import build_descriptors

_SPECS: tuple[tuple[str, str, tuple[str, ...], str, tuple[str, ...]], ...] = (
    (r.F_REGISTER, "DV等被害者の登録", (r.REGISTRAR,), "register", records.REGISTER_FIELDS),
    (r.F_UPDATE, "登録内容の変更", (r.REGISTRAR,), "update", records.UPDATE_FIELDS),
    (r.F_RELEASE, "解除", (r.REGISTRAR,), "release", records.RELEASE_FIELDS),
    (r.F_UNRELEASE, "解除取消", (r.REGISTRAR,), "unrelease", records.UNRELEASE_FIELDS),
    (r.F_DELETE, "削除（誤登録）", (r.REGISTRAR,), "delete", records.DELETE_FIELDS),
    (r.F_STATUS, "把握状況の照会", (r.VIEWER, r.REGISTRAR), "status", queries.STATUS_FIELDS),
    (r.F_SEARCH, "対象者の検索", (r.VIEWER, r.REGISTRAR), "search", queries.SEARCH_FIELDS),
    (r.F_EXPORT, "対象者一覧の抽出・印刷", (r.REGISTRAR, r.SUPERVISOR), "export", EXPORT_FIELDS),
    (r.F_REVIEW_DUE, "見直し対象一覧", (r.REGISTRAR,), "review_due", queries.REVIEW_FIELDS),
    (r.F_USERS, "利用者管理", (r.USER_ADMIN,), "users", users.USER_FIELDS),
    (r.F_AUDIT, "監査証跡の照会・検証", (r.AUDITOR,), "audit", audit_ops.AUDIT_FIELDS),
)


def host_functions(service: DvflagService) -> list[HostFunction]:
    """One HostFunction per id, with its descriptor for this host's settings; each call is audited."""
    descriptors = build_descriptors(service.runtime.settings)
    found = []
    for function_id, label, roles, method, params in _SPECS:
        bound: Callable[[Actor, Mapping[str, Any]], Any] = getattr(service, method)
        found.append(HostFunction(function_id, label, roles, bound, params, descriptors[function_id]))
    return found
