"""A queued event's insert touches fewer b-trees: seq is unique through an index, partial where it can be.

Every audited call inserts one unsealed event (seq NULL). ``UNIQUE (seq)`` put an entry for that NULL
in the seq index of every queued row, and SQLite's AUTOINCREMENT rewrote ``sqlite_sequence`` on every
insert: two more b-trees written per call. Measured with raw sqlite3 (100,000 sealed events, WAL,
synchronous FULL), insert + commit of a queued event cost 1.37x a bare table's, 1.31x without
AUTOINCREMENT and 1.22x with the seq index partial as well.

- PostgreSQL: the constraint becomes ``UNIQUE INDEX uq_dvf_audit_event_seq … WHERE seq IS NOT NULL``:
  only sealed rows have an entry (the sealer adds it when it numbers the row).
- SQLite: the table is rebuilt without AUTOINCREMENT (sealed events are never deleted, so no id is
  reused while the trail is intact; the sealer only orders the queue by id) and with the same partial
  unique index.
- Oracle: the constraint becomes a plain unique index of the same name. Oracle never indexed the
  all-NULL keys of unsealed rows, so the index holds the same entries; one form on every backend.
- MariaDB: unchanged. A UNIQUE constraint there is the unique index of that name, and MariaDB has no
  partial index.

The schema's uniqueness of seq is unchanged everywhere.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, oracle

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC_TIMESTAMP = (
    sa.DateTime(timezone=False)
    .with_variant(oracle.TIMESTAMP(), "oracle")
    .with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
)
LARGE_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb").with_variant(oracle.CLOB(), "oracle")
SEQ_INDEX = "uq_dvf_audit_event_seq"
SEALER_INDEX = "ix_dvf_audit_event_sealed"
HAS_SEQ = sa.text("seq IS NOT NULL")
UNSEALED = sa.text("sealed = 0")
COLUMNS = ("id", "event_id", "occurred_at", "actor_id", "actor_dept", "action", "target", "outcome", "reason_code",
           "details", "leaf_hash", "sealed", "seq", "prev_hash", "event_hash")  # fmt: skip


def _dialect() -> str:
    return op.get_context().dialect.name


def _create_sqlite_table(name: str, *, autoincrement: bool, unique_seq: bool) -> None:
    """dvf_audit_event as on SQLite at 0005 (autoincrement, UNIQUE (seq)) or at 0006 (neither)."""
    constraints: list[sa.Constraint] = [
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dvf_audit_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_dvf_audit_event_event_id")),
        sa.CheckConstraint("outcome IN ('ok', 'denied', 'error')", name=op.f("ck_dvf_audit_event_outcome")),
        sa.CheckConstraint(
            "(sealed = 0 AND seq IS NULL AND prev_hash IS NULL AND event_hash IS NULL) OR "
            "(sealed = 1 AND seq IS NOT NULL AND prev_hash IS NOT NULL AND event_hash IS NOT NULL)",
            name=op.f("ck_dvf_audit_event_seal_state"),
        ),
    ]
    if unique_seq:
        constraints.append(sa.UniqueConstraint("seq", name=op.f(SEQ_INDEX)))
    op.create_table(
        name,
        sa.Column("id", sa.Integer, sa.Identity(start=1), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("actor_dept", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("details", LARGE_TEXT, nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=True),
        sa.Column("sealed", sa.SmallInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=True),
        sa.Column("event_hash", sa.String(64), nullable=True),
        *constraints,
        sqlite_autoincrement=autoincrement,
    )


def _rebuild_sqlite(*, autoincrement: bool, unique_seq: bool) -> None:
    """Copy dvf_audit_event into a table of the other form (SQLite alters no constraint in place)."""
    cols = ", ".join(COLUMNS)
    _create_sqlite_table("dvf_audit_event_new", autoincrement=autoincrement, unique_seq=unique_seq)
    op.execute(f"INSERT INTO dvf_audit_event_new ({cols}) SELECT {cols} FROM dvf_audit_event")
    op.drop_table("dvf_audit_event")  # and its indexes, whose names are free again
    op.rename_table("dvf_audit_event_new", "dvf_audit_event")
    op.create_index(SEALER_INDEX, "dvf_audit_event", ["sealed", "id"], sqlite_where=UNSEALED)
    if not unique_seq:
        op.create_index(SEQ_INDEX, "dvf_audit_event", ["seq"], unique=True, sqlite_where=HAS_SEQ)


def upgrade() -> None:
    dialect = _dialect()
    if dialect == "sqlite":
        _rebuild_sqlite(autoincrement=False, unique_seq=False)
    elif dialect in ("postgresql", "oracle"):
        op.drop_constraint(SEQ_INDEX, "dvf_audit_event", type_="unique")
        op.create_index(SEQ_INDEX, "dvf_audit_event", ["seq"], unique=True, postgresql_where=HAS_SEQ)


def downgrade() -> None:
    dialect = _dialect()
    if dialect == "sqlite":
        _rebuild_sqlite(autoincrement=True, unique_seq=True)
    elif dialect in ("postgresql", "oracle"):
        op.drop_index(SEQ_INDEX, "dvf_audit_event")
        op.create_unique_constraint(SEQ_INDEX, "dvf_audit_event", ["seq"])
