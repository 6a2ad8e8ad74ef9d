"""Small frozen values that cross the host–plugin seam (DESIGN §4).

They carry only the eight approved personal items (DESIGN §2) and technical fields. Every value is
immutable and typed so that a host vendor can rely on its shape without reading the plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

SexCode = Literal[0, 1, 2, 9]
"""JIS X 5218: 0 unknown, 1 male, 2 female, 9 not applicable."""


@dataclass(frozen=True, slots=True)
class Actor:
    """A host user as authenticated by the host: its user id and its current host department."""

    user_id: str
    dept_code: str


@dataclass(frozen=True, slots=True)
class Person:
    """氏名・性別・生年月日 of one address number, as the host address master knows them."""

    name: str
    sex_code: int
    birth_date: date


@dataclass(frozen=True, slots=True)
class Department:
    """A department (所属) of the host organisation master."""

    dept_code: str
    dept_name: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A caution for a host screen: that the person is protected, without any detail.

    ``message`` is Japanese text to show as it is; it never names the holding departments.
    """

    address_no: str
    level: Literal["caution"]
    message: str
    source: str = "dvflag"


@dataclass(frozen=True, slots=True)
class Holding:
    """One department that holds (or held) a person: code, name, input and release dates."""

    dept_code: str
    dept_name: str
    input_date: date
    release_date: date | None


@dataclass(frozen=True, slots=True)
class Registration:
    """A registration row: the eight approved items plus record id, row version and state."""

    record_id: int
    address_no: str
    name: str
    sex_code: int
    birth_date: date
    dept_code: str
    dept_name: str
    input_date: date
    release_date: date | None
    row_version: int

    def active_on(self, day: date) -> bool:
        """Active on ``day`` ⇔ input_date ≤ day and (release_date is None or day < release_date)."""
        return self.input_date <= day and (self.release_date is None or day < self.release_date)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What ``dvflag.search`` found: at most the limit, and whether more rows matched (``truncated``)."""

    rows: tuple[Registration, ...]
    truncated: bool
    limit: int

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class Status:
    """把握状況 of one address number: the departments holding the person today."""

    address_no: str
    as_of: date
    holdings: tuple[Holding, ...]

    @property
    def held(self) -> bool:
        """True when at least one department holds the person."""
        return bool(self.holdings)


@dataclass(frozen=True, slots=True)
class ReleaseAdvice:
    """Advice before a department clears its 自動応答不可/不開示該当 flags for a person.

    ``safe`` is True only when no department other than the actor's holds the person.
    ``other_holders`` lists them (code, name, input date); it is empty with
    ``details_withheld=True`` when the actor may not see which departments hold the person.
    """

    address_no: str
    as_of: date
    safe: bool
    other_count: int
    other_holders: tuple[Holding, ...]
    details_withheld: bool
    message: str


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A registration in its department's 見直し対象 list: overdue, or due within the alert window."""

    registration: Registration
    due_date: date
    overdue: bool


@dataclass(frozen=True, slots=True)
class UserAccount:
    """A plugin user (利用者): host user id, department, roles and validity."""

    user_id: str
    dept_code: str
    roles: frozenset[str]
    enabled: bool
    valid_from: date
    valid_to: date | None
    row_version: int


@dataclass(frozen=True, slots=True)
class ExportResult:
    """A produced list: its bytes and what the audit event records about it."""

    output_no: str
    format: str
    filename: str
    media_type: str
    content: bytes
    row_count: int
    page_count: int | None
    sha256: str
    replacements: tuple[tuple[int, str], ...] = ()
    """(row number, field) pairs whose characters the chosen encoding could not hold (replaced by 〓)."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One link of the audit chain (DESIGN §6). Never carries 氏名 or 生年月日."""

    seq: int
    event_id: str
    occurred_at: datetime
    actor_id: str
    actor_dept: str
    action: str
    target: str | None
    outcome: Literal["ok", "denied", "error"]
    reason_code: str | None
    details: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of verifying the audit chain."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_broken_seq: int | None
    message: str


@dataclass(frozen=True, slots=True)
class MigrationSource:
    """Where a plugin's Alembic scripts are and which version table it owns."""

    plugin: str
    script_location: str
    version_table: str


HostFunctionCall = Callable[[Actor, Mapping[str, Any]], Any]
"""A host function: called with the acting user and a mapping of named parameters."""


@dataclass(frozen=True, slots=True)
class HostFunction:
    """A function a host UI may offer: id, Japanese label, roles that may use it, the callable."""

    function_id: str
    label: str
    required_roles: tuple[str, ...]
    call: HostFunctionCall
    params: tuple[str, ...] = ()
    """Names of the parameters the callable accepts; any other name is refused."""


@dataclass(frozen=True, slots=True)
class HostContext:
    """What the host hands over at startup (``aatena_startup``).

    ``engine`` is the host's SQLAlchemy Engine (typed loosely so this package depends on pluggy
    alone); the plugin never disposes of it. ``clock`` returns an aware UTC datetime.
    ``settings`` holds the plugin's settings under plain keys (see the README).
    """

    plugin_manager: Any
    engine: Any
    clock: Callable[[], datetime]
    settings: Mapping[str, Any] = field(default_factory=dict)
