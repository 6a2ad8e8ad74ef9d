"""``dvflag audit keygen | checkpoint | verify``: signing keys, C2SP checkpoints, verify against them.

Keys come from options or the environment (``DVFLAG_AUDIT_SIGNING_KEY``, ``DVFLAG_AUDIT_VERIFY_KEY``,
``DVFLAG_AUDIT_ORIGIN``), the CLI's counterparts of the host settings ``dvflag.audit_*``. Every read of
the trail is audited with the OS user as actor.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from ..audit import signing
from ..config import Settings
from ..errors import DvflagError

key_option = click.option(
    "--key", "signing_key", envvar="DVFLAG_AUDIT_SIGNING_KEY", type=click.Path(dir_okay=False),
    help="signing key file (mode 0600; default $DVFLAG_AUDIT_SIGNING_KEY)",
)
verify_key_option = click.option(
    "--verify-key", envvar="DVFLAG_AUDIT_VERIFY_KEY", type=click.Path(dir_okay=False),
    help="public key file (default $DVFLAG_AUDIT_VERIFY_KEY, else derived from --key)",
)
origin_option = click.option(
    "--origin", envvar="DVFLAG_AUDIT_ORIGIN", default=signing.DEFAULT_ORIGIN, show_default=True,
    help="the log's origin line and key name (default $DVFLAG_AUDIT_ORIGIN)",
)
url_option = click.option("--url", help="SQLAlchemy URL (default: $DVFLAG_DATABASE_URL, else ./var/dvflag.sqlite3)")


def _fail(err: DvflagError) -> None:
    click.echo(f"エラー: {err.message} [{err.code}]", err=True)
    sys.exit(2)


def env_settings(**overrides: Any) -> Settings:
    """The CLI's settings: the audit keys and origin from the environment (as every audited writer needs)."""
    return Settings(
        audit_signing_key=os.environ.get("DVFLAG_AUDIT_SIGNING_KEY") or None,
        audit_verify_key=os.environ.get("DVFLAG_AUDIT_VERIFY_KEY") or None,
        audit_origin=os.environ.get("DVFLAG_AUDIT_ORIGIN") or signing.DEFAULT_ORIGIN,
        **overrides,
    )


def _runtime(url: str | None, signing_key: str | None, verify_key: str | None, origin: str) -> Any:
    from ..service.runtime import Runtime
    from ..storage.transactions import embedded_engine
    from .main import database_url

    settings = Settings(
        audit_signing_key=signing_key, audit_verify_key=verify_key, audit_origin=origin, audit_seal_batch=1
    )
    return Runtime(engine=embedded_engine(database_url(url)), settings=settings)


def write_private(path: Path, text: str) -> None:
    """Write a new file readable by its owner only (0600); an existing file is never overwritten."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise DvflagError(f"既にファイルがあります（上書きしません）: {path}", code="file.exists") from None
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


@click.command("keygen")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="private key file to create (0600); the public key goes to OUT.pub")
@origin_option
def keygen(out: Path, origin: str) -> None:
    """Create an Ed25519 signing key for the audit seals (refuses to overwrite)."""
    try:
        private, public, verifier = signing.generate(out, origin)
    except DvflagError as err:
        _fail(err)
    click.echo(f"署名鍵（ホストだけが読めるように保管）: {private}")
    click.echo(f"検証鍵（監査者に渡す）: {public}")
    click.echo(f"鍵ID {verifier.key_id_hex}  verifier key: {verifier.vkey()}")


@click.command("checkpoint")
@url_option
@key_option
@origin_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="write the checkpoint to this new file (0600) instead of standard output")
def checkpoint(url: str | None, signing_key: str | None, origin: str, out: Path | None) -> None:
    """Seal pending events and print a signed checkpoint (C2SP signed note) to keep outside the database."""
    from ..service.audit_trust import take_checkpoint
    from ..service.bootstrap import operator_actor

    try:
        if out is not None and (out.exists() or out.is_symlink()):  # before the (audited) read
            raise DvflagError(f"既にファイルがあります（上書きしません）: {out}", code="file.exists")
        rt = _runtime(url, signing_key, None, origin)
        text = take_checkpoint(rt, operator_actor(), source="cli")
        if out is not None:
            write_private(out, text)
    except DvflagError as err:
        _fail(err)
    if out is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"チェックポイントを書き出しました: {out}")


@click.command("verify")
@url_option
@key_option
@verify_key_option
@origin_option
@click.option("--checkpoint", "checkpoint_arg",
              help="a checkpoint file written by `dvflag audit checkpoint` (or the old SEQ:HASH text)")
def verify(url: str | None, signing_key: str | None, verify_key: str | None, origin: str,
           checkpoint_arg: str | None) -> None:
    """Verify the trail, its seals and the registry; exit 1 and name what is broken."""
    from ..service.audit_trust import run_verify
    from ..service.bootstrap import operator_actor

    text = None
    if checkpoint_arg:
        path = Path(checkpoint_arg)
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else checkpoint_arg
    try:
        rt = _runtime(url, signing_key, verify_key, origin)
        result = run_verify(rt, operator_actor(), checkpoint_text=text, source="cli")
    except DvflagError as err:
        _fail(err)
    for line in result.findings:
        click.echo(f"- {line}")
    click.echo(result.message)
    if not result.ok:
        click.echo(f"first_broken_seq={result.first_broken_seq}")
        sys.exit(1)


def attach(audit_group: click.Group) -> None:
    """Add (or replace) the trust commands in ``dvflag audit``."""
    for command in (keygen, checkpoint, verify):
        audit_group.add_command(command)
