"""``dvflag audit seal``: seal queued audit events now (for cron, or before a backup)."""

from __future__ import annotations

import sys

import click

from .audit_trust import key_option, origin_option
from .database import env_settings, open_runtime, url_option
from .errors import EXIT_NEEDS_KEY

EXIT_UNREACHABLE = 2
EXIT_BUSY = 3
__all__ = ["EXIT_BUSY", "EXIT_NEEDS_KEY", "EXIT_UNREACHABLE", "seal_command"]


@click.command("seal")
@url_option
@key_option
@origin_option
def seal_command(url: str | None, signing_key: str | None, origin: str) -> None:
    """待ちの監査イベントを封緘 / number, chain and seal every queued audit event.

    \b
    終了コード / exit codes:
      0 封緘済み / sealed
      2 DB に接続できない / database unreachable
      3 他の封緘処理が実行中 / another sealer is busy
      4 署名鍵が必要: 最後の封緘が署名済みで、このプロセスに dvflag.audit_signing_key がない
        / a signing key is needed: the last seal is signed and this process has no dvflag.audit_signing_key
    """
    with open_runtime(url, env_settings(audit_signing_key=signing_key, audit_origin=origin)) as rt:
        result = rt.seal()
    if result is None:
        click.echo("封緘できませんでした（データベースに接続できません） / could not seal: database unreachable",
                   err=True)
        sys.exit(EXIT_UNREACHABLE)
    head = f"{result.head_seq}:{result.head_hash}"
    click.echo(f"封緘しました / sealed: {result.sealed} 件（{result.batches} バッチ）、先頭 / head {head}")
    if result.needs_key:
        click.echo(
            "封緘できません: 最後の封緘は署名済みですが、署名鍵（設定 dvflag.audit_signing_key、CLI では --key か "
            "DVFLAG_AUDIT_SIGNING_KEY）がありません。待ちのイベントは鍵を持つプロセスが封緘するまで残ります / "
            "cannot seal: the last seal is signed and this process has no signing key (setting "
            "dvflag.audit_signing_key; --key or DVFLAG_AUDIT_SIGNING_KEY here); queued events wait for a "
            "process that has it",
            err=True,
        )
        sys.exit(EXIT_NEEDS_KEY)
    if result.busy:
        click.echo("他の封緘処理が実行中のため、残りはその処理が封緘します / another sealer is busy and seals the rest",
                   err=True)
        sys.exit(EXIT_BUSY)
