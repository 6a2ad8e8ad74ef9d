"""The ``dvflag`` command line: db, users, audit verify/checkpoint, demo."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dvflag_plugin.cli.main import main
from dvflag_plugin.storage.schema import app_user, audit_event, chain_head


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.stdout


def test_db_upgrade_current_and_downgrade(url: str) -> None:
    assert "schema revision: 0006" in run("db", "upgrade", "--url", url)
    assert run("db", "current", "--url", url).strip() == "0006"
    run("db", "downgrade", "--url", url, "base", "--yes")
    assert sa.inspect(sa.create_engine(url)).get_table_names() == ["dvf_alembic_version"]


def test_url_falls_back_to_environment(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVFLAG_DATABASE_URL", url)
    run("db", "upgrade")
    assert "dvf_registration" in sa.inspect(sa.create_engine(url)).get_table_names()


def test_db_sql_oracle_is_runnable_as_printed() -> None:
    out = run("db", "sql", "--dialect", "oracle")
    assert "CREATE TABLE dvf_registration" in out and "CREATE TABLE dvf_audit_event" in out
    statements = [s for s in out.split("\n/\n") if s.strip() and not s.strip().startswith("--")]
    assert len(statements) > 5
    without_literals = re.sub(r"'[^']*'", "''", out)
    assert not re.search(r":[A-Za-z_]\w*", without_literals), "undeclared bind variable in the Oracle script"
    assert "RETURNING" not in out
    down = run("db", "sql", "--dialect", "oracle", "--downgrade")
    assert "DROP TABLE dvf_registration" in down


def test_users_bootstrap_is_audited(url: str) -> None:
    run("db", "upgrade", "--url", url)
    assert "登録しました" in run("users", "add", "u-admin", "--dept", "D0802", "--role", "user_admin", "--url", url)
    run("users", "add", "u-view", "--dept", "D0201", "--role", "viewer", "--url", url)
    listing = run("users", "list", "--url", url)
    assert "u-admin\tD0802\tuser_admin\t有効" in listing
    run("users", "disable", "u-view", "--url", url)
    run("users", "roles", "u-admin", "--role", "user_admin", "--role", "auditor", "--url", url)
    listing = run("users", "list", "--url", url)
    assert "u-view\tD0201\tviewer\t無効" in listing and "auditor,user_admin" in listing
    out = CliRunner().invoke(main, ["users", "add", "u-admin", "--dept", "D0802", "--role", "viewer", "--url", url])
    assert out.exit_code == 2 and "既に登録" in out.output
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        events = conn.execute(sa.select(audit_event.c.action, audit_event.c.actor_id, audit_event.c.outcome)).all()
        assert conn.execute(sa.select(sa.func.count()).select_from(app_user)).scalar_one() == 2
    # add, add, list (a read is audited too: issue 8 #16), disable, roles, list, refused add
    assert [e.outcome for e in events] == ["ok", "ok", "ok", "ok", "ok", "ok", "error"]
    assert all(e.action == "users" and e.actor_id.startswith("cli:") for e in events)
    with engine.connect() as conn:
        ops = [json.loads(d)["op"] for d in conn.scalars(sa.select(audit_event.c.details).order_by(audit_event.c.seq))]
    engine.dispose()
    assert ops == ["add", "add", "list", "modify", "modify", "list", "add"]


def test_audit_checkpoint_leaves_an_event(url: str) -> None:
    """Issue 8 #16: an operator's read of the chain head is audited like every other access."""
    run("db", "upgrade", "--url", url)
    run("users", "add", "u-0", "--dept", "D0201", "--role", "viewer", "--url", url)
    run("audit", "checkpoint", "--url", url)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        last = conn.execute(sa.select(audit_event).order_by(audit_event.c.seq.desc()).limit(1)).one()
    engine.dispose()
    assert (last.seq, last.action, last.outcome) == (2, "audit", "ok")
    assert last.actor_id.startswith("cli:") and json.loads(last.details)["op"] == "checkpoint"


def test_audit_verify_detects_tampering_and_truncation(url: str, tmp_path: Path) -> None:
    run("db", "upgrade", "--url", url)
    for n in range(4):
        run("users", "add", f"u-{n}", "--dept", "D0201", "--role", "viewer", "--url", url)
    note = tmp_path / "cp.txt"
    run("audit", "checkpoint", "--url", url, "--out", str(note))
    assert oct(note.stat().st_mode & 0o777) == "0o600"
    origin, size, root = note.read_text(encoding="utf-8").splitlines()  # unsigned: no key configured
    assert (origin, size) == ("dvflag.local/audit", "4") and len(base64.b64decode(root)) == 32
    legacy = f"4:{base64.b64decode(root).hex()}"  # the old SEQ:HASH form is still accepted
    assert "正常" in run("audit", "verify", "--url", url, "--checkpoint", str(note))
    assert "正常" in run("audit", "verify", "--url", url, "--checkpoint", legacy)
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # drop the tail (everything after seq 2) and rewind the head
        second = conn.execute(sa.select(audit_event.c.event_hash).where(audit_event.c.seq == 2)).scalar_one()
        conn.execute(sa.delete(audit_event).where(audit_event.c.seq > 2))
        conn.execute(sa.update(chain_head).values(last_seq=2, last_hash=second))
    # The seal table still records the batch up to 4: the rewound head shows without a checkpoint.
    assert "巻き戻" in run("audit", "verify", "--url", url, code=1)
    out = run("audit", "verify", "--url", url, "--checkpoint", str(note), code=1)
    assert "切り詰め" in out and "first_broken_seq=3" in out
    with engine.begin() as conn:
        conn.execute(sa.update(audit_event).where(audit_event.c.seq == 1).values(target="user:intruder"))
    assert "first_broken_seq=1" in run("audit", "verify", "--url", url, code=1)


def test_demo_runs_and_verifies(tmp_path: Path) -> None:
    out = run("demo", "--url", f"sqlite:///{tmp_path / 'demo.sqlite3'}", "--master-size", "20000")
    assert "税務課" in out and "監査証跡は正常です" in out and "他の所属（2件）" in out
    assert out.count("ハッシュ一致") == 3 and "不一致" not in out and "住登外" in out


def test_audit_seal_seals_what_calls_queued(url: str) -> None:
    from dvflag_plugin.audit import chain
    from dvflag_plugin.config import Settings
    from dvflag_plugin.service.bootstrap import operator_actor
    from dvflag_plugin.service.runtime import Runtime
    from dvflag_plugin.storage.transactions import embedded_engine

    run("db", "upgrade", "--url", url)
    engine = embedded_engine(url)
    rt = Runtime(engine=engine, settings=Settings(audit_seal_batch=100, audit_seal_interval_s=3600))
    for _ in range(3):
        rt.audit_alone(operator_actor(), "audit", None, "ok", None, {"op": "read"})
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(audit_event.c.sealed == 0)).scalar_one() == 3
    out = run("audit", "seal", "--url", url)
    assert "sealed: 3 件" in out and re.search(r"head 3:[0-9a-f]{64}", out)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(audit_event.c.sealed == 0)).scalar_one() == 0
        assert chain.verify(conn).ok
    rt.sink.close()
    engine.dispose()
