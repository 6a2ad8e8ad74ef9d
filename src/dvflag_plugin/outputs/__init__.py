"""Output writers of 対象者一覧 (issue 5): CSV, Excel and PDF, pure functions over registrations.

Each writer takes an iterable of :class:`~dvflag_hookspecs.values.Registration`, an
:class:`ExportMeta` and a binary file, consumes the rows once (lazily), writes exactly the approved
columns (:data:`COLUMNS`) and returns a :class:`WrittenOutput`. They know nothing about permissions,
storage or audit: ``dvflag.export`` selects the rows, calls a writer on a buffer, hashes the bytes and
records the audit event.

Date cells in Excel use the number format ``yyyy/mm/dd``: real dates that every Excel (any locale,
any version) and LibreOffice show the same way, sort and filter. A 和暦 number format
(``[$-ja-JP-x-gannen]ggge"年"m"月"d"日"``) renders only in Japanese-locale Excel with the 2019
era update, and other readers show a Gregorian date or the raw code; the printed form (PDF) is where
dates appear in 和暦.
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

    def filename(self, output_no: str) -> str:
        """The download name of an output, e.g. ``EXP-20261126-000042.csv``."""
        return f"{output_no}.{self.extension}"


CSV_MEDIA_TYPES: Final[dict[str, str]] = {
    "utf-8-sig": "text/csv; charset=utf-8",
    "cp932": "text/csv; charset=Windows-31J",
}
"""Media type of a CSV by encoding (Windows-31J is the IANA name of CP932)."""

FORMATS: Final[dict[str, OutputFormat]] = {
    "csv": OutputFormat("csv", "CSV", CSV_MEDIA_TYPES["utf-8-sig"], "csv", write_csv),
    "xlsx": OutputFormat(
        "xlsx",
        "Excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
        write_xlsx,
    ),
    "pdf": OutputFormat("pdf", "PDF", "application/pdf", "pdf", write_pdf),
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
