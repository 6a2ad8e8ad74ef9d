"""CSV writer (issue 5): read every output back with each encoding and the csv module."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from itertools import pairwise

import pytest

from dvflag_hookspecs.values import Registration
from dvflag_plugin.errors import ValidationError
from dvflag_plugin.outputs import COLUMNS, FORMATS, ExportMeta, csv_media_type, write_csv
from dvflag_plugin.outputs.charsets import CP932_ONE_WAY, GETA, cp932_holds, fold_cp932
from dvflag_plugin.outputs.model import project, state_label

AS_OF = date(2026, 11, 26)
META = ExportMeta(
    title="DV等支援対象者 把握状況一覧（子ども家庭課）",
    output_no="EXP-20261126-000042",
    generated_at=datetime(2026, 11, 26, 5, 3, tzinfo=UTC),
    actor_id="u-kodomo-01",
    actor_dept="D0201",
    actor_dept_name="子ども家庭課",
    as_of=AS_OF,
    scope_label="自所属",
    filters_label="有効のみ",
)
IVS_NAME = "葛\U000e0100城 三郎"  # 葛 + IVS (VS17): a glyph variant of 葛
HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tX", "\rY"]


def reg(i: int, name: str, **kw: object) -> Registration:
    """A synthetic dummy registration (ダミーデータ); record ids are 9000+ so a leak is visible."""
    values: dict[str, object] = {
        "record_id": 9000 + i,
        "address_no": f"{i:010d}",
        "name": name,
        "sex_code": (1, 2, 0, 9)[i % 4],
        "birth_date": date(1989, 1, 8),
        "dept_code": "D0201",
        "dept_name": "子ども家庭課",
        "input_date": date(2024, 4, 1),
        "release_date": None,
        "row_version": 7,
    }
    values.update(kw)
    return Registration(**values)  # type: ignore[arg-type]


def dummy_rows() -> list[Registration]:
    return [
        reg(1, "髙橋 花子", sex_code=2),
        reg(2, "𠮷田 一郎", sex_code=1),
        reg(3, "山﨑 次郎", sex_code=1, release_date=date(2025, 3, 31)),
        reg(4, IVS_NAME, sex_code=9),
        reg(5, "渡邉 桜子", sex_code=0, dept_name="子ども家庭課〜分室"),
    ]


def write(rows: list[Registration], **kw: object) -> tuple[bytes, object]:
    buf = io.BytesIO()
    result = write_csv(iter(rows), META, buf, **kw)  # type: ignore[arg-type]
    return buf.getvalue(), result


def parse(data: bytes, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def test_utf8_default_has_bom_crlf_header_and_every_character() -> None:
    data, result = write(dummy_rows())
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\n") == data.count(b"\r\n") == 6  # header + 5 rows, CRLF only
    table = parse(data, "utf-8-sig")
    assert table[0] == list(COLUMNS)
    assert all(len(row) == 9 for row in table)
    names = [row[1] for row in table[1:]]
    assert names == ["髙橋 花子", "𠮷田 一郎", "山﨑 次郎", IVS_NAME, "渡邉 桜子"]
    assert result.row_count == 5  # type: ignore[attr-defined]
    assert result.replacements == ()  # type: ignore[attr-defined]
    assert result.page_count is None  # type: ignore[attr-defined]


def test_utf8_values_are_the_approved_items_only() -> None:
    data, _ = write(dummy_rows())
    table = parse(data, "utf-8-sig")
    first, third, fourth = table[1], table[3], table[4]
    assert first == [
        "0000000001", "髙橋 花子", "女", "1989-01-08", "D0201", "子ども家庭課", "2024-04-01", "", "有効",
    ]
    assert third[2] == "男"
    assert third[7] == "2025-03-31"
    assert third[8] == "解除"
    assert fourth[2] == "適用不能"
    assert table[5][2] == "不明"
    text = data.decode("utf-8-sig")
    for i in range(1, 6):
        assert str(9000 + i) not in text  # no record id
    assert "row_version" not in text


def test_formula_injection_gets_apostrophe_in_csv() -> None:
    rows = [reg(i, name) for i, name in enumerate(HOSTILE, start=1)]
    rows.append(reg(7, "髙橋 花子", dept_name="=1+2"))
    data, _ = write(rows)
    table = parse(data, "utf-8-sig")
    assert [row[1] for row in table[1:7]] == ["'" + name for name in HOSTILE]
    assert table[7][1] == "髙橋 花子"
    assert table[7][5] == "'=1+2"
    for row in table[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_cp932_replaces_with_geta_and_reports_every_row_and_column() -> None:
    data, result = write(dummy_rows(), encoding="cp932")
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\n") == data.count(b"\r\n") == 6
    table = parse(data, "cp932")
    assert table[0] == list(COLUMNS)
    names = [row[1] for row in table[1:]]
    # 髙 (IBM extension) and 﨑 (NEC-selected IBM extension) are in CP932 and survive;
    # 𠮷 (outside the BMP) becomes 〓; the IVS selector is dropped and the base character 葛 kept.
    assert names == ["髙橋 花子", "〓田 一郎", "山﨑 次郎", "葛城 三郎", "渡邉 桜子"]
    # 〜 (U+301C) would come back as ～ (U+FF5E): not held, so 〓.
    assert table[5][5] == "子ども家庭課〓分室"
    assert result.replacements == ((2, "氏名"), (4, "氏名"), (5, "所属名"))  # type: ignore[attr-defined]


def test_cp932_hostile_names_still_neutralised() -> None:
    data, _ = write([reg(1, "=𠮷"), reg(2, "\ufe00=1")], encoding="cp932")
    table = parse(data, "cp932")
    assert table[1][1] == "'=〓"
    assert table[2][1] == "'=1"  # the dropped selector must not expose the trigger


def test_cp932_strict_raises_naming_row_and_column_before_writing_it() -> None:
    buf = io.BytesIO()
    rows = dummy_rows()
    with pytest.raises(ValidationError) as info:
        write_csv(iter(rows), META, buf, encoding="cp932", strict=True)
    err = info.value
    assert err.field == "encoding"
    assert err.rule == "unencodable"
    assert err.code == "invalid.unencodable"
    # 𠮷 is in data row 2, which a spreadsheet shows as row 3 (the header is row 1): name both.
    assert err.message.startswith("3行目（見出しを1行目とした行番号。データの2件目）")
    assert "「氏名」列" in err.message
    assert "CP932" in err.message
    assert "𠮷" not in err.message  # no personal data in the message
    # Partial output (header and row 1) may exist: the caller discards it. Row 2 was never written.
    written = buf.getvalue().decode("cp932")
    assert "髙橋 花子" in written
    assert "田 一郎" not in written


def test_cp932_strict_passes_when_everything_fits() -> None:
    data, result = write([reg(1, "髙橋 花子"), reg(2, "山﨑 次郎")], encoding="cp932", strict=True)
    assert [row[1] for row in parse(data, "cp932")[1:]] == ["髙橋 花子", "山﨑 次郎"]
    assert result.replacements == ()  # type: ignore[attr-defined]


def test_strict_utf8_never_raises() -> None:
    data, result = write(dummy_rows(), strict=True)
    assert result.row_count == 5  # type: ignore[attr-defined]
    assert "𠮷田 一郎" in data.decode("utf-8-sig")


def test_unknown_encoding_refused() -> None:
    with pytest.raises(ValidationError) as info:
        write_csv(iter(()), META, io.BytesIO(), encoding="shift_jis")  # type: ignore[arg-type]
    assert info.value.field == "encoding"
    assert info.value.rule == "unsupported"


def test_empty_export_is_header_only() -> None:
    data, result = write([])
    assert parse(data, "utf-8-sig") == [list(COLUMNS)]
    assert result.row_count == 0  # type: ignore[attr-defined]


def test_streams_row_by_row() -> None:
    buf = io.BytesIO()
    sizes: list[int] = []

    def rows() -> Iterator[Registration]:
        for i in range(1, 50):
            sizes.append(len(buf.getvalue()))
            yield reg(i, "髙橋 花子")

    write_csv(rows(), META, buf)
    # Each row is on its way out before the next one is even produced.
    assert all(b > a for a, b in pairwise(sizes))


def test_unknown_sex_code_refused() -> None:
    with pytest.raises(ValidationError) as info:
        write([reg(1, "髙橋 花子", sex_code=3)])
    assert info.value.field == "sex_code"


@pytest.mark.parametrize(
    ("input_date", "release_date", "expected"),
    [
        (date(2024, 4, 1), None, "有効"),
        (AS_OF, None, "有効"),  # active from its input day
        (date(2024, 4, 1), AS_OF, "解除"),  # released on the day: not active that day
        (date(2024, 4, 1), date(2026, 11, 27), "有効"),  # release still ahead
        (date(2026, 11, 27), None, "未開始"),
    ],
)
def test_state_boundaries(input_date: date, release_date: date | None, expected: str) -> None:
    r = reg(1, "髙橋 花子", input_date=input_date, release_date=release_date)
    assert state_label(r, AS_OF) == expected
    assert project(r, AS_OF).state == expected


def test_cp932_one_way_table_is_complete() -> None:
    """The hard-coded list equals every BMP character Python's cp932 does not round-trip."""
    found = set()
    for cp in range(0x10000):
        ch = chr(cp)
        try:
            encoded = ch.encode("cp932")
        except UnicodeEncodeError:
            continue
        if encoded.decode("cp932") != ch:
            found.add(ch)
    assert found == CP932_ONE_WAY


def test_cp932_findings_about_gaiji_prone_kanji() -> None:
    # 髙 U+9AD9 is in CP932: Python writes the NEC-selected IBM extension 0xEEE0; the IBM extension
    # code 0xFBFC reads back as the same character. Plain Shift_JIS (JIS X 0208) has neither.
    assert "髙".encode("cp932") == b"\xee\xe0"
    assert b"\xfb\xfc".decode("cp932") == "髙"
    assert "﨑".encode("cp932") == b"\xed\x95"
    with pytest.raises(UnicodeEncodeError):
        "髙".encode("shift_jis")
    assert not cp932_holds("𠮷")
    assert not cp932_holds("〜")
    assert cp932_holds("～")
    assert fold_cp932("𠮷\U000e0100田") == (GETA + "田", True)
    assert fold_cp932("髙橋") == ("髙橋", False)


def test_formats_table() -> None:
    assert FORMATS["csv"].writer is write_csv
    assert FORMATS["csv"].filename("EXP-1") == "EXP-1.csv"
    assert csv_media_type("cp932") == "text/csv; charset=Windows-31J"
    assert FORMATS["xlsx"].media_type.endswith("spreadsheetml.sheet")
    assert FORMATS["pdf"].media_type == "application/pdf"
