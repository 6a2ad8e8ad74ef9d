"""The operator's CLI as a new operator meets it (issue 10, items 9–16).

Expected failures: one Japanese line, its English, exit code 2, no traceback, no empty SQLite file.
Destructive downgrades ask; the user registry cannot lock itself out; every command and option has
Japanese and English help; progress only on a terminal; the demo and ``dvflag export`` share a database.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from dvflag_plugin.audit.checkpoint import CheckpointError, parse_checkpoint
from dvflag_plugin.cli.downgrade import planned_losses
from dvflag_plugin.cli.main import main
from dvflag_plugin.cli.progress import counter, progress, track
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.errors import PermissionDenied, SchemaVersionError, StateError
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.plugin import service_of
from dvflag_plugin.service import bootstrap
from dvflag_plugin.service.progress import reporting
from dvflag_plugin.storage import migrate
from dvflag_plugin.storage.schema import app_user, audit_event, user_role
from helpers import expect_refused, make_host

ROOT = Path(__file__).resolve().parents[1]
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
ENGLISH = re.compile(r"[A-Za-z]{3,}")


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def expect_failure(result: Result) -> str:
    """Exit code 2; an `エラー:` line in Japanese followed by its `Error:` line; no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.splitlines()
    ja = next(i for i, line in enumerate(lines) if line.startswith("エラー: "))
    assert JAPANESE.search(lines[ja]) and lines[ja + 1].startswith("Error: ") and ENGLISH.search(lines[ja + 1])
    assert "Traceback" not in result.output
    return result.stderr


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def migrated(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path / "ops.sqlite3")
    assert cli("db", "upgrade", "--url", url).exit_code == 0
    return url


# -- item 9: no tracebacks, no empty SQLite file --------------------------------------------------

COMMANDS_ON_AN_EXISTING_DATABASE = [
    ("users", "list"),
    ("users", "add", "u-x", "--dept", "D0201", "--role", "viewer"),
    ("users", "disable", "u-x"),
    ("users", "enable", "u-x"),
    ("users", "attest"),
    ("audit", "verify"),
    ("audit", "checkpoint"),
    ("db", "current"),
    ("db", "downgrade", "base", "--yes"),
    ("export", "--user", "u-x", "--dept", "D0201"),
]


@pytest.mark.parametrize("args", COMMANDS_ON_AN_EXISTING_DATABASE, ids=lambda a: "-".join(a[:2]))
def test_a_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path: Path, args: tuple[str, ...]) -> None:
    target = tmp_path / "nowhere" / "dvflag.sqlite3"
    err = expect_failure(cli(*args, "--url", sqlite_url(target)))
    assert "dvflag db upgrade" in err and str(target) in err
    assert not target.exists() and not target.parent.exists()


def test_the_default_database_is_not_created_by_a_reading_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVFLAG_DATABASE_URL", raising=False)
    expect_failure(cli("users", "list"))
    assert list(tmp_path.iterdir()) == []


def test_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    err = expect_failure(cli("users", "list", "--url", sqlite_url(empty)))
    assert "未作成" in err and "dvflag db upgrade" in err and "[schema_version]" in err


@pytest.mark.parametrize(
    ("url", "ja"),
    [
        ("postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/nope", "接続できない"),
        ("mysql+pymysql://root:s3cret-pw@127.0.0.1:1/nope", "接続できない"),
        ("nosuchdialect://x/y", "種類（ドライバ）が不明"),
        ("not a url", "形式が正しくありません"),
        ("mssql+pyodbc://u:s3cret-pw@127.0.0.1:1/nope", "ドライバがインストールされていません: pyodbc"),
    ],
)
def test_unreachable_or_wrong_urls(url: str, ja: str) -> None:
    result = cli("db", "upgrade", "--url", url)
    err = expect_failure(result)
    assert ja in err
    assert "s3cret-pw" not in result.output


def test_the_database_touched_is_printed_with_the_password_hidden() -> None:
    result = cli("db", "upgrade", "--url", "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/nope")
    assert "postgresql+psycopg://postgres:***@127.0.0.1:1/nope" in result.stderr


def test_a_failed_upgrade_leaves_no_new_file(tmp_path: Path) -> None:
    target = tmp_path / "new.sqlite3"
    err = expect_failure(cli("db", "upgrade", "--url", sqlite_url(target), "--revision", "9999"))
    assert "9999" in err
    assert not target.exists()


def test_a_missing_checkpoint_file(tmp_path: Path) -> None:
    url = migrated(tmp_path)
    err = expect_failure(cli("audit", "verify", "--url", url, "--from-checkpoint", str(tmp_path / "none.txt")))
    assert "none.txt" in err


def test_a_command_registered_later_gets_the_same_handling() -> None:
    @click.command("later-probe")
    def probe() -> None:
        raise SchemaVersionError("データベースのスキーマ版が一致しません")

    main.add_command(probe)
    try:
        err = expect_failure(cli("later-probe"))
    finally:
        main.commands.pop("later-probe")
    assert "スキーマ版" in err and "dvflag db upgrade" in err


def test_a_bug_still_shows_its_traceback() -> None:
    @click.command("bug-probe")
    def probe() -> None:
        raise ZeroDivisionError

    main.add_command(probe)
    try:
        result = cli("bug-probe")
    finally:
        main.commands.pop("bug-probe")
    assert isinstance(result.exception, ZeroDivisionError)


# -- item 10: destructive downgrades ask -----------------------------------------------------------


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one()
                for t in sa.inspect(conn).get_table_names()
            }
    finally:
        engine.dispose()


def test_downgrade_says_what_is_lost_and_refuses_without_yes(tmp_path: Path) -> None:
    url = migrated(tmp_path)
    for user in ("u-a", "u-b"):
        assert cli("users", "add", user, "--dept", "D0201", "--role", "viewer", "--url", url).exit_code == 0
    before = _counts(url)
    assert before["dvf_audit_event"] == 2 and before["dvf_app_user"] == 2
    err = expect_failure(cli("db", "downgrade", "0002", "--url", url))
    assert "dvf_audit_event: 2 行" in err and "dvf_chain_head: 1 行" in err and "--yes" in err
    assert "dvf_app_user" not in err  # 0002 keeps the users
    assert str(tmp_path / "ops.sqlite3") in err  # which database
    assert _counts(url) == before
    err = expect_failure(cli("db", "downgrade", "base", "--url", url))
    assert "dvf_registration: 0 行" in err and "dvf_app_user: 2 行" in err and "dvf_user_role: 2 行" in err
    assert _counts(url) == before
    done = cli("db", "downgrade", "0002", "--yes", "--url", url)
    assert done.exit_code == 0, done.output
    assert "schema revision: 0002" in done.stdout
    assert "dvf_audit_event" not in _counts(url) and _counts(url)["dvf_app_user"] == 2


# -- item 11: users enable, roles required, the last 利用者管理者 ---------------------------------


def test_users_add_requires_a_role(tmp_path: Path) -> None:
    url = migrated(tmp_path)
    result = cli("users", "add", "u-a", "--dept", "D0201", "--url", url)
    assert result.exit_code == 2 and "--role" in result.output
    assert _counts(url)["dvf_app_user"] == 0


def test_the_last_user_admin_cannot_be_disabled_or_demoted_from_the_cli(tmp_path: Path) -> None:
    url = migrated(tmp_path)
    assert cli("users", "add", "u-admin", "--dept", "D0802", "--role", "user_admin", "--url", url).exit_code == 0
    for args in (("disable", "u-admin"), ("roles", "u-admin", "--role", "viewer")):
        err = expect_failure(cli("users", *args, "--url", url))
        assert "最後の有効な利用者管理者" in err and "state.last_user_admin" in err
    assert cli("users", "add", "u-admin2", "--dept", "D0802", "--role", "user_admin", "--url", url).exit_code == 0
    assert cli("users", "disable", "u-admin", "--url", url).exit_code == 0
    expect_failure(cli("users", "disable", "u-admin2", "--url", url))
    enabled = cli("users", "enable", "u-admin", "--url", url)
    assert enabled.exit_code == 0 and "有効にしました" in enabled.stdout
    listing = cli("users", "list", "--url", url).stdout.splitlines()
    assert listing[0] == "利用者ID\t所属コード\tロール\t状態\t有効期間"
    assert listing[1].startswith("u-admin\tD0802\tuser_admin\t有効")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        reasons = conn.execute(sa.select(audit_event.c.reason_code).order_by(audit_event.c.seq)).scalars().all()
        assert conn.execute(sa.select(app_user.c.enabled).where(app_user.c.user_id == "u-admin2")).scalar() == 1
    engine.dispose()
    assert reasons.count("state.last_user_admin") == 3


# -- item 12: help in Japanese and English for every command and option ---------------------------


def _walk(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += _walk(sub, f"{path} {name}")
    return found


def test_every_command_and_option_has_japanese_and_english_help() -> None:
    missing = []
    commands = _walk(main, "dvflag")
    assert len(commands) > 15
    for path, command in commands:
        text = command.help or ""
        if not (JAPANESE.search(text) and ENGLISH.search(text)):
            missing.append(f"{path}: {text[:40]!r}")
        for param in command.params:
            if isinstance(param, click.Option):
                text = param.help or ""
                if not (JAPANESE.search(text) and ENGLISH.search(text)):
                    missing.append(f"{path} {param.opts[0]}: {text[:40]!r}")
    assert missing == []


def test_help_pages_render_in_both_languages() -> None:
    out = cli("users", "add", "--help").stdout
    assert "利用者を追加" in out and "add a plugin user" in out and "show this message" in out


# -- item 13: progress on a terminal only; verify since a trusted checkpoint ----------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_shown_on_a_terminal_and_quiet_otherwise() -> None:
    tty, pipe = FakeTerminal(), io.StringIO()
    assert list(track(range(5000), 5000, "検証中 / verifying", stream=tty)) == list(range(5000))
    assert "検証中 / verifying" in tty.getvalue() and "100%" in tty.getvalue()
    with progress(5000, "検証中 / verifying", stream=pipe) as advance:
        advance(5000)
    assert pipe.getvalue() == ""


def test_row_counter_on_a_terminal_only() -> None:
    tty, pipe = FakeTerminal(), io.StringIO()
    for stream in (tty, pipe):
        with counter("一覧に書いた行 / rows written", stream=stream) as advance:
            for _ in range(2500):
                advance(1)
    assert "rows written: 1,000" in tty.getvalue() and tty.getvalue().endswith("rows written: 2,500\n")
    assert pipe.getvalue() == ""


def test_verify_is_quiet_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    url = migrated(tmp_path)
    cli("users", "add", "u-a", "--dept", "D0201", "--role", "viewer", "--url", url)
    result = cli("audit", "verify", "--url", url)
    assert result.exit_code == 0 and result.stderr == ""


def test_verify_from_a_checkpoint_checks_only_what_was_added(tmp_path: Path) -> None:
    url = migrated(tmp_path)
    for n in range(3):
        cli("users", "add", f"u-{n}", "--dept", "D0201", "--role", "viewer", "--url", url)
    point = tmp_path / "checkpoint.txt"
    point.write_text(cli("audit", "checkpoint", "--url", url).stdout, encoding="utf-8")
    for n in range(3, 5):
        cli("users", "add", f"u-{n}", "--dept", "D0201", "--role", "viewer", "--url", url)
    result = cli("audit", "verify", "--url", url, "--from-checkpoint", str(point))
    # after seq 3: the checkpoint's own (audited) read at 4, then the two users added at 5 and 6
    assert result.exit_code == 0 and "正常です（3 件" in result.stdout, result.stdout
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # rewrite event 4 (after the checkpoint at seq 3)
        conn.execute(sa.update(audit_event).where(audit_event.c.seq == 4).values(target="user:intruder"))
    result = cli("audit", "verify", "--url", url, "--from-checkpoint", str(point))
    assert result.exit_code == 1 and "first_broken_seq=4" in result.stdout
    with engine.begin() as conn:  # the checkpoint's own event rewritten: its hash no longer matches
        conn.execute(sa.update(audit_event).where(audit_event.c.seq == 3).values(event_hash="0" * 64))
    result = cli("audit", "verify", "--url", url, "--from-checkpoint", str(point))
    assert result.exit_code == 1 and "first_broken_seq=3" in result.stdout
    engine.dispose()
    point.write_text("not a checkpoint", encoding="utf-8")
    assert "チェックポイントの形式が不正です" in expect_failure(
        cli("audit", "verify", "--url", url, "--from-checkpoint", str(point))
    )


def test_parse_checkpoint() -> None:
    parsed = parse_checkpoint(f" 12:{'a' * 64}\n")
    assert (parsed.size, parsed.head_hash, parsed.legacy) == (12, "a" * 64, True)
    with pytest.raises(CheckpointError):
        parse_checkpoint(f"12:{'A' * 63}")


# -- item 14: the demo and `dvflag export` share a database; nothing lands in the checkout --------


def _readme_export_command() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- export-example:begin -->", 1)[1].split("<!-- export-example:end -->", 1)[0]
    (line,) = [ln for ln in block.splitlines() if ln.startswith("dvflag export")]
    return shlex.split(line)[1:]


def test_readme_export_works_right_after_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVFLAG_DATABASE_URL", raising=False)
    demo = cli("demo", "--fresh", "--master-size", "3000")
    assert demo.exit_code == 0, demo.output
    assert f"一覧（CSV・Excel・PDF）: {tmp_path / 'var' / 'demo' / 'exports'}" in demo.stdout
    assert "sqlite:///var/dvflag.sqlite3" in demo.stdout and "生成した番号の中央" in demo.stdout
    exported = cli(*_readme_export_command())
    assert exported.exit_code == 0, exported.output
    assert "（1 件、1 ページ）" in exported.stdout
    again = cli("demo", "--master-size", "3000")  # a second run without --fresh refuses, changes nothing
    assert "--fresh" in expect_failure(again)
    log = tmp_path / "var" / "demo" / "audit.jsonl"
    lines = len(log.read_text(encoding="utf-8").splitlines())
    assert cli("demo", "--fresh", "--master-size", "3000").exit_code == 0
    assert len(log.read_text(encoding="utf-8").splitlines()) == lines  # a fresh log for a fresh chain


def _checkout_files() -> dict[str, int]:
    skip = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
    found = {}
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in skip and not d.endswith(".egg-info")]
        for name in files:
            path = Path(folder) / name
            found[str(path.relative_to(ROOT))] = path.stat().st_mtime_ns
    return found


def test_cli_and_demo_write_nothing_into_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # as `make test` runs
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DVFLAG_DATABASE_URL", sqlite_url(tmp_path / "env.sqlite3"))
    before = _checkout_files()
    url = sqlite_url(tmp_path / "demo.sqlite3")
    demo = cli("demo", "--url", url, "--master-size", "2000")
    exported = cli("export", "--url", url, "--user", "u-danjo-reg1", "--dept", "D0301", "--out", str(tmp_path / "out"))
    listed = cli("users", "list")  # $DVFLAG_DATABASE_URL names a file that does not exist
    assert sorted(set(_checkout_files().items()) ^ set(before.items())) == []
    assert demo.exit_code == 0 and exported.exit_code == 0, demo.output + exported.output
    expect_failure(listed)
    assert (tmp_path / "demo" / "audit.jsonl").is_file() and len(list((tmp_path / "demo" / "exports").iterdir())) == 3


# -- item 15: conformance --host with something that is not a factory ----------------------------


@pytest.mark.parametrize("spec", ["json:dumps", "json:JSONDecoder"])
def test_conformance_refuses_what_is_not_a_factory(spec: str) -> None:
    result = cli("conformance", "--host", spec)
    assert result.exit_code == 2, result.output
    assert "HostUnderTest" in result.output and "引数なし" in result.output and "[FAIL]" not in result.output


# -- item 16: the font step on a machine without apt-get ------------------------------------------


def _make_fonts(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"  # make and sh, but no apt-get
    bin_dir.mkdir(exist_ok=True)
    for tool in ("make", "sh"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).unlink(missing_ok=True)
        (bin_dir / tool).symlink_to(found)
    venv = tmp_path / "venv"
    venv.mkdir(exist_ok=True)
    (venv / ".installed").touch()  # newer than pyproject.toml: make installs nothing
    return subprocess.run(
        ["make", "-s", "-C", str(ROOT), "fonts", f"VENV={venv}"],
        env={"PATH": str(bin_dir), "DVFLAG_FONT_PREFIX": str(tmp_path / "no-system-fonts"), **env},
        capture_output=True, text=True, check=False,
    )


def test_font_step_is_skipped_when_dvflag_pdf_font_is_set(tmp_path: Path) -> None:
    font = tmp_path / "some.ttf"
    font.write_bytes(b"\0")
    done = _make_fonts(tmp_path, DVFLAG_PDF_FONT=str(font))
    assert done.returncode == 0, done.stderr
    assert f"DVFLAG_PDF_FONT={font}" in done.stdout and "skipped" in done.stdout


def test_font_step_is_skipped_when_the_font_is_installed(tmp_path: Path) -> None:
    installed = tmp_path / "no-system-fonts" / "share" / "fonts" / "truetype" / "ipamj" / "ipamjm.ttf"
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"\0")
    done = _make_fonts(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "already installed" in done.stdout


def test_font_step_without_font_or_apt_get_says_what_to_do(tmp_path: Path) -> None:
    done = _make_fonts(tmp_path)
    assert done.returncode != 0
    assert "apt-get" in done.stderr and "DVFLAG_PDF_FONT" in done.stderr and "エラー" in done.stderr


# -- item 11 through the host function, on every backend -------------------------------------------


@pytest.fixture
def host(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path) -> Iterator[MockHost]:
    h = make_host(engine, data, clock, tmp_path)
    try:
        yield h
    finally:
        h.close()


def test_dvflag_users_keeps_one_enabled_user_admin(host: MockHost) -> None:
    """A user_admin never changes its own account; the operator's path cannot remove the last one."""
    admin1, admin2 = host.actor("u-joho-admin1"), host.actor("u-joho-admin2")
    rt = service_of(host.pm).runtime
    operator = bootstrap.operator_actor()
    host.call("dvflag.users", admin1, op="disable", user_id="u-joho-admin2")  # admin1 remains
    expect_refused(  # its own account: refused before the last-admin rule is even reached
        host, lambda: host.call("dvflag.users", admin1, op="disable", user_id="u-joho-admin1"),
        error=PermissionDenied, code="users.own_account", action="users",
    )
    err, event = expect_refused(
        host, lambda: bootstrap.modify_user(rt, operator, user_id="u-joho-admin1", changes={"enabled": 0}, roles=None),
        error=StateError, code="state.last_user_admin", action="users",
    )
    assert "最後の有効な利用者管理者" in err.message and event.target == "user:u-joho-admin1"
    expect_refused(
        host,
        lambda: bootstrap.modify_user(
            rt, operator, user_id="u-joho-admin1", changes={}, roles=frozenset({"auditor"})
        ),
        error=StateError, code="state.last_user_admin", action="users",
    )
    host.call("dvflag.users", admin1, op="enable", user_id="u-joho-admin2")
    host.call("dvflag.users", admin2, op="roles", user_id="u-joho-admin1", roles=["auditor"])  # admin2 remains
    expect_refused(
        host,
        lambda: bootstrap.modify_user(rt, operator, user_id="u-joho-admin2", changes={"enabled": 0}, roles=None),
        error=StateError, code="state.last_user_admin", action="users",
    )


def test_planned_losses_count_rows_on_every_backend(host: MockHost) -> None:
    current, losses = planned_losses(host.engine, "base")
    assert current == migrate.head_revision()
    counts = {loss.table: loss.rows for loss in losses if loss.column is None}
    assert counts["dvf_app_user"] == len(host.data.staff) and counts["dvf_registration"] == 0
    assert {"dvf_audit_event", "dvf_chain_head", "dvf_user_role"} <= set(counts)
    assert planned_losses(host.engine, migrate.head_revision())[1] == ()


def test_an_export_reports_its_rows_to_a_caller_that_asks(host: MockHost) -> None:
    registrar = host.actor("u-danjo-reg1")
    for person in [p for p in host.data.people if p.in_master][:3]:
        host.call("dvflag.register", registrar, address_no=person.address_no)
    seen: list[int] = []
    with reporting(seen.append):
        result = host.call("dvflag.export", registrar, format="csv", scope="own")
    assert result.row_count == 3 and seen == [1, 1, 1]
    assert host.call("dvflag.export", registrar, format="csv", scope="own").row_count == 3 and seen == [1, 1, 1]


def test_users_attest_records_one_event_and_verify_then_sees_an_account_edited_in_the_table(tmp_path: Path) -> None:
    url = migrated(tmp_path)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:  # accounts that predate the digests: written straight, never changed
            for user_id, role in (("u-admin", "user_admin"), ("u-view", "viewer")):
                stamp = sa.func.current_timestamp()
                pk = conn.execute(sa.insert(app_user).values(
                    user_id=user_id, dept_code="D0201", enabled=1, valid_from=sa.func.date("2025-04-01"),
                    row_version=1, created_at=stamp, updated_at=stamp)).inserted_primary_key[0]  # fmt: skip
                conn.execute(sa.insert(user_role).values(user_pk=pk, role_name=role))
        result = cli("users", "attest", "--url", url)
        assert result.exit_code == 0, result.output
        assert "2 件" in result.stdout and "u-admin\tD0201\tuser_admin\t有効" in result.stdout
        with engine.connect() as conn:
            details = [d for a, d in conn.execute(sa.select(audit_event.c.action, audit_event.c.details))
                       if '"op":"attest"' in d]  # fmt: skip
        assert len(details) == 1 and '"source":"cli"' in details[0] and '"u-view":"' in details[0]
        assert cli("audit", "verify", "--url", url).exit_code == 0
        with engine.begin() as conn:
            pk = conn.execute(sa.select(app_user.c.id).where(app_user.c.user_id == "u-view")).scalar_one()
            conn.execute(sa.insert(user_role).values(user_pk=pk, role_name="supervisor"))
        verdict = cli("audit", "verify", "--url", url)
        assert verdict.exit_code == 1 and "利用者 u-view の所属・ロール" in verdict.stdout, verdict.output
    finally:
        engine.dispose()
