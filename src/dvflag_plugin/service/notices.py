"""Cautions for host screens and batches: one call, one audit event, whatever the size.

The set of numbers held today is kept in memory per process. A caution reads the change counter
(a plain read: it never waits for a writer); when the counter moved, the cache is refreshed by
delta — only the numbers the logged changes touched are looked up again — and rebuilt in full only
when the day changes or a change could not be logged by number.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from dvflag_hookspecs import Actor, Notice

from ..audit import chain
from ..config import Settings
from ..errors import ValidationError
from ..rules import validation as v
from ..rules.record import active_clause
from ..storage import counters
from ..storage.prepared import Prepared
from ..storage.schema import CHANGE_COUNTER, audit_event, counter, registration
from .runtime import Op, Runtime, actor_is_clean

CAUTION = (
    "【取扱注意】この方は DV等支援措置の対象者として登録されています。"
    "住所・居所等の開示、証明書の交付や送付の前に、必ず担当所属に確認してください。"
)
SEPARATOR = "\x1f"  # unit separator: cannot occur in a valid number


@functools.lru_cache(maxsize=4096)
def caution(number: str) -> Notice:
    """The caution for one held number (immutable: one object per number is handed out again)."""
    return Notice(number, "caution", CAUTION)


def _full(op: Op, change_no: int) -> frozenset[str]:
    stmt = sa.select(registration.c.address_no).where(active_clause(op.today)).distinct()
    numbers = frozenset(op.conn.execute(stmt).scalars())
    op.rt.active_cache = (change_no, op.today, numbers, _stamp(op))
    return numbers


DELTA_CHUNK = 500

CLOCK_SKEW = timedelta(minutes=5)
"""How far back a delta also re-reads updated registrations: hosts' clocks may differ by this much."""

_updated_since = sa.select(registration.c.address_no).where(registration.c.updated_at >= sa.bindparam("t")).distinct()


def _stamp(op: Op) -> datetime:
    """When a cache was built, as registrations store time (naive UTC)."""
    return op.now.astimezone(UTC).replace(tzinfo=None)


def _delta(op: Op, cached: frozenset[str], since: int, change_no: int, built: datetime) -> frozenset[str] | None:
    """The cached set brought up to ``change_no``; None if a full reload is needed.

    The numbers the change log names since ``since``, and those of registrations updated since the
    cache was built (less the clock skew), are looked up again: a change-log row edited behind the
    plugin's back cannot hide a new registration (verify reports the edit).
    """
    changes = counters.changes_since(op.conn, since, change_no)
    touched: set[str | None] = {a for _, a in changes}
    if len(changes) != change_no - since or None in touched:
        return None
    touched.update(op.conn.execute(_updated_since, {"t": built - CLOCK_SKEW}).scalars())
    if len(touched) > RELOAD_LIMIT // 10:
        return None
    numbers = sorted(a for a in touched if a is not None)
    still: set[str] = set()
    for i in range(0, len(numbers), DELTA_CHUNK):
        chunk = numbers[i : i + DELTA_CHUNK]
        stmt = (
            sa.select(registration.c.address_no)
            .where(registration.c.address_no.in_(chunk), active_clause(op.today))
            .distinct()
        )
        still.update(op.conn.execute(stmt).scalars())
    return (cached - {a for a in touched if a is not None}) | still


def active_numbers(op: Op) -> frozenset[str]:
    """Numbers held by at least one department today (cached per change counter and day)."""
    numbers = _refreshed(op)
    return numbers if numbers is not None else _full(op, op.change_no())


def _refreshed(op: Op) -> frozenset[str] | None:
    """The cache, current or brought up to date by delta; None when only a full reload would do."""
    change_no = op.change_no()
    cached = op.rt.active_cache
    if cached is not None and cached[1] == op.today:
        if cached[0] == change_no:
            return cached[2]
        if cached[0] < change_no:
            numbers = _delta(op, cached[2], cached[0], change_no, cached[3])
            if numbers is not None:
                op.rt.active_cache = (change_no, op.today, numbers, _stamp(op))
                return numbers
    return None


_held_one = (
    sa.select(registration.c.id).where(registration.c.address_no == sa.bindparam("address_no")).limit(1)
)


RELOAD_LIMIT = 100_000
"""A screen lookup rebuilds a cache in full only when it held at most this many numbers."""


def held(op: Op, address_no: str) -> bool:
    """Whether one number is held today: from the cache (refreshed by delta), else one indexed query.

    When the delta cannot be used (a new day, a bulk change), a cache of the expected size (about
    a thousand numbers) is rebuilt at once. A large one (a million at 1,000× the expected volume)
    is left for the next batch: a screen lookup must not pay for reading every held number.
    """
    numbers = _refreshed(op)
    if numbers is not None:
        return address_no in numbers
    cached = op.rt.active_cache
    if cached is None or len(cached[2]) <= RELOAD_LIMIT:
        return address_no in _full(op, op.change_no())
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


_counter_now = (
    sa.select(counter.c.counter_no).where(counter.c.counter_name == sa.bindparam("counter_name")).scalar_subquery()
)
_event_if_current = Prepared(
    sa.insert(audit_event).from_select(
        list(chain.EVENT_KEYS),
        sa.select(*(sa.bindparam(key, type_=audit_event.c[key].type) for key in chain.EVENT_KEYS)).where(
            _counter_now == sa.bindparam("seen_no", type_=sa.BigInteger)
        ),
    ),
    [*chain.EVENT_KEYS, "counter_name", "seen_no"],
)
"""A caution's event, inserted only while the change counter still reads what the cache was built at."""


_SEQUENCES = (list, tuple)
_CAUTION_DETAILS = tuple(chain.canonical_json({"count": 1, "flagged_count": flagged}) for flagged in (0, 1))
"""A single caution's details, not held and held, in canonical JSON (serialised once)."""


def screen_caution(rt: Runtime, actor: Actor, address_nos: object) -> dict[str, list[Notice]] | None:
    """One number on a screen, answered from a current cache on the driver path (storage/direct.py).

    The same answer and the same audit event as ``notices``, for the common case only. None when
    the general envelope must answer: a batch, input or an actor it would refuse, a cache that is
    missing, of another day or behind the change counter, the driver path switched off or failing.
    Nothing is committed when it returns None.
    """
    if not rt.direct_cautions or not isinstance(address_nos, _SEQUENCES) or len(address_nos) != 1:
        return None
    cached = rt.active_cache
    given = address_nos[0]
    if cached is None or not actor_is_clean(rt, actor):
        return None
    try:
        number = v.address_no(given, rt.settings, field="address_nos")
    except ValidationError:
        return None
    now = rt.now()
    if cached[1] != rt.local_day(now):
        return None
    is_held = number in cached[2]
    draft = chain.Draft(
        actor.user_id, actor.dept_code, "notices", number, "ok", None, {"count": 1, "flagged_count": int(is_held)}
    )
    rt.require_key()
    row, queued = chain.event_row(
        draft, now=now, authenticate=rt.authenticate, details_json=_CAUTION_DETAILS[is_held]
    )
    row["counter_name"], row["seen_no"] = CHANGE_COUNTER, cached[0]
    if not rt.caution_line.insert_one(_event_if_current, row):
        return None
    rt.queued(queued, screen=True)  # committed: into this process's ledger of queued events
    return {given: [caution(number)]} if is_held else {}


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
        return {address_nos[0]: [caution(number)]} if is_held else {}
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
