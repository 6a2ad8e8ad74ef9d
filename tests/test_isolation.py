"""DESIGN §6–7: no outbound linkage, and no global actions on the host process."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from dvflag_hookspecs import Actor
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.plugin import service_of

NETWORK_CLIENTS = {"requests", "httpx", "urllib3", "aiohttp", "smtplib", "ftplib", "http.client", "urllib.request"}


@pytest.fixture
def only_the_database(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Block every Python-level socket connection except to the database server the host gave us."""
    url = engine.url
    allowed = {(url.host, url.port or {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}.get(engine.dialect.name))}
    refused: list[object] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        if self.family == getattr(socket, "AF_UNIX", None) and engine.dialect.name != "sqlite":
            return real_connect(self, address)  # type: ignore[arg-type]
        if isinstance(address, tuple) and (address[0], address[1]) in allowed:
            return real_connect(self, address)
        refused.append(address)
        raise ConnectionRefusedError(f"outbound connection blocked in test: {address}")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded)
    return refused


def test_every_operation_runs_with_sockets_blocked(host: MockHost, only_the_database: list[object]) -> None:
    number = next(p.address_no for p in host.data.people if p.in_master)
    outsider = next(p for p in host.data.people if not p.in_master)
    reg = host.actor("u-kodomo-reg1")
    r = host.call("dvflag.register", reg, address_no=number)
    host.call(
        "dvflag.register", reg, address_no=outsider.address_no, name=outsider.name, sex_code=outsider.sex_code,
        birth_date=outsider.birth_date.isoformat(),
    )
    r = host.call("dvflag.update", reg, record_id=r.record_id, row_version=r.row_version, sex_code=9)
    r = host.call("dvflag.release", reg, record_id=r.record_id, row_version=r.row_version)
    r = host.call("dvflag.unrelease", reg, record_id=r.record_id, row_version=r.row_version)
    host.call("dvflag.status", host.actor("u-kodomo-view1"), address_no=number)
    host.call("dvflag.search", host.actor("u-kodomo-view1"), name="真琴")
    host.call("dvflag.review_due", reg)
    for fmt in ("csv", "xlsx", "pdf"):
        host.call("dvflag.export", reg, format=fmt, scope="own")
    host.call("dvflag.users", host.actor("u-joho-admin1"), op="list")
    host.call("dvflag.audit", host.actor("u-kansa-audit1"), op="verify")
    host.notices(Actor("batch", "D0102"), [f"{i:015d}" for i in range(1000)] + [number])
    host.advice(host.actor("u-hoken-reg1"), number)
    host.call("dvflag.delete", reg, record_id=r.record_id, row_version=r.row_version, reason="mistaken_entry")
    assert only_the_database == []  # nothing but the database was even attempted
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(ConnectionRefusedError, match="blocked"):
            probe.connect(("192.0.2.1", 80))  # the guard itself works (TEST-NET-1, never reached)
    finally:
        probe.close()
    assert only_the_database == [("192.0.2.1", 80)]


def test_package_imports_no_network_client() -> None:
    code = (
        "import importlib, pkgutil, sys, dvflag_plugin, dvflag_hookspecs\n"
        "for m in pkgutil.walk_packages(dvflag_plugin.__path__, 'dvflag_plugin.'):\n"
        "    if '.testing.' in m.name or m.name.endswith('.testing') or '.conformance' in m.name:\n"
        "        continue\n"
        "    importlib.import_module(m.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(out.split())
    assert loaded & NETWORK_CLIENTS == set()


def test_no_source_file_imports_a_network_client() -> None:
    src = Path(__file__).resolve().parents[1] / "src" / "dvflag_plugin"
    offenders = []
    for path in src.rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.strip().split()
            if len(words) >= 2 and words[0] in ("import", "from") and words[1].split(".")[0] in {
                n.split(".")[0] for n in NETWORK_CLIENTS | {"socket"}
            } and words[1] not in {"urllib.parse"}:
                offenders.append(f"{path.name}: {line.strip()}")
    assert offenders == []


def test_no_global_actions_on_the_host_process(tmp_path: Path) -> None:
    code = f"""
import gc, logging, structlog
handlers_before = list(logging.root.handlers); level_before = logging.root.level
from dvflag_plugin.mockhost import MockHost
host = MockHost("sqlite:///{tmp_path / 'iso.sqlite3'}")
host.seed_users()
number = next(p.address_no for p in host.data.people if p.in_master)
host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=number)
host.notices(host.actor("u-zeimu-view1"), [number])
host.close()
assert not structlog.is_configured(), "structlog.configure() was called"
assert logging.root.handlers == handlers_before and logging.root.level == level_before
assert gc.isenabled() and gc.get_freeze_count() == 0
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_the_plugin_never_disposes_of_the_hosts_engine(host: MockHost) -> None:
    service = service_of(host.pm)
    service.runtime.close()
    with host.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    assert service.runtime.today() == date(2026, 11, 26)
