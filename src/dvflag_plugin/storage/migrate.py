"""Run the plugin's Alembic migrations: online through a given engine, or offline as SQL text."""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ..errors import SchemaVersionError
from .schema import VERSION_TABLE

SUPPORTED_OFFLINE_DIALECTS = ("oracle", "postgresql", "mysql", "sqlite")


def script_location() -> str:
    """The migrations folder: packaged in the wheel, else the checkout's top-level ``migrations/``."""
    packaged = resources.files("dvflag_plugin") / "_migrations"
    if packaged.is_dir() and (packaged / "env.py").is_file():
        return str(packaged)
    checkout = Path(__file__).resolve().parents[3] / "migrations"
    if (checkout / "env.py").is_file():
        return str(checkout)
    raise SchemaVersionError("マイグレーションスクリプトが見つかりません（パッケージが不完全です）")


def alembic_config(*, url: str | None = None, stdout: io.StringIO | None = None) -> Config:
    """An in-memory Alembic Config (no alembic.ini, no logging configuration)."""
    cfg = Config(stdout=stdout) if stdout is not None else Config()
    cfg.set_main_option("script_location", script_location())
    cfg.set_main_option("version_table", VERSION_TABLE)
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest revision the scripts know."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise SchemaVersionError("マイグレーションの最新版が見つかりません")
    return head


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Upgrade the plugin's tables through ``engine``'s connection; the engine is not disposed of."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Downgrade the plugin's tables to ``revision`` (``base`` removes them)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def offline_sql(dialect: str, *, revision_range: str = "head", downgrade_: bool = False) -> str:
    """The SQL script Alembic emits for ``dialect`` without a database (``alembic upgrade --sql``)."""
    if dialect not in SUPPORTED_OFFLINE_DIALECTS:
        raise ValueError(f"unsupported dialect: {dialect}")
    out = io.StringIO()
    cfg = alembic_config(stdout=out)
    cfg.output_buffer = out
    cfg.attributes["dialect_name"] = dialect
    if downgrade_:
        command.downgrade(cfg, revision_range, sql=True)
    else:
        command.upgrade(cfg, revision_range, sql=True)
    return out.getvalue()


def current_revision(conn: sa.Connection) -> str | None:
    """The revision recorded in ``dvf_alembic_version``, or None on a fresh database."""
    ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


def require_head(engine: sa.Engine) -> None:
    """Fail fast when the schema is missing or at another version than this code expects."""
    with engine.connect() as conn:
        current = current_revision(conn)
    expected = head_revision()
    if current != expected:
        raise SchemaVersionError(
            f"データベースのスキーマ版が一致しません（現在: {current or '未作成'}、必要: {expected}）。"
            "`dvflag db upgrade` を実行してください",
        )
