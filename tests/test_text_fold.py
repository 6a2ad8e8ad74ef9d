"""Search folding: width, kana, spacing and curated 異体字 fold; what is stored never changes (DESIGN §7)."""

from __future__ import annotations

import pytest

from dvflag_plugin.text import fold
from dvflag_plugin.text.fold import fold_for_search, load_variant_table, matches, parse_variant_table
from dvflag_plugin.text.names import normalize_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),
        ("ABC", "abc"),
        ("ﾀｶﾊｼ", "たかはし"),
        ("ｶﾞｷﾞﾊﾟ", "がぎぱ"),
        ("ｳﾞｧ", "ゔぁ"),
        ("タカハシ", "たかはし"),
        ("ヴ", "ゔ"),
        ("ｰ", "ー"),
        ("髙橋\u3000花子", "高橋花子"),
        (" 髙橋 \t花子 ", "高橋花子"),
        ("葛\U000e0100城", "葛城"),
        ("①㈱", "1(株)"),
        ("か\u3099", "が"),
        ("髙橋\u200b花子", "高橋花子"),
    ],
)
def test_fold_examples(raw: str, expected: str) -> None:
    assert fold_for_search(raw) == expected


def test_half_width_sound_mark_joins_the_kana() -> None:
    folded = fold_for_search("ｶﾞ")
    assert folded == "\u304c"
    assert len(folded) == 1


def test_non_ascii_letters_are_not_lowercased() -> None:
    assert fold_for_search("Ä") == "Ä"


@pytest.mark.parametrize(
    ("variant", "representative"),
    [
        ("髙", "高"),
        ("﨑", "崎"),
        ("嵜", "崎"),
        ("邊", "辺"),
        ("邉", "辺"),
        ("齊", "斉"),
        ("齋", "斉"),
        ("斎", "斉"),
        ("𠮷", "吉"),
        ("濵", "浜"),
        ("濱", "浜"),
        ("澤", "沢"),
        ("櫻", "桜"),
        ("廣", "広"),
        ("國", "国"),
        ("眞", "真"),
        ("德", "徳"),
        ("藪", "薮"),
        ("籔", "薮"),
        ("冨", "富"),
        ("嶋", "島"),
        ("嶌", "島"),
        ("峯", "峰"),
        ("舘", "館"),
        ("槇", "槙"),
        ("曾", "曽"),
        ("龍", "竜"),
    ],
)
def test_variant_folds_to_representative(variant: str, representative: str) -> None:
    assert fold_for_search(variant) == representative
    assert fold_for_search(representative) == representative


def test_saki_is_not_folded_to_sai() -> None:
    # ja-cvu-normalizer maps 﨑 to 埼; for surnames that is wrong (DESIGN §7).
    assert fold_for_search("﨑") == "崎"
    assert fold_for_search("埼") == "埼"
    assert fold_for_search("碕") == "碕"
    assert not matches("山埼", "山﨑 次郎")


def test_kanji_outside_the_table_are_untouched() -> None:
    for ch in ("高", "埼", "園", "薗", "野", "埜", "\u9ad8", "\U00020000"):
        assert fold_for_search(ch) == ch


def test_fold_does_not_change_the_stored_value() -> None:
    stored = normalize_name("髙橋\u3000花子")
    before = stored.encode("utf-8")
    assert fold_for_search(stored) == "高橋花子"
    assert stored.encode("utf-8") == before == "髙橋\u3000花子".encode()


@pytest.mark.parametrize(
    ("query", "candidate"),
    [
        ("高橋", "髙橋 花子"),
        ("髙橋", "高橋　花子"),
        ("山崎", "山﨑 次郎"),
        ("吉田", "𠮷田 一郎"),
        ("斎藤", "齋藤 一郎"),
        ("斉藤", "齊藤 一郎"),
        ("渡辺", "渡邉\U000e0101 四郎"),
        ("花子", "髙橋 花子"),
        ("髙橋 花子", "髙橋花子"),
        ("ﾊﾅｺ", "ハナコ"),
    ],
)
def test_matches(query: str, candidate: str) -> None:
    assert matches(query, candidate)


@pytest.mark.parametrize(
    ("query", "candidate"),
    [
        ("高田", "髙橋 花子"),
        ("花子 髙橋", "髙橋 花子"),
        ("山埼", "山﨑 次郎"),
        ("", "髙橋 花子"),
        ("\u3000 ", "髙橋 花子"),
        ("\U000e0100", "葛\U000e0100城"),
    ],
)
def test_does_not_match(query: str, candidate: str) -> None:
    assert not matches(query, candidate)


def test_candidate_folding_is_cached() -> None:
    assert fold._fold.cache_info().maxsize == 65536
    candidate = "髙橋 花子 (cache test)"
    matches("高橋", candidate)
    hits = fold._fold.cache_info().hits
    matches("高橋", candidate)
    assert fold._fold.cache_info().hits >= hits + 2


def test_packaged_table_is_flat_and_consistent() -> None:
    table = load_variant_table()
    assert len(table) >= 30
    assert table["﨑"] == "崎"
    assert "埼" not in table.values()
    for variant, rep in table.items():
        assert rep not in table, f"{variant} -> {rep} chains"
        assert len(variant) == 1
        assert len(rep) == 1
    with pytest.raises(TypeError):
        table["崎"] = "埼"  # type: ignore[index]


def _row(variant: str, rep: str) -> str:
    return f"{variant}\t{rep}\tU+{ord(variant):04X}\tU+{ord(rep):04X}\tnote"


def test_parse_variant_table_accepts_comments_and_blank_lines() -> None:
    text = "# header\n\n" + _row("髙", "高") + "\n"
    assert parse_variant_table(text) == {"髙": "高"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (_row("髙", "高") + "\n" + _row("髙", "高"), "listed twice"),
        (_row("邊", "邉") + "\n" + _row("邉", "辺"), "is itself a variant"),
        ("髙\t高\tU+9AD8\tU+9AD8", "code point columns"),
        ("髙橋\t高\tU+9AD9\tU+9AD8", "one character"),
        ("髙\t高", "4 tab-separated"),
        (_row("\ufa10", "\u585a"), "changed by NFC"),
        (_row("高", "高"), "equals its representative"),
    ],
)
def test_parse_variant_table_refuses_bad_rows(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_variant_table(text)
