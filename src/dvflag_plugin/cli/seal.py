"""``dvflag audit seal``: seal queued audit events now (for cron, or before a backup)."""

from __future__ import annotations

import sys

import click

from .database import open_runtime, url_option


@click.command("seal")
@url_option
def seal_command(url: str | None) -> None:
    """待ちの監査イベントを封緘 / number, chain and seal every queued audit event.

    他の封緘処理が実行中なら終了コード 3 / exit 3 when another sealer is busy.
    """
    with open_runtime(url) as rt:
        result = rt.seal()
    if result is None:
        click.echo("封緘できませんでした（データベースに接続できません） / could not seal: database unreachable",
                   err=True)
        sys.exit(2)
    head = f"{result.head_seq}:{result.head_hash}"
    click.echo(f"封緘しました / sealed: {result.sealed} 件（{result.batches} バッチ）、先頭 / head {head}")
    if result.busy:
        click.echo("他の封緘処理が実行中のため、残りはその処理が封緘します / another sealer is busy and seals the rest",
                   err=True)
        sys.exit(3)
