"""``dvflag mockhost serve``: the reference host web UI over SQLite with the dummy data (127.0.0.1 only)."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_DB = Path("var") / "mockhost-ui.sqlite3"


@click.group("mockhost")
def mockhost() -> None:
    """The mock host (reference 団体内統合宛名システム) for trying the plugin."""


@mockhost.command("serve")
@click.option("--port", default=8080, show_default=True, help="port on 127.0.0.1")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="SQLite file (default: a fresh ./var/mockhost-ui.sqlite3 on each start)")
def serve(port: int, db_path: Path | None) -> None:
    """Start the reference UI on http://127.0.0.1:PORT/ (dummy data, loaded on first use of the file)."""
    try:
        from ..mockhost.webui.app import create_app
        from ..mockhost.webui.seed import seed
        from ..mockhost.webui.server import serve_forever
    except ImportError as err:  # flask is the optional extra mockhost-ui
        raise click.ClickException(f"Flask が必要です: pip install 'dvflag-plugin[mockhost-ui]'（{err}）") from err
    from ..mockhost import MockHost

    path = db_path or DEFAULT_DB
    path.parent.mkdir(parents=True, exist_ok=True)
    if db_path is None:
        path.unlink(missing_ok=True)
    fresh = not path.exists()
    host = MockHost(f"sqlite:///{path}", settings={"dvflag.audit_log_path": str(path.with_suffix(".audit.jsonl"))})
    try:
        if fresh:
            count = seed(host)
            click.echo(f"ダミーデータを読み込みました: 職員 {len(host.data.staff)} 名、登録 {count} 件（{path}）")
        click.echo(f"参照 UI: http://127.0.0.1:{port}/ （Ctrl+C で終了）")
        serve_forever(create_app(host), port)
    finally:
        host.close()
