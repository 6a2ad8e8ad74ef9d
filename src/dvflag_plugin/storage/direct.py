"""The screen caution's driver path: one statement on the pool's DBAPI connection.

A caution answered from a current cache needs one statement: insert its audit event if the change
counter still reads what the cache was built at (``INSERT … SELECT … WHERE``). Sent through a
``Connection`` it costs SQLAlchemy's per-statement work, most of a caution's client CPU; here it
goes to the driver cursor of a connection checked out from the host's own pool
(``Engine.raw_connection``), compiled once per dialect (``Prepared``). On PostgreSQL it commits by
itself (autocommit): one round trip per caution. Each process keeps one such connection checked out
for its cautions (``Pinned``) until ``Runtime.close()``; a second thread meanwhile takes one from the pool.

What the host keeps: its pool, pool events (connect, checkout, checkin) and pool reset. What it does
not see: Connection-level events (``before_cursor_execute``, ``handle_error``) and ``echo`` for this
statement, and one pool slot per process is taken while cautions flow (``pool_recycle`` and
``pool_pre_ping`` do not apply to it; a connection the server dropped is replaced at once). A host that
needs those sets ``dvflag.caution_driver_path = false``.

Anything unusual — a driver error, a connection in a transaction, a counter that moved — returns
``False`` with nothing committed (a dropped connection is invalidated), and the caller answers through
the general envelope, which retries, reports ``StorageError`` and audits failures. As with any retry
after a lost connection, a commit the server made just before the connection dropped cannot be told
from one it did not make: the caution is then recorded twice, never not at all.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from .prepared import Prepared
from .transactions import dropped_driver_error, invalidate_pool

_log = logging.getLogger("dvflag")
_warned: set[str] = set()
_parents: list[Any] = []

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
    try:
        fairy = engine.raw_connection()
    except sa.exc.SQLAlchemyError:
        return False
    driver: Any = fairy.driver_connection
    autocommit_was: bool | None = None
    broken = False
    inserted = False
    try:
        if engine.dialect.name != "sqlite" and engine.dialect.driver in AUTOCOMMIT_DRIVERS:
            autocommit_was = bool(driver.autocommit)
            if not autocommit_was:
                driver.autocommit = True  # refused inside a transaction: the except below
        inserted, broken = _run(engine, fairy, driver, insert, params)
    except Exception as err:  # a driver refusing the switch
        broken = _failed(engine, fairy, driver, None, err)
    finally:
        _release(fairy, driver, autocommit_was, broken=broken)
    return inserted


class Pinned:
    """One connection of the host's pool kept checked out by this process for its screen cautions.

    A caution then costs no pool checkout and return (and, on PostgreSQL, no autocommit switch each
    time): a fifth of its client CPU. One pool slot stays taken until ``close()``. A thread that finds
    the pinned connection busy takes one from the pool (``insert_one``); a connection that failed is
    discarded and the next caution pins a new one; a forked child never touches its parent's.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._fairy: Any = None
        self._driver: Any = None
        self._pid = 0
        self._closed = False

    def insert_one(self, insert: Prepared, params: Mapping[str, Any]) -> bool:
        """As ``insert_one``, on the pinned connection when it is free."""
        if not self._lock.acquire(blocking=False):
            return insert_one(self.engine, insert, params)
        try:
            if self._closed:
                return insert_one(self.engine, insert, params)
            if (self._fairy is None or self._pid != os.getpid()) and not self._pin():
                return False
            inserted, broken = _run(self.engine, self._fairy, self._driver, insert, params)
            if broken:
                self._unpin(broken=True)
            return inserted
        finally:
            self._lock.release()

    def close(self) -> None:
        """Give the connection back to the pool (autocommit restored); later cautions use the pool."""
        with self._lock:
            self._closed = True
            if self._fairy is not None and self._pid == os.getpid():
                self._unpin(broken=False)
            elif self._fairy is not None:
                _parents.append(self._fairy)  # a parent's, in a forked child: see _pin
            self._fairy = self._driver = None

    def _pin(self) -> bool:
        if self._fairy is not None:  # the parent's, in a forked child: never closed nor collected here
            _parents.append(self._fairy)  # (collecting it would close the parent's session from the child)
        self._fairy = self._driver = None
        try:
            fairy = self.engine.raw_connection()
        except sa.exc.SQLAlchemyError:
            return False
        driver: Any = fairy.driver_connection
        try:
            if self.engine.dialect.name != "sqlite" and self.engine.dialect.driver in AUTOCOMMIT_DRIVERS:
                driver.autocommit = True
        except Exception as err:
            _release(fairy, driver, None, broken=_failed(self.engine, fairy, driver, None, err))
            return False
        self._fairy, self._driver, self._pid = fairy, driver, os.getpid()
        return True

    def _unpin(self, *, broken: bool) -> None:
        autocommit = (
            False if self.engine.dialect.name != "sqlite" and self.engine.dialect.driver in AUTOCOMMIT_DRIVERS else None
        )
        _release(self._fairy, self._driver, autocommit, broken=broken)
        self._fairy = self._driver = None


def _run(engine: sa.Engine, fairy: Any, driver: Any, insert: Prepared, params: Mapping[str, Any]) -> tuple[bool, bool]:
    """(inserted, broken): the statement and its commit on one connection; nothing left open."""
    dialect = engine.dialect
    cursor: Any = None
    try:
        cursor = fairy.cursor()
        sql, args = insert.driver_args(dialect, params)
        if dialect.name == "sqlite":
            if driver.in_transaction:
                return False, True  # not a fresh connection: leave it to the envelope, and replace it
            cursor.execute("BEGIN IMMEDIATE")  # the write lock first (busy timeout), as begin_write does
            cursor.execute(sql, args)
            inserted = cursor.rowcount == 1
            cursor.execute("COMMIT" if inserted else "ROLLBACK")  # explicit: right in any driver mode
        else:
            cursor.execute(sql, args)
            inserted = cursor.rowcount == 1
            if not (dialect.driver in AUTOCOMMIT_DRIVERS and driver.autocommit):
                driver.commit()
        cursor.close()
        return inserted, False
    except Exception as err:  # a driver error: the envelope answers
        return False, _failed(engine, fairy, driver, cursor, err)


def _failed(engine: sa.Engine, fairy: Any, driver: Any, cursor: Any, err: Exception) -> bool:
    """Log a driver-path failure once per kind; True (the connection is to be discarded) always.

    Whatever state the connection was left in, it is not reused. On a disconnect every connection
    pooled before now is replaced on its next checkout (a restarted server dropped them all), as a
    ``Connection`` does.
    """
    dialect = engine.dialect
    kind = type(err).__name__
    disconnect = _is_disconnect(dialect, err, driver, cursor)
    if not disconnect and kind not in _warned:  # once per kind: the text could quote parameters
        _warned.add(kind)
        _log.warning("dvflag: a caution's driver path failed (%s); answered through SQLAlchemy instead", kind)
    if disconnect:
        invalidate_pool(engine, fairy, err)  # the fairy itself is invalidated by ``_release``
    return True


def _is_disconnect(dialect: sa.Dialect, err: Exception, driver: Any, cursor: Any) -> bool:
    dbapi = dialect.loaded_dbapi
    try:
        return isinstance(err, dbapi.Error) and (
            bool(dialect.is_disconnect(err, driver, cursor)) or dropped_driver_error(err)
        )
    except Exception:  # a dialect's check failing is no reason to keep a doubtful connection
        return True


def _release(fairy: Any, driver: Any, autocommit_was: bool | None, *, broken: bool) -> None:
    """Give the connection back as the pool lent it (autocommit restored), or discard it."""
    try:
        if autocommit_was is False and not broken:
            driver.autocommit = False
    except Exception:
        broken = True
    try:
        if broken and fairy.is_valid:
            fairy.invalidate()  # the pool opens a new connection next time
    finally:
        fairy.close()  # back to the pool: its reset rolls back anything left open
