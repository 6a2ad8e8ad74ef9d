"""Throw-away databases on each backend: SQLite files, and PostgreSQL / MariaDB on loopback.

Each test session creates its own uniquely named database on a server and drops it at the end; it
never assumes an empty server. ``DVFLAG_REQUIRE_SERVERS=1`` turns an unreachable server into a
failure instead of a skip.

``DVFLAG_TEST_ORACLE_URL`` (e.g. ``oracle+oracledb://dvflag_test:secret@dbhost:1521/?service_name=FREEPDB1``)
adds the backend ``oracle``: the database is the schema of that URL (an Oracle user is a schema, and
creating one needs DBA rights), so the session drops the plugin's ``dvf_`` tables there before and
after the run through the migrations instead of creating a database. Never point it at a schema
whose dvf_ tables matter, and do not run two sessions on the same schema at once.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("DVFLAG_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("DVFLAG_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/")
ORACLE_URL = os.environ.get("DVFLAG_TEST_ORACLE_URL") or None

BACKENDS: tuple[str, ...] = ("sqlite", "postgresql", "mariadb") + (("oracle",) if ORACLE_URL else ())
"""The backends a test run covers: Oracle only when ``DVFLAG_TEST_ORACLE_URL`` is set."""


class BackendUnavailable(RuntimeError):
    """The server could not be reached (or its driver is missing)."""


def servers_required() -> bool:
    """True when ``DVFLAG_REQUIRE_SERVERS=1``: a missing server is a failure."""
    return os.environ.get("DVFLAG_REQUIRE_SERVERS", "") == "1"


def _admin_engine(url: str) -> sa.Engine:
    try:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with engine.connect() as conn:
            conn.execute(sa.select(sa.literal_column("1")))  # "SELECT 1 FROM DUAL" on Oracle
    except Exception as err:
        raise BackendUnavailable(f"{url.split('@')[-1]}: {type(err).__name__}: {err}".splitlines()[0]) from err
    return engine


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """Create a fresh, empty database on ``backend`` and yield its URL; drop it afterwards."""
    name = f"dvflag_t_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        yield f"sqlite:///{workdir / (name + '.sqlite3')}"
        return
    if backend == "postgresql":
        admin = _admin_engine(PG_ADMIN_URL)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
        try:
            yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
        return
    if backend == "mariadb":
        admin = _admin_engine(MARIADB_ADMIN_URL)
        with admin.connect() as conn:
            # utf8mb4_bin: distinct kanji (高/髙, 崎/﨑) and 4-byte characters never compare equal.
            conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        try:
            url = sa.make_url(MARIADB_ADMIN_URL).set(database=name, query={"charset": "utf8mb4"})
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
            admin.dispose()
        return
    if backend == "oracle":
        if ORACLE_URL is None:
            raise BackendUnavailable("DVFLAG_TEST_ORACLE_URL is not set")
        admin = _admin_engine(ORACLE_URL)
        admin.dispose()
        engine = sa.create_engine(ORACLE_URL)
        try:
            drop_own_tables(engine)
            yield ORACLE_URL
        finally:
            drop_own_tables(engine)
            engine.dispose()
        return
    raise ValueError(f"unknown backend: {backend}")


def drop_own_tables(engine: sa.Engine) -> None:
    """Remove the plugin's tables from the engine's schema: migrations down to base, then leftovers.

    Oracle commits each DDL statement on its own, so an interrupted migration can leave tables
    behind without a version row; those are dropped too (own ``dvf_`` tables only).
    """
    from ..storage import migrate
    from ..storage.schema import VERSION_TABLE, metadata

    with engine.connect() as conn:
        revision = migrate.current_revision(conn)
    if revision is not None:
        migrate.downgrade(engine, "base")
    metadata.drop_all(engine, checkfirst=True)
    version = sa.Table(VERSION_TABLE, sa.MetaData(), sa.Column("version_num", sa.String(32)))
    version.drop(engine, checkfirst=True)


def reset(engine: sa.Engine) -> None:
    """Empty the plugin's tables and reset the audit head and counters, so each test starts clean."""
    from ..storage.schema import (
        GENESIS_HASH,
        app_user,
        audit_event,
        audit_seal,
        chain_head,
        change_log,
        counter,
        registration,
        user_role,
    )

    with engine.begin() as conn:
        for table in (user_role, app_user, registration, audit_event, audit_seal, change_log):
            conn.execute(sa.delete(table))
        conn.execute(sa.update(chain_head).values(last_seq=0, last_hash=GENESIS_HASH))
        conn.execute(sa.update(counter).values(counter_no=0))
