"""Registrations: one row per (address number, department).

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, oracle

revision = "0001"
down_revision = None
branch_labels = ("dvflag",)
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


def upgrade() -> None:
    op.create_table(
        "dvf_registration",
        sa.Column("id", sa.Integer, sa.Identity(start=1), nullable=False),
        sa.Column("address_no", sa.String(32), nullable=False),
        sa.Column("name", sa.Unicode(400), nullable=False),
        sa.Column("sex_code", sa.SmallInteger, nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("dept_code", sa.String(16), nullable=False),
        sa.Column("dept_name", sa.Unicode(100), nullable=False),
        sa.Column("input_date", sa.Date, nullable=False),
        sa.Column("release_date", sa.Date, nullable=True),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dvf_registration"),
        sa.UniqueConstraint("address_no", "dept_code", name="uq_dvf_registration_addr_dept"),
        sa.CheckConstraint("sex_code IN (0, 1, 2, 9)", name="sex_code"),
        sa.CheckConstraint(
            "release_date IS NULL OR release_date >= input_date", name="rel_order"
        ),
        sqlite_autoincrement=True,  # SQLite: a deleted record's id is never given again
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_index(
        "ix_dvf_registration_dept_rel", "dvf_registration", ["dept_code", "release_date"]
    )


def downgrade() -> None:
    op.drop_index("ix_dvf_registration_dept_rel", table_name="dvf_registration")
    op.drop_table("dvf_registration")
