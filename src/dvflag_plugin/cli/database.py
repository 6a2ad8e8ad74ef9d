"""Which database a command works on, opened so that a failure leaves nothing behind.

Every command resolves its URL the same way (``--url``, else ``$DVFLAG_DATABASE_URL``, else
``./var/dvflag.sqlite3``), so ``make demo``, ``dvflag export`` and ``dvflag users`` meet the same data.
A SQLite file that does not exist is never created by a command that only reads or uses it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import sqlalchemy as sa

from ..audit.signing import DEFAULT_ORIGIN
from ..config import Settings
from ..files import private_dir, touch
from ..storage.transactions import embedded_engine
from .errors import OperatorError

if TYPE_CHECKING:
    from ..service.runtime import Runtime

URL_ENV = "DVFLAG_DATABASE_URL"
DEFAULT_SQLITE = Path("var") / "dvflag.sqlite3"

url_option = click.option(
    "--url",
    metavar="URL",
    help=f"データベースURL（既定: ${URL_ENV}、なければ ./var/dvflag.sqlite3） / "
    f"SQLAlchemy database URL (default: ${URL_ENV}, else ./var/dvflag.sqlite3)",
)


def resolve_url(url: str | None) -> str:
    """``--url``, else ``$DVFLAG_DATABASE_URL``, else the SQLite file ``./var/dvflag.sqlite3``."""
    return url or os.environ.get(URL_ENV) or f"sqlite:///{DEFAULT_SQLITE}"


def shown(url: str | sa.URL) -> str:
    """The URL as printed for the operator: the password hidden."""
    parsed = url if isinstance(url, sa.URL) else sa.make_url(url)
    return parsed.render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):  # a URI filename (?uri=true)
        return Path(parsed.database.removeprefix("file:").split("?", 1)[0])
    return Path(parsed.database)


@contextmanager
def open_engine(url: str | None, *, create: bool = False) -> Iterator[sa.Engine]:
    """An engine on the resolved URL, disposed of afterwards.

    ``create=False`` (every command but ``db upgrade`` and the demo) refuses a SQLite file that does
    not exist instead of letting SQLite create an empty one.
    """
    resolved = resolve_url(url)
    path = sqlite_file(resolved)
    new_file = path is not None and not path.exists()
    if path is not None:
        if create:
            if path.parent == DEFAULT_SQLITE.parent and not path.parent.exists():
                private_dir(path.parent)  # 0700 whatever the umask
            if new_file and path.parent.is_dir():
                touch(path)  # 0600 before SQLite creates it with the umask's mode
        elif not path.is_file():
            raise OperatorError(
                f"データベースファイルがありません: {path}（`dvflag db upgrade` で作成するか、--url か "
                f"{URL_ENV} で既存のデータベースを指定してください）",
                f"no database file at {path}: create it with `dvflag db upgrade`, or name an existing "
                f"database with --url or {URL_ENV}",
            )
    try:
        engine = embedded_engine(resolved)  # SQLite: WAL and a busy timeout
    except ModuleNotFoundError as err:  # e.g. oracle+oracledb:// without python-oracledb installed
        raise OperatorError(
            f"データベースドライバがインストールされていません: {err.name}（例: pip install {err.name}）",
            f"database driver not installed: {err.name}",
        ) from err
    try:
        yield engine
    except BaseException:
        engine.dispose()
        if new_file and path is not None:  # a failed `db upgrade` leaves no empty file behind
            path.unlink(missing_ok=True)
        raise
    engine.dispose()


def env_settings(**overrides: Any) -> Settings:
    """The CLI's settings: the audit keys and origin from the environment (as every audited writer needs)."""
    values: dict[str, Any] = {
        "audit_signing_key": os.environ.get("DVFLAG_AUDIT_SIGNING_KEY") or None,
        "audit_verify_key": os.environ.get("DVFLAG_AUDIT_VERIFY_KEY") or None,
        "audit_origin": os.environ.get("DVFLAG_AUDIT_ORIGIN") or DEFAULT_ORIGIN,
        "audit_seal_batch": 1,  # one command, one call: its event is sealed before the process ends
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def open_runtime(url: str | None, settings: Settings | None = None, *, reader: bool = False) -> Iterator[Runtime]:
    """A plugin runtime (no host) on a migrated database; its audit sink is closed afterwards.

    Without a signing key on a trail with signed seals the runtime refuses to start
    (``SigningKeyRequired``, exit 4), unless ``reader``: an auditor's verify, which then writes nothing.
    """
    from ..service.runtime import Runtime

    with open_engine(url) as engine:
        runtime = Runtime(engine=engine, settings=settings or env_settings(), audit_reader=reader)
        try:
            yield runtime
        finally:
            runtime.close()


def echo_database(engine: sa.Engine) -> None:
    """Say on stderr which database a command touched (password hidden)."""
    click.echo(f"データベース / database: {shown(engine.url)}", err=True)
