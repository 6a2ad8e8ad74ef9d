"""A salted digest of a registration row's state, carried by each change event (issue 11 item 7).

Verify replays the change events against ``dvf_registration``: a row whose digest differs from the one
its last change event left was edited behind the plugin's back. The digest is HMAC-SHA256 keyed by a
per-row random salt kept with the row, so the trail (audit lines, the host's copy) never lets anyone
confirm a guessed name or birth date: without the row's salt a guess cannot be checked, and a deleted
row takes its salt with it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

SALT_HEX_LEN = 32
"""16 random bytes as lower-case hex: what ``dvf_registration.row_salt`` holds."""

STATE_FIELDS = (
    "id", "address_no", "name", "sex_code", "birth_date", "dept_code", "dept_name", "input_date",
    "release_date", "row_version",
)
"""Every column that matters; the UTC timestamps and the salt itself are left out."""


def new_salt() -> str:
    """A fresh random salt for a new row."""
    return secrets.token_hex(SALT_HEX_LEN // 2)


def _plain(value: object) -> object:
    """One column value as JSON: ISO dates (a driver's midnight datetime as its date), ints, text."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return str(value)


def row_state(row: Mapping[str, Any] | Any) -> dict[str, object]:
    """The row's state as plain JSON values (dates in ISO form), from a mapping or a Row."""
    get = row.get if isinstance(row, Mapping) else (lambda name: getattr(row, name))
    state: dict[str, object] = {}
    for name in STATE_FIELDS:
        value = get(name)
        state[name] = None if value is None else _plain(value)
    return state


def row_digest(row: Mapping[str, Any] | Any, salt: str) -> str:
    """HMAC-SHA256(salt, canonical JSON of the row's state), hex."""
    if len(salt) != SALT_HEX_LEN:
        raise ValueError("row salt must be 32 hex digits")
    message = json.dumps(row_state(row), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(bytes.fromhex(salt), message.encode("utf-8"), hashlib.sha256).hexdigest()


def derived_salt(secret: bytes, record_id: int) -> str:
    """A per-row salt derived from a plugin secret, for a schema without a salt column."""
    return hmac.new(secret, f"dvf_registration:{int(record_id)}".encode(), hashlib.sha256).hexdigest()[
        :SALT_HEX_LEN
    ]
