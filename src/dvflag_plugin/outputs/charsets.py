"""What a legacy encoding or a font cannot hold, and how it is made visible (〓) instead of mangled.

Rules (the same for CSV in CP932 and for the PDF font):

- a character the target cannot hold becomes 〓 (U+3013, GETA MARK, the traditional 外字 placeholder);
- a variation selector (IVS U+E0100–U+E01EF, SVS U+FE00–U+FE0F, Mongolian FVS) is dropped and the
  base character kept: the reader sees the standard form of the character (the usual 縮退) — unless
  the target registers the sequence (the PDF font's cmap format 14 table), which is then kept whole;
- in the first two cases the (row, column) is reported, so nothing changes silently.

CP932 "holds" a character only when it survives the round trip encode → decode unchanged. Python's
``cp932`` codec maps six characters one way (〜 U+301C → 0x8160 → ～ U+FF5E, and likewise − ‖ ¢ £ ¬):
accepting those would alter the text without a trace, so they count as not held.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

GETA: Final = "\u3013"
"""〓, written where a character cannot be held."""

CP932_ONE_WAY: Final = frozenset("\u00a2\u00a3\u00ac\u2016\u2212\u301c")
"""Characters Python's cp932 codec encodes but decodes to a different character (¢ £ ¬ ‖ − 〜)."""


def is_variation_selector(ch: str) -> bool:
    """True for a Unicode variation selector (IVS, SVS or Mongolian free variation selector)."""
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF or 0x180B <= cp <= 0x180D or cp == 0x180F


def cp932_holds(ch: str) -> bool:
    """True when ``ch`` is written to CP932 and read back as the same character."""
    if ch in CP932_ONE_WAY:
        return False
    try:
        ch.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


def cp932_holds_text(text: str) -> bool:
    """Fast check of a whole string (the common case: everything fits)."""
    try:
        text.encode("cp932")
    except UnicodeEncodeError:
        return False
    return CP932_ONE_WAY.isdisjoint(text)


def fold(text: str, holds: Callable[[str], bool], sequences: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """``text`` with unheld characters replaced by 〓 and variation selectors dropped.

    ``sequences`` maps a variation sequence the target does hold (base + selector) to what to write
    for it (the PDF font's private glyph code): such a sequence is written, not dropped, and does not
    count as a change. Returns the new text and whether anything was changed. ``holds`` is never asked
    about a variation selector.
    """
    out: list[str] = []
    changed = False
    previous = ""
    for ch in text:
        if is_variation_selector(ch):
            kept = sequences.get(previous + ch) if sequences and previous else None
            if kept is not None and out:
                out[-1] = kept
            else:
                changed = True
            previous = ""
        elif holds(ch):
            out.append(ch)
            previous = ch
        else:
            out.append(GETA)
            changed = True
            previous = ""
    return "".join(out), changed


def fold_cp932(text: str) -> tuple[str, bool]:
    """:func:`fold` for CP932, with a fast path for text that fits as it is."""
    if cp932_holds_text(text):
        return text, False
    return fold(text, cp932_holds)
