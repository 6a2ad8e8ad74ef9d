"""``dvflag audit keygen | checkpoint | verify``: signing keys, C2SP checkpoints, verify against them.

Keys come from options or the environment (``DVFLAG_AUDIT_SIGNING_KEY``, ``DVFLAG_AUDIT_VERIFY_KEY``,
``DVFLAG_AUDIT_ORIGIN``), the CLI's counterparts of the host settings ``dvflag.audit_*``. Every read of
the trail is audited with the OS user as actor. Expected failures are handled by ``DvflagGroup``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click

from ..audit import signing
from ..errors import DvflagError
from .database import env_settings, open_runtime, url_option
from .errors import OperatorError

key_option = click.option(
    "--key", "signing_key", envvar="DVFLAG_AUDIT_SIGNING_KEY", type=click.Path(dir_okay=False),
    help="署名鍵ファイル（0600、既定 $DVFLAG_AUDIT_SIGNING_KEY） / "
    "signing key file (mode 0600; default $DVFLAG_AUDIT_SIGNING_KEY)",
)
verify_key_option = click.option(
    "--verify-key", envvar="DVFLAG_AUDIT_VERIFY_KEY", type=click.Path(dir_okay=False),
    help="検証鍵ファイル（既定 $DVFLAG_AUDIT_VERIFY_KEY、なければ --key から導出） / "
    "public key file (default $DVFLAG_AUDIT_VERIFY_KEY, else derived from --key)",
)
origin_option = click.option(
    "--origin", envvar="DVFLAG_AUDIT_ORIGIN", default=signing.DEFAULT_ORIGIN, show_default=True,
    help="監査証跡の origin 行と鍵の名前（既定 $DVFLAG_AUDIT_ORIGIN） / "
    "the log's origin line and key name (default $DVFLAG_AUDIT_ORIGIN)",
)


def write_private(path: Path, text: str) -> None:
    """Write a new file readable by its owner only (0600); an existing file is never overwritten."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise DvflagError(f"既にファイルがあります（上書きしません）: {path}", code="file.exists") from None
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


_SEQ_HASH = re.compile(r"\s*\d+:[0-9A-Fa-f]{64}\s*")


def _read_checkpoint(value: str) -> str:
    """A checkpoint argument: the older ``SEQ:HASH`` text itself, else the file it names (which must exist)."""
    if _SEQ_HASH.fullmatch(value):
        return value
    path = Path(value)
    if not path.is_file():
        raise OperatorError(
            f"チェックポイントのファイルがありません: {path}", f"no checkpoint file at {path}"
        )
    return path.read_text(encoding="utf-8", errors="replace")


@click.command("keygen")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="作成する署名鍵ファイル（0600）。検証鍵は OUT.pub / "
              "private key file to create (0600); the public key goes to OUT.pub")
@origin_option
def keygen(out: Path, origin: str) -> None:
    """監査の封緘に使う Ed25519 署名鍵を作成（上書きしない） / create an Ed25519 signing key (never overwrites)."""
    private, public, verifier = signing.generate(out, origin)
    click.echo(f"署名鍵（ホストだけが読めるように保管） / signing key: {private}")
    click.echo(f"検証鍵（監査者に渡す） / verify key: {public}")
    click.echo(f"鍵ID / key id {verifier.key_id_hex}  verifier key: {verifier.vkey()}")


@click.command("checkpoint")
@url_option
@key_option
@origin_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="標準出力ではなく新しいファイル（0600）に書き出す / "
              "write the checkpoint to this new file (0600) instead of standard output")
def checkpoint(url: str | None, signing_key: str | None, origin: str, out: Path | None) -> None:
    """署名付きチェックポイントを出力 / print a signed checkpoint (C2SP signed note).

    待ちのイベントを封緘してから出力します。DB の外に保管してください / seals pending events first;
    keep it outside the database.
    """
    from ..service.audit_trust import take_checkpoint
    from ..service.bootstrap import operator_actor

    if out is not None and (out.exists() or out.is_symlink()):  # before the (audited) read
        raise DvflagError(f"既にファイルがあります（上書きしません）: {out}", code="file.exists")
    with open_runtime(url, env_settings(audit_signing_key=signing_key, audit_origin=origin)) as rt:
        text = take_checkpoint(rt, operator_actor(), source="cli")
    if out is None:
        click.echo(text, nl=False)
        return
    write_private(out, text)
    click.echo(f"チェックポイントを書き出しました / checkpoint written: {out}")


@click.command("verify")
@url_option
@key_option
@verify_key_option
@origin_option
@click.option("--checkpoint", "checkpoint_arg", metavar="FILE|SEQ:HASH",
              help="`dvflag audit checkpoint` のファイル（または旧形式 SEQ:HASH）。切り詰めと消去も検出 / "
              "a checkpoint file (or the old SEQ:HASH text): also detects truncation and wipes")
@click.option("--from-checkpoint", "since_arg", metavar="FILE|SEQ:HASH",
              help="信頼できるチェックポイント。その後に追加された分だけを検証 / "
              "a trusted checkpoint: verify only the events added since")
def verify(url: str | None, signing_key: str | None, verify_key: str | None, origin: str,
           checkpoint_arg: str | None, since_arg: str | None) -> None:
    """監査証跡・封緘・登録の照合を検証 / verify the trail, its seals and the registry.

    正常なら終了コード 0、問題があれば内容を示して 1。端末では進捗を表示 / exit 0 when intact; 1,
    naming what is broken. Shows progress on a terminal.

    署名済みの証跡を公開鍵だけで検証するときは、その検証を監査証跡に記録しません（記録できるのは署名鍵を
    持つプロセスだけ） / with the public key alone on a signed trail, the verify is not recorded in the
    trail (only a process with the signing key may write events).
    """
    from ..audit import chain
    from ..service.audit_trust import run_verify
    from ..service.bootstrap import operator_actor
    from .progress import progress

    checkpoint_text = _read_checkpoint(checkpoint_arg) if checkpoint_arg else None
    since_text = _read_checkpoint(since_arg) if since_arg else None
    settings = env_settings(audit_signing_key=signing_key, audit_verify_key=verify_key, audit_origin=origin)
    with open_runtime(url, settings, reader=True) as rt:
        with rt.engine.connect() as conn:
            todo = max(chain.read_head(conn).last_seq, 0)
        with progress(todo, "監査証跡を検証中 / verifying") as advance:
            result = run_verify(
                rt, operator_actor(), checkpoint_text=checkpoint_text, source="cli", since_text=since_text,
                on_event=lambda _seq: advance(1),
            )
        unrecorded = rt.key_required
    if unrecorded:
        click.echo(
            "（署名鍵のない検証のため、この検証は監査証跡に記録されません。待ちのイベントは封緘していません / "
            "verified without the signing key: this read is not recorded in the trail, and queued events "
            "were not sealed）",
            err=True,
        )
    for line in result.findings:
        click.echo(f"- {line}")
    click.echo(result.message)
    if since_text is not None and result.ok:
        click.echo("（チェックポイントより後に追加された分を検証 / verified the events added after the checkpoint）")
    if not result.ok:
        click.echo(f"first_broken_seq={result.first_broken_seq}")
        sys.exit(1)


def attach(audit_group: click.Group) -> None:
    """Add (or replace) the trust commands in ``dvflag audit``."""
    for command in (keygen, checkpoint, verify):
        audit_group.add_command(command)
