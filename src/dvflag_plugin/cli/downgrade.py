"""What ``dvflag db downgrade`` would destroy: the tables and columns it drops, with their row counts.

The list is read from the migration scripts themselves (their offline SQL for the same step), so a
future revision is covered without touching this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from ..storage import migrate

_DROP_TABLE = re.compile(r"^\s*DROP TABLE (\w+)", re.MULTILINE | re.IGNORECASE)
_DROP_COLUMN = re.compile(r"^\s*ALTER TABLE (\w+) DROP COLUMN (\w+)", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Loss:
    """A table (or one of its columns) the downgrade drops, and how many rows it holds now."""

    table: str
    column: str | None
    rows: int

    def describe(self) -> str:
        """One line for the operator, e.g. ``dvf_registration: 12 行 / rows``."""
        what = f"{self.table}.{self.column}（列 / column）" if self.column else self.table
        return f"{what}: {self.rows:,} 行 / rows"


def planned_losses(engine: sa.Engine, target: str) -> tuple[str | None, tuple[Loss, ...]]:
    """The current revision and what downgrading to ``target`` drops (nothing when not migrated)."""
    with engine.connect() as conn:
        current = migrate.current_revision(conn)
        if current is None:
            return None, ()
        script = migrate.offline_sql("sqlite", revision_range=f"{current}:{target}", downgrade_=True)
        existing = set(sa.inspect(conn).get_table_names())
        drops = [(t, None) for t in _DROP_TABLE.findall(script)]
        drops += [(t, c) for t, c in _DROP_COLUMN.findall(script)]
        losses = []
        for table, column in drops:
            if table not in existing:
                continue
            count = sa.select(sa.func.count()).select_from(sa.table(table))
            losses.append(Loss(table, column, int(conn.execute(count).scalar_one())))
    return current, tuple(losses)
