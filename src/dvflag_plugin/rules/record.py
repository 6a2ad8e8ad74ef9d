"""The record's own rules (DESIGN §3): the active-day formula and the review schedule."""

from __future__ import annotations

import calendar
from datetime import date

import sqlalchemy as sa

from ..storage.schema import registration


def is_active(input_date: date, release_date: date | None, day: date) -> bool:
    """Active on ``day`` ⇔ input_date ≤ day and (release_date is None or day < release_date)."""
    return input_date <= day and (release_date is None or day < release_date)


def active_clause(day: date) -> sa.ColumnElement[bool]:
    """The same formula in SQL (never ``release_date <= day``)."""
    return sa.and_(
        registration.c.input_date <= day,
        sa.or_(registration.c.release_date.is_(None), registration.c.release_date > day),
    )


def released_clause(day: date) -> sa.ColumnElement[bool]:
    """Released as of ``day``: a release date on or before it."""
    return sa.and_(registration.c.release_date.is_not(None), registration.c.release_date <= day)


def add_months(day: date, months: int) -> date:
    """Calendar month arithmetic; the 29th February falls back to the last day of the month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_due_date(input_date: date, period_months: int) -> date:
    """The day a registration becomes due for review (見直し): input date plus the period."""
    return add_months(input_date, period_months)


def latest_input_due_by(day: date, period_months: int) -> date:
    """The latest input date whose review falls due on or before ``day``.

    ``add_months`` clamps to the month's end, so when ``day`` is the last day of its month every input
    date of the month ``period_months`` earlier is due by then (31 August + 6 months = 28 February).
    """
    latest = add_months(day, -period_months)
    if day.day == calendar.monthrange(day.year, day.month)[1]:
        latest = latest.replace(day=calendar.monthrange(latest.year, latest.month)[1])
    return latest
