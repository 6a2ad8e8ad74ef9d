"""Excel writer (issue 5): load every workbook back with openpyxl and look inside the package."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pypdf
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from dvflag_hookspecs.values import Registration
from dvflag_plugin.outputs import COLUMNS, ExportMeta, WrittenOutput, write_xlsx
from dvflag_plugin.outputs.xlsx_writer import (
    DATE_FORMAT,
    FONT_NAME,
    INFO_SHEET_TITLE,
    ROWS_PER_PAGE,
    SHEET_TITLE,
    date_format,
    display_width,
)

META = ExportMeta(
    title="DV等支援対象者 把握状況一覧（全所属）",
    output_no="EXP-20261126-000043",
    generated_at=datetime(2026, 11, 26, 5, 3, tzinfo=UTC),
    actor_id="u-somu-07",
    actor_dept="D0801",
    actor_dept_name="総務課",
    as_of=date(2026, 11, 26),
    scope_label="全所属",
    filters_label="すべて（有効・解除）",
)
IVS_NAME = "葛\U000e0100城 三郎"
HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tX"]


def reg(i: int, name: str, **kw: object) -> Registration:
    """A synthetic dummy registration (ダミーデータ)."""
    values: dict[str, object] = {
        "record_id": 9000 + i,
        "address_no": f"{i:010d}",
        "name": name,
        "sex_code": 1 if i % 2 else 2,
        "birth_date": date(1990, 5, i % 28 + 1),
        "dept_code": "D0102",
        "dept_name": "税務課",
        "input_date": date(2024, 4, 1),
        "release_date": None,
        "row_version": 1,
    }
    values.update(kw)
    return Registration(**values)  # type: ignore[arg-type]


def dummy_rows() -> list[Registration]:
    return [
        reg(1, "髙橋 花子"),
        reg(2, "𠮷田 一郎", release_date=date(2026, 3, 31)),
        reg(3, "山﨑 次郎", dept_code="D0403", dept_name="障害者福祉課"),
        reg(4, IVS_NAME, sex_code=9),
    ]


def export(rows: list[Registration]) -> tuple[bytes, WrittenOutput]:
    buf = io.BytesIO()
    result = write_xlsx(iter(rows), META, buf)
    return buf.getvalue(), result


def sheet(data: bytes) -> Worksheet:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == [SHEET_TITLE, INFO_SHEET_TITLE]
    ws = wb[SHEET_TITLE]
    assert isinstance(ws, Worksheet)
    return ws


def test_header_row_and_values_read_back() -> None:
    data, result = export(dummy_rows())
    ws = sheet(data)
    header = ws[1]
    assert [c.value for c in header] == ["No.", *COLUMNS]
    assert all(c.font.bold for c in header)
    assert ws.max_column == len(COLUMNS) + 1
    assert ws.max_row == 7  # header, 4 rows, 合計, 以上
    numbered = [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_row=5)]
    assert [v[0] for v in numbered] == [1, 2, 3, 4]  # No.: the row numbers of the replacement reports
    values = [v[1:] for v in numbered]
    assert [v[0] for v in values] == ["0000000001", "0000000002", "0000000003", "0000000004"]
    assert [v[1] for v in values] == ["髙橋 花子", "𠮷田 一郎", "山﨑 次郎", IVS_NAME]
    assert [v[2] for v in values] == ["男", "女", "男", "適用不能"]
    assert [v[8] for v in values] == ["有効", "解除", "有効", "有効"]
    assert values[2][4:6] == ["D0403", "障害者福祉課"]
    assert result.row_count == 4
    assert result.page_count is None
    assert result.replacements == ()
    assert [c.value for c in ws[6]][:2] == ["合計", "4 件"]
    assert [c.value for c in ws[7]] == [None] * len(COLUMNS) + ["以上"]


def test_every_cell_is_in_the_japanese_font() -> None:
    data, _ = export(dummy_rows())
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert len(cells) > 60
    assert {c.font.name for c in cells} == {FONT_NAME}  # headers, data, totals and 出力情報 alike
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        styles = z.read("xl/styles.xml").decode("utf-8")
    assert "Calibri" not in styles  # not even as the workbook's default (Normal) font


def test_date_cells_are_real_dates_in_wareki_format() -> None:
    ws = sheet(export(dummy_rows())[0])
    second = ws[3]
    birth, input_day, release = second[4], second[7], second[8]
    expected_dates = ((birth, date(1990, 5, 3)), (input_day, date(2024, 4, 1)), (release, date(2026, 3, 31)))
    for cell, expected in expected_dates:
        assert cell.is_date
        assert isinstance(cell.value, datetime)
        assert cell.value.date() == expected
        assert cell.number_format == DATE_FORMAT
    first = ws[2]
    assert first[8].value is None  # 解除日 empty while held
    assert first[1].data_type == "s"  # address number is text: leading zeros survive


def test_hostile_names_are_inert_text() -> None:
    rows = [reg(i, name) for i, name in enumerate(HOSTILE, start=1)]
    rows.append(reg(9, "髙橋 花子", dept_name="=1+2"))
    data, result = export(rows)
    ws = sheet(data)
    cells = [row[2] for row in ws.iter_rows(min_row=2)]
    assert [c.value for c in cells[:5]] == HOSTILE
    for c in cells[:5]:
        assert c.data_type == "s"
        assert c.quotePrefix  # stays text even when a user edits the cell
    assert cells[5].value == "髙橋 花子"
    assert not cells[5].quotePrefix
    dept = ws[7][6]
    assert dept.value == "=1+2"
    assert dept.data_type == "s"
    assert result.replacements == ()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in xml
    assert "<f " not in xml


def test_carriage_return_cannot_be_held_and_is_reported() -> None:
    data, result = export([reg(1, "\rY"), reg(2, "髙橋 花子")])
    ws = sheet(data)
    cell = ws[2][2]
    assert cell.value == "〓Y"
    assert cell.data_type == "s"
    assert result.replacements == ((1, "氏名"),)


def test_print_setup_header_and_footer() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(export(dummy_rows())[0]))
    ws = wb[SHEET_TITLE]
    assert ws.freeze_panes == "A2"
    assert ws.print_title_rows == "$1:$1"
    assert ws.oddFooter.center.text == "&P / 1"  # the list's own page total, not &N
    assert ws.auto_filter.ref == "A1:J5"  # the data rows only: 合計 and 以上 stay at the end
    for each in wb.worksheets:  # the 出力情報 sheet is printed alike
        assert each.page_setup.orientation == "landscape"
        assert str(each.page_setup.paperSize) == "9"  # A4
        assert each.oddHeader.left.text == "取扱注意"
        assert each.oddHeader.left.color == "FF0000"
        assert each.oddHeader.center.text == META.title
        assert "EXP-20261126-000043" in (each.oddHeader.right.text or "")
        assert "令和8年11月26日 14:03" in (each.oddFooter.left.text or "")
        assert "u-somu-07" in (each.oddFooter.right.text or "")
    assert wb[INFO_SHEET_TITLE].oddFooter.center.text is None  # no counter that would mix the sheets


def test_page_breaks_make_the_page_total_known() -> None:
    rows = [reg(i, "髙橋 花子") for i in range(1, 2 * ROWS_PER_PAGE + 1)]  # + 合計 + 以上: three pages
    wb = openpyxl.load_workbook(io.BytesIO(export(rows)[0]))
    ws = wb[SHEET_TITLE]
    assert [b.id for b in ws.row_breaks.brk] == [1 + ROWS_PER_PAGE, 1 + 2 * ROWS_PER_PAGE]
    assert ws.oddFooter.center.text == "&P / 3"
    assert 10 <= ws.page_setup.scale <= 100
    assert ws.sheet_format.customHeight
    info = dict(wb[INFO_SHEET_TITLE].iter_rows(values_only=True))
    assert info["対象者一覧のページ数"] == "3"


def test_first_year_of_an_era_reads_gannen_like_the_pdf() -> None:
    ws = sheet(export([reg(1, "髙橋 花子", birth_date=date(2019, 5, 1)), reg(2, "山﨑 次郎")])[0])
    reiwa1 = ws[2][4].number_format
    assert '"令和元年"m"月"d"日"' in reiwa1 and reiwa1.startswith("[>=43831]")  # 2020-01-01
    assert "[>=43586]" in reiwa1  # 2019-05-01, the first day of 令和
    assert ws[3][4].number_format == DATE_FORMAT  # 平成2年…: Excel's own 和暦 format
    assert '"平成元年"' in date_format(date(1989, 12, 31), None)
    assert date_format(date(1990, 1, 1), None) == DATE_FORMAT


def test_column_widths_fit_japanese_text() -> None:
    long_name = "長谷川" * 8 + " 花子"
    ws = sheet(export([*dummy_rows(), reg(9, long_name)])[0])
    widths = {k: v.width for k, v in ws.column_dimensions.items()}
    assert widths["B"] >= display_width("団体内統合宛名番号")  # 18 half-width units
    assert widths["C"] >= display_width(long_name)
    assert widths["D"] < widths["C"]
    assert widths["E"] >= display_width("令和00年00月00日")


def test_info_sheet_names_the_output() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(export(dummy_rows())[0]))
    info = dict(wb[INFO_SHEET_TITLE].iter_rows(values_only=True))
    assert info["取扱区分"] == "取扱注意"
    assert info["出力番号"] == "EXP-20261126-000043"
    assert info["出力者"] == "u-somu-07（D0801 総務課）"
    assert info["出力日時"] == "令和8年11月26日 14:03:00（日本時間）"
    assert info["範囲"] == "全所属"
    assert info["件数"] == "4"
    assert info["対象者一覧のページ数"] == "1"
    assert wb.properties.title == META.title


def test_empty_export_has_header_only() -> None:
    data, result = export([])
    ws = sheet(data)
    assert ws.max_row == 3  # header, 合計 0 件, 以上
    assert ws[2][1].value == "0 件"
    assert result.row_count == 0


def test_more_rows_than_the_width_sample() -> None:
    rows = (reg(i, "髙橋 花子") for i in range(1, 1201))
    buf = io.BytesIO()
    result = write_xlsx(rows, META, buf)
    ws = sheet(buf.getvalue())
    assert result.row_count == 1200
    assert ws.max_row == 1203
    assert ws.cell(row=1201, column=2).value == "0000001200"
    assert ws.cell(row=1201, column=1).value == 1200


def test_display_width_counts_wide_characters_twice() -> None:
    assert display_width("髙橋 花子") == 9
    assert display_width("ABC") == 3
    assert display_width(IVS_NAME) == 9  # the selector takes no room


@pytest.mark.slow
def test_libreoffice_prints_gannen_and_counts_the_list_pages_only(tmp_path: Path) -> None:
    """Open the workbook in LibreOffice (headless PDF export) and read what a printout shows."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    rows = [reg(i, "髙橋 花子", birth_date=date(2019, 5, 1) if i == 1 else date(1989, 1, 8)) for i in range(1, 50)]
    (tmp_path / "list.xlsx").write_bytes(export(rows)[0])  # 49 rows + 合計 + 以上: three pages
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(tmp_path / "list.xlsx")],
        check=True, capture_output=True, timeout=300,
    )
    pages = [p.extract_text() for p in pypdf.PdfReader(tmp_path / "list.pdf").pages]
    assert len(pages) == 4  # three list pages (one page wide) and the 出力情報 sheet
    for number, text in enumerate(pages[:3], start=1):
        assert "取扱注意" in text and "EXP-20261126-000043" in text
        assert re.search(rf"\b{number}\s*/\s*3\b", text), text[-300:]
    assert "令和元年5月1日" in pages[0] and "平成元年1月8日" in pages[0]
    assert "令和1年" not in pages[0] and "平成1年" not in pages[0]
    assert "合計" in pages[2] and "以上" in pages[2]
    assert "取扱注意" in pages[3] and "取扱区分" in pages[3] and "49" in pages[3]
