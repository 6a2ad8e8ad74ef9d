"""``dvflag mockhost serve``: the reference host web UI over SQLite with the dummy data (127.0.0.1 only)."""

from __future__ import annotations

from pathlib import Path

import click

from ..files import private_dir, touch

DEFAULT_DB = Path("var") / "mockhost-ui.sqlite3"


@click.group("mockhost")
def mockhost() -> None:
    """模擬ホスト（参照用の団体内統合宛名システム） / the mock host, a reference host for trying the plugin."""


@mockhost.command("serve")
@click.option("--port", default=8080, show_default=True, help="127.0.0.1 で待ち受けるポート / port on 127.0.0.1")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="SQLite ファイル（既定: 起動ごとに作り直す ./var/mockhost-ui.sqlite3） / "
                   "SQLite file (default: a fresh ./var/mockhost-ui.sqlite3 on each start)")
def serve(port: int, db_path: Path | None) -> None:
    """参照 UI を http://127.0.0.1:PORT/ で起動（ダミーデータ） / start the reference UI (dummy data).

    データはファイルの初回使用時に読み込みます / the dummy data is loaded on first use of the file.
    """
    try:
        from ..mockhost.webui.app import create_app
        from ..mockhost.webui.seed import seed
        from ..mockhost.webui.server import serve_forever
    except ImportError as err:  # flask is the optional extra mockhost-ui
        raise click.ClickException(
            f"Flask が必要です / Flask is required: pip install 'dvflag-plugin[mockhost-ui]'（{err}）"
        ) from err
    from ..mockhost import MockHost

    path = db_path or DEFAULT_DB
    private_dir(path.parent)
    if db_path is None:
        path.unlink(missing_ok=True)
    fresh = not path.exists()
    touch(path)  # 0600: the file holds (dummy) personal data
    host = MockHost(f"sqlite:///{path}", settings={"dvflag.audit_log_path": str(path.with_suffix(".audit.jsonl"))})
    try:
        if fresh:
            count = seed(host)
            click.echo(f"ダミーデータを読み込みました: 職員 {len(host.data.staff)} 名、登録 {count} 件（{path}）")
        click.echo(f"参照 UI: http://127.0.0.1:{port}/ （Ctrl+C で終了）")
        serve_forever(create_app(host), port)
    finally:
        host.close()
