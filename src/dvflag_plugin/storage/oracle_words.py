"""Oracle's reserved words and the identifier rules every name of the plugin's schema must follow.

Sources (Oracle's own lists, not SQLAlchemy's shorter ``RESERVED_WORDS``):

- Oracle Database SQL Language Reference, appendix "Oracle SQL Reserved Words" (11.2, 12.2, 19c; the
  12.2 page is https://docs.oracle.com/database/122/SQLRF/Oracle-SQL-Reserved-Words.htm).
  ``PRIVILEGES`` is listed up to 12.2 and dropped from the 19c page; it is kept here.
  ``COLUMN_VALUE`` and ``NESTED_TABLE_ID`` are reserved only as attribute names (note 1 there);
  they are kept too, since a column of that name would be ambiguous in collection queries.
- Oracle Database PL/SQL Language Reference, appendix D "PL/SQL Reserved Words and Keywords",
  table D-1 "PL/SQL Reserved Words" (12.2, 18c; https://docs.oracle.com/database/122/LNPLS/
  plsql-reserved-words-keywords.htm). A schema name that is a PL/SQL reserved word breaks the
  host's PL/SQL (triggers, packages) that refers to it without quotes.

Identifiers are also limited to 30 bytes (the limit before ``COMPATIBLE`` 12.2, and still the safe
limit for a schema that must install on every 12.2–23ai database), ASCII lower case so that
unquoted names work in SQL*Plus as typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SQL_RESERVED_WORDS: frozenset[str] = _words(
    """
    ACCESS ADD ALL ALTER AND ANY AS ASC AUDIT BETWEEN BY CHAR CHECK CLUSTER COLUMN COLUMN_VALUE
    COMMENT COMPRESS CONNECT CREATE CURRENT DATE DECIMAL DEFAULT DELETE DESC DISTINCT DROP ELSE
    EXCLUSIVE EXISTS FILE FLOAT FOR FROM GRANT GROUP HAVING IDENTIFIED IMMEDIATE IN INCREMENT INDEX
    INITIAL INSERT INTEGER INTERSECT INTO IS LEVEL LIKE LOCK LONG MAXEXTENTS MINUS MLSLABEL MODE
    MODIFY NESTED_TABLE_ID NOAUDIT NOCOMPRESS NOT NOWAIT NULL NUMBER OF OFFLINE ON ONLINE OPTION OR
    ORDER PCTFREE PRIOR PRIVILEGES PUBLIC RAW RENAME RESOURCE REVOKE ROW ROWID ROWNUM ROWS SELECT
    SESSION SET SHARE SIZE SMALLINT START SUCCESSFUL SYNONYM SYSDATE TABLE THEN TO TRIGGER UID UNION
    UNIQUE UPDATE USER VALIDATE VALUES VARCHAR VARCHAR2 VIEW WHENEVER WHERE WITH
    """
)
"""Oracle SQL Reserved Words (SQL Language Reference)."""

PLSQL_RESERVED_WORDS: frozenset[str] = _words(
    """
    ALL ALTER AND ANY AS ASC AT BEGIN BETWEEN BY CASE CHECK CLUSTERS CLUSTER COLAUTH COLUMNS
    COMPRESS CONNECT CRASH CREATE CURSOR DECLARE DEFAULT DESC DISTINCT DROP ELSE END EXCEPTION
    EXCLUSIVE FETCH FOR FROM FUNCTION GOTO GRANT GROUP HAVING IDENTIFIED IF IN INDEX INDEXES INSERT
    INTERSECT INTO IS LIKE LOCK MINUS MODE NOCOMPRESS NOT NOWAIT NULL OF ON OPTION OR ORDER OVERLAPS
    PROCEDURE PUBLIC RESOURCE REVOKE SELECT SHARE SIZE SQL START SUBTYPE TABAUTH TABLE THEN TO TYPE
    UNION UNIQUE UPDATE VALUES VIEW VIEWS WHEN WHERE WITH
    """
)
"""PL/SQL Reserved Words (PL/SQL Language Reference, table D-1)."""

RESERVED_WORDS: frozenset[str] = SQL_RESERVED_WORDS | PLSQL_RESERVED_WORDS
"""Every word a plugin table, column, index or constraint must not be named (upper case)."""

MAX_IDENTIFIER_BYTES = 30
"""Oracle's identifier limit below COMPATIBLE 12.2 (128 bytes from 12.2 on)."""

_SHAPE = re.compile(r"[a-z][a-z0-9_]*\Z")


def identifier_problems(name: str) -> list[str]:
    """Why ``name`` is not a portable Oracle identifier for the plugin's schema (empty when it is)."""
    problems = []
    if not name.isascii():
        problems.append("not ASCII")
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        problems.append(f"longer than {MAX_IDENTIFIER_BYTES} bytes ({len(name.encode('utf-8'))})")
    if not _SHAPE.match(name):
        problems.append("not lower-case letters, digits and '_' starting with a letter")
    if name.upper() in RESERVED_WORDS:
        problems.append("an Oracle reserved word")
    return problems


def lint_identifiers(names: Iterable[tuple[str, str]]) -> list[str]:
    """Lint (kind, name) pairs; returns one message per offending name, e.g. ``column dvf_x.user: …``."""
    return [
        f"{kind} {name}: {', '.join(problems)}"
        for kind, name in names
        if (problems := identifier_problems(name.rsplit(".", 1)[-1]))
    ]
