"""Expected failures of any ``dvflag`` command as one Japanese line, the English after it, exit code 2.

``DvflagGroup.invoke`` wraps every subcommand (also ones registered later with ``add_command``), so no
operator meets a traceback for a database that is down, not migrated, a wrong URL or a missing file.
A real bug still shows its traceback: only the failures listed in ``explain`` are translated.
"""

from __future__ import annotations

import re
from typing import IO, Any

import click
import sqlalchemy as sa

from ..audit.signing import SigningKeyRequired
from ..errors import (
    DuplicateError,
    DvflagError,
    NotFoundError,
    PermissionDenied,
    SchemaVersionError,
    StaleVersionError,
    StateError,
    ValidationError,
)

EXIT_EXPECTED = 2
"""Exit code of an expected failure (click uses 2 for usage errors too)."""

EXIT_NEEDS_KEY = 4
"""Exit code when the trail is signed and this process has no signing key (``dvflag audit seal`` too)."""

_ENGLISH_BY_CLASS: tuple[tuple[type[DvflagError], str], ...] = (
    (SchemaVersionError, "the database schema is missing or at another version; run `dvflag db upgrade`"),
    (PermissionDenied, "permission denied"),
    (ValidationError, "invalid input"),
    (NotFoundError, "not found"),
    (DuplicateError, "already exists"),
    (StaleVersionError, "changed by another operation; read it again"),
    (StateError, "not allowed in the current state"),
)


class OperatorError(click.ClickException):
    """An expected failure shown to the operator: ``エラー: <ja>`` then ``Error: <en>``; exit code 2."""

    exit_code = EXIT_EXPECTED

    def __init__(self, japanese: str, english: str) -> None:
        super().__init__(f"{japanese}\n{english}")
        self.japanese = japanese
        self.english = english

    def show(self, file: IO[Any] | None = None) -> None:
        """Print both lines on stderr (click's own prefix would be English only)."""
        click.echo(f"エラー: {self.japanese}", err=True, file=file)
        click.echo(f"Error: {self.english}", err=True, file=file)


class NeedsKeyError(OperatorError):
    """The trail has signed seals and this command has no signing key: exit code 4, as ``audit seal``."""

    exit_code = EXIT_NEEDS_KEY


def _first_line(err: BaseException) -> str:
    """The driver's own first line (no SQL, no parameters, no 'Background on this error' link)."""
    orig = getattr(err, "orig", None) or err
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return re.sub(r"\s*\(Background on this error.*$", "", text)[:300]


def explain(err: BaseException) -> OperatorError | None:
    """The operator's message for an expected failure, or None for anything else (a bug)."""
    if isinstance(err, OperatorError):
        return err
    if isinstance(err, SigningKeyRequired):
        return NeedsKeyError(
            f"{err.message} [{err.code}]",
            "the audit trail has signed seals and this process has no signing key, so it writes no audit "
            "event and does nothing: set dvflag.audit_signing_key (--key or DVFLAG_AUDIT_SIGNING_KEY here); "
            f"`dvflag audit verify` needs only the public key [{err.code}]",
        )
    if isinstance(err, DvflagError):
        english = next((text for cls, text in _ENGLISH_BY_CLASS if isinstance(err, cls)), "failed")
        if isinstance(err, ValidationError):
            english = f"{english}: field {err.field}, rule {err.rule}"
        return OperatorError(f"{err.message} [{err.code}]", f"{english} [{err.code}]")
    if isinstance(err, sa.exc.NoSuchModuleError):
        return OperatorError(
            "データベースURLの種類（ドライバ）が不明です。例: sqlite:///var/dvflag.sqlite3、"
            "postgresql+psycopg://…、mysql+pymysql://…、oracle+oracledb://…",
            f"unknown database URL scheme: {_first_line(err)}",
        )
    if isinstance(err, sa.exc.ArgumentError):
        return OperatorError(
            "データベースURLの形式が正しくありません（例: sqlite:///var/dvflag.sqlite3）",
            f"malformed database URL: {_first_line(err)}",
        )
    if isinstance(err, sa.exc.DBAPIError) and isinstance(err, sa.exc.OperationalError | sa.exc.InterfaceError):
        return OperatorError(
            "データベースに接続できないか、操作に失敗しました（接続先・利用者・パスワード・DB名を確認してください）",
            f"cannot connect to or use the database: {_first_line(err)}",
        )
    if isinstance(err, sa.exc.ProgrammingError):
        return OperatorError(
            "データベースの表が見つからないか、形が違います。`dvflag db upgrade` で作成・更新してください",
            f"the plugin's tables are missing or differ; run `dvflag db upgrade`: {_first_line(err)}",
        )
    if isinstance(err, FileNotFoundError | IsADirectoryError | NotADirectoryError | PermissionError):
        name = err.filename or ""
        return OperatorError(
            f"ファイルを開けません（存在しない・フォルダである・権限がない）: {name}",
            f"cannot open the file: {name}: {err.strerror or type(err).__name__}",
        )
    if isinstance(err, OSError):  # e.g. a database host name that does not resolve, a full disk
        return OperatorError(
            "データベースへの接続またはファイルの入出力に失敗しました（ホスト名・ポート・ディスクを確認してください）",
            f"cannot reach the database or write the file: {err.strerror or err}",
        )
    return _alembic(err)


def _alembic(err: BaseException) -> OperatorError | None:
    from alembic.util import CommandError

    if isinstance(err, CommandError):
        return OperatorError(
            f"マイグレーションを実行できません（版の指定を確認してください）: {err}",
            f"cannot run the migration (check the revision): {err}",
        )
    return None


_USAGE_JA = "コマンドの指定に誤りがあります"
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


class DvflagGroup(click.Group):
    """A click Group whose subcommands' expected failures become an OperatorError (exit code 2).

    Subgroups made with ``@group.group()`` and commands made with ``@group.command()`` get the
    bilingual help option too; commands added later with ``add_command`` are still covered by
    ``invoke`` because the root group invokes them.
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; translate an expected failure, let a bug show its traceback."""
        try:
            return super().invoke(ctx)
        except click.UsageError as err:
            text = err.format_message()
            if _JAPANESE.search(text):  # already bilingual (our own BadParameter messages)
                raise
            raise click.UsageError(f"{_USAGE_JA}（--help を参照） / {text}", ctx=err.ctx) from err
        except click.ClickException:
            raise
        except Exception as err:
            translated = explain(err)
            if translated is None:
                raise
            raise translated from err

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        """``--help`` described in Japanese and English."""
        return _bilingual_help(super().get_help_option(ctx))


class DvflagCommand(click.Command):
    """A command whose ``--help`` is described in Japanese and English."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        """``--help`` described in Japanese and English."""
        return _bilingual_help(super().get_help_option(ctx))


def _bilingual_help(option: click.Option | None) -> click.Option | None:
    if option is not None:
        option.help = "この説明を表示して終了 / show this message and exit"
    return option


DvflagGroup.command_class = DvflagCommand
DvflagGroup.group_class = type  # subgroups are DvflagGroups as well
