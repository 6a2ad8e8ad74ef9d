"""The screen caution's driver path: one statement on the pool's DBAPI connection.

A caution answered from a current cache needs one statement: insert its audit event if the change
counter still reads what the cache was built at (``INSERT … SELECT … WHERE``). Sent through a
``Connection`` it costs SQLAlchemy's per-statement work, most of a caution's client CPU; here it
goes to the driver cursor of a connection checked out from the host's own pool
(``Engine.raw_connection``), compiled once per dialect (``Prepared``). On PostgreSQL it commits by
itself (autocommit): one round trip per caution.

What the host keeps: its pool, pool events (connect, checkout, checkin) and pool reset. What it does
not see: Connection-level events (``before_cursor_execute``, ``handle_error``) and ``echo`` for this
statement. A host that needs those sets ``dvflag.caution_driver_path = false``.

Anything unusual — a driver error, a connection in a transaction, a counter that moved — returns
``False`` with nothing committed (a dropped connection is invalidated), and the caller answers through
the general envelope, which retries, reports ``StorageError`` and audits failures. As with any retry
after a lost connection, a commit the server made just before the connection dropped cannot be told
from one it did not make: the caution is then recorded twice, never not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from .prepared import Prepared

_log = logging.getLogger("dvflag")
_warned: set[str] = set()

DRIVER_DIALECTS = frozenset({"sqlite", "postgresql"})
AUTOCOMMIT_DRIVERS = frozenset({"psycopg", "psycopg2"})
"""PostgreSQL drivers whose ``autocommit`` switch lets the statement commit by itself (no BEGIN/COMMIT)."""


def usable(engine: sa.Engine) -> bool:
    """Whether the driver path serves this engine (SQLite and PostgreSQL; the others keep ``Prepared``).

    On MariaDB an INSERT … SELECT would share-lock the counter row a change holds.
    """
    return engine.dialect.name in DRIVER_DIALECTS


def insert_one(engine: sa.Engine, insert: Prepared, params: Mapping[str, Any]) -> bool:
    """Run one statement that inserts at most one row, and commit. True when a row was inserted.

    False (nothing committed) when it inserted nothing or anything went wrong on the way.
    """
    dialect = engine.dialect
    try:
        fairy = engine.raw_connection()
    except sa.exc.SQLAlchemyError:
        return False
    driver: Any = fairy.driver_connection
    cursor: Any = None
    autocommit_was: bool | None = None
    inserted = False
    broken = False
    try:
        cursor = fairy.cursor()
        sql, args = insert.driver_args(dialect, params)
        if dialect.name == "sqlite":
            if driver.in_transaction:
                return False  # not the fresh connection a pool hands out: leave it to the envelope
            cursor.execute("BEGIN IMMEDIATE")  # the write lock first (busy timeout), as begin_write does
            cursor.execute(sql, args)
            inserted = cursor.rowcount == 1
            cursor.execute("COMMIT" if inserted else "ROLLBACK")  # explicit: right in any driver mode
        else:
            if dialect.driver in AUTOCOMMIT_DRIVERS:
                autocommit_was = bool(driver.autocommit)
                if not autocommit_was:
                    driver.autocommit = True  # refused inside a transaction: the except below
            cursor.execute(sql, args)
            inserted = cursor.rowcount == 1
            if autocommit_was is None:
                driver.commit()
    except Exception as err:  # a driver error, or a driver refusing the switch: the envelope answers
        inserted = False
        broken = _is_disconnect(dialect, err, driver, cursor)
        kind = type(err).__name__
        if not broken and kind not in _warned:  # once per kind: the text could quote parameters
            _warned.add(kind)
            _log.warning("dvflag: a caution's driver path failed (%s); answered through SQLAlchemy instead", kind)
        if broken:
            # As a Connection does on a disconnect: every connection pooled before now is replaced on
            # its next checkout (a restarted server dropped them all), not only this one.
            invalidate_pool = getattr(engine.pool, "_invalidate", None)
            if invalidate_pool is not None:
                invalidate_pool(fairy, err)
    finally:
        _release(fairy, cursor, driver, autocommit_was, broken=broken)
    return inserted


def _is_disconnect(dialect: sa.Dialect, err: Exception, driver: Any, cursor: Any) -> bool:
    dbapi = dialect.loaded_dbapi
    try:
        return isinstance(err, dbapi.Error) and bool(dialect.is_disconnect(err, driver, cursor))
    except Exception:  # a dialect's check failing is no reason to keep a doubtful connection
        return True


def _release(fairy: Any, cursor: Any, driver: Any, autocommit_was: bool | None, *, broken: bool) -> None:
    """Give the connection back as the pool lent it (autocommit restored), or discard it."""
    try:
        if cursor is not None:
            cursor.close()
        if autocommit_was is False and not broken:
            driver.autocommit = False
    except Exception:
        broken = True
    if broken and fairy.is_valid:
        fairy.invalidate()  # the pool opens a new connection next time
    fairy.close()  # back to the pool: its reset rolls back anything left open
