"""The Japanese TrueType font embedded in PDF lists, found on this machine and loaded once.

Choice: IPAmj明朝 (IPAmjMincho, Debian package ``fonts-ipamj-mincho``), the 文字情報基盤 (MJ) font
of the Information-technology Promotion Agency: ~58,000 MJ characters, TrueType (glyf) outlines as
reportlab requires, including 𠮷 (U+20BB7), 髙 and 﨑. No PyPI package ships it; the Noto CJK wheels
on PyPI carry CFF (PostScript) outlines, which reportlab cannot embed.

Lookup order:
1. the environment variable ``DVFLAG_PDF_FONT`` (path to a .ttf file), if set — it must exist;
2. IPAmj明朝 unpacked into the virtual environment (``<venv>/share/fonts/truetype/ipamj/``, for a
   developer without root: ``apt-get download`` + ``dpkg-deb -x``), then the Debian package's
   location, then fonts that also cover all of the dummy data (花園明朝A), then IPAex fonts
   (JIS X 0208/0213 only: no 𠮷 — such characters print as 〓 and are reported).
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from dvflag_plugin.errors import DvflagError

from .variants import VariantGlyphs

ENV_VAR: Final = "DVFLAG_PDF_FONT"
FONT_NAME: Final = "DvflagJapanese"
"""Name under which the font is registered with reportlab (distinct from anything a host registers)."""
INSTALL_HINT: Final = (
    "apt-get install fonts-ipamj-mincho（IPAmj明朝）を導入するか、"
    f"環境変数 {ENV_VAR} に日本語TrueTypeフォント（.ttf）のパスを指定してください"
)

CANDIDATES: Final[tuple[str, ...]] = (
    os.path.join(sys.prefix, "share", "fonts", "truetype", "ipamj", "ipamjm.ttf"),  # unpacked into the venv
    "/usr/share/fonts/truetype/ipamj/ipamjm.ttf",
    "/usr/local/share/fonts/ipamjm.ttf",
    "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
    "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf",
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
)
"""Known locations, best coverage first."""


class PdfFontUnavailableError(DvflagError):
    """No usable Japanese TrueType font was found; the message says what to install."""

    code = "pdf_font_missing"


@dataclass(frozen=True, slots=True)
class LoadedFont:
    """A registered font: its reportlab name, file, the code points it has glyphs for, its IVS glyphs."""

    name: str
    path: Path
    code_points: frozenset[int]
    """The font's own characters (the private code points of :attr:`variants` are not among them)."""
    ttfont: Any
    variants: VariantGlyphs

    def has_glyph(self, ch: str) -> bool:
        """True when the font draws ``ch`` (a single code point)."""
        return ord(ch) in self.code_points


def find_font_path() -> Path:
    """The font file to use (see the module docstring), or PdfFontUnavailableError naming what to install."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise PdfFontUnavailableError(
                f"{ENV_VAR} に指定されたフォント {configured} が見つかりません。{INSTALL_HINT}"
            )
        return path
    for candidate in CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path
    raise PdfFontUnavailableError(f"PDF出力に使う日本語フォントが見つかりません。{INSTALL_HINT}")


_lock = threading.Lock()
_loaded: dict[Path, LoadedFont] = {}


def load_font() -> LoadedFont:
    """Find the font, parse it and register it with reportlab once per process and path."""
    path = find_font_path()
    with _lock:
        font = _loaded.get(path)
        if font is None:
            font = _loaded[path] = _register(path)
        return font


def _register(path: Path) -> LoadedFont:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError

    from ._ttfont import UnicodeTTFont
    from .variants import install, read_sequences

    name = f"{FONT_NAME}-{len(_loaded)}"
    try:
        ttfont = UnicodeTTFont(name, str(path))
    except (TTFError, OSError) as exc:
        raise PdfFontUnavailableError(
            f"フォント {path} を読み込めません（TrueType形式が必要です: {exc}）。{INSTALL_HINT}"
        ) from exc
    code_points = frozenset(ttfont.face.charToGlyph)
    variants = install(ttfont.face, read_sequences(path))
    ttfont.private_texts = variants.texts
    pdfmetrics.registerFont(ttfont)
    return LoadedFont(name=name, path=path, code_points=code_points, ttfont=ttfont, variants=variants)
