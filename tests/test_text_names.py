"""氏名 normalisation: what is stored must keep 外字-prone characters byte for byte (DESIGN §2)."""

from __future__ import annotations

import pytest

from dvflag_plugin.errors import ValidationError
from dvflag_plugin.text.names import field_label, normalize_name, visible_length

IVS_KATSURAGI = "葛\U000e0100"  # 葛 + VS17: an Ideographic Variation Sequence


@pytest.mark.parametrize(
    "name",
    [
        "𠮷田 一郎",  # U+20BB7, 4 bytes in UTF-8
        "髙橋 花子",  # U+9AD9
        "山﨑 次郎",  # U+FA11, a compatibility ideograph that NFC keeps
        f"{IVS_KATSURAGI}城 三郎",
        "渡邉\U000e0101 四郎",
    ],
)
def test_keeps_gaiji_prone_characters_byte_identical(name: str) -> None:
    stored = normalize_name(name)
    assert stored.encode("utf-8") == name.encode("utf-8")


def test_specific_code_points_survive() -> None:
    stored = normalize_name("𠮷田\u3000髙橋﨑")
    assert [ord(ch) for ch in stored] == [0x20BB7, 0x7530, 0x3000, 0x9AD9, 0x6A4B, 0xFA11]
    assert "𠮷".encode() == b"\xf0\xa0\xae\xb7"
    assert stored.encode("utf-8").startswith(b"\xf0\xa0\xae\xb7")


def test_nfc_composes_decomposed_kana() -> None:
    assert normalize_name("か\u3099ん") == "がん"


def test_nfc_replaces_other_compatibility_ideographs() -> None:
    # Documented NFC behaviour: U+FA10 (塚, in CP932) becomes the unified U+585A.
    assert normalize_name("\ufa10本 一郎") == "\u585a本 一郎"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  髙橋 花子  ", "髙橋 花子"),
        ("\u3000髙橋\u3000花子\u3000", "髙橋\u3000花子"),
        ("髙橋  花子", "髙橋  花子"),  # internal runs are kept as given
    ],
)
def test_trims_only_the_ends(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_does_not_trim_other_spaces_at_the_ends() -> None:
    # Only ASCII whitespace and U+3000 are trimmed; a no-break space is kept as given.
    assert normalize_name("\u00a0髙橋") == "\u00a0髙橋"


@pytest.mark.parametrize("raw", ["\t山﨑 次郎", "山﨑 次郎\r\n", "\r山﨑", " \t\n", "\x0b山﨑", "山﨑\x1f"])
def test_a_control_character_at_either_end_is_refused_not_trimmed(raw: str) -> None:
    """Issue 8 #10: a TAB/CR/VT at the ends is a broken paste; refused, never silently trimmed."""
    with pytest.raises(ValidationError) as err:
        normalize_name(raw)
    assert (err.value.field, err.value.rule) == ("name", "control_char")


@pytest.mark.parametrize("raw", ["", "   ", "\u3000\u3000", " \u3000 "])
def test_empty_is_required(raw: str) -> None:
    with pytest.raises(ValidationError) as err:
        normalize_name(raw)
    assert err.value.rule == "required"
    assert err.value.field == "name"
    assert err.value.code == "invalid.required"
    assert err.value.message == "氏名: 入力してください"


def test_none_is_required() -> None:
    with pytest.raises(ValidationError) as err:
        normalize_name(None)  # type: ignore[arg-type]
    assert err.value.rule == "required"


def test_non_string_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        normalize_name(123)  # type: ignore[arg-type]
    assert err.value.rule == "type"


@pytest.mark.parametrize(
    "bad",
    [
        "髙橋\t花子",
        "髙橋\x00花子",
        "髙橋\x7f",
        "髙橋\u200b花子",  # zero-width space
        "髙橋\u202e花子",  # right-to-left override
        "\ufeff髙橋",  # BOM
        "髙橋\u2028花子",  # line separator
        "髙橋\ud800",  # lone surrogate
        "髙橋\ufffe",  # noncharacter
        "髙橋\U000e0041",  # tag character
    ],
)
def test_refuses_control_and_invisible_characters(bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        normalize_name(bad)
    assert err.value.rule == "control_char"
    assert err.value.message.startswith("氏名: ")
    assert "U+" in err.value.message


@pytest.mark.parametrize(
    "bad",
    [
        "\U000e0100葛",  # selector with no base character
        "葛\U000e0100\U000e0101",  # two selectors on one base
        "髙橋 \ufe00花子",  # selector after a space
    ],
)
def test_refuses_stray_variation_selectors(bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        normalize_name(bad)
    assert err.value.rule == "variation_selector"


def test_field_name_appears_in_error() -> None:
    with pytest.raises(ValidationError) as err:
        normalize_name("", field="applicant_name")
    assert err.value.field == "applicant_name"
    assert err.value.message.startswith("applicant_name: ")
    assert field_label("name") == "氏名"
    assert field_label("birth_date") == "生年月日"


def test_length_boundary_default_100() -> None:
    assert normalize_name("あ" * 100) == "あ" * 100
    with pytest.raises(ValidationError) as err:
        normalize_name("あ" * 101)
    assert err.value.rule == "too_long"
    assert "100文字以内" in err.value.message
    assert "101文字" in err.value.message


def test_length_ignores_variation_selectors() -> None:
    value = IVS_KATSURAGI * 100  # 200 code points, 100 characters
    assert len(value) == 200
    assert normalize_name(value) == value
    with pytest.raises(ValidationError) as err:
        normalize_name(value + "葛")
    assert err.value.rule == "too_long"


def test_length_counts_four_byte_characters_once() -> None:
    assert normalize_name("𠮷" * 100) == "𠮷" * 100
    with pytest.raises(ValidationError):
        normalize_name("𠮷" * 101)


def test_length_is_measured_after_trimming() -> None:
    assert normalize_name("\u3000" + "あ" * 100 + "  ") == "あ" * 100


def test_custom_max_chars() -> None:
    assert normalize_name("髙橋花子", max_chars=4) == "髙橋花子"
    with pytest.raises(ValidationError) as err:
        normalize_name("髙橋 花子", max_chars=4)
    assert err.value.rule == "too_long"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", 0),
        ("髙橋 花子", 5),
        ("𠮷田", 2),
        (f"{IVS_KATSURAGI}城", 2),
        ("a\ufe0fb", 2),
        ("\U000e01ef", 0),
        ("\U000e01f0", 1),  # just past the IVS range: not a variation selector
        ("\ufe10", 1),  # just past VS16
    ],
)
def test_visible_length(value: str, expected: int) -> None:
    assert visible_length(value) == expected
