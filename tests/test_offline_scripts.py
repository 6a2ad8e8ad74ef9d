"""The offline scripts a DBA applies (`dvflag db sql`) run as printed and build the migrated schema."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dvflag_plugin.storage import migrate
from dvflag_plugin.storage.schema import OWN_TABLES, VERSION_TABLE, chain_head, metadata
from dvflag_plugin.testing import backends


def _apply(backend: str, url: sa.URL, script: str) -> None:
    if backend == "postgresql":
        client = shutil.which("psql")
        assert client, "psql is needed to apply the script as a DBA would"
        cmd = [client, "-v", "ON_ERROR_STOP=1", "-q", "-h", str(url.host), "-p", str(url.port or 5432),
               "-U", str(url.username), "-d", str(url.database)]  # fmt: skip
    else:
        client = shutil.which("mariadb") or shutil.which("mysql")
        assert client, "the mariadb client is needed to apply the script as a DBA would"
        cmd = [client, "-h", str(url.host), "-P", str(url.port or 3306), "-u", str(url.username),
               "--default-character-set=utf8mb4", str(url.database)]  # fmt: skip
    done = subprocess.run(cmd, input=script, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("backend", "dialect"), [("postgresql", "postgresql"), ("mariadb", "mysql")])
def test_offline_script_applies_and_matches_the_metadata(backend: str, dialect: str, tmp_path: Path) -> None:
    try:
        ctx = backends.database(backend, tmp_path)
        url_text = ctx.__enter__()
    except backends.BackendUnavailable as err:
        if backends.servers_required():
            pytest.fail(f"backend {backend} is required but unavailable: {err}")
        pytest.skip(f"backend {backend} unavailable: {err}")
    try:
        url = sa.make_url(url_text)
        _apply(backend, url, migrate.offline_sql(dialect))
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                assert migrate.current_revision(conn) == migrate.head_revision()
                assert conn.execute(sa.select(chain_head.c.last_seq)).scalar_one() == 0
                assert set(sa.inspect(conn).get_table_names()) == OWN_TABLES
                mc = MigrationContext.configure(
                    conn, opts={"version_table": VERSION_TABLE, "compare_type": True,
                                "include_name": lambda n, t, p: t != "table" or n in OWN_TABLES},
                )  # fmt: skip
                assert compare_metadata(mc, metadata) == []
            _apply(backend, url, migrate.offline_sql(dialect, revision_range=f"{migrate.head_revision()}:base",
                                                     downgrade_=True))
            assert set(sa.inspect(engine).get_table_names()) <= {VERSION_TABLE}
        finally:
            engine.dispose()
    finally:
        ctx.__exit__(None, None, None)
