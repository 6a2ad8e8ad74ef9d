"""The aatena ↔ dvflag contract: hook specifications, markers and the values crossing the seam.

Depends on pluggy alone, so a host vendor can load and read the contract without the plugin.
"""

from __future__ import annotations

from .facade import HostHookCaller, PluginServiceCaller
from .host_hooks import HostHooks
from .markers import ENTRY_POINT_GROUP, PROJECT_NAME, hookimpl, hookspec
from .plugin_services import PluginServices
from .roles import ALL_ROLES, FUNCTION_IDS, ROLE_LABELS
from .values import (
    Actor,
    AuditEvent,
    Department,
    ExportResult,
    Holding,
    HostContext,
    HostFunction,
    HostFunctionCall,
    MigrationSource,
    Notice,
    Person,
    Registration,
    ReleaseAdvice,
    ReviewItem,
    SearchResult,
    Status,
    UserAccount,
    VerifyResult,
)

__all__ = [
    "ALL_ROLES",
    "ENTRY_POINT_GROUP",
    "FUNCTION_IDS",
    "PROJECT_NAME",
    "ROLE_LABELS",
    "Actor",
    "AuditEvent",
    "Department",
    "ExportResult",
    "Holding",
    "HostContext",
    "HostFunction",
    "HostFunctionCall",
    "HostHookCaller",
    "HostHooks",
    "MigrationSource",
    "Notice",
    "Person",
    "PluginServiceCaller",
    "PluginServices",
    "Registration",
    "ReleaseAdvice",
    "ReviewItem",
    "SearchResult",
    "Status",
    "UserAccount",
    "VerifyResult",
    "hookimpl",
    "hookspec",
]
