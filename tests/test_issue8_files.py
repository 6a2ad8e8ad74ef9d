"""Issue 8 #15: files the plugin or its CLI creates are private (0600, folders 0700) whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from dvflag_hookspecs import AuditEvent
from dvflag_plugin.audit.sink import AuditSink
from dvflag_plugin.cli.main import main


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def emit_one(path: Path) -> None:
    sink = AuditSink(path=str(path))
    try:
        sink.emit(
            AuditEvent(1, "e1", datetime(2026, 1, 1, tzinfo=UTC), "u", "D1", "status", None, "ok", None, {}, "0", "1")
        )
    finally:
        sink.close()


def test_the_audit_json_lines_file_is_private(tmp_path: Path, permissive_umask: None) -> None:
    path = tmp_path / "logs" / "dvflag" / "audit.jsonl"
    emit_one(path)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700


def test_an_existing_audit_file_is_made_private(tmp_path: Path, permissive_umask: None) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text("", encoding="utf-8")
    path.chmod(0o666)
    emit_one(path)
    assert mode(path) == 0o600


def test_the_default_sqlite_database_and_cli_exports_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, permissive_umask: None
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVFLAG_DATABASE_URL", raising=False)
    run("db", "upgrade")
    database = tmp_path / "var" / "dvflag.sqlite3"
    assert mode(database) == 0o600 and mode(database.parent) == 0o700
    run("users", "add", "u-reg", "--dept", "D0201", "--role", "registrar")
    out = run("export", "--user", "u-reg", "--dept", "D0201", "--out", "lists/today")
    exported = next((tmp_path / "lists" / "today").iterdir())
    assert exported.name in out
    assert mode(exported) == 0o600
    assert mode(tmp_path / "lists") == 0o700 and mode(tmp_path / "lists" / "today") == 0o700
    others = [p for p in tmp_path.rglob("*") if p.is_file() and mode(p) & 0o077]
    assert others == []  # journals and anything else SQLite or the CLI left behind


def test_a_sealed_batch_writes_the_lines_one_event_at_a_time_would(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from dvflag_hookspecs import AuditEvent

    events = [
        AuditEvent(seq=i, event_id=f"e-{i}", occurred_at=datetime(2026, 11, 26, 3, 0, i, tzinfo=UTC),
                   actor_id="u-zeimu-view1", actor_dept="D0102", action="notices", target=f"{i:015d}",
                   outcome="ok", reason_code=None, details={"count": 1, "注": "漢字"}, prev_hash="0" * 64,
                   hash=f"{i:064d}")
        for i in (1, 2, 3)
    ]
    one, many = AuditSink(path=str(tmp_path / "one.jsonl")), AuditSink(path=str(tmp_path / "many.jsonl"))
    for event in events:
        one.emit(event)
    many.emit_many(events)
    many.emit_many([])
    one.close()
    many.close()
    lines = (tmp_path / "many.jsonl").read_text(encoding="utf-8")
    assert lines == (tmp_path / "one.jsonl").read_text(encoding="utf-8")
    assert len(lines.splitlines()) == 3 and '"注": "漢字"' in lines
    assert oct((tmp_path / "many.jsonl").stat().st_mode & 0o777) == "0o600"
