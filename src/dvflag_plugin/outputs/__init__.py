"""Output writers of 対象者一覧 (issue 5): CSV, Excel and PDF, pure functions over registrations.

Each writer takes an iterable of :class:`~dvflag_hookspecs.values.Registration`, an
:class:`ExportMeta` and a binary file, consumes the rows once (lazily), writes exactly the approved
columns (:data:`COLUMNS`) and returns a :class:`WrittenOutput`. They know nothing about permissions,
storage or audit: ``dvflag.export`` selects the rows, calls a writer on a buffer, hashes the bytes and
records the audit event.

Dates: CSV carries ISO dates (yyyy-mm-dd) for machines; the PDF prints 和暦 via
:func:`dvflag_plugin.text.wareki.format_wareki` (令和元年5月1日). Excel date cells are real dates (they
sort, filter and compute) with the number format ``[$-411]ggge"年"m"月"d"日";@`` — the 和暦 format
Japanese Excel itself writes when 和暦 is chosen in the format dialog. LibreOffice 7.4 shows it as
令和6年4月1日 (checked), as does Japanese Excel; both write the first year as 令和1年 rather than 元年,
so a date in an era's first year gets a format that prints 元年 (:func:`.xlsx_writer.date_format`;
LibreOffice 7.4 checked). The newer ``[$-ja-JP-x-gannen]`` tag (元年) was rejected: LibreOffice 7.4
shows such cells as serial numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .charsets import GETA
from .csv_writer import CsvEncoding, write_csv
from .model import COLUMNS, ExportMeta, WrittenOutput
from .pdf_writer import write_pdf
from .xlsx_writer import write_xlsx


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """An output format: its key, Japanese label, media type, file extension and writer."""

    key: str
    label: str
    media_type: str
    extension: str
    writer: Callable[..., WrittenOutput]
    usage: str
    """What the format is for, in Japanese (``ExportResult.usage``)."""

    def filename(self, output_no: str) -> str:
        """The download name of an output, e.g. ``EXP-20261126-000042.csv``: the 出力番号 names every file."""
        return f"{output_no}.{self.extension}"


CSV_MEDIA_TYPES: Final[dict[str, str]] = {
    "utf-8-sig": "text/csv; charset=utf-8",
    "cp932": "text/csv; charset=Windows-31J",
}
"""Media type of a CSV by encoding (Windows-31J is the IANA name of CP932)."""

USAGE_CSV: Final = (
    "CSVはシステム連携用です。表計算ソフトで直接開くと団体内統合宛名番号の先頭の0が消えます"
    "（例: 000000000001330 → 1330）。閲覧・印刷にはExcel（xlsx）またはPDFを使ってください。"
)
USAGE_XLSX: Final = "Excelは閲覧・並べ替え・印刷用です（番号は文字列のまま、日付は和暦表示）。"
USAGE_PDF: Final = "PDFは印刷・保存用です（取扱注意・出力番号・ページ番号を全ページに印字）。"

FORMATS: Final[dict[str, OutputFormat]] = {
    "csv": OutputFormat("csv", "CSV", CSV_MEDIA_TYPES["utf-8-sig"], "csv", write_csv, USAGE_CSV),
    "xlsx": OutputFormat(
        "xlsx",
        "Excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
        write_xlsx,
        USAGE_XLSX,
    ),
    "pdf": OutputFormat("pdf", "PDF", "application/pdf", "pdf", write_pdf, USAGE_PDF),
}
"""The formats ``dvflag.export`` offers, by key."""


def csv_media_type(encoding: CsvEncoding) -> str:
    """The media type of a CSV written with ``encoding``."""
    return CSV_MEDIA_TYPES[encoding]


__all__ = [
    "COLUMNS",
    "CSV_MEDIA_TYPES",
    "FORMATS",
    "GETA",
    "CsvEncoding",
    "ExportMeta",
    "OutputFormat",
    "WrittenOutput",
    "csv_media_type",
    "write_csv",
    "write_pdf",
    "write_xlsx",
]
