"""和暦 parsing and formatting over the era table; era boundaries are tested day by day (DESIGN §7)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest

from dvflag_plugin.errors import ValidationError
from dvflag_plugin.text.wareki import (
    GREGORIAN_ADOPTION,
    Era,
    EraTable,
    format_wareki,
    format_wareki_short,
    parse_date,
)

FICTIONAL = [{"name": "試験", "letter": "X", "start": "2099-01-01"}]


def test_default_table_matches_the_conventional_start_dates() -> None:
    eras = EraTable.default().eras
    assert [(e.name, e.letter, e.start) for e in eras] == [
        ("明治", "M", date(1868, 10, 23)),
        ("大正", "T", date(1912, 7, 30)),
        ("昭和", "S", date(1926, 12, 25)),
        ("平成", "H", date(1989, 1, 8)),
        ("令和", "R", date(2019, 5, 1)),
    ]
    assert EraTable.default() is EraTable.default()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-04-01", date(2024, 4, 1)),
        ("2024/4/1", date(2024, 4, 1)),
        ("2024.4.1", date(2024, 4, 1)),
        ("20240401", date(2024, 4, 1)),
        ("2024年4月1日", date(2024, 4, 1)),
        ("令和6年4月1日", date(2024, 4, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("令和1年5月1日", date(2019, 5, 1)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("昭和元年12月25日", date(1926, 12, 25)),
        ("大正15年12月24日", date(1926, 12, 24)),
        ("明治6年1月1日", date(1873, 1, 1)),
        ("明治45年7月29日", date(1912, 7, 29)),
        ("R6.4.1", date(2024, 4, 1)),
        ("R06.04.01", date(2024, 4, 1)),
        ("r6/4/1", date(2024, 4, 1)),
        ("R6-4-1", date(2024, 4, 1)),
        ("H1.1.8", date(1989, 1, 8)),
        ("S64.1.7", date(1989, 1, 7)),
        ("R060401", date(2024, 4, 1)),
        ("R6年4月1日", date(2024, 4, 1)),
        ("令6.4.1", date(2024, 4, 1)),
        ("令和6.4.1", date(2024, 4, 1)),
        ("令和６年４月１日", date(2024, 4, 1)),
        ("２０２４－０４－０１", date(2024, 4, 1)),
        ("２０２４／４／１", date(2024, 4, 1)),
        ("Ｒ６．４．１", date(2024, 4, 1)),
        ("2024ー04ー01", date(2024, 4, 1)),  # katakana prolonged mark typed as a dash
        ("㋿6年4月1日", date(2024, 4, 1)),
        ("㍻31年4月30日", date(2019, 4, 30)),
        ("  令和 6年 4月 1日\u3000", date(2024, 4, 1)),
    ],
)
def test_parse_accepted_forms(text: str, expected: date) -> None:
    assert parse_date(text) == expected


def test_parse_passes_date_objects_through() -> None:
    d = date(2024, 4, 1)
    assert parse_date(d) is d


def test_parse_refuses_datetime() -> None:
    with pytest.raises(ValidationError) as err:
        parse_date(datetime(2024, 4, 1, 9, 0), field="birth_date")  # noqa: DTZ001 - the point of the test
    assert err.value.rule == "date_format"
    assert err.value.field == "birth_date"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "required"),
        ("   ", "required"),
        ("\u3000", "required"),
        ("2024-02-30", "invalid_date"),
        ("2023-02-29", "invalid_date"),
        ("20241301", "invalid_date"),
        ("令和6年2月30日", "invalid_date"),
        ("R6.13.1", "invalid_date"),
        ("平成31年5月1日", "era_range"),
        ("令和1年4月30日", "era_range"),
        ("令和元年4月30日", "era_range"),
        ("昭和64年1月8日", "era_range"),
        ("平成元年1月7日", "era_range"),
        ("大正15年12月25日", "era_range"),
        ("令和0年5月1日", "era_range"),
        ("明治5年12月2日", "era_range"),  # lunisolar calendar: not convertible
        ("明治元年10月23日", "era_range"),
        ("abc", "date_format"),
        ("2024-04/01", "date_format"),
        ("24-4-1", "date_format"),
        ("2024-04-01T00:00", "date_format"),
        ("6年4月1日", "date_format"),
        ("Q6.4.1", "date_format"),
        ("X1.1.1", "date_format"),  # the fictional era is not in the default table
        ("冷和6年4月1日", "date_format"),
        ("令和6年4月1日生", "date_format"),
        ("2024041", "date_format"),
    ],
)
def test_parse_refusals(text: str, rule: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_date(text, field="birth_date")
    assert err.value.rule == rule
    assert err.value.field == "birth_date"
    assert err.value.code == f"invalid.{rule}"
    assert err.value.message.startswith("生年月日: ")


def test_parse_refuses_non_string() -> None:
    with pytest.raises(ValidationError) as err:
        parse_date(20240401)  # type: ignore[arg-type]
    assert err.value.rule == "date_format"
    assert err.value.message.startswith("日付: ")


def test_messages_explain_the_rule() -> None:
    with pytest.raises(ValidationError) as err:
        parse_date("abc", field="birth_date")
    assert err.value.message == "生年月日: 日付として解釈できません（例: 2024-04-01, 令和6年4月1日, R6.4.1）"
    with pytest.raises(ValidationError) as err:
        parse_date("平成31年5月1日", field="birth_date")
    assert err.value.message == "生年月日: 平成31年5月1日は存在しません（平成は2019年4月30日まで）"
    with pytest.raises(ValidationError) as err:
        parse_date("令和1年4月30日", field="birth_date")
    assert err.value.message == "生年月日: 令和元年4月30日は存在しません（令和は2019年5月1日から）"
    with pytest.raises(ValidationError) as err:
        parse_date("2024-02-30", field="input_date")
    assert err.value.message == "入力日: 存在しない日付です（2024-02-30）"


@pytest.mark.parametrize(
    ("d", "long", "short"),
    [
        (date(2024, 4, 1), "令和6年4月1日", "R6.4.1"),
        (date(2019, 5, 1), "令和元年5月1日", "R1.5.1"),
        (date(2019, 4, 30), "平成31年4月30日", "H31.4.30"),
        (date(1989, 1, 8), "平成元年1月8日", "H1.1.8"),
        (date(1989, 1, 7), "昭和64年1月7日", "S64.1.7"),
        (date(1926, 12, 25), "昭和元年12月25日", "S1.12.25"),
        (date(1926, 12, 24), "大正15年12月24日", "T15.12.24"),
        (date(1912, 7, 30), "大正元年7月30日", "T1.7.30"),
        (date(1912, 7, 29), "明治45年7月29日", "M45.7.29"),
        (date(1873, 1, 1), "明治6年1月1日", "M6.1.1"),
        (date(1872, 12, 31), "1872-12-31", "1872-12-31"),
        (date(1868, 10, 23), "1868-10-23", "1868-10-23"),
        (date(1800, 1, 1), "1800-01-01", "1800-01-01"),
    ],
)
def test_format(d: date, long: str, short: str) -> None:
    assert format_wareki(d) == long
    assert format_wareki_short(d) == short


def test_format_refuses_datetime() -> None:
    with pytest.raises(TypeError):
        format_wareki(datetime(2024, 4, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(TypeError):
        format_wareki_short(datetime(2024, 4, 1))  # noqa: DTZ001


def test_every_era_boundary_day() -> None:
    eras = EraTable.default().eras
    for previous, era in itertools.pairwise(eras):
        last = era.start - timedelta(days=1)
        assert format_wareki(era.start) == f"{era.name}元年{era.start.month}月{era.start.day}日"
        assert format_wareki(last).startswith(previous.name)
        assert parse_date(format_wareki(last)) == last
        assert parse_date(format_wareki(era.start)) == era.start


def test_round_trip_every_day() -> None:
    d = GREGORIAN_ADOPTION
    end = date(2100, 12, 31)
    while d <= end:
        assert parse_date(format_wareki(d)) == d, d
        assert parse_date(format_wareki_short(d)) == d, d
        d += timedelta(days=1)


def test_fictional_future_era_through_settings() -> None:
    table = EraTable.with_extra(FICTIONAL)
    assert table.eras[-1] == Era(name="試験", letter="X", start=date(2099, 1, 1))
    assert format_wareki(date(2099, 1, 1), eras=table) == "試験元年1月1日"
    assert format_wareki_short(date(2100, 3, 4), eras=table) == "X2.3.4"
    assert format_wareki(date(2098, 12, 31), eras=table) == "令和80年12月31日"
    assert parse_date("X2.3.4", eras=table) == date(2100, 3, 4)
    assert parse_date("試験元年1月1日", eras=table) == date(2099, 1, 1)
    assert parse_date("試2.3.4", eras=table) == date(2100, 3, 4)
    with pytest.raises(ValidationError) as err:
        parse_date("令和81年1月1日", eras=table)
    assert err.value.rule == "era_range"
    # The default table is unchanged: no fictional era, and 令和 goes on.
    assert format_wareki(date(2099, 1, 1)) == "令和81年1月1日"
    assert parse_date("令和81年1月1日") == date(2099, 1, 1)


def test_abbreviation_is_dropped_when_ambiguous() -> None:
    table = EraTable.with_extra([{"name": "令試", "letter": "Y", "start": "2099-01-01"}])
    with pytest.raises(ValidationError) as err:
        parse_date("令6.4.1", eras=table)
    assert err.value.rule == "date_format"
    assert parse_date("令和6.4.1", eras=table) == date(2024, 4, 1)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ([{"name": "試験", "letter": "X", "start": "2019-05-01"}], "より後"),
        ([{"name": "試験", "letter": "X", "start": "2009-01-01"}], "より後"),
        ([{"name": "試験", "letter": "R", "start": "2099-01-01"}], "略号が重複"),
        ([{"name": "令和", "letter": "X", "start": "2099-01-01"}], "元号名が重複"),
        ([{"name": "試験", "letter": "x", "start": "2099-01-01"}], "英大文字1字"),
        ([{"name": "試験", "letter": "XY", "start": "2099-01-01"}], "英大文字1字"),
        ([{"name": "試験", "letter": "X", "start": "2099/01/01"}], "ISO"),
        ([{"name": "試1", "letter": "X", "start": "2099-01-01"}], "元号名が不正"),
        ([{"name": "", "letter": "X", "start": "2099-01-01"}], "元号名が不正"),
        ([{"name": "試験", "letter": "X", "start": "2099-01-01", "kana": "しけん"}], "未定義の項目"),
        ([{"name": "試験", "letter": "X"}], "必要な項目"),
        (
            [
                {"name": "試験", "letter": "X", "start": "2099-01-01"},
                {"name": "試行", "letter": "Y", "start": "2099-01-01"},
            ],
            "開始日が同じ",
        ),
    ],
)
def test_with_extra_refuses_bad_settings(extra: list[dict[str, str]], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        EraTable.with_extra(extra)
    assert err.value.rule == "era_table"
    assert err.value.field == "eras"
    assert fragment in err.value.message


def test_lookup_and_era_for() -> None:
    table = EraTable.default()
    reiwa = table.eras[-1]
    assert table.lookup("令和") is reiwa
    assert table.lookup("R") is reiwa
    assert table.lookup("r") is reiwa
    assert table.lookup("令") is reiwa
    assert table.lookup("Z") is None
    assert table.era_for(date(2019, 5, 1)) is reiwa
    assert table.era_for(date(2019, 4, 30)) is table.eras[-2]
    assert table.era_for(date(1868, 10, 22)) is None
    assert table.end_of(reiwa) is None
    assert table.end_of(table.eras[-2]) == date(2019, 5, 1)
