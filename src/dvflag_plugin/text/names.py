"""Validation and normalisation of 氏名 as stored (DESIGN §2).

The stored form is NFC with only the ends trimmed. NFC keeps 4-byte kanji (𠮷), IVS sequences and the
twelve "unified" compatibility ideographs such as 﨑 (U+FA11) byte-identical; note that it does replace
the other CJK compatibility ideographs by their canonical kanji (e.g. 塚 U+FA10 → 塚 U+585A).
"""

from __future__ import annotations

import unicodedata

from dvflag_plugin.errors import ValidationError

__all__ = [
    "FIELD_LABELS",
    "field_label",
    "is_variation_selector",
    "normalize_name",
    "visible_length",
]

#: Japanese labels for the column names of DESIGN §2, used to name the field in staff-facing messages.
FIELD_LABELS: dict[str, str] = {
    "address_no": "団体内統合宛名番号",
    "name": "氏名",
    "sex_code": "性別",
    "birth_date": "生年月日",
    "dept_code": "所属コード",
    "dept_name": "所属名",
    "input_date": "入力日",
    "release_date": "解除日",
    "date": "日付",
    "address_nos": "団体内統合宛名番号",
    "record_id": "レコードID",
    "row_version": "行バージョン",
    "reason": "削除理由",
    "user_id": "利用者ID",
    "roles": "ロール",
    "valid_from": "有効開始日",
    "valid_to": "有効終了日",
    "input_from": "入力日（開始）",
    "input_to": "入力日（終了）",
    "state": "状態",
    "limit": "最大件数",
    "op": "操作",
    "format": "出力形式",
    "scope": "出力範囲",
    "encoding": "文字コード",
    "from_seq": "開始連番",
    "checkpoint_seq": "チェックポイント連番",
    "checkpoint_hash": "チェックポイントハッシュ",
    "enabled": "有効",
    "strict": "厳格モード",
    "action": "操作種別",
    "actor_id": "操作者ID",
    "params": "パラメータ",
    "actor": "操作者",
}

# Only the ASCII and the ideographic space are trimmed at the ends; a TAB, CR or other control character
# is refused, not trimmed (it is a sign of a broken paste or an attack, never part of a name).
_TRIM = " \u3000"

# General categories refused anywhere in a name: controls, invisible format characters (bidi overrides,
# zero-width spaces, BOM …), lone surrogates and line/paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def field_label(field: str) -> str:
    """Japanese label for a known column name, else the field name as given."""
    return FIELD_LABELS.get(field, field)


def is_variation_selector(ch: str) -> bool:
    """True for the variation selectors VS1–VS16 (U+FE00–FE0F) and VS17–VS256 (U+E0100–E01EF, IVS)."""
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


def visible_length(value: str) -> int:
    """Number of characters as staff count them: a variation selector adds no character of its own."""
    return sum(1 for ch in value if not is_variation_selector(ch))


def _is_noncharacter(cp: int) -> bool:
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def normalize_name(value: str, *, field: str = "name", max_chars: int = 100) -> str:
    """Return the 氏名 to store: NFC, ends trimmed, checked; raise ValidationError naming ``field``.

    Internal spaces (e.g. the full-width space between surname and given name) are kept as given.
    """
    label = field_label(field)
    if value is None:
        raise ValidationError(field, "required", f"{label}: 入力してください")
    if not isinstance(value, str):
        raise ValidationError(field, "type", f"{label}: 文字列で指定してください")
    text = unicodedata.normalize("NFC", value).strip(_TRIM)
    if not text:
        raise ValidationError(field, "required", f"{label}: 入力してください")
    previous = ""
    for ch in text:
        cp = ord(ch)
        if unicodedata.category(ch) in _REFUSED_CATEGORIES or _is_noncharacter(cp):
            raise ValidationError(
                field,
                "control_char",
                f"{label}: 使用できない文字（制御文字など U+{cp:04X}）が含まれています",
            )
        # A selector must follow a visible base character; a stray one would also let a value slip
        # past the length rule (selectors are not counted) and overflow the column.
        orphan = not previous or previous.isspace() or is_variation_selector(previous)
        if is_variation_selector(ch) and orphan:
            raise ValidationError(
                field,
                "variation_selector",
                f"{label}: 異体字セレクタ（U+{cp:04X}）の位置が正しくありません",
            )
        previous = ch
    length = visible_length(text)
    if length > max_chars:
        raise ValidationError(
            field,
            "too_long",
            f"{label}: {max_chars}文字以内で入力してください（現在{length}文字）",
        )
    return text
