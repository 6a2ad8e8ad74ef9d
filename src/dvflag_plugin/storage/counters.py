"""Counters that only what they count writes: registration changes and 出力番号 (dvf_counter).

Screen cautions only read the change counter (no lock); a change increments it in its own
transaction, which holds the row lock until it commits, so changes are numbered in commit order.
Each change also logs the address number it touched (dvf_change_log), so that caches of held
numbers are refreshed by delta.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from .prepared import Prepared
from .schema import CHANGE_COUNTER, OUTPUT_COUNTER, change_log, counter

_read = sa.select(counter.c.counter_no).where(counter.c.counter_name == sa.bindparam("name"))
read_prepared = Prepared(_read, ["name"])
_bump = (
    sa.update(counter)
    .where(counter.c.counter_name == sa.bindparam("name"))
    .values(counter_no=counter.c.counter_no + sa.bindparam("step", type_=sa.BigInteger))
)
_insert_log = change_log.insert()
_log_since = (
    sa.select(change_log.c.change_no, change_log.c.address_no)
    .where(change_log.c.change_no > sa.bindparam("since"), change_log.c.change_no <= sa.bindparam("upto"))
    .order_by(change_log.c.change_no)
)


def read(conn: sa.Connection, name: str) -> int:
    """The current value of a counter (a plain read: never waits for a writer)."""
    return int(read_prepared.execute(conn, {"name": name}).scalar_one())


def change_no(conn: sa.Connection) -> int:
    """The registration change counter."""
    return read(conn, CHANGE_COUNTER)


def _take(conn: sa.Connection, name: str, step: int) -> int:
    conn.execute(_bump, {"name": name, "step": step})
    return read(conn, name)  # our own row lock: the value we wrote


def record_changes(conn: sa.Connection, address_nos: Iterable[str | None], *, now: datetime) -> int:
    """Count a change to each number (None: "everything may have changed") in the caller's transaction.

    Call last in a changing transaction: the counter row stays locked until commit.
    """
    touched: Sequence[str | None] = sorted(set(address_nos), key=lambda a: (a is None, a or ""))
    if not touched:
        return change_no(conn)
    last = _take(conn, CHANGE_COUNTER, len(touched))
    stamp = now.astimezone(UTC).replace(tzinfo=None)
    first = last - len(touched) + 1
    conn.execute(
        _insert_log,
        [{"change_no": first + i, "address_no": a, "changed_at": stamp} for i, a in enumerate(touched)],
    )
    return last


def changes_since(conn: sa.Connection, since: int, upto: int) -> list[tuple[int, str | None]]:
    """The logged changes numbered in (since, upto], in order."""
    return [(int(r.change_no), r.address_no) for r in conn.execute(_log_since, {"since": since, "upto": upto})]


def take_output_no(conn: sa.Connection) -> int:
    """The next 出力番号, in the caller's (short) transaction."""
    return _take(conn, OUTPUT_COUNTER, 1)
