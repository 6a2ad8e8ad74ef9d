"""Transactions on the host's engine: short writes, snapshot reads, bounded retries, clean errors.

A storage failure reaches the host as a ``StorageError`` with no SQL, no parameters and no chained
exception (the driver's text may quote 氏名 or 生年月日); nothing here logs parameters.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import sqlalchemy as sa

from ..errors import StorageError

T = TypeVar("T")

MAX_ATTEMPTS = 5

# PostgreSQL SQLSTATEs, MySQL/MariaDB error numbers and Oracle ORA- numbers that mean "try the whole
# transaction again": serialization failures, deadlocks and lock time-outs.
_PG_RETRY = {"40001", "40P01", "55P03"}
_MYSQL_RETRY = {1205, 1213, 1305}  # 1305: the savepoint went with a transaction a deadlock rolled back
_ORACLE_RETRY = {60, 8177, 54, 30006}  # ORA-00060 deadlock, ORA-08177 serialize, ORA-00054/30006 busy

# What means "the server dropped this connection" when SQLAlchemy's dialect does not say so: a
# pg_terminate_backend is asynchronous, so the FATAL 57P01 can arrive as the answer to a statement
# before libpq has seen the socket close (psycopg's ``broken`` is still False, and so is the dialect's
# ``is_disconnect``). SQLSTATE class 57P0 (admin/crash shutdown, cannot connect now, database dropped)
# and class 08 (connection exception); MySQL/MariaDB and Oracle numbers; and the first line of the
# client's message, matched at its start only (a value quoted later in the line never matches).
_PG_DROPPED_PREFIXES = ("57P0", "08")
_MYSQL_DROPPED = {1927, 2006, 2013, 2014, 2045, 2055, 4031}  # 1927: connection killed; 2006/2013: gone, lost
_ORACLE_DROPPED = {28, 1012, 3113, 3114, 3135}  # ORA-00028 session killed, ORA-01012 not logged on, 031xx EOF
_DROPPED_MESSAGES = (
    "terminating connection",  # 57P01 … due to administrator command, 57P02 … because of crash of another
    "server closed the connection unexpectedly",
    "consuming input failed",  # psycopg 3: "consuming input failed: server closed the connection …"
    "sending query failed",
    "sending query and params failed",
    "the connection is lost",
    "the connection is closed",
    "connection already closed",
    "could not receive data from server",
    "could not send data to server",
    "ssl syscall error",
    "lost connection to",  # MySQL client 2013
    "connection was killed",  # MariaDB 1927
)

EMBEDDED_BUSY_TIMEOUT_MS = 5000
"""busy_timeout of the embedded SQLite default: writers wait this long for one another, never readers."""


def _driver_in_transaction(conn: sa.Connection) -> bool:
    driver = conn.connection.driver_connection
    return bool(getattr(driver, "in_transaction", False))


def begin_write(conn: sa.Connection) -> None:
    """On SQLite, take the write lock now (``BEGIN IMMEDIATE``) unless a transaction is open.

    A deferred transaction that read first and writes later fails at once when another writer
    committed in between (WAL snapshot); taking the lock first waits for the busy timeout instead.
    """
    if conn.dialect.name == "sqlite" and not _driver_in_transaction(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


AUTOCOMMIT_DIALECTS = frozenset({"postgresql"})
"""Where a read whose one write is its last statement runs each statement in its own transaction."""


@contextmanager
def transaction(engine: sa.Engine, *, write: bool = True, one_write_last: bool = False) -> Iterator[sa.Connection]:
    """One transaction on a fresh connection from the host's pool; commit on success.

    ``write``: on SQLite the transaction starts with ``BEGIN IMMEDIATE`` (no lock upgrade
    deadlock); a read-first transaction (``write=False``) reads without any lock and calls
    ``begin_write`` before its one insert. Other databases take row locks only.
    ``one_write_last``: the work only reads, then writes one row as its last statement (a screen
    caution and its audit event). On PostgreSQL each statement then commits by itself: no
    BEGIN/COMMIT round trips, the same snapshots as READ COMMITTED, and the event row is durable
    before the call returns, as with a commit.
    """
    with engine.connect() as conn:
        if one_write_last and not write and conn.dialect.name in AUTOCOMMIT_DIALECTS:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        elif write:
            begin_write(conn)
        try:
            yield conn
        except BaseException as err:
            _after_failure(conn, err)
            raise
        conn.commit()


@contextmanager
def snapshot(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A read-only transaction that sees one consistent snapshot across statements; takes no lock."""
    with engine.connect() as conn:
        name = conn.dialect.name
        if name in ("postgresql", "mysql", "mariadb"):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        elif name == "sqlite" and not _driver_in_transaction(conn):
            conn.exec_driver_sql("BEGIN")  # deferred: the first read fixes the WAL snapshot
        elif name == "oracle":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        try:
            yield conn
        except BaseException as err:
            _after_failure(conn, err)
            raise
        conn.rollback()


def _after_failure(conn: sa.Connection, err: BaseException) -> None:
    """Roll back; or, for a drop the dialect did not recognise, discard the connection as it would.

    SQLAlchemy invalidates a connection (and marks every connection pooled before it as stale) when
    its dialect says "disconnect"; for the drops only ``dropped_driver_error`` recognises, do the same
    here, so that the retry does not meet a dead connection from the pool.
    """
    if isinstance(err, sa.exc.DBAPIError) and not err.connection_invalidated and dropped_driver_error(err.orig):
        if not conn.invalidated:
            invalidate_pool(conn.engine, conn.connection, err)
            with suppress(sa.exc.SQLAlchemyError):
                conn.invalidate()
        return
    _rollback_quietly(conn)


def invalidate_pool(engine: sa.Engine, fairy: Any, err: BaseException) -> None:
    """As a Connection does on a disconnect: every connection pooled before now is replaced on its next
    checkout (a restarted server dropped them all), not only this one."""
    invalidate = getattr(engine.pool, "_invalidate", None)
    if invalidate is not None:
        with suppress(Exception):
            invalidate(fairy, err, _checkin=False)


def dropped_driver_error(orig: object) -> bool:
    """True when a driver exception says the server dropped the connection (see ``_DROPPED_MESSAGES``).

    Looks at the SQLSTATE, the MySQL/Oracle error number and the start of the message's first line
    only; nothing of the message is logged or kept.
    """
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate.upper().startswith(_PG_DROPPED_PREFIXES):
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and not isinstance(args[0], bool) and args[0] in _MYSQL_DROPPED:
        return True
    code = getattr(args[0], "code", None) if args and not isinstance(args[0], int | str) else None
    if isinstance(code, int) and code in _ORACLE_DROPPED:
        return True
    try:
        first = str(orig).strip().partition("\n")[0].lower()
    except Exception:
        return False
    return first.startswith(_DROPPED_MESSAGES)


def _rollback_quietly(conn: sa.Connection) -> None:
    """Roll back after a failure without hiding it: a rollback that fails too discards the connection.

    Otherwise the rollback's own error (on a socket the server closed, say) would replace the first
    one, and a dropped connection would no longer be recognised and retried.
    """
    try:
        conn.rollback()
    except sa.exc.SQLAlchemyError:
        with suppress(sa.exc.SQLAlchemyError):
            conn.invalidate()


def is_retryable(err: BaseException) -> bool:
    """True for serialization failures, deadlocks and lock time-outs (PostgreSQL, MariaDB, Oracle, SQLite)."""
    if not isinstance(err, sa.exc.DBAPIError):
        return False
    orig = err.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in _PG_RETRY:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_RETRY:
        return True
    # python-oracledb and cx_Oracle carry an error object with the ORA- number as ``code``.
    code = getattr(args[0], "code", None) if args and not isinstance(args[0], int | str) else None
    if isinstance(code, int) and code in _ORACLE_RETRY:
        return True
    return "database is locked" in str(orig)


def is_disconnect(err: BaseException) -> bool:
    """True when the server dropped the connection: the dialect said so (the pool has discarded it), or
    ``dropped_driver_error`` recognises what the dialect missed (``transaction`` has discarded it)."""
    return isinstance(err, sa.exc.DBAPIError) and (bool(err.connection_invalidated) or dropped_driver_error(err.orig))


def with_retries(fn: Callable[[], T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Run ``fn`` (a whole transaction) again on a retryable error, at most ``attempts`` times.

    A connection the server dropped (idle time-out, restart) is retried once on a fresh one.
    """
    reconnected = False
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except sa.exc.DBAPIError as err:
            if is_disconnect(err) and not reconnected:
                reconnected = True
                continue
            if attempt == attempts or not is_retryable(err):
                raise
            time.sleep(0.02 * 2**attempt * (0.5 + random.random()))  # noqa: S311 - jitter, not crypto
    raise AssertionError("unreachable")  # pragma: no cover


def clean(fn: Callable[[], T]) -> T:
    """Run ``fn``; turn any SQLAlchemy error into a bare ``StorageError`` (no cause, no context).

    The new error is raised outside the ``except`` block, so ``__context__`` stays None and no
    traceback shows the driver's text (SQL and parameters).
    """
    try:
        return fn()
    except sa.exc.SQLAlchemyError:
        pass
    raise StorageError()


def inserted_id(result: sa.CursorResult[object]) -> int:
    """The surrogate id of the row an INSERT just created."""
    key = result.inserted_primary_key
    if key is None or key[0] is None:  # pragma: no cover - every table has an identity key
        raise RuntimeError("the database returned no primary key for the inserted row")
    return int(key[0])


def embedded_engine(url: str | sa.URL, **kwargs: Any) -> sa.Engine:
    """An engine for the embedded default: SQLite files run in WAL mode with a busy timeout.

    WAL lets readers (an export, a verify) run beside writers; the busy timeout makes writers
    queue for one another instead of failing. A host's own SQLite engine needs the same pragmas.
    """
    engine = sa.create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", sqlite_pragmas)
    return engine


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL journal and the busy timeout on every new SQLite connection."""
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {EMBEDDED_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()
