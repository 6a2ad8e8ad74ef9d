"""Input validation: each failure names the field and the rule, in Japanese, and changes nothing."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from ..config import Settings
from ..errors import UnknownFieldError, ValidationError
from ..text.names import field_label, normalize_name
from ..text.wareki import EraTable, parse_date

SEX_CODES = {0: "不明", 1: "男", 2: "女", 9: "適用不能"}


def label(field: str) -> str:
    """The Japanese label of a field for messages (one table: ``text.names.FIELD_LABELS``)."""
    return field_label(field)


MAX_TEXT_INPUT = 1000
"""No text parameter is longer (氏名: 100 characters of up to 4 code points each); checked first."""


def bounded(params: Mapping[str, Any]) -> None:
    """Refuse an oversized text parameter before any database work (a 10 MB 氏名 costs nothing)."""
    if not isinstance(params, Mapping):
        return  # the function's own check names the problem
    for key, value in params.items():
        if isinstance(value, str) and len(value) > MAX_TEXT_INPUT:
            raise ValidationError(
                str(key), "too_long", f"{label(str(key))}が長すぎます（{MAX_TEXT_INPUT}文字以内で入力してください）"
            )


def check_fields(params: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """Refuse unknown fields (never dropped) and turn empty strings into None (Oracle: '' is NULL)."""
    allowed_set = set(allowed)
    unknown = [k for k in params if k not in allowed_set]
    if unknown:
        raise UnknownFieldError([str(k) for k in unknown])
    cleaned: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and value.strip(" \u3000\t") == "":
            value = None
        cleaned[key] = value
    return cleaned


def required(params: Mapping[str, Any], field: str) -> Any:
    """The value of a required field, or a ``required`` error naming it."""
    value = params.get(field)
    if value is None:
        raise ValidationError(field, "required", f"{label(field)}は必須です")
    return value


def address_no(value: object, settings: Settings, *, field: str = "address_no") -> str:
    """ASCII digits after NFKC (full-width accepted), kept as a string; length per settings."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        raise ValidationError(field, "required", f"{label(field)}は必須です")
    if not isinstance(value, str):
        raise ValidationError(
            field, "type", f"{label(field)}は文字列で指定してください（先頭の0が失われるため数値は不可）"
        )
    text = value if value.isascii() else unicodedata.normalize("NFKC", value)
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        raise ValidationError(field, "digits", f"{label(field)}は数字のみで入力してください")
    fixed = settings.address_no_fixed_len
    if fixed is not None and len(text) != fixed:
        raise ValidationError(field, "length", f"{label(field)}は{fixed}桁で入力してください")
    if not settings.address_no_min_len <= len(text) <= settings.address_no_max_len:
        raise ValidationError(
            field,
            "length",
            f"{label(field)}は{settings.address_no_min_len}〜{settings.address_no_max_len}桁で入力してください",
        )
    return text


def sex_code(value: object, *, field: str = "sex_code") -> int:
    """JIS X 5218 code: 0, 1, 2 or 9 (an int or its digit string)."""
    code: int | None = None
    if isinstance(value, bool):
        code = None
    elif isinstance(value, int):
        code = value
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        code = int(text) if text.isascii() and text.isdigit() else None
    if code not in SEX_CODES:
        raise ValidationError(
            field,
            "sex_code",
            f"{label(field)}は JIS X 5218 のコード（0:不明, 1:男, 2:女, 9:適用不能）で指定してください",
        )
    return code


def a_date(value: object, eras: EraTable, *, field: str) -> date:
    """A date given as ``date``, ISO text or 和暦 text."""
    if value is None:
        raise ValidationError(field, "required", f"{label(field)}は必須です")
    if not isinstance(value, str | date):
        raise ValidationError(field, "date_format", f"{label(field)}は日付で指定してください")
    return parse_date(value, field=field, eras=eras)


def not_future(day: date, today: date, *, field: str) -> date:
    """Refuse a day after today (birth, input and release dates)."""
    if day > today:
        raise ValidationError(field, "future", f"{label(field)}に未来の日付は指定できません")
    return day


def person_name(value: object, *, field: str = "name") -> str:
    """氏名: NFC, up to 100 characters, 4-byte characters and IVS kept."""
    if not isinstance(value, str):
        raise ValidationError(field, "required", f"{label(field)}は必須です")
    return normalize_name(value, field=field, max_chars=100)


def short_text(value: object, *, field: str, max_len: int) -> str:
    """A required short code or label (所属コード, 利用者ID …)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "required", f"{label(field)}は必須です")
    text = unicodedata.normalize("NFC", value.strip())
    if len(text) > max_len:
        raise ValidationError(field, "too_long", f"{label(field)}は{max_len}文字以内で入力してください")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ValidationError(field, "control_char", f"{label(field)}に制御文字は使えません")
    return text


def positive_int(value: object, *, field: str) -> int:
    """A record id or row version: a positive integer (or its digit string)."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 1:
        raise ValidationError(field, "positive_int", f"{label(field)}は1以上の整数で指定してください")
    return value
