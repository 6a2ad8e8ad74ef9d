"""The plugin's settings, read from the host's settings mapping under ``dvflag.*`` keys."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, timezone
from typing import Any

from .errors import ValidationError

PREFIX = "dvflag."


@dataclass(frozen=True, slots=True)
class Settings:
    """Plugin settings; every one has a safe default."""

    address_no_min_len: int = 1
    address_no_max_len: int = 16
    address_no_fixed_len: int | None = None
    review_period_months: int = 12
    review_alert_months: int = 1
    utc_offset_hours: int = 9
    audit_log_path: str | None = None
    audit_logger_name: str = "dvflag.audit"
    extra_eras: tuple[Mapping[str, str], ...] = ()
    search_max_rows: int = 200
    dept_code_pattern: str = r"[A-Za-z0-9_-]{1,16}"
    user_id_pattern: str = r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}"
    audit_seal_batch: int = 64
    audit_seal_interval_s: float = 2.0
    audit_max_unsealed_s: float = 300.0
    audit_seal_background: bool = True
    """A daemon thread seals an idle process's queued events after the interval (audit/seal_worker.py)."""
    audit_signing_key: str | None = None
    audit_verify_key: str | None = None
    audit_origin: str = "dvflag.local/audit"
    caution_driver_path: bool = True
    """A screen caution's two statements go to the pool's DBAPI connection (storage/direct.py)."""

    def __post_init__(self) -> None:
        lo, hi, fixed = self.address_no_min_len, self.address_no_max_len, self.address_no_fixed_len
        if not 1 <= lo <= hi <= 32 or (fixed is not None and not 1 <= fixed <= 32):
            raise ValidationError(
                "address_no_len", "setting", "設定 dvflag.address_no_*_len は 1〜32 の範囲で指定してください"
            )
        if self.review_period_months < 1 or self.review_alert_months < 0:
            raise ValidationError("review_period_months", "setting", "見直し期間の設定が不正です")
        if not isinstance(self.search_max_rows, int) or not 1 <= self.search_max_rows <= 10_000:
            raise ValidationError(
                "search_max_rows", "setting", "設定 dvflag.search_max_rows は 1〜10000 で指定してください"
            )
        for name in ("dept_code_pattern", "user_id_pattern"):
            try:
                re.compile(getattr(self, name))
            except (re.error, TypeError) as err:
                raise ValidationError(name, "setting", f"設定 dvflag.{name} は正規表現で指定してください") from err
        if self.audit_seal_batch < 1 or self.audit_seal_interval_s < 0 or self.audit_max_unsealed_s <= 0:
            raise ValidationError("audit_seal_batch", "setting", "監査イベントの封緘の設定が不正です")
        for flag in ("caution_driver_path", "audit_seal_background"):
            if not isinstance(getattr(self, flag), bool):
                raise ValidationError(flag, "setting", f"設定 dvflag.{flag} は true / false で指定してください")

    def code_regex(self, kind: str) -> re.Pattern[str]:
        """The compiled syntax of a code kind (``dept_code`` or ``user_id``), ASCII-only classes."""
        return _compiled(self.dept_code_pattern if kind == "dept_code" else self.user_id_pattern)

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> Settings:
        """Take the ``dvflag.*`` keys of the host's settings; an unknown ``dvflag.*`` key is refused."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in settings.items():
            if not key.startswith(PREFIX):
                continue
            name = key[len(PREFIX) :]
            if name not in known:
                raise ValidationError(key, "unknown_setting", f"未定義の設定項目です: {key}")
            values[name] = tuple(value) if name == "extra_eras" else value
        return cls(**values)

    @property
    def tz(self) -> timezone:
        """The municipality's local time zone (fixed offset; Japan has no daylight saving)."""
        return _zone(self.utc_offset_hours)

    def local_day(self, now_utc: datetime) -> date:
        """The local calendar day of an aware UTC instant."""
        return now_utc.astimezone(self.tz).date()


_PATTERNS: dict[str, re.Pattern[str]] = {}


@functools.cache
def _zone(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))  # built once: every call's local day asks for it


def _compiled(pattern: str) -> re.Pattern[str]:
    found = _PATTERNS.get(pattern)
    if found is None:
        found = _PATTERNS[pattern] = re.compile(pattern, re.ASCII)
    return found
