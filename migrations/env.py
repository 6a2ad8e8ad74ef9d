"""Alembic environment of dvflag-plugin, run inside someone else's database.

It owns only the ``dvf_`` tables and the version table ``dvf_alembic_version``; autogenerate never
looks at the host's tables. It reuses a connection handed over in ``config.attributes`` (the
host's engine is never disposed of) and never configures logging.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from dvflag_plugin.storage.schema import OWN_TABLES, VERSION_TABLE, metadata

config = context.config


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Autogenerate compares own tables only."""
    if type_ == "table":
        return name is not None and name in OWN_TABLES
    return True


def _common() -> dict[str, Any]:
    return {
        "target_metadata": metadata,
        "version_table": VERSION_TABLE,
        "include_name": include_name,
        "transaction_per_migration": True,
        "compare_type": True,
    }


def run_migrations_offline() -> None:
    """Emit the SQL script for a dialect (``dvflag db sql --dialect …``) without a database."""
    dialect_name = config.attributes.get("dialect_name") or config.get_main_option("dialect_name")
    context.configure(dialect_name=dialect_name, literal_binds=True, **_common())
    # The script must run as printed: no "RETURNING … INTO :ret_0" bind on the version insert.
    context.get_context().dialect.insert_returning = False
    with context.begin_transaction():
        context.run_migrations()
    if dialect_name == "oracle":
        # Oracle DDL commits implicitly, but the last version-table row (and the chain head row)
        # are DML: end the script with a COMMIT so that it is complete when run as printed.
        context.execute("COMMIT")


def run_migrations_online() -> None:
    """Migrate through the connection handed over, or an engine made from the URL option."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **_common())
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, **_common())
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
