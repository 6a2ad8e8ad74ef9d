"""Oracle readiness without an Oracle server (DESIGN §7, issue 4 item 5).

- Golden files of the offline Oracle script for every migration step, upgrade and downgrade, and for
  the whole install/uninstall (``tests/golden/``); ``DVFLAG_UPDATE_GOLDEN=1`` rewrites them.
- The scripts run as printed in SQL*Plus/SQLcl: each statement followed by a line ``/``, no bind
  variables, no ``RETURNING … INTO``, no ``;`` before a ``/`` (it would run twice), no blank line
  inside a statement, no ``&`` (substitution variables), no quoted identifiers, a final COMMIT.
- Names: every table, column, index and constraint of the metadata and of the migrations' DDL is
  ≤ 30 bytes, lower-case ASCII and not one of Oracle's reserved words.
- The migrations create exactly the metadata: Alembic's autogenerate finds no difference on the live
  backends, and for Oracle the CREATE statements of the script equal the metadata's.
- The DDL is the same whatever Oracle version (12.2 … 23ai) the dialect believes it talks to.
- '' is NULL: empty strings in parameters never reach the database.
- ``DVFLAG_TEST_ORACLE_URL`` adds the ``oracle`` backend to the parametrisation, only when set.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import oracle
from sqlalchemy.dialects.oracle.base import RESERVED_WORDS as SQLALCHEMY_ORACLE_RESERVED
from sqlalchemy.dialects.oracle.base import OracleDialect
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.schema import CreateIndex, CreateTable

from dvflag_plugin.errors import ValidationError
from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.storage import migrate
from dvflag_plugin.storage.oracle_words import (
    PLSQL_RESERVED_WORDS,
    RESERVED_WORDS,
    SQL_RESERVED_WORDS,
    identifier_problems,
    lint_identifiers,
)
from dvflag_plugin.storage.schema import OWN_TABLES, VERSION_TABLE, metadata
from dvflag_plugin.testing import backends

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("DVFLAG_UPDATE_GOLDEN") == "1"
REPO = Path(__file__).resolve().parents[1]


# -- the migration steps and their scripts ------------------------------------------------------


def _steps() -> list[tuple[str, str]]:
    """(down_revision or 'base', revision) from the first migration to the head, in order."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    steps = []
    for rev in script.walk_revisions("base", "heads"):
        down = rev.down_revision
        assert down is None or isinstance(down, str), f"merge revisions are not expected: {rev.revision}"
        steps.append((down or "base", rev.revision))
    return list(reversed(steps))


STEPS = _steps()
SCRIPTS: dict[str, tuple[str, bool]] = {
    **{f"oracle_upgrade_{rev}.sql": (f"{down}:{rev}", False) for down, rev in STEPS},
    **{f"oracle_downgrade_{rev}.sql": (f"{rev}:{down}", True) for down, rev in STEPS},
    "oracle_install_base_to_head.sql": ("base:head", False),
    "oracle_uninstall_head_to_base.sql": ("head:base", True),
}
"""Golden file name → (revision range, downgrade?)."""


def _offline(name: str) -> str:
    revision_range, down = SCRIPTS[name]
    return migrate.offline_sql("oracle", revision_range=revision_range, downgrade_=down)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_offline_oracle_script_matches_golden_file(name: str) -> None:
    actual = _offline(name)
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
    assert path.is_file(), f"missing golden file {path}; write it with DVFLAG_UPDATE_GOLDEN=1 and review it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"the offline Oracle script {name} changed; if intended, rerun with DVFLAG_UPDATE_GOLDEN=1 "
        "and review the diff (a DBA runs these scripts as printed)"
    )


def test_default_range_is_the_whole_install() -> None:
    """``dvflag db sql --dialect oracle`` (range "head") prints the install script of the golden file."""
    assert migrate.offline_sql("oracle") == _offline("oracle_install_base_to_head.sql")
    assert migrate.offline_sql("oracle", revision_range=f"{migrate.head_revision()}:base", downgrade_=True) == (
        _offline("oracle_uninstall_head_to_base.sql")
    )


def test_no_stale_golden_files() -> None:
    present = {p.name for p in GOLDEN.glob("oracle_*.sql")}
    assert present == set(SCRIPTS), f"golden files without a migration step: {sorted(present - set(SCRIPTS))}"


# -- runnable as printed in SQL*Plus / SQLcl ------------------------------------------------------

_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")
_BIND = re.compile(r"(?<![:\w]):(?:[A-Za-z_]\w*|\d+)")
_ALLOWED_STATEMENT = re.compile(
    r"(CREATE TABLE|CREATE (UNIQUE )?INDEX|DROP TABLE|DROP INDEX|ALTER TABLE|INSERT INTO|UPDATE|DELETE FROM|COMMIT)\b"
)


def sqlplus_statements(script: str) -> list[str]:
    """Split a script as SQL*Plus runs it: a line holding only ``/`` runs the buffer.

    Comment lines (``--``) are dropped; text left without a ``/`` after it is an error, and so is a
    blank line inside a statement (SQL*Plus ends the statement there).
    """
    statements: list[str] = []
    buffer: list[str] = []
    for number, line in enumerate(script.splitlines(), start=1):
        if line.strip() == "/":
            body = "\n".join(buffer).strip("\n")
            assert body.strip(), f"line {number}: '/' with nothing to run (would rerun the previous statement)"
            assert "\n\n" not in body and not re.search(r"\n\s*\n", body), (
                f"line {number}: blank line inside a statement (SQL*Plus would cut it there):\n{body}"
            )
            statements.append(body)
            buffer = []
        elif line.lstrip().startswith("--"):
            continue
        elif buffer or line.strip():
            buffer.append(line)
    rest = "\n".join(buffer).strip()
    assert not rest, f"statement without a following '/':\n{rest}"
    return statements


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_runs_as_printed_in_sqlplus(name: str) -> None:
    script = _offline(name)
    statements = sqlplus_statements(script)
    assert statements, "empty script"
    assert "&" not in script, "'&' starts a SQL*Plus substitution variable"
    assert '"' not in script, "quoted identifiers become case-sensitive in Oracle"
    assert not any(ord(ch) > 127 for ch in script), "keep the script ASCII: client NLS_LANG cannot mangle it"
    for line in script.splitlines():
        # SQL*Plus reads '#' (SQLPREFIX) and '@' at a line start as its own commands, and a
        # trailing '-' as a command continuation.
        assert not line.lstrip().startswith(("#", "@", "REM ")), line
        assert not line.rstrip().endswith("-") or line.lstrip().startswith("--"), line
    for statement in statements:
        unquoted = _STRING_LITERAL.sub("''", statement)
        assert not _BIND.search(unquoted), f"bind variable in: {statement}"
        assert not re.search(r"\bRETURNING\b", unquoted, re.I), f"RETURNING … INTO in: {statement}"
        assert not unquoted.rstrip().endswith(";"), f"';' before '/' runs the statement twice: {statement}"
        assert _ALLOWED_STATEMENT.match(statement), f"unexpected statement kind: {statement}"
    # Oracle DDL commits by itself; the version row is DML and must be committed by the script.
    assert statements[-1] == "COMMIT"
    dml = [s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert dml, "every step records its version"


def test_sqlplus_splitter_catches_the_traps() -> None:
    """The checks above can fail: each trap is caught."""
    with pytest.raises(AssertionError, match="without a following"):
        sqlplus_statements("CREATE TABLE t (a INTEGER)\n")
    with pytest.raises(AssertionError, match="blank line"):
        sqlplus_statements("CREATE TABLE t (\n\n a INTEGER)\n/\n")
    with pytest.raises(AssertionError, match="nothing to run"):
        sqlplus_statements("COMMIT\n/\n/\n")
    unquoted = _STRING_LITERAL.sub("''", "UPDATE t SET a = :a_1 WHERE b = 'x:y' AND c = ':z'")
    assert _BIND.findall(unquoted) == [":a_1"]
    assert not _BIND.search(_STRING_LITERAL.sub("''", "INSERT INTO t VALUES ('12:30', 'a''b:c')"))


def test_install_script_creates_every_table_and_uninstall_drops_them() -> None:
    install = _offline("oracle_install_base_to_head.sql")
    created = set(re.findall(r"^CREATE TABLE (\w+)", install, re.M))
    assert created == OWN_TABLES
    # 0004 sets the 0003 audit table aside, copies it and drops it; the final tables are OWN_TABLES.
    assert set(re.findall(r"^DROP TABLE (\w+)", install, re.M)) == {"dvf_audit_event_v3"}
    uninstall = _offline("oracle_uninstall_head_to_base.sql")
    dropped = set(re.findall(r"^DROP TABLE (\w+)", uninstall, re.M))
    assert dropped == (OWN_TABLES - {VERSION_TABLE}) | {"dvf_audit_event_v4"}  # Alembic keeps its version table
    assert "INSERT INTO dvf_chain_head" in install  # the single head row, as a literal


# -- names: ≤ 30 bytes, lower-case ASCII, not reserved -----------------------------------------


def test_reserved_word_list_is_oracles_own_and_longer_than_sqlalchemys() -> None:
    assert len(RESERVED_WORDS) > len(SQLALCHEMY_ORACLE_RESERVED)
    assert SQLALCHEMY_ORACLE_RESERVED <= RESERVED_WORDS
    # The traps DESIGN §7 names, and words SQLAlchemy's list lacks.
    for word in ("USER", "COMMENT", "DATE", "LEVEL", "SIZE", "MODE", "NUMBER", "AUDIT", "SESSION",
                 "ACCESS", "FILE", "ROW", "UID", "ROWNUM", "SYSDATE", "VALIDATE", "SUCCESSFUL"):  # fmt: skip
        assert word in SQL_RESERVED_WORDS, word
    for word in ("BEGIN", "END", "TYPE", "SQL", "CURSOR", "PROCEDURE", "WHEN"):
        assert word in PLSQL_RESERVED_WORDS, word
    assert {"AUDIT", "SESSION", "ROWNUM", "BEGIN", "TYPE"} - SQLALCHEMY_ORACLE_RESERVED


def test_identifier_rules_reject_the_traps() -> None:
    assert identifier_problems("dvf_registration") == []
    assert "an Oracle reserved word" in identifier_problems("comment")
    assert "an Oracle reserved word" in identifier_problems("type")
    assert any("30 bytes" in p for p in identifier_problems("uq_dvf_registration_address_no_dept"))
    assert "not ASCII" in identifier_problems("氏名")
    assert any("lower-case" in p for p in identifier_problems("Dept_Code"))


def _metadata_names() -> Iterator[tuple[str, str]]:
    """(kind, name) of every table, column, index and constraint of the metadata, as Oracle gets them."""
    dialect = oracle.dialect()
    for table in metadata.sorted_tables:
        yield "table", table.name
        for column in table.columns:
            yield "column", f"{table.name}.{column.name}"
        for index in table.indexes:
            created = re.match(r"CREATE (?:UNIQUE )?INDEX (\S+)", str(CreateIndex(index).compile(dialect=dialect)))
            assert created, index.name
            yield "index", created.group(1)
        ddl = str(CreateTable(table).compile(dialect=dialect))
        for name in re.findall(r"CONSTRAINT (\S+)", ddl):
            yield "constraint", name
        # Every constraint is named explicitly (Oracle's SYS_C… names differ per database).
        assert len(re.findall(r"CONSTRAINT (\S+)", ddl)) == len(table.constraints), table.name


# Names that exist only while the scripts run: 0004 renames the 0003 audit table aside to copy it,
# and moves the head's counters to dvf_counter; 0006 replaces the seq constraint by a unique index of
# the same name.
TRANSIENT_NAMES = {
    ("table", "dvf_audit_event_v3"), ("column", "dvf_chain_head.change_no"),
    ("column", "dvf_chain_head.output_no"), ("constraint", "uq_dvf_audit_event_seq"),
}  # fmt: skip


def _script_names(script: str) -> Iterator[tuple[str, str]]:
    """(kind, name) of every identifier the Oracle install script defines."""
    for statement in sqlplus_statements(script):
        if m := re.match(r"ALTER TABLE (\S+) RENAME TO (\S+)\Z", statement):
            yield "table", m.group(2)
        if m := re.match(r"CREATE TABLE (\S+) \(\n(.*)\n\)\Z", statement, re.S):
            table = m.group(1)
            yield "table", table
            for line in m.group(2).splitlines():
                word = line.split()[0]
                if word == "CONSTRAINT":
                    yield "constraint", line.split()[1]
                else:
                    yield "column", f"{table}.{word}"
        elif m := re.match(r"CREATE (?:UNIQUE )?INDEX (\S+) ON (\S+)", statement):
            yield "index", m.group(1)


def test_metadata_names_fit_oracle() -> None:
    names = list(_metadata_names())
    assert len(names) > 50
    assert lint_identifiers(names) == []


def test_migration_ddl_names_fit_oracle() -> None:
    names = list(_script_names(_offline("oracle_install_base_to_head.sql")))
    assert {n for k, n in names if k == "table"} == OWN_TABLES | {n for k, n in TRANSIENT_NAMES if k == "table"}
    assert lint_identifiers(names) == []
    # The same identifiers as the metadata (plus Alembic's version table and its key).
    from_metadata = set(_metadata_names())
    assert set(names) - from_metadata == {
        ("table", VERSION_TABLE), ("column", f"{VERSION_TABLE}.version_num"), ("constraint", "dvf_alembic_version_pkc"),
    } | TRANSIENT_NAMES  # fmt: skip
    assert from_metadata <= set(names)


def test_lint_catches_a_bad_name() -> None:
    """The lint can fail: a table shaped like the traps of DESIGN §7 is reported on every count."""
    bad = sa.Table(
        "dvf_bad", sa.MetaData(), sa.Column("user", sa.String(8)), sa.Column("Comment", sa.String(8)),
        sa.Column("a_column_name_that_is_far_too_long_for_oracle", sa.Integer),
    )  # fmt: skip
    found = lint_identifiers(("column", f"{bad.name}.{c.name}") for c in bad.columns)
    assert len(found) == 3, found


# -- the migrations create exactly the metadata -------------------------------------------------


def _normalised_create(statement: str) -> tuple[str, frozenset[str]]:
    """A CREATE TABLE as (header, set of element lines), whitespace and element order ignored."""
    lines = [line.strip().rstrip(",").strip() for line in statement.strip().splitlines()]
    return lines[0], frozenset(line for line in lines[1:] if line not in {"", ")"})


def test_oracle_script_creates_exactly_the_metadata() -> None:
    dialect = oracle.dialect()
    statements = sqlplus_statements(_offline("oracle_install_base_to_head.sql"))
    script_tables: dict[str, frozenset[str]] = {}
    for s in statements:  # the last CREATE of a table, less the columns and constraints later ALTERs drop
        if s.startswith("CREATE TABLE"):
            header, elements = _normalised_create(s)
            script_tables[header] = elements
        elif m := re.match(r"ALTER TABLE (\w+) DROP (COLUMN|CONSTRAINT) (\w+)\Z", s):
            header = f"CREATE TABLE {m.group(1)} ("
            if header not in script_tables:  # a table renamed aside (0004's copy of 0003's events)
                continue
            dropped = m.group(3) if m.group(2) == "COLUMN" else f"CONSTRAINT {m.group(3)}"
            script_tables[header] = frozenset(e for e in script_tables[header] if not e.startswith(dropped + " "))
    script_indexes = {" ".join(s.split()) for s in statements if re.match(r"CREATE (UNIQUE )?INDEX", s)}
    for table in metadata.sorted_tables:
        header, elements = _normalised_create(str(CreateTable(table).compile(dialect=dialect)))
        assert script_tables[header] == elements, table.name
        for index in table.indexes:
            assert " ".join(str(CreateIndex(index).compile(dialect=dialect)).split()) in script_indexes


def test_autogenerate_finds_no_difference(engine: sa.Engine) -> None:
    """On each live backend, the migrated schema equals the metadata (own tables only)."""

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return type_ != "table" or (name is not None and name in OWN_TABLES)

    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": include_name,
                "version_table": VERSION_TABLE,
                "target_metadata": metadata,
            },
        )
        assert compare_metadata(ctx, metadata) == []
        assert migrate.current_revision(conn) == migrate.head_revision()


def test_autogenerate_would_see_a_difference(engine: sa.Engine) -> None:
    """The comparison above can fail: a column the database lacks is reported."""
    extended = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(extended)
    sa.Table("dvf_chain_head", extended, sa.Column("extra_no", sa.Integer), extend_existing=True)

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return type_ != "table" or (name is not None and name in OWN_TABLES)

    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_name": include_name, "target_metadata": extended, "version_table": VERSION_TABLE}
        )
        diffs = compare_metadata(ctx, extended)
    assert [d[0] for d in diffs] == ["add_column"]


def test_live_schema_names_fit_oracle(engine: sa.Engine) -> None:
    """What the migrations really created on each backend (reflected) passes the lint too."""
    inspector = sa.inspect(engine)
    names: list[tuple[str, str]] = []
    tables = [t for t in inspector.get_table_names() if t in OWN_TABLES]
    assert set(tables) == OWN_TABLES
    for table in tables:
        names.append(("table", table))
        names += [("column", f"{table}.{c['name']}") for c in inspector.get_columns(table)]
        names += [("index", str(i["name"])) for i in inspector.get_indexes(table)]
        names += [("constraint", str(u["name"])) for u in inspector.get_unique_constraints(table)]
        names += [("constraint", str(f["name"])) for f in inspector.get_foreign_keys(table)]
        pk_name = inspector.get_pk_constraint(table)["name"]
        # MariaDB names every primary key PRIMARY; SQLite's INTEGER PRIMARY KEY AUTOINCREMENT is a
        # column clause without a name. Oracle gets the named constraints (see the golden scripts).
        if engine.dialect.name != "mysql" and not (engine.dialect.name == "sqlite" and pk_name is None):
            names.append(("constraint", str(pk_name)))
    assert lint_identifiers(names) == []


# -- DDL pinned for Oracle 12.2 … 23ai --------------------------------------------------------------

ORACLE_VERSIONS = [(12, 2), (18, 3), (19, 22), (21, 3), (23, 4), (23, 9)]


def _oracle_as(version: tuple[int, ...]) -> OracleDialect:
    """An Oracle dialect initialised as if connected to ``version`` (flags set by its initialize())."""
    dialect = oracle.dialect()
    dialect.server_version_info = version
    with mock.patch.object(DefaultDialect, "initialize", return_value=None):
        OracleDialect.initialize(dialect, None)
    dialect.max_identifier_length = 30 if version < (12, 2) else 128
    return dialect


def _ddl(dialect: sa.Dialect) -> str:
    parts = []
    for table in metadata.sorted_tables:
        parts.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        parts += [str(CreateIndex(i).compile(dialect=dialect)).strip() for i in table.indexes]
    return "\n".join(parts)


def test_ddl_is_the_same_for_every_oracle_version() -> None:
    versions = {v: _oracle_as(v) for v in ORACLE_VERSIONS}
    # The flags really differ between these versions ...
    assert not versions[(19, 22)].supports_native_boolean and versions[(23, 4)].supports_native_boolean
    assert not versions[(19, 22)]._supports_oracle_json and versions[(21, 3)]._supports_oracle_json
    # ... and the DDL does not, nor does it differ from the offline dialect's (``alembic --sql``).
    reference = _ddl(oracle.dialect())
    for version, dialect in versions.items():
        assert _ddl(dialect) == reference, f"DDL differs for Oracle {version}"
    identity = "INTEGER GENERATED BY DEFAULT AS IDENTITY (START WITH 1)"
    assert reference.count(identity) == 2  # dvf_registration.id and dvf_app_user.id
    for absent in ("BOOLEAN", "JSON", "NVARCHAR", "NCLOB", "BLOB", "LONG", "ON NULL"):
        assert absent not in reference, absent
    assert re.search(r"details CLOB NOT NULL", reference)
    assert "VARCHAR2(400 CHAR)" in reference  # character semantics, whatever NLS_LENGTH_SEMANTICS says


def test_version_dependent_types_would_show() -> None:
    """The comparison above can fail: a Boolean or JSON column renders differently per version."""
    probe = sa.Table("dvf_probe", sa.MetaData(), sa.Column("flag", sa.Boolean), sa.Column("doc", sa.JSON))
    old = str(CreateTable(probe).compile(dialect=_oracle_as((19, 22))))
    new = str(CreateTable(probe).compile(dialect=_oracle_as((23, 4))))
    assert old != new


def test_every_statement_of_a_walkthrough_compiles_the_same_for_oracle_12_2_and_23ai(host: MockHost) -> None:
    """Every query the service runs in a walkthrough of the host functions, compiled for Oracle."""
    seen: list[Any] = []

    def record(conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any) -> None:
        seen.append(clauseelement)

    sa.event.listen(host.engine, "before_execute", record)
    try:
        registrar, viewer = host.actor("u-kodomo-reg1"), host.actor("u-kodomo-view1")
        number = next(p.address_no for p in host.data.people if p.in_master)
        reg = host.call("dvflag.register", registrar, address_no=number)
        host.notices(viewer, [number])
        host.notices(viewer, [number, "000000000000002"])
        host.call("dvflag.status", viewer, address_no=number)
        host.call("dvflag.search", viewer, name="田", state="all")
        reg = host.call("dvflag.update", registrar, record_id=reg.record_id, row_version=reg.row_version, sex_code=0)
        reg = host.call("dvflag.release", registrar, record_id=reg.record_id, row_version=reg.row_version)
        reg = host.call("dvflag.unrelease", registrar, record_id=reg.record_id, row_version=reg.row_version)
        host.call("dvflag.review_due", registrar)
        host.advice(registrar, number)
        host.call("dvflag.export", registrar, format="csv", scope="own")
        host.call("dvflag.users", host.actor("u-joho-admin1"), op="list")
        host.call("dvflag.audit", host.actor("u-kansa-audit1"), op="verify")
        host.call(
            "dvflag.delete", registrar, record_id=reg.record_id, row_version=reg.row_version, reason="mistaken_entry"
        )
    finally:
        sa.event.remove(host.engine, "before_execute", record)
    from dvflag_plugin.audit import chain, sealer
    from dvflag_plugin.storage import counters

    # The hot-path statements go to the driver precompiled on the tested dialects (storage/prepared.py).
    hot = [chain.insert_event.statement, counters._read]
    statements = [s for s in seen if isinstance(s, sa.sql.ClauseElement)] + [sealer._head_try_lock, *hot]
    old, new = _oracle_as((12, 2)), _oracle_as((23, 4))
    compiled = set()
    for statement in statements:
        sql = str(statement.compile(dialect=old))
        assert sql == str(statement.compile(dialect=new)), sql
        compiled.add(sql)
    assert len(compiled) > 15
    text = "\n".join(compiled)
    assert re.search(r"FROM dvf_chain_head\s+WHERE dvf_chain_head\.id = :id_1 FOR UPDATE SKIP LOCKED", text)
    for sql in compiled:
        assert not re.search(r"\b(LIMIT|OFFSET|ILIKE)\b", sql), sql  # not Oracle SQL
        for bind in re.findall(r":(\w+)", _STRING_LITERAL.sub("''", sql)):
            assert len(bind.encode()) <= 30 and bind.upper() not in RESERVED_WORDS, (bind, sql)


# -- '' is NULL ---------------------------------------------------------------------------------


def _empty_strings(parameters: Any) -> list[Any]:
    if isinstance(parameters, str):
        return [parameters] if parameters == "" else []
    if isinstance(parameters, dict):
        return [v for value in parameters.values() for v in _empty_strings(value)]
    if isinstance(parameters, list | tuple):
        return [v for value in parameters for v in _empty_strings(value)]
    return []


@pytest.fixture
def statements(host: MockHost) -> Iterator[list[tuple[str, Any]]]:
    """Every (statement, parameters) the engine sends while the test runs."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, parameters))

    sa.event.listen(host.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(host.engine, "before_cursor_execute", record)


def test_empty_strings_mean_absent_and_never_reach_the_database(
    host: MockHost, statements: list[tuple[str, Any]]
) -> None:
    registrar = host.actor("u-kodomo-reg1")
    in_master = next(p for p in host.data.people if p.in_master)
    today = host.clock().astimezone(host_tz(host)).date()
    reg = host.call(
        "dvflag.register", registrar, address_no=in_master.address_no, dept_code="", dept_name="",
        input_date="", name="", sex_code="", birth_date="",
    )  # fmt: skip
    assert reg.dept_code == registrar.dept_code  # '' → own department
    assert reg.input_date == today  # '' → today
    assert reg.name == in_master.name  # '' → from the address master
    # Full-width spaces only count as empty too (Japanese IME input).
    updated = host.call(
        "dvflag.update", registrar, record_id=reg.record_id, row_version=reg.row_version, name="\u3000", sex_code=0,
    )  # fmt: skip
    assert (updated.name, updated.sex_code) == (in_master.name, 0)
    found = host.call("dvflag.search", registrar, name="", dept_code="", state="", input_from="", input_to="")
    assert [r.record_id for r in found.rows] == [reg.record_id]
    released = host.call(
        "dvflag.release", registrar, record_id=reg.record_id, row_version=updated.row_version, release_date=""
    )
    assert released.release_date == today  # '' → today
    assert statements, "the listener saw nothing"
    leaked = [(s, p) for s, p in statements if _empty_strings(p)]
    assert leaked == [], f"'' reached the database (Oracle stores it as NULL): {leaked[:3]}"


def host_tz(host: MockHost) -> Any:
    """The municipality's time zone of the host's settings (JST by default)."""
    from dvflag_plugin.plugin import service_of

    return service_of(host.pm).runtime.settings.tz


@pytest.mark.parametrize(
    ("function", "params", "field"),
    [
        ("dvflag.register", {"address_no": ""}, "address_no"),
        ("dvflag.register", {"address_no": "\u3000"}, "address_no"),
        ("dvflag.release", {"record_id": "", "row_version": 1}, "record_id"),
        ("dvflag.update", {"record_id": 1, "row_version": "", "name": "x"}, "row_version"),
        ("dvflag.delete", {"record_id": 1, "row_version": 1, "reason": ""}, "reason"),
        ("dvflag.status", {"address_no": ""}, "address_no"),
    ],
)
def test_required_field_given_as_empty_string_is_required_error(
    host: MockHost, function: str, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        host.call(function, host.actor("u-kodomo-reg1"), **params)
    assert (info.value.field, info.value.rule) == (field, "required"), info.value


def test_manual_entry_with_empty_name_is_required_error(host: MockHost) -> None:
    outside = next(p for p in host.data.people if not p.in_master)  # 住登外: nothing to resolve
    with pytest.raises(ValidationError) as info:
        host.call(
            "dvflag.register", host.actor("u-kodomo-reg1"), address_no=outside.address_no, name="",
            sex_code=outside.sex_code, birth_date=outside.birth_date.isoformat(),
        )  # fmt: skip
    assert (info.value.field, info.value.rule) == ("name", "required")


# -- DVFLAG_TEST_ORACLE_URL -----------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DVFLAG_TEST_ORACLE_URL", "DVFLAG_BACKENDS"}}
    env.update(extra)
    return env


def test_oracle_backend_only_when_its_url_is_set() -> None:
    code = "from dvflag_plugin.testing import backends; print(','.join(backends.BACKENDS))"
    without = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, check=True)
    assert without.stdout.split() == ["sqlite,postgresql,mariadb"]
    url = "oracle+oracledb://dvflag_test:x@127.0.0.1:9/?service_name=FREEPDB1"
    with_url = subprocess.run(
        [sys.executable, "-c", code], env=_env(DVFLAG_TEST_ORACLE_URL=url), capture_output=True, text=True, check=True
    )
    assert with_url.stdout.split() == ["sqlite,postgresql,mariadb,oracle"]


def test_conftest_parametrises_oracle_only_when_its_url_is_set() -> None:
    args = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
            "tests/test_smoke_flow.py"]  # fmt: skip
    url = "oracle+oracledb://dvflag_test:x@127.0.0.1:9/?service_name=FREEPDB1"
    with_url = subprocess.run(
        args, cwd=REPO, env=_env(DVFLAG_TEST_ORACLE_URL=url), capture_output=True, text=True, timeout=60
    )
    assert "[oracle]" in with_url.stdout, with_url.stdout + with_url.stderr
    without = subprocess.run(args, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=60)
    assert "[sqlite]" in without.stdout and "[oracle]" not in without.stdout, without.stdout + without.stderr


def test_unreachable_oracle_is_reported_as_unavailable() -> None:
    code = (
        "from pathlib import Path\n"
        "from dvflag_plugin.testing import backends\n"
        "try:\n"
        "    with backends.database('oracle', Path('.')):\n"
        "        print('connected')\n"
        "except backends.BackendUnavailable as err:\n"
        "    print('unavailable', err)\n"
    )
    url = "oracle+oracledb://dvflag_test:x@127.0.0.1:9/?service_name=FREEPDB1"
    result = subprocess.run(
        [sys.executable, "-c", code], env=_env(DVFLAG_TEST_ORACLE_URL=url), capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    assert result.stdout.startswith("unavailable"), result.stdout + result.stderr
    assert "x@" not in result.stdout  # the password is not printed


def test_drop_own_tables_removes_a_half_installed_schema(tmp_path: Path) -> None:
    """What the Oracle backend runs before and after a session, here on SQLite."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'half.sqlite3'}")
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DELETE FROM {VERSION_TABLE}"))  # as if interrupted: tables, no version
            conn.execute(sa.text("CREATE TABLE host_table (id INTEGER)"))  # the host's: left alone
        backends.drop_own_tables(engine)
        assert set(sa.inspect(engine).get_table_names()) == {"host_table"}
        migrate.upgrade(engine)
        backends.drop_own_tables(engine)
        assert set(sa.inspect(engine).get_table_names()) == {"host_table"}
    finally:
        engine.dispose()
