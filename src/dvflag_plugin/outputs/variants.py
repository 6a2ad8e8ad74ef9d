"""Ideographic variation sequences (IVS) the PDF font registers, made drawable through reportlab.

IPAmj明朝 lists ~11,000 sequences (葛 U+845B + U+E0102 → glyph mj022335 …) in its cmap format 14
table. reportlab reads only the plain cmap, so it would draw the base glyph. Here each registered
sequence gets a private code point in Supplementary Private Use Area-B (U+100000…, which the font
does not use) mapped straight to the sequence's glyph; the PDF writer prints that code point in place of
the sequence, and the ToUnicode map (see :mod:`._ttfont`) gives the full sequence back on copy and
extraction. The table is read with fontTools (lazily: only ``cmap`` and the glyph order).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

PRIVATE_START: Final = 0x100000
"""First code point handed out (Supplementary Private Use Area-B runs to U+10FFFD)."""
PRIVATE_END: Final = 0x10FFFD


@dataclass(frozen=True, slots=True)
class VariantGlyphs:
    """The registered sequences of one font: sequence text → private character, and back."""

    by_sequence: Mapping[str, str]
    """e.g. ``"葛\\U000e0102"`` → ``"\\U00100000"``."""
    texts: Mapping[int, str]
    """Private code point → the sequence it stands for (for the ToUnicode map)."""


@dataclass(frozen=True, slots=True)
class VariantGlyph:
    """The glyph of one sequence: its id and advance width in 1/1000 em (as reportlab counts)."""

    glyph_id: int
    width: float


def read_sequences(path: Path) -> dict[tuple[int, int], VariantGlyph]:
    """(base code point, selector) → glyph for every sequence of the font's cmap format 14 table.

    A "default" entry (the sequence is drawn with the base character's own glyph) maps to that glyph.
    A font without a format 14 table has no sequences.
    """
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), lazy=True)
    try:
        table = next((t for t in font["cmap"].tables if t.format == 14), None)
        if table is None:
            return {}
        best: dict[int, str] = font.getBestCmap()
        metrics = font["hmtx"]
        scale = 1000 / font["head"].unitsPerEm
        sequences: dict[tuple[int, int], VariantGlyph] = {}
        for selector, entries in table.uvsDict.items():
            for base, glyph_name in entries:
                name = glyph_name if glyph_name is not None else best.get(base)
                if name is not None:
                    glyph = VariantGlyph(font.getGlyphID(name), metrics[name][0] * scale)
                    sequences[(base, selector)] = glyph
        return sequences
    finally:
        font.close()


def install(face: Any, sequences: Mapping[tuple[int, int], VariantGlyph]) -> VariantGlyphs:
    """Give each sequence a private code point in reportlab's parsed font ``face``.

    Adds the code point to ``face.charToGlyph`` (so the subset embeds the glyph) and to
    ``face.charWidths`` (the glyph's own advance), in sorted order so that runs are reproducible.
    """
    if len(sequences) > PRIVATE_END - PRIVATE_START + 1:
        raise ValueError(f"too many variation sequences for the private area: {len(sequences)}")
    by_sequence: dict[str, str] = {}
    texts: dict[int, str] = {}
    code = PRIVATE_START
    for (base, selector), glyph in sorted(sequences.items()):
        while code in face.charToGlyph:  # never shadow a character the font maps itself
            code += 1
        face.charToGlyph[code] = glyph.glyph_id
        face.charWidths[code] = glyph.width
        text = chr(base) + chr(selector)
        by_sequence[text] = chr(code)
        texts[code] = text
        code += 1
    return VariantGlyphs(by_sequence=by_sequence, texts=texts)
