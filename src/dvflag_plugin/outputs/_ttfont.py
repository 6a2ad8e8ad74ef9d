"""A reportlab TTFont whose ToUnicode map is right for characters beyond the BMP (𠮷 U+20BB7).

reportlab (up to at least 5.1) writes each ToUnicode entry as ``<%04X>`` of the code point, which for
U+20BB7 gives the odd-length hex string ``<20BB7>``: viewers then cannot copy or search the
character, and text extraction drops it. A ToUnicode CMap must carry UTF-16BE, i.e. the surrogate
pair ``<D842DFB7>``. The glyphs themselves are embedded correctly; only this map is fixed here, and
only while this font's own objects are added (other fonts of the host are left alone).

The same map carries the ideographic variation sequences drawn through private code points
(:mod:`.variants`): such a code point maps back to the whole sequence (base + selector), so copying
葛󠄂 from the PDF gives U+845B U+E0102, not a private character.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.pdfbase import ttfonts
from reportlab.pdfbase.ttfonts import TTFont

_patch_lock = threading.Lock()


def make_to_unicode_cmap(fontname: str, subset: Sequence[int], texts: Mapping[int, str] | None = None) -> str:
    """reportlab's ToUnicode CMap for one font subset, with UTF-16BE destinations.

    ``texts`` gives the text of code points that stand for more than themselves (IVS glyphs).
    """
    texts = texts or {}
    entries = [
        f"<{i:02X}> <{texts.get(cp, chr(cp)).encode('utf-16-be').hex().upper()}>" for i, cp in enumerate(subset)
    ]
    return "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo",
            f"<< /Registry ({fontname})",
            f"/Ordering ({fontname})",
            "/Supplement 0",
            ">> def",
            f"/CMapName /{fontname} def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            f"<00> <{len(subset) - 1:02X}>",
            "endcodespacerange",
            f"{len(subset)} beginbfchar",
            *entries,
            "endbfchar",
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    )


class UnicodeTTFont(TTFont):  # type: ignore[misc]  # reportlab ships no type hints
    """TTFont with a correct ToUnicode map for supplementary-plane characters and IVS glyphs."""

    private_texts: Mapping[int, str] = {}
    """Private code point → the variation sequence it draws (set by :func:`.fonts.load_font`)."""

    def addObjects(self, doc: Any) -> None:  # noqa: N802 - reportlab's method name
        with _patch_lock:
            original = ttfonts.makeToUnicodeCMap
            texts = self.private_texts
            ttfonts.makeToUnicodeCMap = lambda name, subset: make_to_unicode_cmap(name, subset, texts)
            try:
                super().addObjects(doc)
            finally:
                ttfonts.makeToUnicodeCMap = original
