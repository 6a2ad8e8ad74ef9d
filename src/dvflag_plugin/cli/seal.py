"""``dvflag audit seal``: seal queued audit events now (for cron, or before a backup)."""

from __future__ import annotations

import sys

import click

from ..errors import DvflagError


@click.command("seal")
@click.option("--url", help="SQLAlchemy URL (default: $DVFLAG_DATABASE_URL, else ./var/dvflag.sqlite3)")
def seal_command(url: str | None) -> None:
    """Number, chain and seal every queued audit event; exit 3 when another sealer is busy."""
    from .main import _fail, _runtime

    rt = _runtime(url)
    try:
        result = rt.seal()
    except DvflagError as err:
        _fail(err)
        return
    finally:
        rt.close()
        rt.engine.dispose()
    if result is None:
        click.echo("封緘できませんでした（データベースに接続できません）", err=True)
        sys.exit(2)
    head = f"{result.head_seq}:{result.head_hash}"
    click.echo(f"封緘しました: {result.sealed} 件（{result.batches} バッチ）、先頭 {head}")
    if result.busy:
        click.echo("他の封緘処理が実行中のため、残りはその処理が封緘します", err=True)
        sys.exit(3)
