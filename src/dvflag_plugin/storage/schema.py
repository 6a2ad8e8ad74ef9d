"""The plugin's tables (DESIGN §2, §6, §7): own MetaData, ``dvf_`` prefix, portable to Oracle.

Oracle traps designed for: identifiers ≤ 30 bytes in lower-case ASCII, no reserved words, every
String sized, booleans as SMALLINT + CHECK, JSON as text, audit times as naive UTC TIMESTAMP, and
"one active row" as a plain unique key over non-null columns.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, oracle

TABLE_PREFIX = "dvf_"
VERSION_TABLE = "dvf_alembic_version"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# Sizes. address_no may be configured up to 32 digits; name allows 100 visible characters, each of
# which may be a surrogate pair plus an IVS selector (4 UTF-16 units) — hence 400.
ADDRESS_NO_LEN = 32
NAME_LEN = 400
DEPT_CODE_LEN = 16
DEPT_NAME_LEN = 100
USER_ID_LEN = 64
ROLE_LEN = 16

# Timestamps are naive UTC everywhere (DESIGN §7).
# Oracle: TIMESTAMP(6), not DATE (which drops fractions); MariaDB: DATETIME(6), not DATETIME(0).
UtcTimestamp = (
    sa.DateTime(timezone=False)
    .with_variant(oracle.TIMESTAMP(), "oracle")
    .with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
)

# MariaDB/MySQL table options, pinned whatever the host database's defaults are: a latin1 default
# cannot hold 氏名, and a *_ci collation equates 𠮷 with 𡈽 and "D0201" with "d0201" in unique keys and
# lookups. The migrations pass the same options; other dialects ignore them.
MYSQL_TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}

registration = sa.Table(
    "dvf_registration",
    metadata,
    sa.Column("id", sa.Integer, sa.Identity(start=1), primary_key=True),
    sa.Column("address_no", sa.String(ADDRESS_NO_LEN), nullable=False),
    sa.Column("name", sa.Unicode(NAME_LEN), nullable=False),
    sa.Column("sex_code", sa.SmallInteger, nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("dept_code", sa.String(DEPT_CODE_LEN), nullable=False),
    sa.Column("dept_name", sa.Unicode(DEPT_NAME_LEN), nullable=False),
    sa.Column("input_date", sa.Date, nullable=False),
    sa.Column("release_date", sa.Date, nullable=True),
    sa.Column("row_version", sa.Integer, nullable=False),
    sa.Column("created_at", UtcTimestamp, nullable=False),
    sa.Column("updated_at", UtcTimestamp, nullable=False),
    # One row per (person, department); re-registering reopens it (DESIGN §3).
    sa.UniqueConstraint("address_no", "dept_code", name="uq_dvf_registration_addr_dept"),
    sa.CheckConstraint("sex_code IN (0, 1, 2, 9)", name="sex_code"),
    sa.CheckConstraint("release_date IS NULL OR release_date >= input_date", name="rel_order"),
    sa.Index("ix_dvf_registration_dept_rel", "dept_code", "release_date"),
    # Caches of held numbers also re-read what changed recently, not only what dvf_change_log names (0005).
    sa.Index("ix_dvf_registration_updated", "updated_at"),
    # SQLite: never reuse the id of a deleted row, so `record:N` in the audit trail names one registration.
    sqlite_autoincrement=True,
    **MYSQL_TABLE_OPTIONS,
)

app_user = sa.Table(
    "dvf_app_user",
    metadata,
    sa.Column("id", sa.Integer, sa.Identity(start=1), primary_key=True),
    sa.Column("user_id", sa.String(USER_ID_LEN), nullable=False),
    sa.Column("dept_code", sa.String(DEPT_CODE_LEN), nullable=False),
    sa.Column("enabled", sa.SmallInteger, nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date, nullable=True),
    sa.Column("row_version", sa.Integer, nullable=False),
    sa.Column("created_at", UtcTimestamp, nullable=False),
    sa.Column("updated_at", UtcTimestamp, nullable=False),
    sa.UniqueConstraint("user_id"),
    sa.CheckConstraint("enabled IN (0, 1)", name="enabled"),
    sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_order"),
    sqlite_autoincrement=True,
    **MYSQL_TABLE_OPTIONS,
)

user_role = sa.Table(
    "dvf_user_role",
    metadata,
    sa.Column("user_pk", sa.Integer, sa.ForeignKey("dvf_app_user.id", ondelete="CASCADE"), nullable=False),
    sa.Column("role_name", sa.String(ROLE_LEN), nullable=False),
    sa.PrimaryKeyConstraint("user_pk", "role_name"),
    sa.CheckConstraint(
        "role_name IN ('viewer', 'registrar', 'supervisor', 'user_admin', 'auditor')", name="role_name"
    ),
    **MYSQL_TABLE_OPTIONS,
)

# Text of any size on every backend: MariaDB TEXT stops at 64 KB, so LONGTEXT there; Oracle CLOB.
LargeText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb").with_variant(oracle.CLOB(), "oracle")

# A 64-bit surrogate key; on SQLite an INTEGER PRIMARY KEY (the rowid) so that AUTOINCREMENT applies.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Queue, then seal (DESIGN §6). A call inserts its event unsealed (sealed = 0) with the leaf hash of
# its content and commits; the sealer later gives it seq, prev_hash and event_hash and sets sealed = 1.
# The sealer finds pending rows through ix (sealed, id): Oracle does not index NULLs, so the marker,
# not "seq IS NULL", is what it queries. leaf_hash is NULL only for events sealed before revision 0004
# (their hash covers the body with its seq, see audit/chain.py).
audit_event = sa.Table(
    "dvf_audit_event",
    metadata,
    sa.Column("id", BigId, sa.Identity(start=1), primary_key=True),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("occurred_at", UtcTimestamp, nullable=False),
    sa.Column("actor_id", sa.String(USER_ID_LEN), nullable=False),
    sa.Column("actor_dept", sa.String(DEPT_CODE_LEN), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", sa.String(64), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reason_code", sa.String(64), nullable=True),
    sa.Column("details", LargeText, nullable=False),
    sa.Column("leaf_hash", sa.String(64), nullable=True),
    sa.Column("sealed", sa.SmallInteger, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=True),
    sa.Column("event_hash", sa.String(64), nullable=True),
    sa.UniqueConstraint("event_id"),
    sa.CheckConstraint("outcome IN ('ok', 'denied', 'error')", name="outcome"),
    sa.CheckConstraint(
        "(sealed = 0 AND seq IS NULL AND prev_hash IS NULL AND event_hash IS NULL) OR "
        "(sealed = 1 AND seq IS NOT NULL AND prev_hash IS NOT NULL AND event_hash IS NOT NULL)",
        name="seal_state",
    ),
    # The sealer's queue: partial (unsealed rows only) on PostgreSQL and SQLite, full elsewhere (0005).
    sa.Index(
        "ix_dvf_audit_event_sealed", "sealed", "id",
        postgresql_where=sa.text("sealed = 0"), sqlite_where=sa.text("sealed = 0"),
    ),
    # seq is unique; only sealed rows have one, and only they are indexed where an index can be
    # partial (0006): a queued row's insert writes no seq entry. No AUTOINCREMENT on SQLite (0006):
    # sealed events are never deleted, and the queue is only ordered by id.
    sa.Index(
        "uq_dvf_audit_event_seq", "seq", unique=True,
        postgresql_where=sa.text("seq IS NOT NULL"), sqlite_where=sa.text("seq IS NOT NULL"),
    ),
    **MYSQL_TABLE_OPTIONS,
)

# A single row: the head of the sealed chain. Only the sealer writes it, one short transaction per
# batch, and takes it with a try-lock (a busy sealer is skipped, never waited for).
chain_head = sa.Table(
    "dvf_chain_head",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.CheckConstraint("id = 1", name="single_row"),
    **MYSQL_TABLE_OPTIONS,
)

# One sealed batch: the seq range it numbered, the head hash before and after it, and the signature
# of the batch (filled when the host configured a signing key; NULL otherwise).
audit_seal = sa.Table(
    "dvf_audit_seal",
    metadata,
    sa.Column("id", BigId, sa.Identity(start=1), primary_key=True),
    sa.Column("first_seq", sa.BigInteger, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("sealed_at", UtcTimestamp, nullable=False),
    sa.Column("signature", sa.String(256), nullable=True),
    sa.Column("key_id", sa.String(128), nullable=True),
    sa.UniqueConstraint("first_seq"),
    sa.CheckConstraint("last_seq >= first_seq", name="seq_order"),
    sqlite_autoincrement=True,
    **MYSQL_TABLE_OPTIONS,
)

# Counters written only by what they count: 'change' (registration changes; screen cautions only
# read it to know their cached set of held numbers is stale) and 'output' (出力番号 of exports).
counter = sa.Table(
    "dvf_counter",
    metadata,
    sa.Column("counter_name", sa.String(16), primary_key=True),
    sa.Column("counter_no", sa.BigInteger, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

# Which address number each registration change touched (NULL: "reload everything"), so that a
# cache of held numbers is refreshed by delta instead of re-reading every held registration.
change_log = sa.Table(
    "dvf_change_log",
    metadata,
    sa.Column("change_no", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("address_no", sa.String(ADDRESS_NO_LEN), nullable=True),
    sa.Column("changed_at", UtcTimestamp, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

CHANGE_COUNTER = "change"
OUTPUT_COUNTER = "output"

GENESIS_HASH = "0" * 64
"""prev_hash of the first event."""

OWN_TABLES = frozenset(t.name for t in metadata.sorted_tables) | {VERSION_TABLE}
