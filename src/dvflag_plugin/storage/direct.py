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
_forks = [0]
"""Forks this process is down from its first (a cheap "is this still the process that pinned it?")."""


def _after_fork() -> None:
    _forks[0] += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

DRIVER_DIALECTS = frozenset({"sqlite", "postgresql"})
AUTOCOMMIT_DRIVERS = frozenset({"psycopg", "psycopg2"})
"""PostgreSQL drivers whose ``autocommit`` switch lets the statement commit by itself (no BEGIN/COMMIT)."""

_UNCHANGED = object()
"""``_autocommit_on``'s answer when the connection was already in autocommit mode (nothing to restore)."""


def _autocommit_on(dialect: sa.Dialect, driver: Any) -> object:
    """Put the driver connection in autocommit mode; the setting to restore, or ``_UNCHANGED``.

    One statement then commits by itself: on PostgreSQL one round trip, on SQLite no BEGIN and
    COMMIT around it — an INSERT takes SQLite's write lock when it starts (busy timeout applies),
    so the statement reads the counter and writes its row in one atomic step. SQLite's switch is
    ``isolation_level = None`` (pysqlite); the caller has checked the connection holds no transaction.
    """
    if dialect.name == "sqlite":
        if driver.isolation_level is None:
            return _UNCHANGED
        if driver.in_transaction:
            raise RuntimeError("a pooled SQLite connection in a transaction")  # setting None would commit it
        was = driver.isolation_level
        driver.isolation_level = None
        return was
    if dialect.driver in AUTOCOMMIT_DRIVERS:
        if driver.autocommit:
            return _UNCHANGED
        driver.autocommit = True  # refused inside a transaction
        return False
    return _UNCHANGED


def _autocommit_restore(dialect_name: str, driver: Any, was: object) -> None:
    """Undo ``_autocommit_on``."""
    if was is _UNCHANGED:
        return
    if dialect_name == "sqlite":
        driver.isolation_level = was
    else:
        driver.autocommit = was


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
    lent: object = _UNCHANGED
    broken = False
    inserted = False
    try:
        lent = _autocommit_on(engine.dialect, driver)  # refused inside a transaction: the except below
        inserted, broken = _run(engine, fairy, driver, insert, params)
    except Exception as err:  # a driver refusing the switch
        broken = _failed(engine, fairy, driver, None, err)
    finally:
        _release(engine, fairy, driver, lent, broken=broken)
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
        self._cursor: Any = None
        self._lent: object = _UNCHANGED
        self._checkpoint_was: int | None = None
        self._fork = -1
        self._closed = False

    def insert_one(self, insert: Prepared, params: Mapping[str, Any]) -> bool:
        """As ``insert_one``, on the pinned connection when it is free."""
        if not self._lock.acquire(blocking=False):
            return insert_one(self.engine, insert, params)
        try:
            if self._closed:
                return insert_one(self.engine, insert, params)
            if (self._fairy is None or self._fork != _forks[0]) and not self._pin():
                return False
            inserted, broken = _run(self.engine, self._fairy, self._driver, insert, params, cursor=self._cursor)
            if broken:
                self._unpin(broken=True)
            return inserted
        finally:
            self._lock.release()

    def close(self) -> None:
        """Give the connection back to the pool (autocommit restored); later cautions use the pool."""
        with self._lock:
            self._closed = True
            if self._fairy is not None and self._fork == _forks[0]:
                self._unpin(broken=False)
            elif self._fairy is not None:
                _parents.append((self._fairy, self._cursor))  # a parent's, in a forked child: see _pin
            self._fairy = self._driver = self._cursor = None

    def _pin(self) -> bool:
        if self._fairy is not None:  # the parent's, in a forked child: never closed nor collected here
            _parents.append((self._fairy, self._cursor))  # (collecting it would close the parent's session)
        self._fairy = self._driver = self._cursor = None
        try:
            fairy = self.engine.raw_connection()
        except sa.exc.SQLAlchemyError:
            return False
        driver: Any = fairy.driver_connection
        try:
            lent = _autocommit_on(self.engine.dialect, driver)
            cursor = fairy.cursor()  # reused by every caution on this connection
            checkpoint_was = _no_checkpoints(self.engine.dialect, cursor)
        except Exception as err:
            _release(self.engine, fairy, driver, _UNCHANGED, broken=_failed(self.engine, fairy, driver, None, err))
            return False
        self._fairy, self._driver, self._cursor, self._lent, self._fork = fairy, driver, cursor, lent, _forks[0]
        self._checkpoint_was = checkpoint_was
        return True

    def _unpin(self, *, broken: bool) -> None:
        cursor, self._cursor = self._cursor, None
        checkpoint_was, self._checkpoint_was = self._checkpoint_was, None
        try:
            if cursor is not None and checkpoint_was is not None and not broken:
                cursor.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint_was)}")
            if cursor is not None:
                cursor.close()
        except Exception:  # a cursor that cannot close or restore: the connection is discarded below
            broken = True
        _release(self.engine, self._fairy, self._driver, self._lent, broken=broken)
        self._fairy = self._driver = None
        self._lent = _UNCHANGED


def _no_checkpoints(dialect: sa.Dialect, cursor: Any) -> int | None:
    """On SQLite, stop this connection from running WAL checkpoints; the setting to restore, else None.

    SQLite's automatic checkpoint runs inside whichever commit finds the WAL over its limit: after a
    long export or verify held the WAL back, that commit copies everything written meanwhile (measured:
    cautions waited 0.4–1.4 s). Sealing, exports and every other write keep the default and checkpoint;
    a screen caution never does. The setting is per connection.
    """
    if dialect.name != "sqlite":
        return None
    cursor.execute("PRAGMA wal_autocheckpoint")
    row = cursor.fetchone()
    cursor.execute("PRAGMA wal_autocheckpoint = 0")
    return int(row[0]) if row is not None else None


def _run(
    engine: sa.Engine, fairy: Any, driver: Any, insert: Prepared, params: Mapping[str, Any], *, cursor: Any = None
) -> tuple[bool, bool]:
    """(inserted, broken): the statement and its commit on one connection; nothing left open.

    ``cursor``: the pinned connection's own (kept open); otherwise one is opened and closed here.
    """
    dialect = engine.dialect
    own = cursor is None
    try:
        if own:
            cursor = fairy.cursor()
        sql, args = insert.driver_args(dialect, params)
        if dialect.name == "sqlite":
            if driver.in_transaction:
                return False, True  # not a fresh connection: leave it to the envelope, and replace it
            if driver.isolation_level is None:  # autocommit: the INSERT is its own transaction
                cursor.execute(sql, args)
                inserted = cursor.rowcount == 1
                if driver.in_transaction:  # a driver mode that ignores isolation_level: nothing is kept
                    driver.rollback()
                    return False, True
            else:
                cursor.execute("BEGIN IMMEDIATE")  # the write lock first (busy timeout), as begin_write does
                cursor.execute(sql, args)
                inserted = cursor.rowcount == 1
                cursor.execute("COMMIT" if inserted else "ROLLBACK")  # explicit: right in any driver mode
        else:
            cursor.execute(sql, args)
            inserted = cursor.rowcount == 1
            if not (dialect.driver in AUTOCOMMIT_DRIVERS and driver.autocommit):
                driver.commit()
        if own:
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


def _release(engine: sa.Engine, fairy: Any, driver: Any, lent: object, *, broken: bool) -> None:
    """Give the connection back as the pool lent it (autocommit mode restored), or discard it."""
    try:
        if not broken:
            _autocommit_restore(engine.dialect.name, driver, lent)
    except Exception:
        broken = True
    try:
        if broken and fairy.is_valid:
            fairy.invalidate()  # the pool opens a new connection next time
    finally:
        fairy.close()  # back to the pool: its reset rolls back anything left open
