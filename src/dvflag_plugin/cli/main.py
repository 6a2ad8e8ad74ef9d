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

DEFAULT_SQLITE = Path("var") / "dvflag.sqlite3"


def database_url(url: str | None) -> str:
    """``--url``, else ``DVFLAG_DATABASE_URL``, else a SQLite file under ./var/."""
    if url:
        return url
    env = os.environ.get("DVFLAG_DATABASE_URL")
    if env:
        return env
    DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE}"


url_option = click.option("--url", help="SQLAlchemy URL (default: $DVFLAG_DATABASE_URL, else ./var/dvflag.sqlite3)")


def _runtime(url: str | None) -> Any:
    from ..service.runtime import Runtime
    from ..storage.transactions import embedded_engine

    # One command, one call: its event is sealed before the process ends.
    from .audit_trust import env_settings

    return Runtime(engine=embedded_engine(database_url(url)), settings=env_settings(audit_seal_batch=1))


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
    """Audit trail: seal, verify, checkpoint, signing keys."""


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
    from ..service import users as users_ops

    rt = _runtime(url)
    with rt.engine.connect() as conn:
        for a in users_ops.list_users(conn):
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
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / result.filename
    path.write_bytes(result.content)
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


def _attach_audit_trust(group: click.Group) -> None:
    from .audit_trust import attach

    attach(group)


def _attach_seal() -> None:
    from .seal import seal_command

    audit.add_command(seal_command)


_attach_seal()
_attach_audit_trust(audit)

if __name__ == "__main__":  # pragma: no cover
    main()
