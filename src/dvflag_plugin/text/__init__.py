"""Pure functions for Japanese text and dates: 氏名 validation, search folding, 和暦 (DESIGN §2, §7)."""

from __future__ import annotations

from dvflag_plugin.text.fold import fold_for_search, matches
from dvflag_plugin.text.names import normalize_name, visible_length
from dvflag_plugin.text.wareki import Era, EraTable, format_wareki, format_wareki_short, parse_date

__all__ = [
    "Era",
    "EraTable",
    "fold_for_search",
    "format_wareki",
    "format_wareki_short",
    "matches",
    "normalize_name",
    "parse_date",
    "visible_length",
]
