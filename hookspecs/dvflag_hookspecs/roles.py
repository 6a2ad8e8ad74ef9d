"""Plugin roles (DESIGN §5) and the host function ids (DESIGN §4)."""

from __future__ import annotations

from typing import Final

VIEWER: Final = "viewer"
"""照会者: status of one number, search."""
REGISTRAR: Final = "registrar"
"""登録者: viewer's rights plus changes, export and review of the own department's records."""
SUPERVISOR: Final = "supervisor"
"""全庁抽出者: export of all departments' lists."""
USER_ADMIN: Final = "user_admin"
"""利用者管理者: manages plugin users; sees no registrations; cannot change own roles."""
AUDITOR: Final = "auditor"
"""監査者: reads and verifies the audit trail; sees no registrations."""

ALL_ROLES: Final = (VIEWER, REGISTRAR, SUPERVISOR, USER_ADMIN, AUDITOR)

ROLE_LABELS: Final = {
    VIEWER: "照会者",
    REGISTRAR: "登録者",
    SUPERVISOR: "全庁抽出者",
    USER_ADMIN: "利用者管理者",
    AUDITOR: "監査者",
}

# Host function ids (returned by aatena_functions(); the host UI calls nothing else).
F_REGISTER: Final = "dvflag.register"
F_UPDATE: Final = "dvflag.update"
F_RELEASE: Final = "dvflag.release"
F_UNRELEASE: Final = "dvflag.unrelease"
F_DELETE: Final = "dvflag.delete"
F_STATUS: Final = "dvflag.status"
F_SEARCH: Final = "dvflag.search"
F_EXPORT: Final = "dvflag.export"
F_REVIEW_DUE: Final = "dvflag.review_due"
F_USERS: Final = "dvflag.users"
F_AUDIT: Final = "dvflag.audit"

FUNCTION_IDS: Final = (
    F_REGISTER,
    F_UPDATE,
    F_RELEASE,
    F_UNRELEASE,
    F_DELETE,
    F_STATUS,
    F_SEARCH,
    F_EXPORT,
    F_REVIEW_DUE,
    F_USERS,
    F_AUDIT,
)
