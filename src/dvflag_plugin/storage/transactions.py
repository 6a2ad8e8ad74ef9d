"""Transactions on the host's engine: write-locking on SQLite, bounded retries on deadlocks."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa

T = TypeVar("T")

MAX_ATTEMPTS = 5

# PostgreSQL SQLSTATEs, MySQL/MariaDB error numbers and Oracle ORA- numbers that mean "try the whole
# transaction again": serialization failures, deadlocks and lock time-outs.
_PG_RETRY = {"40001", "40P01", "55P03"}
_MYSQL_RETRY = {1205, 1213}
_ORACLE_RETRY = {60, 8177, 54, 30006}  # ORA-00060 deadlock, ORA-08177 serialize, ORA-00054/30006 busy


@contextmanager
def transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction on a fresh connection from the host's pool; commit on success.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE`` so that two writers never deadlock
    on a lock upgrade; other databases lock the audit head row instead.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            driver = conn.connection.driver_connection
            if driver is not None and not getattr(driver, "in_transaction", False):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


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


def with_retries(fn: Callable[[], T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Run ``fn`` (a whole transaction) again on a retryable error, at most ``attempts`` times."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except sa.exc.DBAPIError as err:
            if attempt == attempts or not is_retryable(err):
                raise
            time.sleep(0.02 * 2**attempt * (0.5 + random.random()))  # noqa: S311 - jitter, not crypto
    raise AssertionError("unreachable")  # pragma: no cover


def inserted_id(result: sa.CursorResult[object]) -> int:
    """The surrogate id of the row an INSERT just created."""
    key = result.inserted_primary_key
    if key is None or key[0] is None:  # pragma: no cover - every table has an identity key
        raise RuntimeError("the database returned no primary key for the inserted row")
    return int(key[0])
