"""和暦: parse dates staff type (ISO or 和暦) and show stored ISO dates as 令和6年4月1日 (DESIGN §7).

Why not japanera (PyPI): it bundles the whole historic era list in code, and its strptime returns a list
of candidate dates. DESIGN wants era boundaries as data (a new era is a setting, not a release) and one
strict answer with a Japanese error naming the field, so this module parses over a small era table.
和暦 month/day before 1873-01-01 (明治6年1月1日, Japan's switch to the Gregorian calendar) are lunisolar
dates; they are neither produced nor accepted (ISO is used instead), as no converted date would be right.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

from dvflag_plugin.errors import ValidationError
from dvflag_plugin.text.names import field_label

__all__ = [
    "GREGORIAN_ADOPTION",
    "Era",
    "EraTable",
    "format_wareki",
    "format_wareki_short",
    "parse_date",
]

#: First day on which 和暦 month/day equal Gregorian month/day (明治6年1月1日).
GREGORIAN_ADOPTION = date(1873, 1, 1)

_ERAS_RESOURCE = "data/eras.json"
_ERA_KEYS = frozenset({"name", "letter", "start"})
_FORMAT_HINT = "（例: 2024-04-01, 令和6年4月1日, R6.4.1）"

# Dash-like characters staff may type between the parts of a date (NFKC already maps U+FF0D to '-').
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70", "-"))

_WESTERN_SEP = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_WESTERN_KANJI = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_WESTERN_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ERA_DATE = re.compile(
    r"(?P<era>\D+?)(?P<year>元|\d{1,3})"
    r"(?:年(?P<m1>\d{1,2})月(?P<d1>\d{1,2})日|(?P<sep>[-/.])(?P<m2>\d{1,2})(?P=sep)(?P<d2>\d{1,2}))"
)
_ERA_COMPACT = re.compile(r"(?P<era>[A-Za-z])(?P<year>\d{2})(?P<m>\d{2})(?P<d>\d{2})")


@dataclass(frozen=True)
class Era:
    """One era: its name (令和), its letter (R) and its first day in the Gregorian calendar."""

    name: str
    letter: str
    start: date


def _table_error(message: str) -> ValidationError:
    return ValidationError("eras", "era_table", f"元号の設定: {message}")


def _era_from_mapping(record: Mapping[str, Any]) -> Era:
    unknown = set(record) - _ERA_KEYS
    if unknown:
        raise _table_error(f"未定義の項目は受け付けられません: {', '.join(sorted(unknown))}")
    missing = _ERA_KEYS - set(record)
    if missing:
        raise _table_error(f"必要な項目がありません: {', '.join(sorted(missing))}")
    name, letter, start = record["name"], record["letter"], record["start"]
    if not all(isinstance(v, str) for v in (name, letter, start)):
        raise _table_error("name, letter, start は文字列で指定してください")
    try:
        start_date = date.fromisoformat(start)
    except ValueError:
        raise _table_error(f"{name} の開始日が ISO 形式の日付ではありません: {start}") from None
    return Era(name=name, letter=letter, start=start_date)


class EraTable:
    """Eras in order of their start; looks eras up by name, letter or one-character abbreviation."""

    def __init__(self, eras: Iterable[Era]) -> None:
        ordered = tuple(sorted(eras, key=lambda e: e.start))
        if not ordered:
            raise _table_error("元号が1つもありません")
        names: dict[str, Era] = {}
        letters: dict[str, Era] = {}
        for era in ordered:
            name = era.name
            if (
                not name
                or unicodedata.normalize("NFKC", name) != name
                or any(ch.isdigit() or ch.isspace() or ch in "-/." for ch in name)
            ):
                raise _table_error(f"元号名が不正です: {name!r}")
            if len(era.letter) != 1 or not ("A" <= era.letter <= "Z"):
                raise _table_error(f"{name} の略号は英大文字1字にしてください: {era.letter!r}")
            if name in names:
                raise _table_error(f"元号名が重複しています: {name}")
            if era.letter in letters:
                raise _table_error(f"略号が重複しています: {era.letter}")
            names[name] = era
            letters[era.letter] = era
        for previous, current in itertools.pairwise(ordered):
            if previous.start == current.start:
                raise _table_error(f"{previous.name} と {current.name} の開始日が同じです")
        self._eras = ordered
        self._by_name = names
        self._by_letter = letters
        first_chars = [e.name[0] for e in ordered]
        # A one-character abbreviation (令6.4.1) is accepted only where it is unambiguous.
        self._by_abbrev = {
            e.name[0]: e
            for e in ordered
            if len(e.name) > 1 and first_chars.count(e.name[0]) == 1 and e.name[0] not in names
        }

    def __repr__(self) -> str:
        inner = ", ".join(f"{e.name}({e.letter}) {e.start.isoformat()}" for e in self._eras)
        return f"EraTable([{inner}])"

    @property
    def eras(self) -> tuple[Era, ...]:
        """All eras, oldest first."""
        return self._eras

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> EraTable:
        """Build a table from mappings with exactly name, letter and start (ISO date)."""
        return cls(_era_from_mapping(r) for r in records)

    @classmethod
    def default(cls) -> EraTable:
        """The packaged table (data/eras.json), read once."""
        return _default_table()

    @classmethod
    def with_extra(cls, extra: Iterable[Mapping[str, str]]) -> EraTable:
        """The packaged table plus eras from the settings; each must start after every packaged era."""
        base = cls.default()
        added = [_era_from_mapping(r) for r in extra]
        last = base.eras[-1]
        for era in added:
            if era.start <= last.start:
                raise _table_error(
                    f"追加の元号（{era.name}）の開始日は{last.name}の開始日"
                    f"（{last.start.isoformat()}）より後にしてください"
                )
        return cls((*base.eras, *added))

    def lookup(self, token: str) -> Era | None:
        """The era named by ``token``: full name (令和), letter (R or r) or unique first character (令)."""
        era = self._by_name.get(token)
        if era is None and len(token) == 1:
            era = self._by_letter.get(token.upper()) if token.isascii() else self._by_abbrev.get(token)
        return era

    def era_for(self, d: date) -> Era | None:
        """The era containing ``d``, or None before the first era."""
        found: Era | None = None
        for era in self._eras:
            if era.start <= d:
                found = era
            else:
                break
        return found

    def end_of(self, era: Era) -> date | None:
        """First day after ``era`` (the next era's start), or None for the latest era."""
        index = self._eras.index(era)
        return self._eras[index + 1].start if index + 1 < len(self._eras) else None


@functools.cache
def _default_table() -> EraTable:
    text = resources.files("dvflag_plugin.text").joinpath(_ERAS_RESOURCE).read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("eras"), list):
        raise _table_error(f"{_ERAS_RESOURCE} に eras の一覧がありません")
    return EraTable.from_records(data["eras"])


def _year_label(year: int) -> str:
    return "元" if year == 1 else str(year)


def _wareki_parts(d: date, table: EraTable) -> tuple[Era, int] | None:
    if d < GREGORIAN_ADOPTION:
        return None
    era = table.era_for(d)
    if era is None:
        return None
    return era, d.year - era.start.year + 1


def _check_date_type(d: object) -> date:
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"a datetime.date is required, got {type(d).__name__}")
    return d


def format_wareki(d: date, *, eras: EraTable | None = None) -> str:
    """令和6年4月1日 / 令和元年5月1日; ISO (YYYY-MM-DD) before 1873-01-01 or before the first era."""
    d = _check_date_type(d)
    parts = _wareki_parts(d, eras or EraTable.default())
    if parts is None:
        return d.isoformat()
    era, year = parts
    return f"{era.name}{_year_label(year)}年{d.month}月{d.day}日"


def format_wareki_short(d: date, *, eras: EraTable | None = None) -> str:
    """R6.4.1 (first year as 1, e.g. R1.5.1); ISO before 1873-01-01 or before the first era."""
    d = _check_date_type(d)
    parts = _wareki_parts(d, eras or EraTable.default())
    if parts is None:
        return d.isoformat()
    era, year = parts
    return f"{era.letter}{year}.{d.month}.{d.day}"


def _prepare(value: str) -> str:
    # NFKC turns full-width digits and punctuation (２０２４－０４－０１) and the era squares (㋿, ㍻)
    # into plain text; kanji are unaffected. All whitespace is dropped (令和 6年 4月 1日).
    text = unicodedata.normalize("NFKC", value).translate(_DASHES)
    return "".join(ch for ch in text if not ch.isspace())


def _make_date(field: str, year: int, month: int, day: int, shown: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValidationError(
            field, "invalid_date", f"{field_label(field)}: 存在しない日付です（{shown}）"
        ) from None


def _parse_era_date(field: str, table: EraTable, era_token: str, year_text: str, m: int, d: int) -> date:
    label = field_label(field)
    era = table.lookup(era_token)
    if era is None:
        raise ValidationError(field, "date_format", f"{label}: 日付として解釈できません{_FORMAT_HINT}")
    year = 1 if year_text == "元" else int(year_text)
    shown = f"{era.name}{_year_label(year)}年{m}月{d}日"
    if year < 1:
        raise ValidationError(field, "era_range", f"{label}: {shown}は存在しません")
    result = _make_date(field, era.start.year + year - 1, m, d, shown)
    end = table.end_of(era)
    if result < era.start:
        raise ValidationError(
            field,
            "era_range",
            f"{label}: {shown}は存在しません（{era.name}は{era.start.year}年{era.start.month}月"
            f"{era.start.day}日から）",
        )
    if end is not None and result >= end:
        last = date.fromordinal(end.toordinal() - 1)
        raise ValidationError(
            field,
            "era_range",
            f"{label}: {shown}は存在しません（{era.name}は{last.year}年{last.month}月{last.day}日まで）",
        )
    if result < GREGORIAN_ADOPTION:
        raise ValidationError(
            field,
            "era_range",
            f"{label}: {shown}は旧暦の日付のため換算できません（明治5年以前は西暦で入力してください）",
        )
    return result


def parse_date(value: str | date, *, field: str = "date", eras: EraTable | None = None) -> date:
    """Read a date given as ``date``, ISO (2024-04-01, 2024/4/1, 20240401) or 和暦 (令和6年4月1日, R6.4.1).

    Full-width digits are accepted. Raises ValidationError naming ``field`` with rule required,
    date_format, invalid_date (no such calendar day) or era_range (e.g. 平成31年5月1日).
    """
    label = field_label(field)
    if isinstance(value, datetime):
        raise ValidationError(field, "date_format", f"{label}: 日時ではなく日付を指定してください")
    if isinstance(value, date):
        return value
    if value is None:
        raise ValidationError(field, "required", f"{label}: 入力してください")
    if not isinstance(value, str):
        raise ValidationError(field, "date_format", f"{label}: 日付として解釈できません{_FORMAT_HINT}")
    text = _prepare(value)
    if not text:
        raise ValidationError(field, "required", f"{label}: 入力してください")

    for pattern in (_WESTERN_SEP, _WESTERN_KANJI, _WESTERN_COMPACT):
        match = pattern.fullmatch(text)
        if match:
            groups = [g for g in match.groups() if g is not None and g.isdigit()]
            year, month, day = (int(g) for g in groups)
            return _make_date(field, year, month, day, f"{year:04d}-{month:02d}-{day:02d}")

    table = eras or EraTable.default()
    era_match = _ERA_DATE.fullmatch(text)
    if era_match:
        month = int(era_match["m1"] or era_match["m2"])
        day = int(era_match["d1"] or era_match["d2"])
        return _parse_era_date(field, table, era_match["era"], era_match["year"], month, day)
    compact = _ERA_COMPACT.fullmatch(text)
    if compact:
        return _parse_era_date(
            field, table, compact["era"], compact["year"], int(compact["m"]), int(compact["d"])
        )
    raise ValidationError(field, "date_format", f"{label}: 日付として解釈できません{_FORMAT_HINT}")
