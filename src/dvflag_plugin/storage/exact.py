"""Exact string equality on every backend (MariaDB's PAD SPACE collations equate "u1 " with "u1")."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class as_binary(FunctionElement[Any]):  # noqa: N801 - SQL-function style name
    """The value compared byte for byte: ``CAST(x AS BINARY)`` on MySQL/MariaDB, ``x`` elsewhere.

    PostgreSQL, SQLite and Oracle (VARCHAR2) already compare without padding.
    """

    type = sa.String()
    inherit_cache = True
    name = "as_binary"


@compiles(as_binary)
def _plain(element: as_binary, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(as_binary, "mysql")
@compiles(as_binary, "mariadb")
def _binary(element: as_binary, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS BINARY)"


def exactly(column: sa.ColumnElement[Any], value: Any) -> sa.ColumnElement[bool]:
    """``column = value`` compared exactly (no trailing-space padding, no case folding)."""
    return column == as_binary(value)
