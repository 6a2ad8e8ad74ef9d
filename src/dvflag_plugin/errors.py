"""Typed errors with Japanese messages for staff, each naming the field and the rule broken."""

from __future__ import annotations

import re

ECHO_LIMIT = 5
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}", re.ASCII)


class DvflagError(Exception):
    """Base of every error the plugin raises on purpose.

    ``code`` is a stable machine-readable reason (also the audit reason code); ``message`` is the
    Japanese text a host screen may show to staff as it is.
    """

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class ValidationError(DvflagError):
    """Bad input: names the field and the rule. Nothing was changed."""

    code = "invalid"

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message, code=f"invalid.{rule}")
        self.field = field
        self.rule = rule


class UnknownFieldError(ValidationError):
    """A parameter the function does not accept: refused, never dropped or stored.

    Only names that look like field names (``[a-z][a-z0-9_]{0,31}``, at most five) are echoed; the
    rest are counted, so that a list of pairs or a flood of names never lands in the audit trail.
    """

    def __init__(self, fields: list[object] | tuple[object, ...]) -> None:
        safe = sorted({f for f in fields if isinstance(f, str) and _FIELD_NAME.fullmatch(f)})
        shown = safe[:ECHO_LIMIT]
        hidden = len(fields) - len(shown)
        names = ", ".join(shown)
        text = names + (f"{'、' if names else ''}ほか{hidden}件" if hidden else "")
        super().__init__(names or "params", "unknown_field", f"未定義の項目は受け付けられません: {text}")
        self.fields = tuple(shown)
        self.count = len(fields)


class HostContractError(DvflagError):
    """The host answered a PluginServices hook outside its contract (a bad master-data answer)."""

    code = "host.contract"


class PermissionDenied(DvflagError):
    """The actor may not do this. The denial has been audited with ``code`` as its reason."""

    code = "denied"


class InvalidActorError(PermissionDenied):
    """The Actor handed over by the host is not a clean user id and department code: refused, audited."""

    code = "actor.invalid"


class NotFoundError(DvflagError):
    """The record or user named does not exist (or is not visible to the actor)."""

    code = "not_found"


class DuplicateError(DvflagError):
    """An active registration of the same person by the same department already exists."""

    code = "duplicate"


class StaleVersionError(DvflagError):
    """Optimistic locking: the row changed since the caller read it; nothing was overwritten."""

    code = "stale_version"


class StateError(DvflagError):
    """The operation does not fit the record's state (e.g. releasing what is already released)."""

    code = "state"


class SchemaVersionError(DvflagError):
    """The database schema is not at the version this plugin expects; run the migrations."""

    code = "schema_version"
