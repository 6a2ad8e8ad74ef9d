"""A settable clock, so tests can stand on any day (boundary days of the active formula)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

JST = timezone(timedelta(hours=9))


class MutableClock:
    """Returns an aware UTC datetime; starts at noon JST of ``day``."""

    def __init__(self, day: date) -> None:
        self.set_day(day)

    def set_day(self, day: date) -> None:
        """Noon JST of ``day`` (safely inside the local day)."""
        self.now = datetime.combine(day, time(12, 0), JST).astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self.now += delta

    def __call__(self) -> datetime:
        return self.now
