"""``dvflag``: operators' commands. Each one that touches data is audited with the OS user as actor."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from dvflag_hookspecs import ALL_ROLES

from ..errors import DvflagError
from ..files import private_dir, touch, write_bytes

DEFAULT_SQLITE = Path("var") / "dvflag.sqlite3"


def database_url(url: str | None) -> str:
    """``--url``, else ``DVFLAG_DATABASE_URL``, else a SQLite file under ./var/."""
    if url:
        return url
    env = os.environ.get("DVFLAG_DATABASE_URL")
    if env:
        return env
    touch(DEFAULT_SQLITE)  # 0600 in a 0700 folder, before SQLite creates it with the umask's mode
    return f"sqlite:///{DEFAULT_SQLITE}"


url_option = click.option("--url", help="SQLAlchemy URL (default: $DVFLAG_DATABASE_URL, else ./var/dvflag.sqlite3)")


def _runtime(url: str | None) -> Any:
    from ..service.runtime import Runtime

    return Runtime(engine=sa.create_engine(database_url(url)))


def _fail(err: DvflagError) -> None:
    click.echo(f"エラー: {err.message} [{err.code}]", err=True)
    sys.exit(2)


@click.group()
@click.version_option(package_name="dvflag-plugin")
def main() -> None:
    """dvflag: DV等被害者 把握状況共有プラグインの運用コマンド"""


# -- db ------------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema (Alembic, version table dvf_alembic_version)."""


@db.command("upgrade")
@url_option
@click.option("--revision", default="head", show_default=True)
def db_upgrade(url: str | None, revision: str) -> None:
    """Create or upgrade the plugin's tables."""
    from ..storage import migrate

    engine = sa.create_engine(database_url(url))
    try:
        migrate.upgrade(engine, revision)
        with engine.connect() as conn:
            click.echo(f"スキーマ版: {migrate.current_revision(conn)}")
    finally:
        engine.dispose()


@db.command("downgrade")
@url_option
@click.argument("revision")
def db_downgrade(url: str | None, revision: str) -> None:
    """Downgrade the plugin's tables to REVISION (``base`` drops them)."""
    from ..storage import migrate

    engine = sa.create_engine(database_url(url))
    try:
        migrate.downgrade(engine, revision)
    finally:
        engine.dispose()


@db.command("current")
@url_option
def db_current(url: str | None) -> None:
    """Print the schema revision recorded in the database."""
    from ..storage import migrate

    engine = sa.create_engine(database_url(url))
    try:
        with engine.connect() as conn:
            click.echo(migrate.current_revision(conn) or "(none)")
    finally:
        engine.dispose()


@db.command("sql")
@click.option("--dialect", type=click.Choice(["oracle", "postgresql", "mysql", "sqlite"]), required=True)
@click.option("--downgrade", "downgrade_", is_flag=True, help="emit the downgrade script (head → base)")
@click.option("--range", "revision_range", default=None, help="e.g. 0001:0002 (default: base → head)")
def db_sql(dialect: str, downgrade_: bool, revision_range: str | None) -> None:
    """Print the offline migration script (Oracle: runnable as printed in SQL*Plus/SQLcl)."""
    from ..storage import migrate

    default = f"{migrate.head_revision()}:base" if downgrade_ else "head"
    click.echo(migrate.offline_sql(dialect, revision_range=revision_range or default, downgrade_=downgrade_), nl=False)


# -- audit ---------------------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """Audit trail: verify and checkpoint."""


@audit.command("verify")
@url_option
@click.option("--checkpoint", help="SEQ:HASH printed earlier by `dvflag audit checkpoint`")
def audit_verify(url: str | None, checkpoint: str | None) -> None:
    """Verify the hash chain; exit 1 and name the first broken sequence number if it is not intact."""
    from ..audit import chain
    from ..service.bootstrap import operator_actor

    rt = _runtime(url)
    point = None
    if checkpoint:
        seq_text, _, digest = checkpoint.partition(":")
        if not seq_text.isdigit() or len(digest) != 64:
            raise click.BadParameter("SEQ:HASH の形式で指定してください", param_hint="--checkpoint")
        point = (int(seq_text), digest)
    with rt.engine.connect() as conn:
        result = chain.verify(conn, checkpoint=point)
    rt.audit_alone(
        operator_actor(), "audit", None, "ok", None,
        {"op": "verify", "source": "cli", "ok": result.ok, "first_broken_seq": result.first_broken_seq},
    )
    click.echo(result.message)
    if not result.ok:
        click.echo(f"first_broken_seq={result.first_broken_seq}")
        sys.exit(1)


@audit.command("checkpoint")
@url_option
def audit_checkpoint(url: str | None) -> None:
    """Print the chain head (seq and hash) to keep outside the database."""
    from ..audit import chain
    from ..service.bootstrap import operator_actor

    rt = _runtime(url)
    with rt.engine.connect() as conn:
        head = chain.read_head(conn)
    details = {"op": "checkpoint", "source": "cli", "seq": head.last_seq}
    rt.audit_alone(operator_actor(), "audit", None, "ok", None, details)  # an operator's read is audited too
    click.echo(f"{head.last_seq}:{head.last_hash}")


# -- users ---------------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Bootstrap the plugin's user registry (the first 利用者管理者); later use dvflag.users."""


def _date(value: str | None, field: str) -> date | None:
    from ..text.wareki import parse_date

    return parse_date(value, field=field) if value else None


@users.command("add")
@url_option
@click.argument("user_id")
@click.option("--dept", "dept_code", required=True, help="所属コード")
@click.option("--role", "roles", multiple=True, type=click.Choice(list(ALL_ROLES)))
@click.option("--valid-from")
@click.option("--valid-to")
def users_add(url: str | None, user_id: str, dept_code: str, roles: tuple[str, ...], valid_from: str | None,
              valid_to: str | None) -> None:
    """Add a plugin user."""
    from ..service import bootstrap

    rt = _runtime(url)
    try:
        account = bootstrap.add_user(
            rt, bootstrap.operator_actor(), user_id=user_id, dept_code=dept_code, roles=frozenset(roles),
            valid_from=_date(valid_from, "valid_from"), valid_to=_date(valid_to, "valid_to"),
        )
    except DvflagError as err:
        _fail(err)
    click.echo(f"登録しました: {account.user_id} 所属={account.dept_code} ロール={','.join(sorted(account.roles))}")


@users.command("list")
@url_option
def users_list(url: str | None) -> None:
    """List plugin users."""
    from ..service import bootstrap

    rt = _runtime(url)
    try:
        found = bootstrap.list_users(rt, bootstrap.operator_actor())
    except DvflagError as err:
        _fail(err)
    for a in found:
        state = "有効" if a.enabled else "無効"
        until = a.valid_to.isoformat() if a.valid_to else "-"
        click.echo(f"{a.user_id}\t{a.dept_code}\t{','.join(sorted(a.roles))}\t{state}\t{a.valid_from}〜{until}")


@users.command("disable")
@url_option
@click.argument("user_id")
def users_disable(url: str | None, user_id: str) -> None:
    """Disable a plugin user."""
    from ..service import bootstrap

    rt = _runtime(url)
    try:
        bootstrap.modify_user(rt, bootstrap.operator_actor(), user_id=user_id, changes={"enabled": 0}, roles=None)
    except DvflagError as err:
        _fail(err)
    click.echo(f"無効化しました: {user_id}")


@users.command("roles")
@url_option
@click.argument("user_id")
@click.option("--role", "roles", multiple=True, type=click.Choice(list(ALL_ROLES)))
def users_roles(url: str | None, user_id: str, roles: tuple[str, ...]) -> None:
    """Set a plugin user's roles (replaces them)."""
    from ..service import bootstrap

    rt = _runtime(url)
    try:
        bootstrap.modify_user(rt, bootstrap.operator_actor(), user_id=user_id, changes={}, roles=frozenset(roles))
    except DvflagError as err:
        _fail(err)
    click.echo(f"ロールを設定しました: {user_id} {','.join(sorted(roles))}")


# -- export --------------------------------------------------------------------------------------


@main.command("export")
@url_option
@click.option("--user", "user_id", required=True, help="the plugin user the list is produced for (利用者ID)")
@click.option("--dept", "dept_code", required=True, help="that user's host department (所属コード)")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "pdf"]), default="csv", show_default=True)
@click.option("--scope", type=click.Choice(["own", "all"]), default="own", show_default=True)
@click.option("--state", type=click.Choice(["active", "released", "all"]), default="active", show_default=True)
@click.option("--filter-dept", help="only this department (scope all)")
@click.option("--input-from")
@click.option("--input-to")
@click.option("--encoding", type=click.Choice(["utf-8-sig", "cp932"]), help="CSV only")
@click.option("--strict", is_flag=True, help="CSV cp932: refuse instead of replacing with 〓")
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True
)
def export(
    url: str | None, user_id: str, dept_code: str, fmt: str, scope: str, state: str, filter_dept: str | None,
    input_from: str | None, input_to: str | None, encoding: str | None, strict: bool, out_dir: Path,
) -> None:
    """Produce a list as a given user (e.g. for an audit request); checked and audited as that user."""
    from dvflag_hookspecs import Actor

    from ..service.api import DvflagService
    from ..service.bootstrap import operator_actor

    params: dict[str, Any] = {"format": fmt, "scope": scope, "state": state}
    for key, value in (("dept_code", filter_dept), ("input_from", input_from), ("input_to", input_to),
                       ("encoding", encoding)):
        if value:
            params[key] = value
    if strict:
        params["strict"] = True
    service = DvflagService(_runtime(url))
    try:
        result = service.export(Actor(user_id, dept_code), params, via=operator_actor().user_id)
    except DvflagError as err:
        _fail(err)
    private_dir(out_dir)
    path = out_dir / result.filename
    write_bytes(path, result.content)  # 0600: the list holds personal data
    click.echo(f"出力番号 {result.output_no}: {path}（{result.row_count} 件", nl=False)
    click.echo(f"、{result.page_count} ページ）" if result.page_count else "）")
    click.echo(f"SHA-256 {result.sha256}")
    if result.replacements:
        click.echo(f"〓 に置き換えた項目: {len(result.replacements)} 件（監査イベントに記録）")


# -- demo ----------------------------------------------------------------------------------------


@main.command("demo")
@click.option("--url", help="database URL (default: a fresh SQLite file under ./var/)")
@click.option("--master-size", default=2_000_000, show_default=True, help="numbers in the batch step")
def demo(url: str | None, master_size: int) -> None:
    """Run the scripted walkthrough on dummy data (Japanese)."""
    from ..demo import run_demo

    sys.exit(run_demo(url, master_size=master_size))


def _json_default(value: object) -> str:
    return str(value)


def dump(value: object) -> str:
    """JSON for CLI output."""
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _attach_conformance() -> None:
    from ..conformance.cli import conformance_command

    main.add_command(conformance_command)


_attach_conformance()

if __name__ == "__main__":  # pragma: no cover
    main()
