"""A digest of a plugin user's account state, carried by each user change event.

Verify replays these against ``dvf_app_user`` and ``dvf_user_role``: an account whose department,
roles, validity or enabled flag differ from what its last change event left was changed behind the
plugin's back (a role granted straight in the table gives its holder every department's list). The
account holds no personal item of a protected person, so a plain SHA-256 of the canonical state will do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date

DETAIL_KEY = "account"
"""The key of the digest in a ``users`` event's details."""

ATTEST_KEY = "accounts"
"""The key of an attestation's digests (user id → digest of every account) in a ``users`` event's details.

From the first attestation on, verify reports every account in the tables that no event gave a digest.
"""


def account_digest(
    user_id: str, dept_code: str, roles: Iterable[str], enabled: bool, valid_from: date | None, valid_to: date | None
) -> str:
    """SHA-256 of the account's canonical state (user id, department, sorted roles, validity, enabled)."""
    state = {
        "user_id": user_id, "dept_code": dept_code, "roles": sorted(roles), "enabled": bool(enabled),
        "valid_from": valid_from.isoformat() if valid_from is not None else None,
        "valid_to": valid_to.isoformat() if valid_to is not None else None,
    }  # fmt: skip
    return hashlib.sha256(json.dumps(state, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
