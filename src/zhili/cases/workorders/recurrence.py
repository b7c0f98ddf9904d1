"""A plan's recurrence as concrete time windows: which local days it falls on and their UTC instants.

Pure: no DB. Days are the site's local days (Asia/Shanghai: no daylight saving, so 06:00 local is
22:00 UTC of the day before all year round); the instants are computed with zoneinfo all the same,
so a site in a zone with DST gets the right ones too.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from zhili.cases.workorders.schemas import Recurrence


def falls_on(rec: Recurrence, day: date) -> bool:
    """Whether the recurrence has windows on this local day."""
    if rec.freq == "daily":
        return True
    if rec.freq == "weekly":
        return day.isoweekday() in rec.weekdays
    assert rec.month_day is not None
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(rec.month_day, last)


def windows_on(rec: Recurrence, day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The (start, end) instants, aware UTC, of the windows starting on this local day."""
    if not falls_on(rec, day):
        return []
    out: list[tuple[datetime, datetime]] = []
    for w in rec.windows:
        start = datetime.combine(day, w.start, tzinfo=tz)
        end_day = day if w.end > w.start else day + timedelta(days=1)
        end = datetime.combine(end_day, w.end, tzinfo=tz)
        out.append((start.astimezone(UTC), end.astimezone(UTC)))
    return out


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which this local day begins."""
    return datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(UTC)


def days(first: date, count: int) -> Iterator[date]:
    for n in range(count):
        yield first + timedelta(days=n)
