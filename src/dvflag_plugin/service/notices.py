"""Cautions for host screens and batches: one call, one audit event, whatever the size.

The set of numbers held today is kept in memory and rebuilt only when the change counter in the
locked audit head moves or the day changes, so a change committed by any process is reflected in
the next answer of every other process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa

from dvflag_hookspecs import Notice

from ..config import Settings
from ..errors import ValidationError
from ..rules import validation as v
from ..rules.record import active_clause
from ..storage.schema import registration
from .runtime import Op

CAUTION = (
    "【取扱注意】この方は DV等支援措置の対象者として登録されています。"
    "住所・居所等の開示、証明書の交付や送付の前に、必ず担当所属に確認してください。"
)
SEPARATOR = "\x1f"  # unit separator: cannot occur in a valid number


def active_numbers(op: Op) -> frozenset[str]:
    """Numbers held by at least one department today (cached per change counter and day)."""
    cached = op.rt.active_cache
    key = (op.head.change_no, op.today)
    if cached is not None and (cached[0], cached[1]) == key:
        return cached[2]
    stmt = sa.select(registration.c.address_no).where(active_clause(op.today)).distinct()
    numbers = frozenset(op.conn.execute(stmt).scalars())
    op.rt.active_cache = (key[0], key[1], numbers)
    return numbers


_held_one = (
    sa.select(registration.c.id).where(registration.c.address_no == sa.bindparam("address_no")).limit(1)
)


RELOAD_LIMIT = 100_000
"""A screen lookup reloads a stale cache only when it held at most this many numbers (cheap)."""


def held(op: Op, address_no: str) -> bool:
    """Whether one number is held today: from the cache, else one indexed query.

    A stale cache of the expected size (about a thousand numbers) is reloaded at once. A large one
    (a million at 1,000× the expected volume) is left for the next batch: a screen lookup right after
    a change must not pay for reading every held number.
    """
    cached = op.rt.active_cache
    if cached is not None and (cached[0], cached[1]) == (op.head.change_no, op.today):
        return address_no in cached[2]
    if cached is None or len(cached[2]) <= RELOAD_LIMIT:
        return address_no in active_numbers(op)
    stmt = _held_one.where(active_clause(op.today))
    return op.conn.execute(stmt, {"address_no": address_no}).first() is not None


def _flagged_batch(numbers: frozenset[str], address_nos: Sequence[str], joined: str) -> dict[str, str]:
    """Map each flagged input (as given) to its normalised number."""
    if joined.isascii():
        return {n: n for n in numbers.intersection(address_nos)}
    found: dict[str, str] = {}
    for given in address_nos:
        norm = given.translate(v.FULL_WIDTH_DIGITS)
        if norm in numbers:
            found[given] = norm
    return found


def _check_batch(address_nos: Sequence[str], joined: str, settings: Settings) -> None:
    """Every element obeys the single-number rule (digits, length); the error names the first bad position."""
    compact = joined.replace(SEPARATOR, "")
    lengths = [len(n) for n in address_nos]
    lo, hi = min(lengths), max(lengths)
    fixed = settings.address_no_fixed_len
    if (
        compact.isascii()
        and compact.isdigit()
        and len(compact) == sum(lengths)
        and settings.address_no_min_len <= lo
        and hi <= settings.address_no_max_len
        and (fixed is None or lo == hi == fixed)
    ):
        return
    for index, given in enumerate(address_nos):
        v.address_no(given, settings, field="address_nos", position=index + 1)


def notices(op: Op, address_nos: Sequence[str]) -> dict[str, list[Notice]]:
    """A caution for each number held by any department; numbers not held are absent."""
    if isinstance(address_nos, str):
        address_nos = [address_nos]
    if not isinstance(address_nos, list | tuple):
        raise ValidationError(
            "address_nos", "type", "団体内統合宛名番号は文字列の一覧（list / tuple）で指定してください"
        )
    count = len(address_nos)
    if count == 1:
        number = v.address_no(address_nos[0], op.rt.settings, field="address_nos")
        op.target = number
        is_held = held(op, number)
        op.details.update(count=1, flagged_count=int(is_held))
        return {address_nos[0]: [Notice(number, "caution", CAUTION)]} if is_held else {}
    try:
        joined = SEPARATOR.join(address_nos)
    except TypeError as err:
        raise ValidationError("address_nos", "type", "団体内統合宛名番号は文字列で指定してください") from err
    digest = hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()
    op.details.update(count=count, input_sha256=digest)
    if count:
        _check_batch(address_nos, joined, op.rt.settings)
    flagged = _flagged_batch(active_numbers(op), address_nos, joined)
    op.details.update(flagged_count=len(flagged), flagged=sorted(set(flagged.values())))
    return {given: [Notice(norm, "caution", CAUTION)] for given, norm in flagged.items()}
