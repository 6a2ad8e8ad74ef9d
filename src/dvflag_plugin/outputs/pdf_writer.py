"""PDF for printing: A4 landscape, embedded Japanese font, 取扱注意 and the export's identity on every page.

Every page carries, at the top, a red-framed 取扱注意, the title, 出力日時 (和暦 and JST time), 出力者
(user id, department code and name), 出力番号, 基準日, 範囲 and 条件, and the table's header row; at
the bottom, "ページ x / y", the 出力番号 again and 取扱注意 — so a single printed sheet can be matched
to its audit event. Dates are in 和暦 (令和6年4月1日); 性別 as 男/女/不明/適用不能. Rows carry a
number (No., the row numbers of ``WrittenOutput.replacements``); the list ends with 合計 n 件 and
「以上」. The all-department list (``ExportMeta.group_by_department``) starts each department on a new
page, names it above the table and closes it with its 小計.

The font is found by :mod:`.fonts` (IPAmj明朝) and embedded as subsets. An ideographic variation
sequence the font registers (cmap format 14, e.g. 葛 + U+E0102) is drawn with its own glyph
(:mod:`.variants`); one it does not register is drawn as its base character, and a character without
a glyph as 〓 — both reported in ``WrittenOutput.replacements`` as (row, column).

The red 取扱注意 stamp is drawn inside its own graphics state (q … Q) so that its colour and fill+stroke
text render mode never leak into the body text. The document's creation date is the export time
(``ExportMeta.generated_at``, from the host's clock), and no font is declared but the embedded one.

The page total in the footer is a form XObject referenced on every page and defined once after the
last page (reportlab allows forward references), so pages are laid out in a single pass over the
rows. reportlab keeps the finished pages (compressed) until ``save``; nothing else accumulates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, BinaryIO, Final

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import TimeStamp
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from dvflag_hookspecs.values import Registration
from dvflag_plugin.text.wareki import EraTable, format_wareki

from .charsets import fold
from .fonts import LoadedFont, load_font
from .model import (
    COL_ROW_NO,
    COLUMNS,
    END_MARK,
    SUBTOTAL_LABEL,
    TOTAL_LABEL,
    ExportMeta,
    ExportRow,
    WrittenOutput,
    count_text,
    project,
)

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN_X: Final = 28.0
MARGIN_TOP: Final = 24.0
MARGIN_BOTTOM: Final = 34.0
FOOTER_BASELINE: Final = 16.0
BODY_SIZE: Final = 8.5
LEADING: Final = 11.0
PAD: Final = 3.0
HEADER_ROW_HEIGHT: Final = 16.0
TOTAL_FORM: Final = "dvflagPageTotal"
CAUTION: Final = "取扱注意"
NO_DATA: Final = "該当するデータはありません。"
RED: Final = (0.78, 0.0, 0.0)
TOTAL_ROW_HEIGHT: Final = 16.0
END_ROOM: Final = 8.0
"""Room kept under 合計 so that 「以上」 (its baseline 16 pt below) always shares its page."""
HEADINGS: Final = (COL_ROW_NO, *COLUMNS)
"""The PDF's table header: the row number, then the approved columns."""

_SAMPLES: Final[dict[int, tuple[str, ...]]] = {
    0: ("99999",),  # No.
    1: ("0" * 16,),  # 団体内統合宛名番号: up to 16 digits by default
    3: ("適用不能",),
    4: ("平成30年12月31日", "令和10年12月31日"),
    5: ("D00000",),
    7: ("平成30年12月31日", "令和10年12月31日"),
    8: ("平成30年12月31日", "令和10年12月31日"),
    9: ("未開始",),
}
"""Widest expected text of each fixed-width column; 氏名 (2) and 所属名 (6) share the rest."""


def column_widths(font_name: str) -> list[float]:
    """Column widths (pt) for the font: fixed columns fit their widest text and label; 氏名 gets 54%
    of what remains and 所属名 the rest (both wrap)."""
    widths: dict[int, float] = {}
    for i, samples in _SAMPLES.items():
        widest = max(stringWidth(t, font_name, BODY_SIZE) for t in (*samples, HEADINGS[i]))
        widths[i] = float(widest) + 2 * PAD + 1
    rest = PAGE_WIDTH - 2 * MARGIN_X - sum(widths.values())
    widths[2] = round(rest * 0.54, 1)
    widths[6] = rest - widths[2]
    return [widths[i] for i in range(len(HEADINGS))]


def host_timestamp(meta: ExportMeta) -> TimeStamp:
    """reportlab's document time stamp set to the export time in JST (not the machine's wall clock)."""
    stamp = TimeStamp(invariant=1)
    jst = meta.generated_at_jst
    stamp.t = jst.timestamp()
    stamp.lt = jst.timetuple()
    stamp.YMDhms = tuple(stamp.lt)[:6]
    stamp.dhh, stamp.dmm, stamp.tzname = 9, 0, "JST"
    return stamp


class _Layout:
    """Draws one document: pages, headers, rows; remembers the page count and the replacements."""

    def __init__(self, canvas: Canvas, font: LoadedFont, meta: ExportMeta, eras: EraTable | None) -> None:
        self.c = canvas
        self.font = font
        self.meta = meta
        self.eras = eras
        self.pages = 0
        self.replaced: list[tuple[int, str]] = []
        self._good: set[str] = set()
        self._widths: dict[str, float] = {}
        self.y = 0.0
        self.table_top = 0.0
        self.rows_y = 0.0
        self.started = False
        self.dept: tuple[str, str] | None = None
        """(code, name) of the department being listed, in the all-department list."""
        self.dept_count = 0
        self.widths = column_widths(font.name)
        xs = [MARGIN_X]
        for w in self.widths:
            xs.append(xs[-1] + w)
        self.xs = xs

    # -- text helpers -------------------------------------------------------------------------
    def printable(self, text: str) -> tuple[str, bool]:
        """``text`` as the font can print it and whether it differs from what is stored: registered
        variation sequences become the font's private glyph codes (no change); 〓 for missing glyphs and
        unregistered selectors dropped (changes)."""
        if self._good.issuperset(text):
            return text, False
        folded, changed = fold(text, self.font.has_glyph, self.font.variants.by_sequence)
        if folded == text:
            self._good.update(text)
        return folded, changed

    def width(self, text: str, size: float) -> float:
        return float(stringWidth(text, self.font.name, size))

    def char_width(self, ch: str) -> float:
        w = self._widths.get(ch)
        if w is None:
            w = self._widths[ch] = float(stringWidth(ch, self.font.name, BODY_SIZE))
        return w

    def wrap(self, text: str, width: float) -> list[str]:
        """Break ``text`` into lines no wider than ``width`` (Japanese text breaks between any characters)."""
        lines: list[str] = []
        line: list[str] = []
        used = 0.0
        for ch in text:
            w = self.char_width(ch)
            if line and used + w > width:
                lines.append("".join(line))
                line, used = [], 0.0
            line.append(ch)
            used += w
        lines.append("".join(line))
        return lines

    def clip(self, text: str, size: float, width: float) -> str:
        """``text`` cut with … to fit ``width`` at ``size``."""
        if self.width(text, size) <= width:
            return text
        while text and self.width(text + "…", size) > width:
            text = text[:-1]
        return text + "…"

    def wareki(self, d: date) -> str:
        return format_wareki(d, eras=self.eras)

    # -- page furniture -------------------------------------------------------------------------
    def start_page(self) -> None:
        c, meta, name = self.c, self.meta, self.font.name
        self.pages += 1
        self.started = True
        top = PAGE_HEIGHT - MARGIN_TOP

        # 取扱注意: red frame, large, pseudo-bold (fill + stroke), in its own graphics state so that
        # neither the colour nor the text render mode reaches anything drawn after it.
        c.saveState()
        c.setStrokeColorRGB(*RED)
        c.setFillColorRGB(*RED)
        c.setLineWidth(1.6)
        c.rect(MARGIN_X, top - 26, 88, 26, stroke=1, fill=0)
        text = c.beginText()
        text.setFont(name, 17)
        text.setTextRenderMode(2)
        text.setTextOrigin(MARGIN_X + 44 - self.width(CAUTION, 17) / 2, top - 19.5)
        text.textOut(CAUTION)
        text.setTextRenderMode(0)
        c.setLineWidth(0.5)
        c.drawText(text)
        c.restoreState()

        number = f"出力番号 {meta.output_no}"
        c.setFont(name, 10)
        c.drawRightString(PAGE_WIDTH - MARGIN_X, top - 10, self.printable(number)[0])
        title_x = MARGIN_X + 100
        title_room = PAGE_WIDTH - MARGIN_X - title_x - self.width(number, 10) - 12
        c.setFont(name, 14)
        c.drawString(title_x, top - 20, self.clip(self.printable(meta.title)[0], 14, title_room))

        jst = meta.generated_at_jst
        left = (
            f"出力日時 {self.wareki(jst.date())} {jst:%H:%M}（日本時間）　"
            f"出力者 {meta.actor_id}（{meta.actor_dept} {meta.actor_dept_name}）"
        )
        right = f"基準日 {self.wareki(meta.as_of)}　範囲 {meta.scope_label}"
        c.setFont(name, BODY_SIZE)
        c.drawRightString(PAGE_WIDTH - MARGIN_X, top - 40, self.printable(right)[0])
        room = PAGE_WIDTH - 2 * MARGIN_X - self.width(right, BODY_SIZE) - 12
        c.drawString(MARGIN_X, top - 40, self.clip(self.printable(left)[0], BODY_SIZE, room))
        dept_room = 0.0
        if self.dept is not None:
            dept = self.printable(f"所属 {self.dept[0]} {self.dept[1]}")[0]
            c.setFont(name, 10)
            c.drawRightString(PAGE_WIDTH - MARGIN_X, top - 53, dept)
            dept_room = self.width(dept, 10) + 12
            c.setFont(name, BODY_SIZE)
        filters = self.printable(f"条件 {meta.filters_label}")[0]
        filters = self.clip(filters, BODY_SIZE, PAGE_WIDTH - 2 * MARGIN_X - dept_room)
        c.drawString(MARGIN_X, top - 52, filters)

        # Footer: ページ x / y (y is a form defined after the last page), 出力番号, 取扱注意.
        c.setFont(name, 9)
        label = f"ページ {self.pages} / "
        x = PAGE_WIDTH / 2 - self.width(label, 9) / 2 - 6
        c.drawString(x, FOOTER_BASELINE, label)
        c.saveState()
        c.translate(x + self.width(label, 9), FOOTER_BASELINE)
        c.doForm(TOTAL_FORM)
        c.restoreState()
        c.setFont(name, 8)
        c.drawString(MARGIN_X, FOOTER_BASELINE, self.printable(number)[0])
        c.saveState()
        c.setFillColorRGB(*RED)
        c.drawRightString(PAGE_WIDTH - MARGIN_X, FOOTER_BASELINE, CAUTION)
        c.restoreState()

        # Table header row.
        self.table_top = top - 60
        y = self.table_top - HEADER_ROW_HEIGHT
        c.setFillColorRGB(0.85, 0.85, 0.85)
        c.rect(MARGIN_X, y, PAGE_WIDTH - 2 * MARGIN_X, HEADER_ROW_HEIGHT, stroke=0, fill=1)
        c.setFillColorRGB(0, 0, 0)
        c.setFont(name, BODY_SIZE)
        for i, label_text in enumerate(HEADINGS):
            c.drawCentredString((self.xs[i] + self.xs[i + 1]) / 2, y + 5, label_text)
        c.setLineWidth(0.5)
        c.line(MARGIN_X, self.table_top, PAGE_WIDTH - MARGIN_X, self.table_top)
        c.line(MARGIN_X, y, PAGE_WIDTH - MARGIN_X, y)
        self.y = self.rows_y = y

    def close_table(self) -> None:
        """Column rules down to the last data row; the outer frame also around the 小計/合計 lines."""
        c = self.c
        c.setLineWidth(0.5)
        for x in self.xs:
            c.line(x, self.table_top, x, self.rows_y if x not in (self.xs[0], self.xs[-1]) else self.y)

    def end_page(self) -> None:
        self.close_table()
        self.c.showPage()

    # -- rows ----------------------------------------------------------------------------------
    def cell_text(self, value: str | date | None) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return self.wareki(value)
        return value

    def add_row(self, row_no: int, row: ExportRow) -> None:
        if self.meta.group_by_department and (row.dept_code, row.dept_name) != self.dept:
            self.next_department(row.dept_code, row.dept_name)
        elif not self.started:
            self.start_page()
        number = str(row_no)
        cells: list[list[str]] = [[number]]
        for i, value in enumerate(row.cells()):
            text, changed = self.printable(self.cell_text(value))
            if changed:
                self.replaced.append((row_no, COLUMNS[i]))
            cells.append(self.wrap(text, self.widths[i + 1] - 2 * PAD))
        height = max(len(lines) for lines in cells) * LEADING + 2 * PAD
        if self.y - height < MARGIN_BOTTOM:
            self.end_page()
            self.start_page()
        c = self.c
        top = self.y
        text = c.beginText()  # one text object per row: far cheaper than a drawString per cell
        text.setFont(self.font.name, BODY_SIZE)
        for i, lines in enumerate(cells):
            baseline = top - PAD - BODY_SIZE
            for line in lines:
                if line:
                    x = self.xs[i] + PAD if i else self.xs[1] - PAD - self.width(line, BODY_SIZE)
                    text.setTextOrigin(x, baseline)
                    text.textOut(line)
                baseline -= LEADING
        c.drawText(text)
        self.y = self.rows_y = top - height
        c.line(MARGIN_X, self.y, PAGE_WIDTH - MARGIN_X, self.y)
        self.dept_count += 1

    def next_department(self, code: str, name: str) -> None:
        """Close the department being listed (小計) and start the next one on a new page."""
        if self.started:
            self.subtotal()
            self.end_page()
        self.dept = (code, name)
        self.dept_count = 0
        self.start_page()

    def summary_line(self, text: str, *, bold_rule: bool = False, reserve: float = 0.0) -> None:
        """A full-width line under the table (小計, 合計), on a new page when this one has no room for it
        and ``reserve`` points more."""
        if self.y - TOTAL_ROW_HEIGHT - reserve < MARGIN_BOTTOM:
            self.end_page()
            self.start_page()
        c = self.c
        c.setFont(self.font.name, 10)
        c.drawString(MARGIN_X + PAD, self.y - TOTAL_ROW_HEIGHT + 4.5, self.printable(text)[0])
        self.y -= TOTAL_ROW_HEIGHT
        c.setLineWidth(1.2 if bold_rule else 0.5)
        c.line(MARGIN_X, self.y, PAGE_WIDTH - MARGIN_X, self.y)
        c.setLineWidth(0.5)

    def subtotal(self) -> None:
        assert self.dept is not None  # noqa: S101 - called only while a department is listed
        self.summary_line(f"{SUBTOTAL_LABEL}（{self.dept[0]} {self.dept[1]}）　{count_text(self.dept_count)}")

    def no_data(self) -> None:
        self.start_page()
        self.summary_line(NO_DATA)

    def finish(self, total: int) -> None:
        """小計 of the last department, 合計, 「以上」, and the page total (defined once, shown on every page)."""
        if self.dept is not None:
            self.subtotal()
        self.summary_line(f"{TOTAL_LABEL}　{count_text(total)}", bold_rule=True, reserve=END_ROOM)
        self.close_table()
        c = self.c
        c.setFont(self.font.name, 10.5)
        c.drawRightString(PAGE_WIDTH - MARGIN_X - PAD, self.y - END_ROOM - 8, END_MARK)
        c.showPage()
        c.beginForm(TOTAL_FORM, lowerx=0, lowery=-4, upperx=80, uppery=14)
        c.setFont(self.font.name, 9)
        c.drawString(0, 0, str(self.pages))
        c.endForm()


def write_pdf(
    rows: Iterable[Registration], meta: ExportMeta, out: BinaryIO, *, eras: EraTable | None = None
) -> WrittenOutput:
    """Lay ``rows`` out as a printable PDF and write it to ``out``; returns rows, pages, replacements.

    ``eras`` is the 和暦 era table from the settings (default: the built-in table).
    Raises :class:`~.fonts.PdfFontUnavailableError` when no Japanese TrueType font is installed.
    """
    font = load_font()
    # initialFontName: reportlab would otherwise declare an unused, non-embedded Helvetica.
    # invariant: no wall-clock time or random id; the time stamp is then set to the export time.
    canvas: Any = Canvas(
        out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1, initialFontName=font.name, invariant=1
    )
    canvas._doc._timeStamp = host_timestamp(meta)
    canvas.setTitle(meta.title)
    canvas.setSubject(f"出力番号 {meta.output_no}")
    canvas.setAuthor(meta.actor_id)
    canvas.setCreator("dvflag-plugin")
    canvas.setKeywords(CAUTION)
    layout = _Layout(canvas, font, meta, eras)
    count = 0
    for count, reg in enumerate(rows, start=1):
        layout.add_row(count, project(reg, meta.as_of))
    if count == 0:
        layout.no_data()
    layout.finish(count)
    canvas.save()
    return WrittenOutput(row_count=count, page_count=layout.pages, replacements=tuple(layout.replaced))

