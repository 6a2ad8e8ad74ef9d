"""Plugin users (利用者) and their roles.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, oracle

revision = "0002"
down_revision = "0001"
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


def upgrade() -> None:
    op.create_table(
        "dvf_app_user",
        sa.Column("id", sa.Integer, sa.Identity(start=1), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("dept_code", sa.String(16), nullable=False),
        sa.Column("enabled", sa.SmallInteger, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dvf_app_user"),
        sa.UniqueConstraint("user_id", name="uq_dvf_app_user_user_id"),
        sa.CheckConstraint("enabled IN (0, 1)", name="enabled"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_order"),
        sqlite_autoincrement=True,
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_table(
        "dvf_user_role",
        sa.Column("user_pk", sa.Integer, nullable=False),
        sa.Column("role_name", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("user_pk", "role_name", name="pk_dvf_user_role"),
        sa.ForeignKeyConstraint(
            ["user_pk"], ["dvf_app_user.id"], name="fk_dvf_user_role_user_pk", ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "role_name IN ('viewer', 'registrar', 'supervisor', 'user_admin', 'auditor')",
            name="role_name",
        ),
        **MYSQL_TABLE_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table("dvf_user_role")
    op.drop_table("dvf_app_user")
