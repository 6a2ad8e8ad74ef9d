"""Excel workbook (.xlsx) for staff: typed cells, Japanese-width columns, print-ready, formula-proof.

Sheet 「対象者一覧」: row 1 is the header (bold, shaded, frozen, repeated on every printed page, with
an autofilter); one row per registration below, numbered (No., the row numbers of
``WrittenOutput.replacements``); then 合計 n 件 and 「以上」. 団体内統合宛名番号 and 所属コード are
text cells (leading zeros survive); 生年月日・入力日・解除日 are real date cells shown in 和暦; 解除日
is empty while held.

Font: every cell, header included, is in ＭＳ 明朝 (:data:`FONT_NAME`): present on every Japanese
Windows PC a ward uses (since Windows 3.1; JIS2004 glyphs since Vista), unlike BIZ UD fonts (absent from
Windows 10 LTSB 2016, still common on LGWAN terminals) or 游ゴシック (from 8.1); it is a 明朝 like the
PDF's IPAmj明朝, so screen, Excel printout and PDF look alike, and its digits are fixed-width.

Page setup (both sheets): A4 landscape; the page header carries 取扱注意 (bold, red), the title and the
出力番号; the footer carries 出力日時 and 出力者. The list is printed at a fixed scale with a page
break every :data:`ROWS_PER_PAGE` rows, so its page total is known when writing and printed as text
("&P / 5"): Excel's &N and LibreOffice's page count would include the 出力情報 sheet when the whole
workbook is printed. Each sheet numbers its pages from 1.
Sheet 「出力情報」: the export's metadata (title, 出力番号, 出力日時, 出力者, 基準日, 範囲, 条件, 件数,
the list's page count).

和暦 and 元年: date cells use Excel's 和暦 format, which both Excel and LibreOffice show as 令和1年 in an
era's first year; a first-year date therefore gets a format that prints 元年 for exactly that range
(conditions on the serial number) and the ordinary format outside it, and a date in an era Excel does
not know (one added by the settings) its era written out — so Excel shows what the PDF prints.

Written with openpyxl's write-only mode, so rows stream to a temporary file instead of living as
cell objects. Column widths must be written before the rows, so the writer looks ahead at the first
:data:`WIDTH_SAMPLE_ROWS` rows to size them (the expected volume of ~1,000 people fits entirely).

Formula injection: every text cell is written with data type "s" (openpyxl would otherwise turn a
string beginning with "=" into a formula), and a text beginning with = + - @ TAB or CR additionally
gets Excel's quotePrefix style — the state Excel itself gives a cell typed as '=…: the value is shown
exactly as stored and stays text even when a user edits the cell.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import UTC, date
from itertools import chain, islice
from typing import Any, BinaryIO, Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.pagebreak import Break

from dvflag_hookspecs.values import Registration
from dvflag_plugin.text.wareki import EraTable, format_wareki

from .model import (
    COL_ROW_NO,
    COLUMNS,
    END_MARK,
    TOTAL_LABEL,
    ExportMeta,
    ExportRow,
    WrittenOutput,
    count_text,
    is_formula_like,
    project,
)

SHEET_TITLE: Final = "対象者一覧"
INFO_SHEET_TITLE: Final = "出力情報"
DATE_FORMAT: Final = '[$-411]ggge"年"m"月"d"日";@'
"""Number format of the date cells: 和暦 (see the module docstring of :mod:`dvflag_plugin.outputs`)."""
EXCEL_ERAS: Final = frozenset({"明治", "大正", "昭和", "平成", "令和"})
"""Eras Excel's ``ggg`` knows."""
EXCEL_EPOCH: Final = date(1899, 12, 30)
"""Day 0 of Excel's serial numbers (for dates from 1900-03-01 on)."""
HEADINGS: Final = (COL_ROW_NO, *COLUMNS)
"""The list's header row: the row number, then the approved columns."""
FONT_NAME: Final = "ＭＳ 明朝"
FONT_SIZE: Final = 11
ROW_HEIGHT: Final = 18.0
"""Points; every row of the list has this height, so that a page holds :data:`ROWS_PER_PAGE` rows."""
ROWS_PER_PAGE: Final = 22
"""Rows per printed page below the repeated header: (A4 landscape 595 pt − 119 pt margins) / 18 pt is 26;
four rows are kept free for a viewer whose rows come out slightly taller."""
PRINT_WIDTH_PT: Final = 842 - 2 * 36
"""A4 landscape width inside 0.5-inch side margins."""
PX_PER_UNIT: Final = 8
"""Pixels per column-width unit assumed when choosing the print scale (ＭＳ 明朝 11 pt: 7–8)."""
PAPER_A4: Final = "9"
"""SpreadsheetML paper size code of A4."""
WIDTH_SAMPLE_ROWS: Final = 1000
"""Rows looked at before writing, to size the columns."""
MIN_WIDTH: Final = 6.0
MAX_WIDTH: Final = 60.0
HEADER_LIMIT: Final = 255
"""Excel refuses a header or footer longer than 255 characters (codes included)."""
# Control characters a cell cannot hold: openpyxl refuses most (XML 1.0 cannot carry them), and a
# CR would reach Excel as LF (XML line-end normalisation). TAB and LF are kept.
_UNHOLDABLE: Final = re.compile(r"[\x00-\x08\x0b-\x1f]")

_BODY_FONT: Final = Font(name=FONT_NAME, size=FONT_SIZE, charset=128, family=1)
_HEADER_FONT: Final = Font(name=FONT_NAME, size=FONT_SIZE, charset=128, family=1, bold=True)
_HEADER_FILL: Final = PatternFill(fill_type="solid", start_color="FFD9D9D9", end_color="FFD9D9D9")
_HEADER_ALIGN: Final = Alignment(horizontal="center", vertical="center")


def display_width(text: str) -> int:
    """Width of ``text`` in half-width cells: East Asian wide, full-width and ambiguous count as 2."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF:
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 1
    return width


def _shown(value: str | date | None) -> str:
    """The text a cell shows, for sizing its column."""
    if value is None:
        return ""
    if isinstance(value, date):
        return "令和00年00月00日"
    return value


def column_widths(sample: Iterable[ExportRow]) -> list[float]:
    """Excel column widths (No. first) fitting the header and the sampled rows (one unit per half-width)."""
    widest = [display_width(label) for label in HEADINGS]
    widest[0] = max(widest[0], len(TOTAL_LABEL) * 2, 6)
    for row in sample:
        for i, value in enumerate(row.cells(), start=1):
            widest[i] = max(widest[i], display_width(_shown(value)))
    return [min(MAX_WIDTH, max(MIN_WIDTH, w * 1.1 + 2)) for w in widest]


def print_scale(widths: Iterable[float]) -> int:
    """Print scale (%) at which the columns fit one page wide, with 18% to spare for font differences
    (LibreOffice without ＭＳ 明朝 falls back to a font with wider digits and needs about 5%)."""
    points = sum(w * PX_PER_UNIT + 5 for w in widths) * 0.75
    return max(10, min(100, math.floor(PRINT_WIDTH_PT / points * 82)))


def list_pages(row_count: int) -> int:
    """Printed pages of the list: its data rows plus the 合計 and 以上 rows, :data:`ROWS_PER_PAGE` a page."""
    return math.ceil((row_count + 2) / ROWS_PER_PAGE)


def date_format(d: date, eras: EraTable | None) -> str:
    """The number format that shows ``d`` as :func:`format_wareki` writes it (元年 included)."""
    table = eras or EraTable.default()
    era = table.era_for(d)
    if era is None or d < date(1900, 3, 1):
        return DATE_FORMAT
    year = d.year - era.start.year + 1
    if era.name not in EXCEL_ERAS:
        return f'"{era.name}{"元" if year == 1 else year}年"m"月"d"日";@'
    if year != 1:
        return DATE_FORMAT
    next_year = (date(d.year + 1, 1, 1) - EXCEL_EPOCH).days
    start = (era.start - EXCEL_EPOCH).days
    plain = DATE_FORMAT.removesuffix(";@")
    return f'[>={next_year}]{plain};[>={start}][$-411]"{era.name}元年"m"月"d"日";{plain}'


def _hf_text(text: str) -> str:
    """Header/footer text with Excel's control character & escaped."""
    return text.replace("&", "&&")


def _cell(ws: Any, value: object, *, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.font = _HEADER_FONT if bold else _BODY_FONT
    return cell


def _text_cell(ws: Any, text: str, row_no: int, replaced: list[tuple[int, str]], col: int) -> WriteOnlyCell:
    if _UNHOLDABLE.search(text):
        # Validation keeps control characters out of the register; should one slip through, show 〓.
        text = _UNHOLDABLE.sub("\u3013", text)
        replaced.append((row_no, COLUMNS[col]))
    cell = _cell(ws, text)
    cell.data_type = "s"  # never a formula, whatever the first character
    if is_formula_like(text):
        cell.quotePrefix = True
    return cell


def _data_cells(
    ws: Any, row: ExportRow, row_no: int, replaced: list[tuple[int, str]], eras: EraTable | None
) -> list[WriteOnlyCell]:
    cells: list[WriteOnlyCell] = [_cell(ws, row_no)]
    for col, value in enumerate(row.cells()):
        if isinstance(value, date):
            cell = _cell(ws, value)
            cell.number_format = date_format(value, eras)
        elif value is None:
            cell = _cell(ws, None)
        else:
            cell = _text_cell(ws, value, row_no, replaced, col)
        cells.append(cell)
    return cells


def _print_setup(ws: Any, meta: ExportMeta, eras: EraTable | None, *, pages: str | None) -> None:
    """A4 landscape; header 取扱注意 / title / 出力番号; footer 出力日時 / page x of ``pages`` / 出力者."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.firstPageNumber = 1
    ws.page_setup.useFirstPageNumber = True
    ws.page_margins.top = 0.9
    ws.page_margins.header = 0.3
    ws.page_margins.left = ws.page_margins.right = 0.5

    header = ws.oddHeader
    header.left.text = "取扱注意"
    header.left.font = f"{FONT_NAME},Bold"
    header.left.size = 14
    header.left.color = "FF0000"
    header.right.text = _hf_text(f"出力番号 {meta.output_no}")
    header.right.font = FONT_NAME
    header.right.size = 9
    used = len(str(header.left)) + len(str(header.right)) + 16 + 2 * len(FONT_NAME) + 8
    header.center.text = _hf_text(meta.title)[: max(0, HEADER_LIMIT - used)]
    header.center.font = FONT_NAME
    header.center.size = 11

    jst = meta.generated_at_jst
    footer = ws.oddFooter
    footer.left.text = _hf_text(f"出力日時 {format_wareki(jst.date(), eras=eras)} {jst:%H:%M}")
    footer.left.font = FONT_NAME
    footer.left.size = 8
    if pages is not None:
        footer.center.text = f"&P / {pages}"
        footer.center.font = FONT_NAME
        footer.center.size = 9
    footer.right.text = _hf_text(f"出力者 {meta.actor_id}（{meta.actor_dept} {meta.actor_dept_name}）")[:100]
    footer.right.font = FONT_NAME
    footer.right.size = 8


def _list_head(ws: Any, widths: list[float]) -> None:
    """What write-only mode writes before the rows: widths, frozen header, fixed row height."""
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.sheet_format.defaultRowHeight = ROW_HEIGHT
    ws.sheet_format.customHeight = True


def _list_tail(ws: Any, widths: list[float], row_count: int) -> None:
    """What it writes after them: header repeated on each page, grid, fixed scale, page breaks."""
    ws.print_title_rows = "1:1"
    ws.print_options.gridLines = True
    ws.page_setup.scale = print_scale(widths)
    last = row_count + 3  # header, rows, 合計, 以上
    ws.row_breaks.brk = [Break(id=row) for row in range(1 + ROWS_PER_PAGE, last, ROWS_PER_PAGE)]


def _info_sheet(wb: Workbook, meta: ExportMeta, row_count: int, eras: EraTable | None) -> None:
    info = wb.create_sheet(INFO_SHEET_TITLE)
    info.column_dimensions["A"].width = 24
    info.column_dimensions["B"].width = 80
    _print_setup(info, meta, eras, pages=None)
    jst = meta.generated_at_jst
    items = (
        ("取扱区分", "取扱注意"),
        ("表題", meta.title),
        ("出力番号", meta.output_no),
        ("出力日時", f"{format_wareki(jst.date(), eras=eras)} {jst:%H:%M:%S}（日本時間）"),
        ("出力者", f"{meta.actor_id}（{meta.actor_dept} {meta.actor_dept_name}）"),
        ("基準日", format_wareki(meta.as_of, eras=eras)),
        ("範囲", meta.scope_label),
        ("条件", meta.filters_label),
        ("件数", str(row_count)),
        (f"{SHEET_TITLE}のページ数", str(list_pages(row_count))),
    )
    for label, value in items:
        info.append([_cell(info, label, bold=True), _text_cell(info, value, 0, [], 0)])


def _use_font_by_default(wb: Workbook) -> None:
    """Make ＭＳ 明朝 the workbook's default (Normal style) font: empty cells and column widths follow it.

    openpyxl has no public setter for it; ``test_every_cell_is_in_the_japanese_font`` guards this."""
    wb._fonts = IndexedList([_BODY_FONT])
    wb._named_styles["Normal"].font = _BODY_FONT


def write_xlsx(
    rows: Iterable[Registration], meta: ExportMeta, out: BinaryIO, *, eras: EraTable | None = None
) -> WrittenOutput:
    """Write ``rows`` to ``out`` as an .xlsx workbook (see the module docstring).

    ``eras`` is the 和暦 era table from the settings, used for the dates on the 出力情報 sheet and in
    the footer (default: the built-in table).
    """
    projected: Iterator[ExportRow] = (project(reg, meta.as_of) for reg in rows)
    sample = list(islice(projected, WIDTH_SAMPLE_ROWS))

    wb = Workbook(write_only=True)
    _use_font_by_default(wb)
    wb.properties.title = meta.title
    wb.properties.subject = meta.output_no
    wb.properties.creator = "dvflag-plugin"
    wb.properties.keywords = "取扱注意"
    naive_utc = meta.generated_at.astimezone(UTC).replace(tzinfo=None)
    wb.properties.created = naive_utc
    wb.properties.modified = naive_utc
    ws = wb.create_sheet(SHEET_TITLE)
    widths = column_widths(sample)
    _list_head(ws, widths)

    header: list[WriteOnlyCell] = []
    for label in HEADINGS:
        cell = _cell(ws, label, bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = _HEADER_ALIGN
        header.append(cell)
    ws.append(header)

    replaced: list[tuple[int, str]] = []
    count = 0
    for count, row in enumerate(chain(sample, projected), start=1):
        ws.append(_data_cells(ws, row, count, replaced, eras))
    last_column = get_column_letter(len(HEADINGS))
    ws.auto_filter.ref = f"A1:{last_column}{count + 1}"
    ws.append([_cell(ws, TOTAL_LABEL, bold=True), _cell(ws, count_text(count), bold=True)])
    end = _cell(ws, END_MARK)
    end.alignment = Alignment(horizontal="right")
    ws.append([None] * (len(HEADINGS) - 1) + [end])
    # The page setup is written after the rows in the file, so it can count them (write-only mode).
    _list_tail(ws, widths, count)
    _print_setup(ws, meta, eras, pages=str(list_pages(count)))
    _info_sheet(wb, meta, count, eras)
    wb.save(out)
    return WrittenOutput(row_count=count, page_count=None, replacements=tuple(replaced))
