"""Issue 8: a PII canary scan. People registered with canary 氏名 and 生年月日 go through every operation
(bad input, denials, failures, exports, the CLI); the canaries may appear only in the registration
table and the deliberate exports: never in audit rows, JSON lines, the host's copy, a log record,
an exception's str/repr/traceback, or CLI output.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import structlog
from click.testing import CliRunner

from dvflag_hookspecs import Actor, Person, hookimpl
from dvflag_plugin.cli.main import main
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.storage.schema import audit_event, metadata, registration
from dvflag_plugin.text.wareki import format_wareki
from helpers import make_host

# Synthetic canaries: 金糸雀 ("canary") as a surname no dummy person has, and an early-1900s birthday.
MANUAL = Person("金糸雀\u3000鶲子", 2, date(1908, 8, 8))
MASTER = Person("金糸雀\u3000鵯太", 1, date(1909, 9, 9))
REGISTRAR, VIEWER, ADMIN, AUDITOR = "u-kodomo-reg1", "u-kodomo-view1", "u-joho-admin1", "u-kansa-audit1"


def canaries() -> list[str]:
    found = []
    for person in (MANUAL, MASTER):
        day = person.birth_date
        found += [person.name, person.name.replace("\u3000", ""), person.name.split("\u3000")[1]]
        found += [day.isoformat(), f"{day:%Y%m%d}", f"{day:%Y/%m/%d}", format_wareki(day)]
    return [*found, "金糸雀"]


class CanaryMaster:
    """The host's address master knows the second canary (registered last: answers first)."""

    def __init__(self, address_no: str) -> None:
        self.address_no = address_no

    @hookimpl
    def dvflag_resolve_person(self, address_no: str) -> Person | None:
        return MASTER if address_no == self.address_no else None


class Scan:
    """Everything the plugin let out during the scenario, as text."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.errors: list[BaseException] = []
        self.structlog_events: list[Any] = []

    def add(self, where: str, text: object) -> None:
        self.texts.append((where, str(text)))

    def attempt(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as err:
            self.errors.append(err)
            self.add(f"exception {what}", "".join(traceback.format_exception(err)) + repr(err) + str(err))
            return None


@pytest.fixture
def scenario(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> Iterator[tuple[MockHost, Scan]]:
    caplog.set_level(logging.DEBUG)
    host = make_host(engine, data, clock, tmp_path)
    scan = Scan()
    with structlog.testing.capture_logs() as structlog_events:
        scan.structlog_events = structlog_events
        yield host, scan
    host.close()


def assert_no_canary(host: MockHost, scan: Scan, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    """Gather every output channel and look for each canary in it."""
    for record in caplog.records:
        scan.add(f"log {record.name}", record.getMessage())
        if record.exc_info:
            scan.add(f"log {record.name} traceback", "".join(traceback.format_exception(*record.exc_info)))
    scan.add("structlog", scan.structlog_events)
    scan.add("json lines", (tmp_path / "audit.jsonl").read_text(encoding="utf-8"))
    scan.add("host's copy", [asdict(e) for e in host.masters.audit_copy])
    scan.add("host's copy repr", host.masters.audit_copy)
    with host.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table is not registration:  # the one place the canaries belong
                scan.add(f"table {table.name}", [tuple(r) for r in conn.execute(sa.select(table))])
    leaks = [(where, c) for where, text in scan.texts for c in canaries() if c in text]
    assert not leaks, leaks[:10]
    assert len(scan.texts) > 5


def _everything(host: MockHost, scan: Scan, tmp_path: Path) -> None:
    """Every operation, with the canaries as data, as typed input, in bad input and in denials."""
    manual_no = next(p for p in host.data.people if not p.in_master).address_no
    master_no = "990000000000001"
    host.pm.register(CanaryMaster(master_no), name="canary-master")
    reg, view = host.actor(REGISTRAR), host.actor(VIEWER)
    a = scan.attempt
    mine = a("register manual", lambda: host.call(
        "dvflag.register", reg, address_no=manual_no, name=MANUAL.name, sex_code=MANUAL.sex_code,
        birth_date=format_wareki(MANUAL.birth_date)))
    theirs = a("register master", lambda: host.call("dvflag.register", reg, address_no=master_no))
    assert mine is not None and theirs is not None and theirs.name == MASTER.name
    typed = {"name": MANUAL.name, "birth_date": MANUAL.birth_date.isoformat()}
    for what, call in [
        ("duplicate", lambda: host.call("dvflag.register", reg, address_no=manual_no, sex_code=2, **typed)),
        ("mismatch", lambda: host.call("dvflag.register", host.actor("u-danjo-reg1"), address_no=master_no,
                                       name=MANUAL.name, birth_date=MASTER.birth_date.isoformat())),
        ("pairs", lambda: host.functions()["dvflag.register"].call(reg, list(typed.items()))),  # type: ignore[arg-type]
        ("name as key", lambda: host.functions()["dvflag.search"].call(view, {MANUAL.name: 1})),
        ("control char", lambda: host.call("dvflag.update", reg, record_id=mine.record_id, row_version=1,
                                           name="\t" + MANUAL.name)),
        ("bad era", lambda: host.call("dvflag.update", reg, record_id=mine.record_id, row_version=1,
                                      birth_date="大正" + format_wareki(MANUAL.birth_date)[2:])),
        ("bad day", lambda: host.call("dvflag.update", reg, record_id=mine.record_id, row_version=1,
                                      birth_date=MANUAL.birth_date.isoformat() + "x")),
        ("future", lambda: host.call("dvflag.update", reg, record_id=mine.record_id, row_version=1,
                                     birth_date="2999" + MANUAL.birth_date.isoformat()[4:])),
        ("stale", lambda: host.call("dvflag.update", reg, record_id=mine.record_id, row_version=9, **typed)),
        ("search name", lambda: host.call("dvflag.search", view, name=MANUAL.name, state="all")),
        ("search birth", lambda: host.call("dvflag.search", view, birth_date=format_wareki(MASTER.birth_date))),
        ("search bad", lambda: host.call("dvflag.search", view, name=MANUAL.name, limit=10**9)),
        ("search outsider", lambda: host.call("dvflag.search", host.actor("u-zeimu-noroles1"), **typed)),
        ("actor is a name", lambda: host.call("dvflag.search", Actor(MANUAL.name, "D0201"), **typed)),
        ("dept is a name", lambda: host.call("dvflag.status", Actor(VIEWER, MANUAL.name), address_no=manual_no)),
        ("user is a name", lambda: host.call("dvflag.users", host.actor(ADMIN), op="add", user_id=MANUAL.name,
                                             dept_code="D0201")),
        ("role is a name", lambda: host.call("dvflag.users", host.actor(ADMIN), op="add", user_id="u-x",
                                             dept_code="D0201", roles=[MANUAL.name])),
        ("status", lambda: host.call("dvflag.status", view, address_no=manual_no)),
        ("notices", lambda: host.notices(Actor("screen", "D0102"), [manual_no, master_no, "1"])),
        ("notices bad", lambda: host.notices(Actor("screen", "D0102"), [manual_no, MANUAL.name])),
        ("advice", lambda: host.advice(host.actor("u-danjo-reg1"), manual_no)),
        ("review", lambda: host.call("dvflag.review_due", reg)),
        ("update", lambda: host.call("dvflag.update", reg, record_id=mine.record_id, row_version=1, sex_code=0)),
        ("release", lambda: host.call("dvflag.release", reg, record_id=mine.record_id, row_version=2)),
        ("unrelease", lambda: host.call("dvflag.unrelease", reg, record_id=mine.record_id, row_version=3)),
        ("audit read", lambda: host.call("dvflag.audit", host.actor(AUDITOR), op="read")),
        ("audit verify", lambda: host.call("dvflag.audit", host.actor(AUDITOR), op="verify")),
        ("users", lambda: host.call("dvflag.users", host.actor(ADMIN), op="list")),
    ]:
        a(what, call)
    for fmt in ("csv", "xlsx", "pdf"):  # deliberate exports: their bytes may hold the canaries
        result = a(f"export {fmt}", lambda fmt=fmt: host.call("dvflag.export", reg, format=fmt))
        assert result is not None and result.row_count == 2
        scan.add(f"export {fmt} metadata", (result.output_no, result.sha256, result.replacements))
        if fmt == "csv":  # the scanner would see them: they are real and in the deliberate export
            text = result.content.decode("utf-8-sig")
            assert MANUAL.name in text and MASTER.name in text
    a("delete", lambda: host.call("dvflag.delete", reg, record_id=theirs.record_id, row_version=1,
                                  reason="mistaken_entry"))
    assert len(scan.errors) >= 15


def test_the_canaries_stay_in_the_registration_table(
    scenario: tuple[MockHost, Scan], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    host, scan = scenario
    _everything(host, scan, tmp_path)
    with host.engine.connect() as conn:
        names = set(conn.scalars(sa.select(registration.c.name)))
    assert MANUAL.name in names  # the canaries did reach their one place
    assert_no_canary(host, scan, caplog, tmp_path)


@pytest.mark.backend("sqlite")
def test_the_cli_never_prints_a_canary(
    scenario: tuple[MockHost, Scan], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    host, scan = scenario
    _everything(host, scan, tmp_path)
    url = host.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    for args in (
        ["users", "list"], ["audit", "verify"], ["audit", "checkpoint"],
        ["export", "--user", REGISTRAR, "--dept", "D0201", "--out", str(tmp_path / "out")],
        ["export", "--user", REGISTRAR, "--dept", "D0201", "--format", "pdf", "--out", str(tmp_path / "out")],
        ["export", "--user", VIEWER, "--dept", "D0201", "--out", str(tmp_path / "out")],
        ["users", "add", MANUAL.name, "--dept", "D0201"],
    ):
        result = runner.invoke(main, [*args, "--url", url])
        scan.add(f"cli {' '.join(args[:2])}", result.output)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            scan.add("cli exception", "".join(traceback.format_exception(result.exception)))
    assert any(p.suffix == ".pdf" for p in (tmp_path / "out").iterdir())
    assert_no_canary(host, scan, caplog, tmp_path)


def _cut_inside(engine: sa.Engine, table: str) -> Callable[[], None]:
    """Kill this connection's server session just before it writes ``table`` (PostgreSQL, MariaDB)."""
    admin = sa.create_engine(engine.url)
    armed = {"on": True}

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not (armed["on"] and statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()}")):
            return
        armed["on"] = False
        with admin.connect() as other:
            if engine.dialect.name == "postgresql":
                pid = cursor.connection.info.backend_pid
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            else:
                other.execute(sa.text(f"KILL CONNECTION {int(cursor.connection.thread_id())}"))
            other.commit()

    sa.event.listen(engine, "before_cursor_execute", before)

    def remove() -> None:
        sa.event.remove(engine, "before_cursor_execute", before)
        admin.dispose()

    return remove


@pytest.mark.backend("postgresql", "mariadb")
def test_a_connection_cut_inside_the_transaction_leaks_no_canary(
    scenario: tuple[MockHost, Scan], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The driver's error quotes the statement's parameters (the 氏名): it must not escape as it is.

    The storage envelope turns it into a StorageError that keeps no SQL, no parameters and no chained
    exception (issue 11 item 8).
    """
    host, scan = scenario
    manual_no = next(p for p in host.data.people if not p.in_master).address_no
    remove = _cut_inside(host.engine, "dvf_registration")
    try:
        scan.attempt("cut", lambda: host.call(
            "dvflag.register", host.actor(REGISTRAR), address_no=manual_no, name=MANUAL.name,
            sex_code=MANUAL.sex_code, birth_date=MANUAL.birth_date.isoformat()))
    finally:
        remove()
    with host.engine.connect() as conn:
        kept = conn.scalars(sa.select(registration.c.name)).all()
        actions = conn.execute(sa.select(audit_event.c.action, audit_event.c.outcome)).all()
    assert kept in ([], [MANUAL.name])  # either committed whole or not at all
    assert actions, "the attempt left no audit event"
    assert_no_canary(host, scan, caplog, tmp_path)
