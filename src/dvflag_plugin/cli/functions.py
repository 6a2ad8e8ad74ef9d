"""``dvflag functions``: print every host function's descriptor, for hosts not written in Python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..config import Settings
from ..errors import DvflagError


def _settings(settings_file: Path | None, pairs: tuple[str, ...]) -> Settings:
    """The host's ``dvflag.*`` settings from a JSON file and ``KEY=VALUE`` pairs (values read as JSON)."""
    values: dict[str, Any] = {}
    if settings_file is not None:
        loaded = json.loads(settings_file.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise click.BadParameter("JSON オブジェクトを指定してください / expected a JSON object",
                                     param_hint="--settings")
        values.update(loaded)
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"KEY=VALUE の形式で指定してください: {pair}", param_hint="--set")
        try:
            values[key] = json.loads(text)
        except json.JSONDecodeError:
            values[key] = text
    try:
        return Settings.from_mapping(values)
    except DvflagError as err:
        raise click.BadParameter(err.message, param_hint="--set/--settings") from err


@click.command(name="functions")
@click.option("--json", "as_json", is_flag=True,
              help="記述を JSON（配列）で出力 / print the descriptors as JSON (one array)")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True,
              help="表示言語 / language of titles and help")
@click.option("--settings", "settings_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="ホストの dvflag.* 設定（JSON オブジェクト） / JSON object of the host's dvflag.* settings "
                   "(e.g. dvflag.address_no_fixed_len)")
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE",
              help="dvflag.* 設定を 1 つ（複数指定可） / one dvflag.* setting (repeatable)")
def functions_command(as_json: bool, lang: str, settings_file: Path | None, pairs: tuple[str, ...]) -> None:
    """ホスト機能の記述（入力スキーマ・配置・効果・確認・結果・エラー） / describe the host functions.

    Form schema, placements, effects, confirmation, result and errors, for hosts not written in Python.
    """
    from ..contract.descriptors import build_descriptors

    descriptors = build_descriptors(_settings(settings_file, pairs))
    if as_json:
        click.echo(json.dumps([d.to_json(lang) for d in descriptors.values()], ensure_ascii=False, indent=2))
        return
    for d in descriptors.values():
        where = ", ".join(p.screen for p in d.placements)
        click.echo(f"{d.function_id}\t{d.title.get(lang)}\t{','.join(d.roles)}\t{where}\t{','.join(d.params)}")
