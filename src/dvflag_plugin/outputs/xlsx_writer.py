"""Excel workbook (.xlsx) for staff: typed cells, Japanese-width columns, print-ready, formula-proof.

Sheet 「対象者一覧」: row 1 is the header (bold, shaded, frozen, repeated on every printed page, with
an autofilter); one row per registration below. 団体内統合宛名番号 and 所属コード are text cells
(leading zeros survive); 生年月日・入力日・解除日 are real date cells shown in 和暦; 解除日 is empty
while held.
Page setup: A4 landscape, fit to one page wide; the page header carries 取扱注意 (bold, red), the title
and the 出力番号; the footer carries 出力日時, 出力者 and "&P / &N" (page x / y).
Sheet 「出力情報」: the export's metadata (title, 出力番号, 出力日時, 出力者, 基準日, 範囲, 条件, 件数).

Written with openpyxl's write-only mode, so rows stream to a temporary file instead of living as
cell objects. Column widths must be written before the rows, so the writer looks ahead at the first
:data:`WIDTH_SAMPLE_ROWS` rows to size them (the expected volume of ~1,000 people fits entirely).

Formula injection: every text cell is written with data type "s" (openpyxl would otherwise turn a
string beginning with "=" into a formula), and a text beginning with = + - @ TAB or CR additionally
gets Excel's quotePrefix style — the state Excel itself gives a cell typed as '=…: the value is shown
exactly as stored and stays text even when a user edits the cell.
"""

from __future__ import annotations

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
from openpyxl.worksheet.properties import PageSetupProperties

from dvflag_hookspecs.values import Registration
from dvflag_plugin.text.wareki import EraTable, format_wareki

from .model import COLUMNS, ExportMeta, ExportRow, WrittenOutput, is_formula_like, project

SHEET_TITLE: Final = "対象者一覧"
INFO_SHEET_TITLE: Final = "出力情報"
DATE_FORMAT: Final = '[$-411]ggge"年"m"月"d"日";@'
"""Number format of the date cells: 和暦 (see the module docstring of :mod:`dvflag_plugin.outputs`)."""
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

_HEADER_FONT: Final = Font(bold=True)
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
    """Excel column widths fitting the header and the sampled rows (about one unit per half-width)."""
    widest = [display_width(label) for label in COLUMNS]
    for row in sample:
        for i, value in enumerate(row.cells()):
            widest[i] = max(widest[i], display_width(_shown(value)))
    return [min(MAX_WIDTH, max(MIN_WIDTH, w * 1.1 + 2)) for w in widest]


def _hf_text(text: str) -> str:
    """Header/footer text with Excel's control character & escaped."""
    return text.replace("&", "&&")


def _text_cell(ws: Any, text: str, row_no: int, replaced: list[tuple[int, str]], col: int) -> WriteOnlyCell:
    if _UNHOLDABLE.search(text):
        # Validation keeps control characters out of the register; should one slip through, show 〓.
        text = _UNHOLDABLE.sub("\u3013", text)
        replaced.append((row_no, COLUMNS[col]))
    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"  # never a formula, whatever the first character
    if is_formula_like(text):
        cell.quotePrefix = True
    return cell


def _data_cells(ws: Any, row: ExportRow, row_no: int, replaced: list[tuple[int, str]]) -> list[WriteOnlyCell]:
    cells: list[WriteOnlyCell] = []
    for col, value in enumerate(row.cells()):
        if isinstance(value, date):
            cell = WriteOnlyCell(ws, value=value)
            cell.number_format = DATE_FORMAT
        elif value is None:
            cell = WriteOnlyCell(ws, value=None)
        else:
            cell = _text_cell(ws, value, row_no, replaced, col)
        cells.append(cell)
    return cells


def _page_setup(ws: Any, meta: ExportMeta, eras: EraTable | None) -> None:
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.gridLines = True
    ws.page_margins.top = 0.9
    ws.page_margins.header = 0.3

    header = ws.oddHeader
    header.left.text = "取扱注意"
    header.left.font = "-,Bold"
    header.left.size = 14
    header.left.color = "FF0000"
    header.right.text = _hf_text(f"出力番号 {meta.output_no}")
    header.right.size = 9
    used = len(str(header.left)) + len(str(header.right)) + 16
    header.center.text = _hf_text(meta.title)[: max(0, HEADER_LIMIT - used)]
    header.center.size = 11

    jst = meta.generated_at_jst
    footer = ws.oddFooter
    footer.left.text = _hf_text(f"出力日時 {format_wareki(jst.date(), eras=eras)} {jst:%H:%M}")
    footer.left.size = 8
    footer.center.text = "&P / &N"
    footer.center.size = 9
    footer.right.text = _hf_text(f"出力者 {meta.actor_id}（{meta.actor_dept} {meta.actor_dept_name}）")[:100]
    footer.right.size = 8


def _info_sheet(wb: Workbook, meta: ExportMeta, row_count: int, eras: EraTable | None) -> None:
    info = wb.create_sheet(INFO_SHEET_TITLE)
    info.column_dimensions["A"].width = 14
    info.column_dimensions["B"].width = 70
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
    )
    for label, value in items:
        key = WriteOnlyCell(info, value=label)
        key.font = _HEADER_FONT
        info.append([key, _text_cell(info, value, 0, [], 0)])


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
    wb.properties.title = meta.title
    wb.properties.subject = meta.output_no
    wb.properties.creator = "dvflag-plugin"
    wb.properties.keywords = "取扱注意"
    naive_utc = meta.generated_at.astimezone(UTC).replace(tzinfo=None)
    wb.properties.created = naive_utc
    wb.properties.modified = naive_utc
    ws = wb.create_sheet(SHEET_TITLE)
    for i, width in enumerate(column_widths(sample), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    _page_setup(ws, meta, eras)

    header: list[WriteOnlyCell] = []
    for label in COLUMNS:
        cell = WriteOnlyCell(ws, value=label)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = _HEADER_ALIGN
        header.append(cell)
    ws.append(header)

    replaced: list[tuple[int, str]] = []
    count = 0
    for count, row in enumerate(chain(sample, projected), start=1):
        ws.append(_data_cells(ws, row, count, replaced))
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{count + 1}"
    _info_sheet(wb, meta, count, eras)
    wb.save(out)
    return WrittenOutput(row_count=count, page_count=None, replacements=tuple(replaced))
