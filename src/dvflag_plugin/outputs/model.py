"""Values shared by the output writers: what an export is about, what a writer produced, the columns.

Only the eight approved personal items (DESIGN §2) and, per row, the active/released state leave the
system. The column list below is the single place that says so; every writer projects a
:class:`~dvflag_hookspecs.values.Registration` through :func:`project` and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Final

from dvflag_hookspecs.values import Registration
from dvflag_plugin.errors import ValidationError

JST: Final = timezone(timedelta(hours=9), "JST")
"""Japan Standard Time. Japan keeps no daylight saving time, so a fixed offset is exact."""


@dataclass(frozen=True, slots=True)
class ExportMeta:
    """What a produced list is: shown in the PDF/Excel header and matched to the audit event."""

    title: str
    """e.g. "DV等支援対象者 把握状況一覧（子ども家庭課）"."""
    output_no: str
    """出力番号, e.g. "EXP-20261126-000042"."""
    generated_at: datetime
    """Aware UTC time of the export; shown in JST."""
    actor_id: str
    actor_dept: str
    """Department code of the actor; shown as 出力者 together with the name."""
    actor_dept_name: str
    as_of: date
    """The day the active/released state (状態) is computed for."""
    scope_label: str
    """"自所属" or "全所属"."""
    filters_label: str
    """Human-readable filters, in Japanese (dates in 和暦)."""
    group_by_department: bool = False
    """The all-department list: the PDF starts each department on a new page with its own 小計."""

    def __post_init__(self) -> None:
        if self.generated_at.tzinfo is None or self.generated_at.utcoffset() is None:
            raise ValueError("ExportMeta.generated_at must be an aware datetime (UTC)")

    @property
    def generated_at_jst(self) -> datetime:
        """The export time in Japan Standard Time."""
        return self.generated_at.astimezone(JST)


@dataclass(frozen=True, slots=True)
class WrittenOutput:
    """What a writer produced, for the audit event (the caller adds the SHA-256 of the bytes)."""

    row_count: int
    page_count: int | None
    replacements: tuple[tuple[int, str], ...]
    """(1-based data row number — the No. column of the PDF and Excel lists —, column label) whose
    text the output could not hold as stored.

    CSV in CP932: characters CP932 cannot hold were replaced by 〓, or a variation selector was
    dropped, keeping the base character. PDF: 〓 for characters the font cannot draw; a variation
    sequence the font does not register is drawn as its base character (a registered one is drawn
    as its own glyph and not reported). Excel: control characters a cell cannot hold (validation
    keeps them out of the register). Empty for UTF-8 CSV.
    """


COL_ROW_NO: Final = "No."
"""Row number column of the PDF and Excel lists (not data: the data row's position, 1-based)."""
TOTAL_LABEL: Final = "合計"
SUBTOTAL_LABEL: Final = "小計"
END_MARK: Final = "以上"
"""Printed after the last row, so a reader knows the list is complete."""


def count_text(n: int) -> str:
    """件数 as staff read it: "1,234 件"."""
    return f"{n:,} 件"


# Column labels, in output order. Exactly the eight approved items plus the per-row state.
COL_ADDRESS_NO: Final = "団体内統合宛名番号"
COL_NAME: Final = "氏名"
COL_SEX: Final = "性別"
COL_BIRTH_DATE: Final = "生年月日"
COL_DEPT_CODE: Final = "所属コード"
COL_DEPT_NAME: Final = "所属名"
COL_INPUT_DATE: Final = "入力日"
COL_RELEASE_DATE: Final = "解除日"
COL_STATE: Final = "状態"

COLUMNS: Final[tuple[str, ...]] = (
    COL_ADDRESS_NO,
    COL_NAME,
    COL_SEX,
    COL_BIRTH_DATE,
    COL_DEPT_CODE,
    COL_DEPT_NAME,
    COL_INPUT_DATE,
    COL_RELEASE_DATE,
    COL_STATE,
)
"""The header of every output. Nothing else about a person is ever written (no record id)."""

DATE_COLUMNS: Final = frozenset({COL_BIRTH_DATE, COL_INPUT_DATE, COL_RELEASE_DATE})
"""Columns holding dates (typed date cells in Excel, ISO in CSV, 和暦 in PDF)."""

SEX_LABELS: Final[dict[int, str]] = {0: "不明", 1: "男", 2: "女", 9: "適用不能"}
"""JIS X 5218 codes as staff read them."""

STATE_ACTIVE: Final = "有効"
STATE_RELEASED: Final = "解除"
STATE_NOT_STARTED: Final = "未開始"
"""Only for a registration whose 入力日 is after the 基準日 (as_of); it is neither held nor released."""


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One output row: the approved items in column order, as typed values (dates stay dates)."""

    address_no: str
    name: str
    sex: str
    birth_date: date
    dept_code: str
    dept_name: str
    input_date: date
    release_date: date | None
    state: str

    def cells(self) -> tuple[str | date | None, ...]:
        """The values in :data:`COLUMNS` order."""
        return (
            self.address_no,
            self.name,
            self.sex,
            self.birth_date,
            self.dept_code,
            self.dept_name,
            self.input_date,
            self.release_date,
            self.state,
        )


def sex_label(code: int) -> str:
    """男/女/不明/適用不能 for a JIS X 5218 code; any other code is refused, never guessed."""
    try:
        return SEX_LABELS[code]
    except (KeyError, TypeError):
        raise ValidationError(
            "sex_code", "jis_x5218", f"性別コード {code!r} はJIS X 5218（0, 1, 2, 9）ではありません"
        ) from None


def state_label(reg: Registration, as_of: date) -> str:
    """有効 when active on ``as_of``, 解除 when released on or before it, else 未開始."""
    if reg.active_on(as_of):
        return STATE_ACTIVE
    if reg.release_date is not None and reg.release_date <= as_of:
        return STATE_RELEASED
    return STATE_NOT_STARTED


def project(reg: Registration, as_of: date) -> ExportRow:
    """The approved items of one registration plus its state on ``as_of`` (drops record id, version)."""
    return ExportRow(
        address_no=reg.address_no,
        name=reg.name,
        sex=sex_label(reg.sex_code),
        birth_date=reg.birth_date,
        dept_code=reg.dept_code,
        dept_name=reg.dept_name,
        input_date=reg.input_date,
        release_date=reg.release_date,
        state=state_label(reg, as_of),
    )


FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection)."""


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula or DDE payload."""
    return text.startswith(FORMULA_TRIGGERS)
