"""Input validation: each failure names the field and the rule, in Japanese, and changes nothing."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from ..config import Settings
from ..errors import UnknownFieldError, ValidationError
from ..text.names import field_label, normalize_name
from ..text.wareki import EraTable, parse_date

SEX_CODES = {0: "不明", 1: "男", 2: "女", 9: "適用不能"}


def label(field: str) -> str:
    """The Japanese label of a field for messages (one table: ``text.names.FIELD_LABELS``)."""
    return field_label(field)


MAX_TEXT = 1000
"""No string parameter is longer than this (氏名 is 100 characters of up to 4 code points each)."""
MAX_INT = 2**31 - 1
"""Record ids, row versions, sequence numbers and limits fit a 32-bit column on every database."""

_TEXT, _INT, _DATE, _BOOL, _LIST = "text", "int", "date", "bool", "list"
FIELD_KINDS: dict[str, str] = {
    "address_no": _TEXT, "name": _TEXT, "sex_code": _INT, "birth_date": _DATE, "dept_code": _TEXT,
    "dept_name": _TEXT, "input_date": _DATE, "release_date": _DATE, "record_id": _INT, "row_version": _INT,
    "reason": _TEXT, "state": _TEXT, "input_from": _DATE, "input_to": _DATE, "limit": _INT, "op": _TEXT,
    "user_id": _TEXT, "roles": _LIST, "valid_from": _DATE, "valid_to": _DATE, "enabled": _BOOL,
    "format": _TEXT, "scope": _TEXT, "encoding": _TEXT, "strict": _BOOL, "from_seq": _INT, "action": _TEXT,
    "actor_id": _TEXT, "checkpoint_seq": _INT, "checkpoint_hash": _TEXT,
}
"""The type family of every parameter name any function accepts (one name, one meaning)."""
_KIND_MESSAGES = {
    _TEXT: "文字列で指定してください",
    _INT: "整数（または数字の文字列）で指定してください",
    _DATE: "日付（date または日付の文字列）で指定してください",
    _BOOL: "true / false で指定してください",
    _LIST: "文字列の一覧で指定してください",
}


def _kind_ok(kind: str, value: object) -> bool:
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _INT:
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    if kind == _DATE:
        return isinstance(value, str) or (isinstance(value, date) and not isinstance(value, datetime))
    if kind == _BOOL:
        return isinstance(value, bool | str)
    return isinstance(value, str) or (
        isinstance(value, list | tuple | set | frozenset)
        and len(value) <= 20
        and all(isinstance(x, str) for x in value)
    )


def bounded(params: object) -> None:
    """Refuse an oversized text parameter before any database work (a 10 MB 氏名 costs nothing).

    The field is named only when it is a known parameter name; anything else is reported as ``params``.
    """
    if not isinstance(params, Mapping):
        return  # check_fields names the problem
    for key, value in params.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            field = key if isinstance(key, str) and key in FIELD_KINDS else "params"
            message = f"{label(field)}が長すぎます（{MAX_TEXT}文字以内で入力してください）"
            raise ValidationError(field, "too_long", message)



def check_fields(params: object, allowed: Iterable[str]) -> dict[str, Any]:
    """A Mapping of known names to values of the right type family, else a typed error naming the field.

    Unknown names are refused (never dropped); empty strings become None (Oracle: '' is NULL).
    """
    if not isinstance(params, Mapping):
        raise ValidationError("params", "mapping", "パラメータは項目名と値の対応（辞書）で指定してください")
    allowed_set = set(allowed)
    unknown = [k for k in params if not (isinstance(k, str) and k in allowed_set)]
    if unknown:
        raise UnknownFieldError(unknown)
    cleaned: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            cleaned[key] = None
            continue
        kind = FIELD_KINDS.get(key, _TEXT)
        if not _kind_ok(kind, value):
            raise ValidationError(key, "type", f"{label(key)}は{_KIND_MESSAGES[kind]}")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ValidationError(key, "too_long", f"{label(key)}が長すぎます")
        if isinstance(value, str) and value.strip(" \u3000") == "":
            value = None
        cleaned[key] = value
    return cleaned


def required(params: Mapping[str, Any], field: str) -> Any:
    """The value of a required field, or a ``required`` error naming it."""
    value = params.get(field)
    if value is None:
        raise ValidationError(field, "required", f"{label(field)}は必須です")
    return value


FULL_WIDTH_DIGITS = str.maketrans({0xFF10 + i: chr(0x30 + i) for i in range(10)})


def address_no(value: object, settings: Settings, *, field: str = "address_no", position: int | None = None) -> str:
    """ASCII or full-width (U+FF10–FF19) digits only, kept as a string; length per settings.

    Other "decimal" look-alikes that NFKC would turn into digits (𝟏, ①, ¹) are refused, and so is
    any space: a batch and a single lookup read a number exactly alike.
    """
    if type(value) is str and value.isdigit() and value.isascii():  # the common case, checked first
        text = value
    else:
        where = f"の{position}件目" if position is not None else ""
        if value is None or (isinstance(value, str) and value == ""):
            raise ValidationError(field, "required", f"{label(field)}{where}は必須です")
        if not isinstance(value, str):
            raise ValidationError(
                field, "type", f"{label(field)}{where}は文字列で指定してください（先頭の0が失われるため数値は不可）"
            )
        text = value if len(value) > 64 or value.isascii() else value.translate(FULL_WIDTH_DIGITS)
        if not (text.isascii() and text.isdigit()):
            raise ValidationError(field, "digits", f"{label(field)}{where}は数字のみで入力してください")
    fixed = settings.address_no_fixed_len
    if (fixed is not None and len(text) != fixed) or not (
        settings.address_no_min_len <= len(text) <= settings.address_no_max_len
    ):
        where = f"の{position}件目" if position is not None else ""
        if fixed is not None and len(text) != fixed:
            raise ValidationError(field, "length", f"{label(field)}{where}は{fixed}桁で入力してください")
        raise ValidationError(
            field,
            "length",
            f"{label(field)}{where}は{settings.address_no_min_len}〜{settings.address_no_max_len}桁で入力してください",
        )
    return text


_CODE_LIMITS = {"dept_code": 16, "user_id": 64}


def code(value: object, settings: Settings, *, field: str, kind: str = "dept_code") -> str:
    """A 所属コード or 利用者ID: exactly the configured syntax (default ASCII letters, digits, '-', '_')."""
    if value is None or value == "":
        raise ValidationError(field, "required", f"{label(field)}は必須です")
    if not isinstance(value, str):
        raise ValidationError(field, "type", f"{label(field)}は文字列で指定してください")
    if len(value) > _CODE_LIMITS[kind] or not settings.code_regex(kind).fullmatch(value):
        raise ValidationError(field, "code_syntax", f"{label(field)}の形式が正しくありません（英数字と記号 - _ のみ）")
    return value


def sex_code(value: object, *, field: str = "sex_code") -> int:
    """JIS X 5218 code: 0, 1, 2 or 9 (an int or its one-digit string, full width accepted)."""
    found: int | None = None
    if isinstance(value, bool):
        found = None
    elif isinstance(value, int):
        found = value
    elif isinstance(value, str) and len(value) == 1:
        text = value.translate(FULL_WIDTH_DIGITS)
        found = int(text) if text.isascii() and text.isdigit() else None
    if found not in SEX_CODES:
        raise ValidationError(
            field,
            "sex_code",
            f"{label(field)}は JIS X 5218 のコード（0:不明, 1:男, 2:女, 9:適用不能）で指定してください",
        )
    return int(found)


EARLIEST_DATE, LATEST_DATE = date(1800, 1, 1), date(9999, 12, 31)
PERSONAL_FIELDS = frozenset({"name", "birth_date"})
"""Fields whose typed value must never be echoed, not even inside an error message (DESIGN §6)."""


_DATE_REASONS = {
    "date_format": "日付として解釈できません（例: 2024-04-01, 令和6年4月1日, R6.4.1）",
    "invalid_date": "存在しない日付です",
    "era_range": "元号の期間外の日付です",
    "required": "入力してください",
}
"""Why a personal date was refused, in Japanese, without echoing what was typed."""


def a_date(value: object, eras: EraTable, *, field: str) -> date:
    """A date given as ``date``, ISO text or 和暦 text; a refused 生年月日 is never echoed."""
    if value is None:
        raise ValidationError(field, "required", f"{label(field)}は必須です")
    if not isinstance(value, str | date) or isinstance(value, datetime):
        raise ValidationError(field, "date_format", f"{label(field)}は日付で指定してください")
    try:
        day = parse_date(value, field=field, eras=eras)
    except ValidationError as err:
        if field not in PERSONAL_FIELDS:
            raise
        reason = _DATE_REASONS.get(err.rule, "日付が正しくありません")
        raise ValidationError(field, err.rule, f"{label(field)}: {reason}") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:  # MariaDB's DATE starts at 1000-01-01; no person is older
        raise ValidationError(field, "date_range", f"{label(field)}は1800年から9999年までの日付で指定してください")
    return day


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


_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def short_text(value: object, *, field: str, max_len: int) -> str:
    """A required short label (所属名): NFC, spaces trimmed, no control/format/bidi characters."""
    if not isinstance(value, str) or not value.strip(" \u3000"):
        raise ValidationError(field, "required", f"{label(field)}は必須です")
    if len(value) > MAX_TEXT:
        raise ValidationError(field, "too_long", f"{label(field)}は{max_len}文字以内で入力してください")
    text = unicodedata.normalize("NFC", value.strip(" \u3000"))
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in text):
        raise ValidationError(field, "control_char", f"{label(field)}に制御文字などの使えない文字が含まれています")
    if len(text) > max_len:
        raise ValidationError(field, "too_long", f"{label(field)}は{max_len}文字以内で入力してください")
    return text


def positive_int(value: object, *, field: str) -> int:
    """A record id or row version: a positive integer (or its digit string) that fits 32 bits."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and len(value) <= 10 and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= MAX_INT:
        raise ValidationError(field, "positive_int", f"{label(field)}は1以上の整数で指定してください")
    return value


def flag(value: object, field: str) -> bool:
    """A boolean given as bool or the text true/false/1/0 (absent is False)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise ValidationError(field, "bool", f"{label(field)}は true / false で指定してください")


def choice(value: object, field: str, choices: Iterable[str], default: str) -> str:
    """One of a fixed set of codes (never echoes what was given)."""
    options = tuple(choices)
    found = default if value is None else value
    if not isinstance(found, str) or found not in options:
        raise ValidationError(field, "choice", f"{label(field)}は次のいずれかです: {', '.join(options)}")
    return found


def only_fields(params: Mapping[str, Any], allowed: Iterable[str], op_name: str) -> None:
    """Refuse a given parameter the chosen operation does not use (never silently ignored)."""
    allowed_set = set(allowed)
    extra = sorted(k for k, value in params.items() if value is not None and k not in allowed_set)
    if extra:
        raise ValidationError(extra[0], "not_applicable", f"{label(extra[0])}は操作 {op_name} では指定できません")
