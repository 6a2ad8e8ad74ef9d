"""``dvflag``: operators' commands. Each one that touches data is audited with the OS user as actor."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import click

from dvflag_hookspecs import ALL_ROLES, UserAccount

from ..files import private_dir, write_bytes
from .audit_trust import attach as attach_audit_trust
from .database import DEFAULT_SQLITE, echo_database, open_engine, open_runtime, resolve_url, url_option
from .errors import DvflagGroup, OperatorError
from .functions import functions_command
from .seal import seal_command

__all__ = ["DEFAULT_SQLITE", "database_url", "main", "resolve_url", "url_option"]

database_url = resolve_url
"""The older name of ``resolve_url``, for commands written against it (prefer ``open_engine``)."""

ROLE_CHOICE = click.Choice(list(ALL_ROLES))
ROLE_HELP = "ロール（複数指定可） / role, repeatable: " + ", ".join(ALL_ROLES)


@click.group(cls=DvflagGroup)
@click.version_option(
    package_name="dvflag-plugin", help="版を表示して終了 / show the version and exit"
)
def main() -> None:
    """dvflag: DV等被害者 把握状況共有プラグインの運用コマンド / operator commands of the dvflag plugin.

    データベースは --url、環境変数 DVFLAG_DATABASE_URL、./var/dvflag.sqlite3 の順に決まります。
    The database is --url, else $DVFLAG_DATABASE_URL, else ./var/dvflag.sqlite3. Expected failures
    print one Japanese line and its English and exit with code 2.
    """


# -- db ------------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """スキーマの作成・更新・戻し / the plugin's tables (Alembic, version table dvf_alembic_version)."""


@db.command("upgrade")
@url_option
@click.option("--revision", default="head", show_default=True, help="適用する版 / target revision")
def db_upgrade(url: str | None, revision: str) -> None:
    """プラグインの表を作成・更新 / create or upgrade the plugin's tables.

    SQLite ファイルがなければ作成します / creates the SQLite file when it does not exist.
    """
    from ..storage import migrate

    with open_engine(url, create=True) as engine:
        echo_database(engine)
        migrate.upgrade(engine, revision)
        with engine.connect() as conn:
            click.echo(f"スキーマ版 / schema revision: {migrate.current_revision(conn)}")


@db.command("downgrade")
@url_option
@click.option("--yes", is_flag=True, help="表・データの削除を承認 / confirm that tables and their rows are dropped")
@click.argument("revision")
def db_downgrade(url: str | None, yes: bool, revision: str) -> None:
    """表を REVISION の版に戻す（base で全削除） / downgrade the plugin's tables to REVISION (base drops them).

    登録や監査証跡を消す戻しは、失われる行数を表示し --yes がなければ実行しません。
    A downgrade that drops tables prints the rows it would destroy and refuses without --yes.
    """
    from ..storage import migrate
    from .downgrade import planned_losses

    with open_engine(url) as engine:
        echo_database(engine)
        current, losses = planned_losses(engine, revision)
        if losses:
            click.echo(f"失われるデータ / data that will be lost ({current} → {revision}):", err=True)
            for loss in losses:
                click.echo(f"  {loss.describe()}", err=True)
            if not yes:
                raise OperatorError(
                    "この戻しは上の表とデータを削除します。実行するには --yes を付けてください",
                    "this downgrade drops the tables and rows listed above; add --yes to proceed",
                )
        migrate.downgrade(engine, revision)
        with engine.connect() as conn:
            click.echo(f"スキーマ版 / schema revision: {migrate.current_revision(conn) or '(none)'}")


@db.command("current")
@url_option
def db_current(url: str | None) -> None:
    """データベースに記録された版を表示 / print the schema revision recorded in the database."""
    from ..storage import migrate

    with open_engine(url) as engine:
        echo_database(engine)
        with engine.connect() as conn:
            click.echo(migrate.current_revision(conn) or "(none)")


@db.command("sql")
@click.option(
    "--dialect", type=click.Choice(["oracle", "postgresql", "mysql", "sqlite"]), required=True,
    help="SQL の方言 / SQL dialect",
)
@click.option(
    "--downgrade", "downgrade_", is_flag=True, help="戻し（head → base）を出力 / emit the downgrade script"
)
@click.option(
    "--range", "revision_range", default=None, help="版の範囲 例 0001:0002 / revision range, e.g. 0001:0002"
)
def db_sql(dialect: str, downgrade_: bool, revision_range: str | None) -> None:
    """DB に接続せずマイグレーションSQLを出力 / print the offline migration script.

    Oracle 用は SQL*Plus・SQLcl でそのまま実行できます / runnable as printed in SQL*Plus or SQLcl.
    """
    from ..storage import migrate

    default = f"{migrate.head_revision()}:base" if downgrade_ else "head"
    click.echo(migrate.offline_sql(dialect, revision_range=revision_range or default, downgrade_=downgrade_), nl=False)


# -- audit ---------------------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """監査証跡: 封緘・検証・チェックポイント・署名鍵 / audit trail: seal, verify, checkpoint, signing keys."""


# -- users ---------------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """利用者登録の初期設定（最初の利用者管理者） / bootstrap the user registry (the first 利用者管理者).

    その後の利用者管理は dvflag.users で行います / later, manage users through dvflag.users.
    """


def _date(value: str | None, field: str) -> date | None:
    from ..text.wareki import parse_date

    return parse_date(value, field=field) if value else None


@users.command("add")
@url_option
@click.argument("user_id")
@click.option("--dept", "dept_code", required=True, help="所属コード / department code")
@click.option("--role", "roles", multiple=True, required=True, type=ROLE_CHOICE, help=ROLE_HELP)
@click.option("--valid-from", help="有効開始日（ISO・和暦、既定は本日） / first valid day (ISO or 和暦; default today)")
@click.option("--valid-to", help="有効終了日（ISO・和暦） / last valid day (ISO or 和暦)")
def users_add(url: str | None, user_id: str, dept_code: str, roles: tuple[str, ...], valid_from: str | None,
              valid_to: str | None) -> None:
    """利用者を追加（ロールは 1 つ以上） / add a plugin user (at least one role)."""
    from ..service import bootstrap

    with open_runtime(url) as rt:
        echo_database(rt.engine)
        account = bootstrap.add_user(
            rt, bootstrap.operator_actor(), user_id=user_id, dept_code=dept_code, roles=frozenset(roles),
            valid_from=_date(valid_from, "valid_from"), valid_to=_date(valid_to, "valid_to"),
        )
    click.echo(f"登録しました: {account.user_id} 所属={account.dept_code} ロール={','.join(sorted(account.roles))}")


USERS_HEADER = ("利用者ID", "所属コード", "ロール", "状態", "有効期間")


@users.command("list")
@url_option
def users_list(url: str | None) -> None:
    """利用者の一覧（タブ区切り、見出し付き） / list plugin users (tab-separated, with a header row)."""
    from ..service import bootstrap

    with open_runtime(url) as rt:
        found = bootstrap.list_users(rt, bootstrap.operator_actor())  # an operator's read is audited too
    click.echo("\t".join(USERS_HEADER))
    for a in found:
        click.echo(_user_line(a))
    if not found:
        click.echo("（利用者はいません / no users）", err=True)


@users.command("attest")
@url_option
def users_attest(url: str | None) -> None:
    """全利用者の現在の登録を監査証跡に証明（1 回） / attest every account in the audit trail (run once).

    各利用者の所属・ロール・有効期間・有効のダイジェスト（利用者ID → ダイジェスト、氏名なし）を 1 件の
    監査イベントに記録します。以後 `dvflag audit verify` は、テーブルで直接変更・追加された利用者を報告します。
    表示される一覧が正しいことを先に `dvflag users list` で確認してください /
    records one event with a digest of each account (department, roles, validity, enabled; user id →
    digest, no names); from then on verify reports accounts edited or added straight in the tables.
    Check the registry with `dvflag users list` first: what is attested becomes the baseline.
    """
    from ..service import bootstrap

    with open_runtime(url) as rt:
        echo_database(rt.engine)
        found = bootstrap.attest_users(rt, bootstrap.operator_actor())
    click.echo(f"利用者 {len(found)} 件の登録を監査証跡に証明しました / attested {len(found)} accounts")
    click.echo("\t".join(USERS_HEADER))
    for a in found:
        click.echo(_user_line(a))


def _user_line(a: UserAccount) -> str:
    state = "有効" if a.enabled else "無効"
    until = a.valid_to.isoformat() if a.valid_to else "-"
    return f"{a.user_id}\t{a.dept_code}\t{','.join(sorted(a.roles))}\t{state}\t{a.valid_from}〜{until}"


def _modify(url: str | None, user_id: str, changes: dict[str, Any], roles: frozenset[str] | None) -> None:
    from ..service import bootstrap

    with open_runtime(url) as rt:
        echo_database(rt.engine)
        bootstrap.modify_user(rt, bootstrap.operator_actor(), user_id=user_id, changes=changes, roles=roles)


@users.command("disable")
@url_option
@click.argument("user_id")
def users_disable(url: str | None, user_id: str) -> None:
    """利用者を無効化（最後の利用者管理者は不可） / disable a user (never the last enabled user_admin)."""
    _modify(url, user_id, {"enabled": 0}, None)
    click.echo(f"無効化しました: {user_id}")


@users.command("enable")
@url_option
@click.argument("user_id")
def users_enable(url: str | None, user_id: str) -> None:
    """無効化した利用者を再び有効に / enable a disabled user again."""
    _modify(url, user_id, {"enabled": 1}, None)
    click.echo(f"有効にしました: {user_id}")


@users.command("roles")
@url_option
@click.argument("user_id")
@click.option("--role", "roles", multiple=True, required=True, type=ROLE_CHOICE, help=ROLE_HELP)
def users_roles(url: str | None, user_id: str, roles: tuple[str, ...]) -> None:
    """ロールを置き換える（最後の利用者管理者からは外せない） / replace a user's roles (never the last user_admin's)."""
    _modify(url, user_id, {}, frozenset(roles))
    click.echo(f"ロールを設定しました: {user_id} {','.join(sorted(roles))}")


# -- export --------------------------------------------------------------------------------------


@main.command("export")
@url_option
@click.option(
    "--user", "user_id", required=True, help="一覧を出力する利用者ID / the plugin user the list is produced for"
)
@click.option("--dept", "dept_code", required=True, help="その利用者の所属コード / that user's host department code")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx", "pdf"]), default="csv", show_default=True,
    help="形式: csv はシステム連携用、xlsx・pdf は閲覧・印刷用 / csv for systems, xlsx and pdf for people",
)
@click.option(
    "--scope", type=click.Choice(["own", "all"]), default="own", show_default=True,
    help="自所属か全所属（全庁抽出者） / own department, or all departments (supervisor)",
)
@click.option(
    "--state", type=click.Choice(["active", "released", "all"]), default="active", show_default=True,
    help="有効・解除済み・すべて / active, released or all registrations",
)
@click.option("--filter-dept", help="この所属だけ（scope all） / only this department (scope all)")
@click.option("--input-from", help="入力日の開始（ISO・和暦） / input date from (ISO or 和暦)")
@click.option("--input-to", help="入力日の終了（ISO・和暦） / input date to (ISO or 和暦)")
@click.option(
    "--encoding", type=click.Choice(["utf-8-sig", "cp932"]), help="CSV の文字コード / CSV encoding"
)
@click.option(
    "--strict", is_flag=True,
    help="CP932 で表せない文字があれば出力しない（〓 に置き換えない） / CSV cp932: refuse instead of writing 〓",
)
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
    help="出力先フォルダ / output folder",
)
def export(
    url: str | None, user_id: str, dept_code: str, fmt: str, scope: str, state: str, filter_dept: str | None,
    input_from: str | None, input_to: str | None, encoding: str | None, strict: bool, out_dir: Path,
) -> None:
    """利用者として一覧を出力（権限確認・監査あり） / produce a list as a given user, checked and audited as that user.

    例えば監査請求への対応に使います / e.g. to answer an audit request.
    """
    from dvflag_hookspecs import Actor

    from ..service.api import DvflagService
    from ..service.bootstrap import operator_actor
    from ..service.progress import reporting
    from .progress import counter, note

    params: dict[str, Any] = {"format": fmt, "scope": scope, "state": state}
    for key, value in (("dept_code", filter_dept), ("input_from", input_from), ("input_to", input_to),
                       ("encoding", encoding)):
        if value:
            params[key] = value
    if strict:
        params["strict"] = True
    with open_runtime(url) as rt:
        echo_database(rt.engine)
        started = time.perf_counter()
        with counter("一覧に書いた行 / rows written") as advance, reporting(advance):
            result = DvflagService(rt).export(Actor(user_id, dept_code), params, via=operator_actor().user_id)
        note(f"作成しました（{time.perf_counter() - started:.1f} 秒） / done")
    private_dir(out_dir)
    path = out_dir / result.filename
    write_bytes(path, result.content)  # 0600: the list holds personal data
    click.echo(f"出力番号 {result.output_no}: {path}（{result.row_count} 件", nl=False)
    click.echo(f"、{result.page_count} ページ）" if result.page_count else "）")
    click.echo(f"SHA-256 {result.sha256}")
    if result.replacements:
        click.echo(f"〓 または異体字の基本字形で出力した項目: {len(result.replacements)} 件（監査イベントに記録）")
    if fmt == "csv":
        click.echo(result.usage)


# -- demo ----------------------------------------------------------------------------------------


@main.command("demo")
@url_option
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="一覧と監査ログの出力先（既定: DB と同じフォルダの demo/） / where lists and the audit log go "
    "(default: demo/ beside the SQLite file, else ./var/demo)",
)
@click.option(
    "--fresh", is_flag=True,
    help="SQLite ファイルなら削除して作り直す（他の DB は空であること） / recreate a SQLite file "
    "(another database must be empty)",
)
@click.option(
    "--master-size", default=2_000_000, show_default=True,
    help="バッチで照合する宛名番号の件数 / numbers in the batch step",
)
def demo(url: str | None, out_dir: Path | None, fresh: bool, master_size: int) -> None:
    """ダミーデータで一連の流れを実演（日本語） / scripted walkthrough on dummy data (Japanese).

    `dvflag export` などと同じデータベースを使うので、デモの後にそのまま試せます /
    uses the same database as every other command, so `dvflag export` works right after it.
    """
    from ..demo import run_demo

    sys.exit(run_demo(url, master_size=master_size, out_dir=out_dir, fresh=fresh))


def _json_default(value: object) -> str:
    return str(value)


def dump(value: object) -> str:
    """JSON for CLI output."""
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _attach_conformance() -> None:
    from ..conformance.cli import conformance_command
    from .mockhost import mockhost as mockhost_group

    main.add_command(conformance_command)
    main.add_command(mockhost_group)


_attach_conformance()
main.add_command(functions_command)
attach_audit_trust(audit)
audit.add_command(seal_command)

if __name__ == "__main__":  # pragma: no cover
    main()
