"""Search keys for 氏名: fold width, kana, spacing and common 異体字 without touching what is stored.

Width and kana go through jaconv; NFKC is applied only to characters outside the CJK ideograph blocks,
so it can never change a kanji's identity (only the curated table in data/surname_variants.tsv does).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType

import jaconv

from dvflag_plugin.text.names import is_variation_selector

__all__ = [
    "fold_for_search",
    "load_variant_table",
    "matches",
    "name_prefilter_chars",
    "parse_variant_table",
]

_TABLE_RESOURCE = "data/surname_variants.tsv"

# CJK ideograph blocks: URO + Ext A, compatibility ideographs, and the supplementary planes (Ext B …).
_IDEOGRAPH_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
)

_ASCII_LOWER = {cp: cp + 32 for cp in range(ord("A"), ord("Z") + 1)}


def _is_ideograph(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _IDEOGRAPH_RANGES)


def _parse_code_point(token: str) -> str | None:
    if not token.startswith("U+"):
        return None
    try:
        return chr(int(token[2:], 16))
    except ValueError:
        return None


def parse_variant_table(text: str, *, source: str = "surname_variants.tsv") -> dict[str, str]:
    """Parse the variant TSV (see its header) into variant → representative; ValueError on bad data.

    Checked: one character per side, code point columns agree, NFC-stable, no duplicate variant,
    no representative that is itself a variant (the mapping must be one flat step).
    """
    table: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 4:
            raise ValueError(f"{source}:{lineno}: expected at least 4 tab-separated columns")
        variant, rep, variant_cp, rep_cp = cols[0], cols[1], cols[2], cols[3]
        if len(variant) != 1 or len(rep) != 1:
            raise ValueError(f"{source}:{lineno}: variant and representative must be one character each")
        if variant == rep:
            raise ValueError(f"{source}:{lineno}: variant equals its representative")
        if _parse_code_point(variant_cp) != variant or _parse_code_point(rep_cp) != rep:
            raise ValueError(f"{source}:{lineno}: code point columns do not match the characters")
        for ch in (variant, rep):
            if unicodedata.normalize("NFC", ch) != ch:
                raise ValueError(f"{source}:{lineno}: U+{ord(ch):04X} is changed by NFC; it never occurs")
        if variant in table:
            raise ValueError(f"{source}:{lineno}: variant U+{ord(variant):04X} listed twice")
        table[variant] = rep
    for variant, rep in table.items():
        if rep in table:
            raise ValueError(
                f"{source}: representative U+{ord(rep):04X} of U+{ord(variant):04X} is itself a variant"
            )
    return table


@functools.lru_cache(maxsize=1)
def load_variant_table() -> Mapping[str, str]:
    """The packaged variant table, read once (read-only view)."""
    text = resources.files("dvflag_plugin.text").joinpath(_TABLE_RESOURCE).read_text(encoding="utf-8")
    return MappingProxyType(parse_variant_table(text))


@functools.lru_cache(maxsize=1)
def _translation() -> dict[int, str]:
    return {ord(variant): rep for variant, rep in load_variant_table().items()}


def _nfkc_outside_ideographs(text: str) -> str:
    return "".join(ch if _is_ideograph(ch) else unicodedata.normalize("NFKC", ch) for ch in text)


@functools.lru_cache(maxsize=65536)
def _fold(value: str) -> str:
    text = unicodedata.normalize("NFC", value)
    text = "".join(ch for ch in text if not is_variation_selector(ch))
    text = jaconv.h2z(text, kana=True, ascii=False, digit=False)  # ｶﾞ → ガ (joins the sound mark)
    text = jaconv.z2h(text, kana=False, ascii=True, digit=True)  # Ａ１ → A1
    text = _nfkc_outside_ideographs(text)  # leftovers: ① → 1, ㈱ → (株), stray ﾞ → combining mark
    text = "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFC", text)  # re-join combining marks freed by the steps above
    text = jaconv.kata2hira(text)
    text = text.translate(_ASCII_LOWER)
    return text.translate(_translation())


def fold_for_search(value: str) -> str:
    """Search key for ``value``: never stored, only compared (e.g. "ﾀｶﾊｼ　髙橋" → "たかはし高橋")."""
    return _fold(value)


def matches(query: str, candidate: str) -> bool:
    """True when the folded query occurs in the folded candidate; an empty query matches nothing."""
    folded_query = _fold(query)
    if not folded_query:
        return False
    return folded_query in _fold(candidate)


# Characters outside the CJK ideograph blocks whose fold can produce a given character: Latin, kana,
# symbols, enclosed and compatibility forms, half/full-width forms and mathematical letters.
_SOURCE_RANGES = ((0x20, 0x33FF), (0xFF00, 0xFFEF), (0x1D400, 0x1D7FF))


@functools.lru_cache(maxsize=1)
def _sources() -> Mapping[str, frozenset[str]]:
    """folded character → raw characters whose fold contains it (built once, on the first name search)."""
    found: dict[str, set[str]] = {}
    fold = _fold.__wrapped__
    for lo, hi in _SOURCE_RANGES:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            if unicodedata.category(ch) in ("Cs", "Cn", "Cc"):
                continue
            for out in set(fold(ch)):
                if out != ch:
                    found.setdefault(out, set()).add(ch)
    for variant, rep in load_variant_table().items():
        found.setdefault(rep, set()).add(variant)
    return MappingProxyType({k: frozenset(v) for k, v in found.items()})


def _raw_forms(folded: str) -> frozenset[str]:
    forms = {folded, *_sources().get(folded, ())}
    decomposed = unicodedata.normalize("NFD", folded)
    if len(decomposed) > 1:  # が: a stored ｶﾞ holds only the base ｶ as one character
        forms |= _raw_forms(decomposed[0])
    return frozenset(forms)


def name_prefilter_chars(query: str, *, max_chars: int = 6) -> list[frozenset[str]]:
    """For SQL narrowing: groups of raw characters; a stored name matching ``query`` holds one of each group.

    Every character of the folded query must come from some raw character of the stored name whose
    fold yields it, so ``AND`` over groups of ``OR name LIKE '%c%'`` never loses a match. The most
    selective groups (fewest forms) are kept.
    """
    groups = sorted({_raw_forms(ch) for ch in _fold(query)}, key=len)
    return groups[:max_chars]
