"""CSV for machine use and for Excel: UTF-8 with BOM by default, CP932 on request, streamed row by row.

Layout: one header row (Japanese labels, :data:`~.model.COLUMNS`), then one row per registration.
CRLF line endings; dates ISO (yyyy-mm-dd); 性別 as 男/女/不明/適用不能; 状態 as 有効/解除.
No title or preamble lines: the file stays parseable by any CSV reader. The export's metadata
(title, 出力番号 …) travels with the audit event and the download name, not inside the CSV.

Formula injection: a text cell beginning with = + - @ TAB or CR gets a leading apostrophe (OWASP
"CSV Injection"), so Excel and LibreOffice show it as text. Only 氏名 and 所属名 can realistically
begin so (address numbers and codes are validated ASCII), but every text cell is checked alike.

CP932: see :mod:`.charsets`. ``strict=False`` writes 〓 and reports each (row, column); with
``strict=True`` each row is checked before it is written and the first unholdable cell raises
:class:`~dvflag_plugin.errors.ValidationError`. Rows before it have already been written to ``out``
(the writer streams): the caller must discard the partial output, as ``dvflag.export`` does by
writing to a buffer it drops on error.

The CSV is for systems. Opening a CSV by double-click, Excel (and LibreOffice) reads digit strings as
numbers, so leading zeros of 団体内統合宛名番号 disappear on screen. The file itself is correct; staff
who view or print take the .xlsx, where the number is a text cell (``ExportResult.usage`` says so).

Row numbers: ``WrittenOutput.replacements`` counts data rows (the No. of the PDF and Excel lists); the
strict-mode error names the row as a spreadsheet shows it, the header being row 1 (data row n is
row n + 1), and the data row too.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from typing import BinaryIO, Final, Literal

from dvflag_hookspecs.values import Registration
from dvflag_plugin.errors import ValidationError

from .charsets import fold_cp932
from .model import COLUMNS, ExportMeta, WrittenOutput, is_formula_like, project

CsvEncoding = Literal["utf-8-sig", "cp932"]
ENCODINGS: Final[tuple[CsvEncoding, ...]] = ("utf-8-sig", "cp932")
UTF8_BOM: Final = b"\xef\xbb\xbf"
LINE_END: Final = "\r\n"


class _EncodingSink:
    """The minimal file the csv module needs: encodes each written row and passes the bytes on."""

    __slots__ = ("_codec", "_out")

    def __init__(self, out: BinaryIO, codec: str) -> None:
        self._out = out
        self._codec = codec

    def write(self, text: str) -> int:
        self._out.write(text.encode(self._codec))
        return len(text)


def neutralise(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + text if is_formula_like(text) else text


def _cell_text(value: str | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_csv(
    rows: Iterable[Registration],
    meta: ExportMeta,
    out: BinaryIO,
    *,
    encoding: CsvEncoding = "utf-8-sig",
    strict: bool = False,
) -> WrittenOutput:
    """Stream ``rows`` to ``out`` as CSV; see the module docstring for the layout and the rules.

    ``meta.as_of`` decides 状態. Raises ValidationError (field ``encoding``, rule ``unencodable``)
    in strict CP932 mode; ``out`` may then hold a partial file that the caller must discard.
    """
    if encoding not in ENCODINGS:
        raise ValidationError(
            "encoding",
            "unsupported",
            f"CSVの文字コード {encoding!r} には対応していません（utf-8-sig, cp932）",
        )
    cp932 = encoding == "cp932"
    if not cp932:
        out.write(UTF8_BOM)
    writer = csv.writer(
        _EncodingSink(out, "cp932" if cp932 else "utf-8"),
        dialect="excel",
        lineterminator=LINE_END,
        quoting=csv.QUOTE_MINIMAL,
    )
    writer.writerow(COLUMNS)
    replacements: list[tuple[int, str]] = []
    count = 0
    for count, reg in enumerate(rows, start=1):
        cells = [_cell_text(v) for v in project(reg, meta.as_of).cells()]
        if cp932:
            for i, text in enumerate(cells):
                folded, changed = fold_cp932(text)
                if changed:
                    if strict:
                        raise ValidationError(
                            "encoding",
                            "unencodable",
                            f"{count + 1}行目（見出しを1行目とした行番号。データの{count}件目）の「{COLUMNS[i]}」列に、"
                            "CP932（Shift_JIS）で表せない文字があります。"
                            "UTF-8で出力するか、〓への置換を指定してください。",
                        )
                    cells[i] = folded
                    replacements.append((count, COLUMNS[i]))
        # Neutralise after folding: dropping a leading variation selector could expose a trigger.
        writer.writerow([neutralise(text) for text in cells])
    return WrittenOutput(row_count=count, page_count=None, replacements=tuple(replacements))
