"""Japanese text round-trips byte-identical on every backend (issue 4 item 4).

Names are entered by hand (住登外: numbers the host address master cannot resolve), stored, and read
back through the host functions and straight from the table, compared as UTF-8 bytes; the server's
own byte and character counts show it stored code points, not replacement characters or surrogates.
On MariaDB the tables are utf8mb4 with a binary collation whatever the database's defaults are, so
distinct kanji, widths and 4-byte characters never compare equal.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from dvflag_plugin.mockhost import MockHost
from dvflag_plugin.storage import migrate
from dvflag_plugin.storage.schema import OWN_TABLES, VERSION_TABLE, registration
from dvflag_plugin.testing import backends
from dvflag_plugin.text.names import normalize_name

IVS_17 = "\U000e0100"
IVS_18 = "\U000e0101"
IDEOGRAPHIC_SPACE = "\u3000"

NAMES = {
    "4-byte kanji (U+20BB7)": "𠮷田\u3000花子",
    "two 4-byte kanji": "𠮷田\u3000𡈽子",
    "IVS: 葛 + VS17": "葛" + IVS_17 + "城\u3000ひなた",
    "IVS at the end: 辻 + VS18": "辻" + IVS_18 + "\u3000愛",
    "髙 (U+9AD9) and 﨑 (U+FA11, kept by NFC)": "髙﨑\u3000翔太",
    "half-width kana with voiced mark": "ﾜﾀﾞ\u3000ﾊﾅｺ",
    "half-width kana": "ﾀﾅｶ\u3000ﾊﾅｺ",
    "two full-width spaces inside": "山田\u3000\u3000太郎",
    "full-width and ASCII space": "ノルデン\u3000リサ ソフィア",
    "no space at all": "森花子",
}
"""Already NFC and trimmed: what is stored must equal what was typed, byte for byte."""


def _manual_numbers(host: MockHost, count: int) -> Iterator[str]:
    """Numbers the host's address master does not know, so the name is entered by hand."""
    known = {p.address_no for p in host.data.people}
    n = 990_000_000_000_000
    while count:
        n += 1
        if str(n) not in known:
            count -= 1
            yield str(n)


def _register_by_hand(host: MockHost, names: list[str]) -> dict[str, str]:
    """Register each name under a fresh number; returns number → name."""
    registrar = host.actor("u-kodomo-reg1")
    registered = {}
    for number, name in zip(_manual_numbers(host, len(names)), names, strict=True):
        reg = host.call(
            "dvflag.register", registrar, address_no=number, name=name, sex_code=2, birth_date="平成2年4月1日"
        )
        assert host.masters.dvflag_resolve_person(number) is None  # really entered by hand
        registered[number] = reg.name
    return registered


def _byte_length(column: sa.ColumnElement[str], dialect: str) -> sa.ColumnElement[int]:
    if dialect == "sqlite":
        return sa.func.length(sa.cast(column, sa.LargeBinary))
    if dialect == "oracle":
        return sa.func.lengthb(column)
    return sa.func.octet_length(column)


def _char_length(column: sa.ColumnElement[str], dialect: str) -> sa.ColumnElement[int]:
    return sa.func.char_length(column) if dialect in {"mysql", "mariadb"} else sa.func.length(column)


def test_names_are_already_in_stored_form() -> None:
    for label, name in NAMES.items():
        assert normalize_name(name) == name, label


def test_japanese_names_round_trip_byte_identical(host: MockHost, backend: str) -> None:
    registered = _register_by_hand(host, list(NAMES.values()))
    viewer = host.actor("u-kodomo-view1")
    for number, name in registered.items():
        expected = next(n for n in NAMES.values() if n == name)
        assert name.encode("utf-8") == expected.encode("utf-8")
        (found,) = host.call("dvflag.search", viewer, address_no=number).rows
        assert found.name.encode("utf-8") == expected.encode("utf-8")
        assert found.dept_name == "子ども家庭課"
        status = host.call("dvflag.status", viewer, address_no=number)
        assert [h.dept_name for h in status.holdings] == ["子ども家庭課"]
    # Straight from the table, with the server's own byte and character counts.
    query = sa.select(
        registration.c.address_no,
        registration.c.name,
        _byte_length(registration.c.name, backend).label("bytes"),
        _char_length(registration.c.name, backend).label("chars"),
    ).where(registration.c.address_no.in_(list(registered)))
    with host.engine.connect() as conn:
        rows = {r.address_no: r for r in conn.execute(query)}
    assert set(rows) == set(registered)
    for number, name in registered.items():
        row = rows[number]
        assert row.name.encode("utf-8") == name.encode("utf-8"), (row.name, name)
        assert row.bytes == len(name.encode("utf-8")), (name, row.bytes)
        assert row.chars == len(name), (name, row.chars)  # code points: 𠮷 is one, an IVS selector one


def test_search_by_name_finds_the_exact_and_the_variant_spelling(host: MockHost) -> None:
    registered = _register_by_hand(
        host, [NAMES["4-byte kanji (U+20BB7)"], NAMES["髙 (U+9AD9) and 﨑 (U+FA11, kept by NFC)"]]
    )
    viewer = host.actor("u-kodomo-view1")
    by_name = {name: number for number, name in registered.items()}
    for query, expected in (("𠮷田", "𠮷田\u3000花子"), ("髙﨑", "髙﨑\u3000翔太")):
        found = host.call("dvflag.search", viewer, name=query, state="all").rows
        assert [r.address_no for r in found] == [by_name[expected]], query
        assert found[0].name.encode("utf-8") == expected.encode("utf-8")


DISTINCT_SPELLINGS = [
    "高橋\u3000一郎",
    "髙橋\u3000一郎",
    "𠮷田\u3000一郎",
    "𡈽田\u3000一郎",
    "タナカ",
    "ﾀﾅｶ",
    "たなか",
    "TANAKA",
    "tanaka",
]
"""Pairs a case- or width-insensitive collation, or one that weighs all 4-byte characters alike
(MariaDB's utf8mb4_general_ci), would treat as equal."""


def test_distinct_spellings_stay_distinct_in_sql(host: MockHost, backend: str) -> None:
    registered = _register_by_hand(host, DISTINCT_SPELLINGS)
    assert sorted(registered.values()) == sorted(DISTINCT_SPELLINGS)
    numbers = list(registered)
    with host.engine.connect() as conn:
        mine = registration.c.address_no.in_(numbers)
        assert conn.execute(sa.select(sa.func.count(sa.distinct(registration.c.name))).where(mine)).scalar_one() == len(
            DISTINCT_SPELLINGS
        )
        groups = conn.execute(sa.select(registration.c.name).where(mine).group_by(registration.c.name)).scalars()
        assert sorted(groups) == sorted(DISTINCT_SPELLINGS)
        for name in ("高橋\u3000一郎", "𠮷田\u3000一郎", "ﾀﾅｶ", "tanaka"):
            hits = conn.execute(sa.select(registration.c.name).where(mine, registration.c.name == name)).scalars()
            assert list(hits) == [name]


def test_codes_are_case_sensitive_in_the_unique_key(engine: sa.Engine) -> None:
    """A *_ci collation would make 'd0201' collide with 'D0201' (and a user id match another's)."""
    stamp = sa.func.current_timestamp()
    row = {
        "address_no": "000000000555555", "name": "試験", "sex_code": 0, "birth_date": sa.func.current_date(),
        "dept_name": "課", "input_date": sa.func.current_date(), "row_version": 1, "created_at": stamp,
        "updated_at": stamp,
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.insert(registration).values(dept_code="D0201", **row))
        conn.execute(sa.insert(registration).values(dept_code="d0201", **row))
        hits = conn.execute(sa.select(registration.c.dept_code).where(registration.c.dept_code == "d0201")).scalars()
        assert list(hits) == ["d0201"]


@pytest.mark.backend("mariadb")
def test_mariadb_database_and_tables_are_utf8mb4_bin(engine: sa.Engine, backend: str) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT @@collation_database").scalar_one() == "utf8mb4_bin"
        assert conn.exec_driver_sql("SELECT @@character_set_client").scalar_one() == "utf8mb4"
        _assert_own_columns_binary(conn)


def _assert_own_columns_binary(conn: sa.Connection) -> None:
    rows = conn.exec_driver_sql(
        "SELECT table_name, column_name, character_set_name, collation_name FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND collation_name IS NOT NULL"
    ).all()
    own = [r for r in rows if r[0] in OWN_TABLES - {VERSION_TABLE}]
    assert {r[0] for r in own} == OWN_TABLES - {VERSION_TABLE}
    assert {(r[2], r[3]) for r in own} == {("utf8mb4", "utf8mb4_bin")}, own


@pytest.mark.backend("mariadb")
@pytest.mark.parametrize(
    ("charset", "collation"),
    [("latin1", "latin1_swedish_ci"), ("utf8mb4", "utf8mb4_general_ci")],
)
def test_mariadb_tables_are_pinned_whatever_the_database_default(
    backend: str, tmp_path: Path, charset: str, collation: str
) -> None:
    """A host database created with the server's defaults: the plugin's tables are utf8mb4_bin anyway."""
    admin = sa.create_engine(backends.MARIADB_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"dvflag_t_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET {charset} COLLATE {collation}")
        url = sa.make_url(backends.MARIADB_ADMIN_URL).set(database=name, query={"charset": "utf8mb4"})
        engine = sa.create_engine(url)
        try:
            migrate.upgrade(engine)
            host = MockHost(engine, settings={"dvflag.audit_log_path": str(tmp_path / "audit.jsonl")}, migrate=False)
            try:
                host.seed_users()
                registered = _register_by_hand(host, ["𠮷田\u3000花子", "𡈽田\u3000花子", "ﾀﾅｶ\u3000ﾊﾅｺ"])
                with engine.connect() as conn:
                    _assert_own_columns_binary(conn)
                    stored = conn.execute(sa.select(registration.c.address_no, registration.c.name)).all()
                assert dict(stored) == registered
                assert len(set(registered.values())) == 3
            finally:
                host.close()
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()


@pytest.mark.backend("postgresql")
def test_postgresql_database_is_utf8(engine: sa.Engine, backend: str) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW server_encoding").scalar_one() == "UTF8"
        assert conn.exec_driver_sql("SHOW client_encoding").scalar_one() == "UTF8"


def test_audit_trail_holds_no_name(host: MockHost) -> None:
    """Data minimisation: the names typed above appear in the registration row only."""
    registered = _register_by_hand(host, list(NAMES.values()))
    with host.engine.connect() as conn:
        texts = conn.execute(sa.text("SELECT details, target FROM dvf_audit_event")).all()
    for name in registered.values():
        surname = name.split("\u3000")[0]
        assert not any(surname in (d or "") or surname in (t or "") for d, t in texts), name
