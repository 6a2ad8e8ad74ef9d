"""Audit chain: events and the single head row (sequence, hash, change and output counters).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, oracle

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Naive UTC with fractions on every backend (Oracle TIMESTAMP, MariaDB DATETIME(6)).
UTC_TIMESTAMP = (
    sa.DateTime(timezone=False)
    .with_variant(oracle.TIMESTAMP(), "oracle")
    .with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
)

# MariaDB/MySQL: pinned, whatever the host database's defaults are (latin1 cannot hold 氏名, and a
# *_ci collation equates 𠮷 with 𡈽 and "D0201" with "d0201" in unique keys and lookups). Ignored
# by the other dialects.
MYSQL_TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "dvf_audit_event",
        sa.Column("seq", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("actor_dept", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("event_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_dvf_audit_event"),
        sa.UniqueConstraint("event_id", name="uq_dvf_audit_event_event_id"),
        sa.CheckConstraint("outcome IN ('ok', 'denied', 'error')", name="outcome"),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_table(
        "dvf_chain_head",
        sa.Column("id", sa.SmallInteger, autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("change_no", sa.BigInteger, nullable=False),
        sa.Column("output_no", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dvf_chain_head"),
        sa.CheckConstraint("id = 1", name="single_row"),
        **MYSQL_TABLE_OPTIONS,
    )
    # Literal values only: the offline Oracle script must run as printed (no bind variables).
    op.execute(
        "INSERT INTO dvf_chain_head (id, last_seq, last_hash, change_no, output_no) "
        f"VALUES (1, 0, '{GENESIS}', 0, 0)"
    )


def downgrade() -> None:
    op.drop_table("dvf_chain_head")
    op.drop_table("dvf_audit_event")
