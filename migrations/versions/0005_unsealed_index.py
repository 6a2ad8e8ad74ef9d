"""The sealer's index holds only unsealed events (PostgreSQL, SQLite); registrations by update time.

``ix_dvf_audit_event_sealed (sealed, id)`` indexed every event. Measured on PostgreSQL: once most
events were sealed, the planner preferred the primary key and filtered ``sealed = 0`` row by row
(9,600 sealed rows read to find 500 unsealed, 3.3 ms per sealer query, growing with the trail), and
every seal added a new index entry for the sealed row. A partial index ``WHERE sealed = 0`` holds
only the queue: a sealed row leaves it and the sealer's query reads only the queue. MariaDB and Oracle
have no partial index (Oracle's index already skips nothing here: ``sealed`` is never NULL); there
the index stays as it is.

``ix_dvf_registration_updated`` (every backend): a warm cache of held numbers refreshes by the numbers
``dvf_change_log`` names and also by the registrations updated since it was built, so that a change-log
row edited behind the plugin's back no longer hides a new registration from screen cautions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PARTIAL_DIALECTS = ("postgresql", "sqlite")
UNSEALED = sa.text("sealed = 0")


def _partial() -> bool:
    return op.get_context().dialect.name in PARTIAL_DIALECTS


def upgrade() -> None:
    op.create_index("ix_dvf_registration_updated", "dvf_registration", ["updated_at"])
    if not _partial():
        return
    op.drop_index("ix_dvf_audit_event_sealed", "dvf_audit_event")
    op.create_index(
        "ix_dvf_audit_event_sealed", "dvf_audit_event", ["sealed", "id"],
        postgresql_where=UNSEALED, sqlite_where=UNSEALED,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_dvf_registration_updated", "dvf_registration")
    if not _partial():
        return
    op.drop_index("ix_dvf_audit_event_sealed", "dvf_audit_event")
    op.create_index("ix_dvf_audit_event_sealed", "dvf_audit_event", ["sealed", "id"])
