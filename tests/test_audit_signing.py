"""Issue 11 items 5–7 (pure parts): Ed25519 seal keys, C2SP checkpoints, salted row digests."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from datetime import date
from pathlib import Path

import pytest

from dvflag_plugin.audit import checkpoint as cp
from dvflag_plugin.audit import row_digest, signing
from dvflag_plugin.audit.signing import SigningKeyError

ORIGIN = "city.example/dvflag"
HEAD = hashlib.sha256(b"head").hexdigest()
PREV = hashlib.sha256(b"prev").hexdigest()


@pytest.fixture
def keyfile(tmp_path: Path) -> Path:
    out = tmp_path / "seal.key"
    signing.generate(out, ORIGIN)
    return out


# -- keys -------------------------------------------------------------------------------------------


def test_keygen_writes_0600_private_and_public_beside_it_and_never_overwrites(keyfile: Path) -> None:
    pub = signing.public_path_for(keyfile)
    assert oct(keyfile.stat().st_mode & 0o777) == "0o600"
    assert keyfile.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert pub.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    before = keyfile.read_bytes()
    with pytest.raises(SigningKeyError) as err:
        signing.generate(keyfile, ORIGIN)
    assert err.value.code == "audit.keygen.exists"
    assert keyfile.read_bytes() == before


def test_keygen_refuses_when_only_the_public_file_exists(tmp_path: Path) -> None:
    out = tmp_path / "k"
    signing.public_path_for(out).write_text("planted")
    with pytest.raises(SigningKeyError):
        signing.generate(out, ORIGIN)
    assert not out.exists()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o606])
def test_a_key_file_group_or_others_can_read_is_refused(keyfile: Path, mode: int) -> None:
    keyfile.chmod(mode)
    with pytest.raises(SigningKeyError) as err:
        signing.load_signer(keyfile, ORIGIN)
    assert err.value.code == "audit.signing_key.permissions"
    assert "chmod 600" in err.value.message and str(keyfile) in err.value.message


def test_missing_or_malformed_key_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError) as err:
        signing.load_signer(tmp_path / "absent", ORIGIN)
    assert err.value.code == "audit.signing_key.missing"
    bad = tmp_path / "bad"
    bad.write_bytes(b"not a key")
    bad.chmod(0o600)
    with pytest.raises(SigningKeyError) as err:
        signing.load_signer(bad, ORIGIN)
    assert err.value.code == "audit.signing_key.format"


def test_key_id_is_the_c2sp_signed_note_key_hash(keyfile: Path) -> None:
    signer = signing.load_signer(keyfile, ORIGIN)
    raw = signer.verifier.vkey().split("+", 2)[2]
    public = base64.b64decode(raw)[1:]
    expected = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + public).digest()[:4]
    assert signer.verifier.key_id == expected
    assert signer.verifier.vkey().startswith(f"{ORIGIN}+{expected.hex()}+")


def test_public_key_loads_as_pem_note_vkey_or_raw_and_matches(keyfile: Path, tmp_path: Path) -> None:
    signer = signing.load_signer(keyfile, ORIGIN)
    from_pem = signing.load_verifier(signing.public_path_for(keyfile), ORIGIN)
    vkey_file = tmp_path / "vkey"
    vkey_file.write_text(signer.verifier.vkey() + "\n")
    raw_file = tmp_path / "raw"
    raw_file.write_bytes(base64.b64decode(signer.verifier.vkey().split("+", 2)[2])[1:])
    for loaded in (from_pem, signing.load_verifier(vkey_file, ORIGIN), signing.load_verifier(raw_file, ORIGIN)):
        assert loaded.key_id == signer.verifier.key_id


def test_note_signer_key_form_is_accepted_and_its_name_must_be_the_origin(keyfile: Path, tmp_path: Path) -> None:
    signer = signing.load_signer(keyfile, ORIGIN)
    from cryptography.hazmat.primitives import serialization

    seed = signer.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    encoded = base64.b64encode(signing.ED25519_TYPE + seed).decode()
    text = f"PRIVATE+KEY+{ORIGIN}+{signer.verifier.key_id_hex}+{encoded}"
    note = tmp_path / "note.key"
    note.write_text(text)
    note.chmod(0o600)
    assert signing.load_signer(note, ORIGIN).verifier.key_id == signer.verifier.key_id
    with pytest.raises(SigningKeyError):
        signing.load_signer(note, "other.example/log")


@pytest.mark.parametrize("name", ["", "has space", "a+b", "tab\there"])
def test_key_names_follow_signed_note_rules(name: str) -> None:
    with pytest.raises(SigningKeyError):
        signing.check_key_name(name)


# -- seals ------------------------------------------------------------------------------------------


def test_a_seal_verifies_and_any_changed_field_fails(keyfile: Path) -> None:
    signer = signing.load_signer(keyfile, ORIGIN)
    fields = {"first_seq": 11, "last_seq": 20, "head_hash": HEAD, "prev_head_hash": PREV}
    sig, kid = signing.sign_seal(signer, **fields)  # type: ignore[arg-type]
    assert kid == signer.verifier.key_id_hex
    verifier = signer.verifier

    def check(**changed: object) -> str | None:
        merged = {**fields, **changed}
        return signing.verify_seal(
            verifier, signature=sig, key_id_hex=kid, first_seq=merged["first_seq"],  # type: ignore[arg-type]
            last_seq=merged["last_seq"], head_hash=merged["head_hash"],  # type: ignore[arg-type]
            prev_head_hash=merged["prev_head_hash"],  # type: ignore[arg-type]
        )

    assert check() is None
    assert check(first_seq=12) is not None
    assert check(last_seq=19) is not None
    assert check(head_hash=PREV) is not None
    assert check(prev_head_hash=HEAD) is not None  # a reset re-links to another predecessor: refused


def test_seal_verification_reports_instead_of_raising_on_garbage(keyfile: Path) -> None:
    verifier = signing.load_signer(keyfile, ORIGIN).verifier
    kid = verifier.key_id_hex
    common = {"first_seq": 1, "last_seq": 2, "head_hash": HEAD, "prev_head_hash": PREV}
    for signature, key in ((None, kid), ("", kid), ("%%%", kid), ("QUJD", kid), ("x" * 88, kid), ("QUJD", None),
                           ("QUJD", "deadbeef"), ("ｘ", kid)):
        why = signing.verify_seal(verifier, signature=signature, key_id_hex=key, **common)  # type: ignore[arg-type]
        assert isinstance(why, str) and why


def test_a_signature_by_another_key_does_not_verify(keyfile: Path, tmp_path: Path) -> None:
    genuine = signing.load_signer(keyfile, ORIGIN)
    other_path = tmp_path / "other.key"
    signing.generate(other_path, ORIGIN)
    forger = signing.load_signer(other_path, ORIGIN)
    sig, kid = signing.sign_seal(forger, first_seq=1, last_seq=2, head_hash=HEAD, prev_head_hash=PREV)
    why = signing.verify_seal(genuine.verifier, signature=sig, key_id_hex=kid, first_seq=1, last_seq=2,
                              head_hash=HEAD, prev_head_hash=PREV)
    assert why is not None and "鍵ID" in why
    # Same key id claimed (an attacker copies the id): the signature itself still fails.
    why = signing.verify_seal(genuine.verifier, signature=sig, key_id_hex=genuine.verifier.key_id_hex,
                              first_seq=1, last_seq=2, head_hash=HEAD, prev_head_hash=PREV)
    assert why is not None and "一致しません" in why


def test_configured_keys_unsigned_announces_once_via_the_plugin_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dvflag"):
        keys = signing.configured_keys(None, None, None, announce=True)
    assert (keys.signed, keys.verifier, keys.origin) == (False, None, signing.DEFAULT_ORIGIN)
    assert [r.name for r in caplog.records] == ["dvflag"]
    assert "署名鍵" in caplog.records[0].getMessage()


def test_configured_keys_derive_the_public_key_and_refuse_a_mismatching_one(keyfile: Path, tmp_path: Path) -> None:
    keys = signing.configured_keys(str(keyfile), None, ORIGIN)
    assert keys.signed and keys.verifier is not None
    other = tmp_path / "other.key"
    signing.generate(other, ORIGIN)
    with pytest.raises(SigningKeyError) as err:
        signing.configured_keys(str(keyfile), str(signing.public_path_for(other)), ORIGIN)
    assert err.value.code == "audit.verify_key.mismatch"
    public_only = signing.configured_keys(None, str(signing.public_path_for(keyfile)), ORIGIN)
    assert not public_only.signed and public_only.verifier is not None
    assert public_only.verifier.key_id == keys.verifier.key_id


# -- checkpoints ------------------------------------------------------------------------------------


def test_checkpoint_is_a_c2sp_signed_note(keyfile: Path) -> None:
    signer = signing.load_signer(keyfile, ORIGIN)
    text = cp.format_checkpoint(ORIGIN, 42, HEAD, signer)
    lines = text.split("\n")
    assert lines[:4] == [ORIGIN, "42", base64.b64encode(bytes.fromhex(HEAD)).decode(), ""]
    assert lines[4].startswith(f"— {ORIGIN} ") and lines[5] == ""
    sig = base64.b64decode(lines[4].split(" ")[2])
    assert sig[:4] == signer.verifier.key_id and len(sig) == 68
    signer.verifier.public_key.verify(sig[4:], f"{ORIGIN}\n42\n{lines[2]}\n".encode())  # raises if wrong
    parsed = cp.parse_checkpoint(text)
    assert (parsed.origin, parsed.size, parsed.head_hash, parsed.legacy) == (ORIGIN, 42, HEAD, False)
    assert cp.signature_status(parsed, signer.verifier) == "ok"


def test_checkpoint_signature_status(keyfile: Path, tmp_path: Path) -> None:
    signer = signing.load_signer(keyfile, ORIGIN)
    text = cp.format_checkpoint(ORIGIN, 7, HEAD, signer)
    forged = text.replace("\n7\n", "\n8\n")
    assert cp.signature_status(cp.parse_checkpoint(forged), signer.verifier) == "bad"
    other = tmp_path / "o.key"
    signing.generate(other, ORIGIN)
    assert cp.signature_status(cp.parse_checkpoint(text), signing.load_signer(other, ORIGIN).verifier) == "unknown_key"
    assert cp.signature_status(cp.parse_checkpoint(text), None) == "unknown_key"
    unsigned = cp.format_checkpoint(ORIGIN, 7, HEAD, None)
    assert unsigned == f"{ORIGIN}\n7\n{base64.b64encode(bytes.fromhex(HEAD)).decode()}\n"
    assert cp.signature_status(cp.parse_checkpoint(unsigned), signer.verifier) == "unsigned"


def test_legacy_seq_hash_form_is_still_accepted() -> None:
    parsed = cp.parse_checkpoint(f"  17:{HEAD.upper()}\n")
    assert (parsed.size, parsed.head_hash, parsed.legacy, parsed.origin) == (17, HEAD, True, None)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "just one line\n",
        f"{ORIGIN}\n007\n{base64.b64encode(bytes.fromhex(HEAD)).decode()}\n",
        f"{ORIGIN}\n-1\n{base64.b64encode(bytes.fromhex(HEAD)).decode()}\n",
        f"{ORIGIN}\n7\nnot-base64!\n",
        f"{ORIGIN}\n7\n{base64.b64encode(b'short').decode()}\n",
        f"{ORIGIN}\n7\n{base64.b64encode(bytes.fromhex(HEAD)).decode()}",
        f"{ORIGIN}\n7\n{base64.b64encode(bytes.fromhex(HEAD)).decode()}\nextension\n",
        f"{ORIGIN}\n7\n{base64.b64encode(bytes.fromhex(HEAD)).decode()}\n\n",
        f"{ORIGIN}\n7\n{base64.b64encode(bytes.fromhex(HEAD)).decode()}\n\n- {ORIGIN} QUJDREVG\n",
        f"{ORIGIN}\n7\n{base64.b64encode(bytes.fromhex(HEAD)).decode()}\n\n— {ORIGIN} !!\n",
        f"{ORIGIN}\r\n7\n{base64.b64encode(bytes.fromhex(HEAD)).decode()}\n",
        "x" * (cp.MAX_NOTE_BYTES + 1),
        "12:abc\n",
    ],
)
def test_malformed_checkpoints_are_typed_errors(text: str) -> None:
    with pytest.raises(cp.CheckpointError) as err:
        cp.parse_checkpoint(text)
    assert err.value.code.startswith("audit.checkpoint")
    assert "チェックポイント" in err.value.message


# -- row digests ------------------------------------------------------------------------------------

ROW = {
    "id": 5, "address_no": "000000000000123", "name": "山田\u3000太郎", "sex_code": 1, "birth_date": date(1980, 4, 1),
    "dept_code": "D0201", "dept_name": "こども家庭課", "input_date": date(2024, 4, 1), "release_date": None,
    "row_version": 3, "created_at": "ignored", "updated_at": "ignored",
}


def test_row_digest_changes_with_every_column_that_matters() -> None:
    salt = row_digest.new_salt()
    base = row_digest.row_digest(ROW, salt)
    assert len(base) == 64 and base == row_digest.row_digest(dict(ROW), salt)
    changes = {
        "id": 6, "address_no": "000000000000124", "name": "山田\u3000次郎", "sex_code": 2,
        "birth_date": date(1980, 4, 2), "dept_code": "D0202", "dept_name": "別の課", "input_date": date(2024, 4, 2),
        "release_date": date(2024, 5, 1), "row_version": 4,
    }
    assert set(changes) == set(row_digest.STATE_FIELDS)
    for column, value in changes.items():
        assert row_digest.row_digest({**ROW, column: value}, salt) != base, column
    assert row_digest.row_digest({**ROW, "updated_at": "other"}, salt) == base


def test_row_digest_is_salted_so_a_guess_cannot_be_confirmed_without_the_salt() -> None:
    a, b = row_digest.new_salt(), row_digest.new_salt()
    assert a != b and len(a) == row_digest.SALT_HEX_LEN
    assert row_digest.row_digest(ROW, a) != row_digest.row_digest(ROW, b)
    unsalted = hashlib.sha256(repr(sorted(row_digest.row_state(ROW).items())).encode()).hexdigest()
    assert unsalted != row_digest.row_digest(ROW, a)
    secret = os.urandom(32)
    assert row_digest.derived_salt(secret, 5) == row_digest.derived_salt(secret, 5)
    assert row_digest.derived_salt(secret, 5) != row_digest.derived_salt(secret, 6)
    assert row_digest.derived_salt(secret, 5) != row_digest.derived_salt(os.urandom(32), 5)


def test_row_state_reads_a_row_object_and_a_driver_datetime_as_a_date() -> None:
    from datetime import datetime
    from types import SimpleNamespace

    as_row = SimpleNamespace(**{**ROW, "birth_date": datetime(1980, 4, 1)})  # noqa: DTZ001 - a driver's DATE value
    assert row_digest.row_state(as_row) == row_digest.row_state(ROW)


# -- wired: the CLI, the host function, startup ------------------------------------------------------


def _cli(*args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    from click.testing import CliRunner

    from dvflag_plugin.cli.main import main

    result = CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def test_cli_keygen_signed_checkpoint_and_verify(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from dvflag_plugin.storage.schema import audit_event, audit_seal

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    key = tmp_path / "seal.key"
    out = _cli("audit", "keygen", "--out", str(key), "--origin", ORIGIN)
    assert str(signing.public_path_for(key)) in out and oct(key.stat().st_mode & 0o777) == "0o600"
    assert "既にファイルがあります" in _cli("audit", "keygen", "--out", str(key), "--origin", ORIGIN, code=2)
    env = {"DVFLAG_AUDIT_SIGNING_KEY": str(key), "DVFLAG_AUDIT_ORIGIN": ORIGIN}
    _cli("db", "upgrade", "--url", url)
    for n in range(3):
        _cli("users", "add", f"u-{n}", "--dept", "D0201", "--role", "viewer", "--url", url, env=env)
    note = tmp_path / "cp.txt"
    _cli("audit", "checkpoint", "--url", url, "--out", str(note), env=env)
    parsed = cp.parse_checkpoint(note.read_text(encoding="utf-8"))
    verifier = signing.load_verifier(signing.public_path_for(key), ORIGIN)
    assert (parsed.origin, parsed.size, cp.signature_status(parsed, verifier)) == (ORIGIN, 3, "ok")
    assert "既にファイルがあります" in _cli("audit", "checkpoint", "--url", url, "--out", str(note), env=env, code=2)
    # The auditor verifies with the public key only.
    public_env = {"DVFLAG_AUDIT_VERIFY_KEY": str(signing.public_path_for(key)), "DVFLAG_AUDIT_ORIGIN": ORIGIN}
    out = _cli("audit", "verify", "--url", url, "--checkpoint", str(note), env={**public_env,
               "DVFLAG_AUDIT_SIGNING_KEY": ""})
    assert "正常" in out and "検証済み" in out
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        events = conn.execute(sa.select(audit_event.c.action, audit_event.c.details)).all()
        seals = conn.execute(sa.select(audit_seal.c.signature, audit_seal.c.key_id)).all()
    reads = [d for a, d in events if a == "audit"]
    assert any('"op":"checkpoint"' in d for d in reads)
    assert not any('"op":"verify"' in d for d in reads)  # with the public key alone it writes no event
    assert seals and all(s.signature and s.key_id == verifier.key_id_hex for s in seals)
    # A forged checkpoint (size changed, signature kept) is refused.
    forged = tmp_path / "forged.txt"
    forged.write_text(note.read_text(encoding="utf-8").replace(f"\n{parsed.size}\n", "\n2\n"), encoding="utf-8")
    out = _cli("audit", "verify", "--url", url, "--checkpoint", str(forged), env=public_env, code=1)
    assert "チェックポイントの署名" in out
    # A malformed checkpoint is a typed error, and the attempt is audited.
    bad = tmp_path / "bad.txt"
    bad.write_text("garbage\n", encoding="utf-8")
    assert "audit.checkpoint" in _cli("audit", "verify", "--url", url, "--checkpoint", str(bad), env=env, code=2)
    engine.dispose()


def test_cli_seal_without_the_key_after_a_signed_seal_exits_4_naming_the_setting(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from dvflag_plugin.audit import chain
    from dvflag_plugin.storage.schema import audit_event, audit_seal, chain_head
    from dvflag_plugin.storage.transactions import transaction

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    key = tmp_path / "seal.key"
    signing.generate(key, ORIGIN)
    env = {"DVFLAG_AUDIT_SIGNING_KEY": str(key), "DVFLAG_AUDIT_ORIGIN": ORIGIN}
    keyless = {"DVFLAG_AUDIT_SIGNING_KEY": "", "DVFLAG_AUDIT_ORIGIN": ORIGIN}
    _cli("db", "upgrade", "--url", url)
    _cli("users", "add", "u-1", "--dept", "D0201", "--role", "viewer", "--url", url, env=env)  # sealed, signed
    engine = sa.create_engine(url)

    def state() -> tuple[object, ...]:
        with engine.connect() as conn:
            return (
                conn.execute(sa.select(sa.func.count()).where(audit_event.c.sealed == 0)).scalar_one(),
                [tuple(r) for r in conn.execute(sa.select(audit_seal).order_by(audit_seal.c.id))],
                tuple(conn.execute(sa.select(chain_head)).one()),
            )

    # A keyless command refuses to start on the signed trail (tests/test_keyless_refused.py): it queues
    # nothing, and its seal cannot add an unsigned seal after the signed one.
    _cli("users", "add", "u-2", "--dept", "D0201", "--role", "viewer", "--url", url, env=keyless, code=4)
    with transaction(engine) as conn:  # an event queued by hand: the keyless seal leaves it waiting
        chain.enqueue(conn, chain.Draft("cli:op", "-", "users", None, "ok", None, {"op": "list"}),
                      now=datetime.now(UTC))
    before = state()
    assert before[0] == 1
    out = _cli("audit", "seal", "--url", url, code=4, env=keyless)
    assert "dvflag.audit_signing_key" in out and "署名鍵" in out and "busy" not in out
    assert state() == before  # refused: nothing sealed, no seal row, the head where it was
    shown = " ".join(_cli("audit", "seal", "--help").split())
    assert "4 署名鍵が必要" in shown and "a signing key is needed" in shown
    out = _cli("audit", "seal", "--url", url, "--key", str(key), env={"DVFLAG_AUDIT_ORIGIN": ORIGIN})
    assert "sealed: 1 件" in out
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(audit_event.c.sealed == 0)).scalar_one() == 0
        assert all(s.signature for s in conn.execute(sa.select(audit_seal)))
    engine.dispose()


def test_startup_refuses_an_open_key_file_and_warns_once_without_a_key(
    engine: object, data: object, clock: object, tmp_path: Path, caplog: pytest.LogCaptureFixture, keyfile: Path
) -> None:
    from dvflag_plugin.mockhost import MockHost

    keyfile.chmod(0o644)
    with pytest.raises(SigningKeyError) as err:
        MockHost(engine, data=data, clock=clock, settings={"dvflag.audit_signing_key": str(keyfile),  # type: ignore[arg-type]
                                                             "dvflag.audit_origin": ORIGIN}, migrate=False)
    assert err.value.code == "audit.signing_key.permissions"
    with caplog.at_level(logging.WARNING, logger="dvflag"):
        host = MockHost(engine, data=data, clock=clock, migrate=False)  # type: ignore[arg-type]
        host.close()
    assert sum("署名鍵" in r.getMessage() for r in caplog.records) == 1


def test_host_function_checkpoint_and_verify_with_a_signed_note(
    engine: object, data: object, clock: object, tmp_path: Path, keyfile: Path
) -> None:
    from dvflag_plugin.plugin import service_of
    from helpers import make_host

    host = make_host(engine, data, clock, tmp_path,  # type: ignore[arg-type]
                     {"dvflag.audit_signing_key": str(keyfile), "dvflag.audit_origin": ORIGIN})
    try:
        auditor = host.actor("u-kansa-audit1")
        number = next(p.address_no for p in host.data.people if p.in_master)
        reg = host.call("dvflag.register", host.actor("u-kodomo-reg1"), address_no=number)
        service = service_of(host.pm)
        point = service.audit(auditor, {"op": "checkpoint"})
        assert isinstance(point, dict) and cp.parse_checkpoint(point["note"]).size == point["seq"]
        result = service.audit(auditor, {"op": "verify", "checkpoint": point["note"]})
        assert (result.ok, result.signature, result.checkpoint) == (True, "verified", "ok")  # type: ignore[union-attr]
        event = next(e for e in host.masters.audit_copy if e.action == "register")
        assert len(event.details["row_digest"]) == 64 and event.details["row_version"] == reg.row_version
        assert len(event.details[signing.AUTH_FIELD]) == 32
        with pytest.raises(cp.CheckpointError):
            service.audit(auditor, {"op": "verify", "checkpoint": "not a checkpoint"})
    finally:
        host.close()


def test_a_key_configured_later_signs_from_the_next_read_on(
    engine: object, data: object, clock: object, tmp_path: Path, keyfile: Path
) -> None:
    from dvflag_plugin.mockhost import MockHost
    from dvflag_plugin.plugin import service_of
    from helpers import make_host

    before = make_host(engine, data, clock, tmp_path)  # type: ignore[arg-type]  # no key yet
    before.call("dvflag.status", before.actor("u-kodomo-view1"), address_no="000000000000001")
    service_of(before.pm).runtime.seal()
    before.close()
    host = MockHost(engine, data=data, clock=clock, migrate=False,  # type: ignore[arg-type]
                    settings={"dvflag.audit_signing_key": str(keyfile), "dvflag.audit_origin": ORIGIN})
    try:
        result = service_of(host.pm).audit(host.actor("u-kansa-audit1"), {"op": "verify"})
        assert (result.ok, result.signature) == (True, "verified")  # type: ignore[union-attr]
        marker = next(e for e in host.masters.audit_copy if e.details.get("op") == "key_in_use")
        assert marker.details["key_id"] == signing.load_signer(keyfile, ORIGIN).verifier.key_id_hex
    finally:
        host.close()
