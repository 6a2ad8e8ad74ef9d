"""A process without the signing key, once the trail it is handed has signed seals (issue 11 rerun).

Before this rule, such a process still queued events, untagged (no writer HMAC: only the key holder can
compute one); a keyed process later sealed and signed them and every verify with the key reported
「書き手の認証がありません」 for them, for ever. Now a runtime without the key refuses to start on a
signed trail (host and CLI alike: typed error naming ``dvflag.audit_signing_key``; CLI exit 4), writes
nothing, and only an auditor's ``dvflag audit verify`` with the public key still runs (a read that leaves
no event: the trail accepts only events the key holder authenticates).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dvflag_plugin.audit import signing
from dvflag_plugin.audit.signing import SigningKeyRequired
from dvflag_plugin.dummydata.model import DummyDataSet
from dvflag_plugin.mockhost import MockHost, MutableClock
from dvflag_plugin.plugin import service_of
from dvflag_plugin.service.runtime import Runtime
from dvflag_plugin.storage.schema import audit_event, audit_seal

ORIGIN = "city.example/keyless"


def _settings(tmp_path: Path, name: str, **extra: Any) -> dict[str, Any]:
    return {"dvflag.audit_log_path": str(tmp_path / f"{name}.jsonl"), "dvflag.audit_origin": ORIGIN,
            "dvflag.audit_seal_batch": 10_000, "dvflag.audit_seal_interval_s": 3600, **extra}  # fmt: skip


def _events(engine: sa.Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(audit_event).order_by(audit_event.c.id))]


def _number(host: MockHost) -> str:
    return next(p.address_no for p in host.data.people if p.in_master)


@pytest.fixture
def key(tmp_path: Path) -> Path:
    out = tmp_path / "seal.key"
    signing.generate(out, ORIGIN)
    return out


@pytest.fixture
def signed(engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path, key: Path) -> Iterator[MockHost]:
    """A host with the key whose trail already ends in a signed seal."""
    host = MockHost(engine, data=data, clock=clock, migrate=False,
                    settings=_settings(tmp_path, "signed", **{"dvflag.audit_signing_key": str(key)}))  # fmt: skip
    host.seed_users()
    host.notices(host.actor("u-zeimu-view1"), [_number(host)])
    assert service_of(host.pm).runtime.seal() is not None
    with engine.connect() as conn:
        assert conn.execute(sa.select(audit_seal.c.signature).order_by(audit_seal.c.id.desc())).first()[0]  # type: ignore[index]
    try:
        yield host
    finally:
        host.close()


def test_a_keyless_host_is_refused_at_startup_on_a_signed_trail_and_writes_nothing(
    signed: MockHost, engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path
) -> None:
    before = _events(engine)
    with pytest.raises(SigningKeyRequired) as err:
        MockHost(engine, data=data, clock=clock, migrate=False, settings=_settings(tmp_path, "keyless"))
    assert err.value.code == "audit.signing_key.required"
    assert "dvflag.audit_signing_key" in err.value.message and "署名" in err.value.message
    assert _events(engine) == before  # nothing queued, not even the refusal
    result = service_of(signed.pm).audit(signed.actor("u-kansa-audit1"), {"op": "verify"})
    assert (result.ok, result.signature) == (True, "verified"), result.findings  # type: ignore[union-attr]


def test_a_keyless_runtime_started_before_the_first_signed_seal_stops_writing_once_it_sees_one(
    engine: sa.Engine, data: DummyDataSet, clock: MutableClock, tmp_path: Path, key: Path
) -> None:
    """Started on an unsigned trail, it may write; after a keyed process signs, its next seal attempt
    says so and from then on it refuses every audited call (typed, nothing written)."""
    keyless = MockHost(engine, data=data, clock=clock, migrate=False, settings=_settings(tmp_path, "keyless"))
    keyless.seed_users()
    viewer = keyless.actor("u-zeimu-view1")
    keyless.notices(viewer, [_number(keyless)])
    rt = service_of(keyless.pm).runtime
    assert rt.seal() is not None  # unsigned: the key is not in use anywhere yet
    signed = MockHost(engine, data=data, clock=clock, migrate=False,
                      settings=_settings(tmp_path, "signed", **{"dvflag.audit_signing_key": str(key)}))  # fmt: skip
    try:
        signed.notices(signed.actor("u-zeimu-view1"), [_number(signed)])
        service_of(signed.pm).runtime.seal()  # the first signed seal
        assert not rt.key_required
        result = rt.seal()
        assert result is not None and result.needs_key
        assert rt.key_required
        before = _events(engine)
        with pytest.raises(SigningKeyRequired):
            keyless.notices(viewer, [_number(keyless)])
        with pytest.raises(SigningKeyRequired):
            keyless.call("dvflag.status", viewer, address_no=_number(keyless))
        assert _events(engine) == before
        verdict = service_of(signed.pm).audit(signed.actor("u-kansa-audit1"), {"op": "verify"})
        assert verdict.ok, verdict.findings  # type: ignore[union-attr]
    finally:
        keyless.close()
        signed.close()


def test_the_startup_check_is_one_query_and_none_with_the_key(
    signed: MockHost, engine: sa.Engine, key: Path, tmp_path: Path
) -> None:
    from dvflag_plugin.config import Settings

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        Runtime(engine=engine, settings=Settings(audit_signing_key=str(key), audit_origin=ORIGIN,
                                                 audit_log_path=str(tmp_path / "k.jsonl"))).close()
        keyed = [s for s in statements if "dvf_audit_seal" in s]
        statements.clear()
        with pytest.raises(SigningKeyRequired):
            Runtime(engine=engine, settings=Settings(audit_origin=ORIGIN, audit_log_path=str(tmp_path / "n.jsonl")))
        keyless = [s for s in statements if "dvf_audit_seal" in s]
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert keyed == [] and len(keyless) == 1


def test_a_reader_runtime_starts_keyless_but_writes_no_event(
    signed: MockHost, engine: sa.Engine, tmp_path: Path
) -> None:
    from dvflag_plugin.config import Settings
    from dvflag_plugin.service.audit_trust import run_verify
    from dvflag_plugin.service.bootstrap import operator_actor

    public = signing.public_path_for(Path(signed.settings["dvflag.audit_signing_key"]))
    rt = Runtime(engine=engine, audit_reader=True, settings=Settings(
        audit_verify_key=str(public), audit_origin=ORIGIN, audit_log_path=str(tmp_path / "r.jsonl")))
    try:
        assert rt.key_required
        before = _events(engine)
        result = run_verify(rt, operator_actor(), checkpoint_text=None, source="cli")
        assert (result.ok, result.signature) == (True, "verified"), result.findings
        assert _events(engine) == before
        with pytest.raises(SigningKeyRequired):
            rt.audit_alone(operator_actor(), "audit", None, "ok", None, {"op": "checkpoint"})
        assert _events(engine) == before
    finally:
        rt.close()


# -- the command line ----------------------------------------------------------------------------


def _cli(*args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    from click.testing import CliRunner

    from dvflag_plugin.cli.main import main

    result = CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.mark.backend("sqlite")
def test_cli_without_the_key_on_a_signed_trail_exits_4_and_verify_with_the_public_key_works(
    tmp_path: Path, key: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {"DVFLAG_AUDIT_SIGNING_KEY": str(key), "DVFLAG_AUDIT_ORIGIN": ORIGIN}
    keyless = {"DVFLAG_AUDIT_SIGNING_KEY": "", "DVFLAG_AUDIT_VERIFY_KEY": "", "DVFLAG_AUDIT_ORIGIN": ORIGIN}
    public = {**keyless, "DVFLAG_AUDIT_VERIFY_KEY": str(signing.public_path_for(key))}
    _cli("db", "upgrade", "--url", url)
    _cli("users", "add", "u-1", "--dept", "D0201", "--role", "viewer", "--url", url, env=env)  # sealed, signed
    engine = sa.create_engine(url)
    try:
        before = _events(engine)
        for command in (("users", "add", "u-2", "--dept", "D0201", "--role", "viewer"), ("users", "list"),
                        ("audit", "checkpoint"), ("audit", "seal")):  # fmt: skip
            out = _cli(*command, "--url", url, env=keyless, code=4)
            assert "dvflag.audit_signing_key" in out and "署名鍵" in out and "DVFLAG_AUDIT_SIGNING_KEY" in out, out
            assert "Traceback" not in out
            assert _events(engine) == before, command
        out = _cli("audit", "verify", "--url", url, env=public)
        assert "正常" in out and "検証済み" in out
        assert "記録されません" in out  # the auditor is told the read leaves no event
        assert _events(engine) == before
        out = _cli("audit", "verify", "--url", url, env=env)  # with the key: verified, and audited
        assert "正常" in out and "記録されません" not in out
        assert len(_events(engine)) == len(before) + 1
    finally:
        engine.dispose()
