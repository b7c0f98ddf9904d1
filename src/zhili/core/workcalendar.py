"""Working calendar: deadlines and elapsed time in the four time-limit units, over PRC holidays and 调休."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from zhili.core.clock import ensure_aware
from zhili.core.errors import Invalid

DEFAULT_OFFICE_HOURS = "08:30-12:00,14:00-17:30"
DEFAULT_TZ = "Asia/Shanghai"


class TimeUnit(StrEnum):
    """The units a handling limit (处置时限) is written in."""

    urgent_hours = "urgent_hours"  # 紧急工作时: continuous clock, nights and holidays included
    working_hours = "working_hours"  # 工作时: inside office hours on statutory working days only
    working_days = "working_days"  # 工作日: statutory working days (holidays out, 调休 workdays in)
    calendar_days = "calendar_days"  # 自然日: continuous, 24 h per day


class HolidayDataMissing(Invalid):
    """The installed chinesecalendar has no holiday schedule for the year asked about."""


def _holiday_data_years() -> tuple[int, int]:
    known = chinese_calendar.holidays.keys()
    return min(known).year, max(known).year


def _package_version() -> str:
    try:
        return version("chinesecalendar")
    except PackageNotFoundError:  # pragma: no cover - only when run from a source checkout
        return "?"


@lru_cache(maxsize=16384)  # more than the ~8,400 days the package knows: every lookup stays cached
def _is_workday_ordinal(ordinal: int) -> bool:
    """Whether the day with this proleptic ordinal is a statutory working day; cached per day."""
    day = date.fromordinal(ordinal)
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as exc:
        # Guessing (weekends only) would silently misplace every deadline around 春节 and 国庆; the
        # schedule for a year is published by the State Council each autumn and shipped in a release.
        lo, hi = _holiday_data_years()
        raise HolidayDataMissing(
            f"no PRC holiday schedule for {day.year}: the installed chinesecalendar {_package_version()} "
            f"covers {lo}–{hi}; upgrade it once the State Council has published {day.year}'s schedule"
        ) from exc


@dataclass(frozen=True)
class HolidaySchedule:
    """Holidays and adjusted workdays (调休) a site enters itself.

    The State Council publishes next year's schedule each November, and a chinesecalendar release
    follows some time later. Until then a deadline running into the new year cannot be computed; a
    bureau enters the published schedule here (ZHILI_HOLIDAY_FILE) and deadlines work at once. For
    a year the schedule names, a day is a workday if listed as one, a holiday if listed as one,
    otherwise Monday–Friday; a listed day also overrides the package in the years it covers.
    """

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @property
    def years(self) -> frozenset[int]:
        return frozenset(d.year for d in self.holidays | self.workdays)

    @classmethod
    def from_csv(cls, text: str) -> HolidaySchedule:
        """Lines of `YYYY-MM-DD,holiday` or `YYYY-MM-DD,workday` (a header line and # comments allowed)."""
        holidays: set[date] = set()
        workdays: set[date] = set()
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line or line.lower().startswith("date"):
                continue
            parts = [p.strip() for p in line.split(",")]
            try:
                day = date.fromisoformat(parts[0])
            except ValueError as exc:
                raise Invalid(f"holiday file line {number}: {parts[0]!r} is not a date (YYYY-MM-DD)") from exc
            kind = parts[1].lower() if len(parts) > 1 else ""
            if kind not in ("holiday", "workday"):
                raise Invalid(f"holiday file line {number}: kind must be 'holiday' or 'workday', "
                              f"got {kind!r}")
            (holidays if kind == "holiday" else workdays).add(day)
        clash = holidays & workdays
        if clash:
            raise Invalid(f"holiday file lists {min(clash)} as both a holiday and a workday")
        return cls(frozenset(holidays), frozenset(workdays))


_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """Office windows of a working day, as [start, end) seconds after local midnight, in order."""

    windows: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not self.windows:
            raise Invalid("office hours need at least one window, e.g. 08:30-12:00,14:00-17:30")
        previous_end = 0
        for start, end in self.windows:
            if not 0 <= start < end <= 86400:
                raise Invalid(f"office window {_hhmm(start)}-{_hhmm(end)} must start before it ends")
            if start < previous_end:
                raise Invalid(
                    f"office window {_hhmm(start)}-{_hhmm(end)} overlaps or precedes the window before it: "
                    "list windows in order, without overlap"
                )
            previous_end = end

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """Parse "HH:MM-HH:MM,HH:MM-HH:MM" (24-hour clock, zero-padded, e.g. 08:30-12:00,14:00-17:30)."""
        windows: list[tuple[int, int]] = []
        for piece in text.split(","):
            bounds = piece.strip().split("-")
            matches = [_HHMM.fullmatch(b.strip()) for b in bounds]
            if len(bounds) != 2 or not all(matches):
                raise Invalid(
                    f"office window {piece.strip()!r} is not HH:MM-HH:MM (e.g. 08:30-12:00) in {text!r}"
                )
            start, end = (int(m.group(1)) * 3600 + int(m.group(2)) * 60 for m in matches if m)
            windows.append((start, end))
        return cls(tuple(windows))

    def __str__(self) -> str:
        return ",".join(f"{_hhmm(s)}-{_hhmm(e)}" for s, e in self.windows)

    @property
    def day_seconds(self) -> int:
        """Working seconds in a full working day (25,200 for the default 7 hours)."""
        return sum(end - start for start, end in self.windows)

    @property
    def close(self) -> int:
        """The end of the last window: the close of the office day."""
        return self.windows[-1][1]

    def worked_until(self, t: float) -> float:
        """Working seconds of a working day that lie before time-of-day `t` (seconds)."""
        return sum(min(max(t - start, 0.0), end - start) for start, end in self.windows)

    def time_after(self, worked: float) -> float:
        """The earliest time-of-day by which `worked` seconds (0 < worked <= day_seconds) are done.

        Earliest, so a limit that runs out exactly at 12:00 falls due at 12:00, not at 14:00.
        """
        done = 0.0
        for start, end in self.windows:
            if worked <= done + (end - start):
                return start + (worked - done)
            done += end - start
        return float(self.close)  # only reached when rounding pushes `worked` a hair past the day


def _unit(unit: TimeUnit | str) -> TimeUnit:
    try:
        return TimeUnit(unit)
    except ValueError as exc:
        names = ", ".join(u.value for u in TimeUnit)
        raise Invalid(f"unknown time unit {unit!r}: use {names}") from exc


class WorkCalendar:
    """Deadlines and elapsed time under the PRC statutory calendar and a site's office hours.

    Every datetime in and out is timezone-aware (naive ones raise ValueError); results are UTC.
    Office hours are read in `tz`'s local time; zones whose clocks change inside office hours are
    not supported (Asia/Shanghai has no daylight saving).
    """

    def __init__(self, office_hours: str = DEFAULT_OFFICE_HOURS, tz: str = DEFAULT_TZ,
                 schedule: HolidaySchedule | None = None) -> None:
        self.office_hours = OfficeHours.parse(office_hours)
        self.schedule = schedule or HolidaySchedule()
        self._schedule_years = self.schedule.years
        try:
            self.tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise Invalid(f"unknown time zone {tz!r}: use an IANA name such as Asia/Shanghai") from exc

    def __repr__(self) -> str:
        return f"WorkCalendar(office_hours={str(self.office_hours)!r}, tz={self.tz.key!r})"

    # --- days -------------------------------------------------------------------------------------

    def is_workday(self, d: date) -> bool:
        """Whether `d` is a statutory working day (an aware datetime is read as its local date)."""
        if isinstance(d, datetime):
            d = ensure_aware(d).astimezone(self.tz).date()
        return self._is_workday(d.toordinal())

    def _is_workday(self, ordinal: int) -> bool:
        if self._schedule_years:
            day = date.fromordinal(ordinal)
            if day in self.schedule.workdays:
                return True
            if day in self.schedule.holidays:
                return False
            if day.year in self._schedule_years:
                return day.weekday() < 5
        return _is_workday_ordinal(ordinal)

    def _workdays_between(self, first: int, stop: int) -> int:
        """Working days among the ordinals [first, stop)."""
        return sum(self._is_workday(o) for o in range(first, stop))

    def _worked(self, ordinal: int, t: float) -> float:
        """Working seconds on day `ordinal` before time-of-day `t`."""
        return self.office_hours.worked_until(t) if self._is_workday(ordinal) else 0.0

    # --- local time -------------------------------------------------------------------------------

    def _local(self, instant: datetime) -> tuple[int, float]:
        """(day ordinal, seconds after local midnight) of an aware instant."""
        lt = ensure_aware(instant).astimezone(self.tz)
        return lt.toordinal(), lt.hour * 3600 + lt.minute * 60 + lt.second + lt.microsecond / 1e6

    def _instant(self, ordinal: int, t: float) -> datetime:
        d = date.fromordinal(ordinal)
        return (datetime(d.year, d.month, d.day, tzinfo=self.tz) + timedelta(seconds=t)).astimezone(UTC)

    # --- deadlines --------------------------------------------------------------------------------

    def add(self, start: datetime, amount: float, unit: TimeUnit | str) -> datetime:
        """The deadline `amount` units after `start` (UTC).

        - urgent_hours: start + amount hours, continuously.
        - calendar_days: start + amount × 24 h, continuously.
        - working_hours: counts only time inside office windows on working days. A start outside
          them counts from the next window's opening (12:30 counts from 14:00). A limit that runs
          out exactly at a window's end falls due then (12:00), not at the next opening.
        - working_days: the day the case was received never counts, whatever the hour. The
          deadline for N whole days is the close of office hours (17:30) on the N-th working day
          after the day of receipt; a fraction runs on into the next working day in proportion to
          its office hours (0.5 day = 12:00 with the default hours). N = 0 means "by the close of
          today" (or at once, if today is not a working day or the office has closed).
        """
        s = ensure_aware(start)
        u = _unit(unit)
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount):
            raise Invalid(f"time limit must be a finite number, got {amount!r}")
        if amount < 0:
            raise Invalid(f"time limit must not be negative, got {amount!r}")
        try:
            if u is TimeUnit.urgent_hours:
                return s + timedelta(hours=amount)
            if u is TimeUnit.calendar_days:
                return s + timedelta(days=amount)
            if u is TimeUnit.working_hours:
                return self._add_working_seconds(s, amount * 3600.0)
            return self._add_working_days(s, amount)
        except OverflowError as exc:
            raise Invalid(f"time limit {amount!r} {u.value} is too large") from exc

    def _add_working_seconds(self, s: datetime, remaining: float) -> datetime:
        if remaining == 0:
            return s  # the earliest instant with nothing left to count is the start itself
        oh = self.office_hours
        full = oh.day_seconds
        ordinal, t = self._local(s)
        done = oh.worked_until(t)
        # Day by day, not minute by minute: each day either absorbs the rest or gives its whole balance.
        while True:
            if self._is_workday(ordinal):
                available = full - done
                if remaining <= available:
                    # max(): a remainder too small to change `done` in floating point must not send
                    # the deadline back to the end of the window the start lies just past.
                    return max(self._instant(ordinal, oh.time_after(done + remaining)), s)
                remaining -= available
            ordinal += 1
            done = 0.0

    def _add_working_days(self, s: datetime, amount: float) -> datetime:
        oh = self.office_hours
        ordinal, t = self._local(s)
        if amount == 0:
            if self._is_workday(ordinal) and t < oh.close:
                return self._instant(ordinal, oh.close)
            return s
        whole_days = math.ceil(amount)  # the working day on which the deadline falls, counted from 1
        into_day = (amount - (whole_days - 1)) * oh.day_seconds  # in (0, day_seconds]
        counted = 0
        while counted < whole_days:
            ordinal += 1
            counted += self._is_workday(ordinal)
        return self._instant(ordinal, oh.time_after(into_day))

    # --- elapsed time -----------------------------------------------------------------------------

    def elapsed(self, start: datetime, end: datetime, unit: TimeUnit | str) -> float:
        """How much of `unit` has run from `start` to `end` (end >= start); the inverse of `add`.

        working_hours are hours inside office windows. working_days are fractional: whole working
        days completed after the day of receipt, plus the share of the current working day's office
        hours already past (so 0 all through the day of receipt, 1.0 at its next working day's
        close). For every unit, elapsed(s, add(s, x, unit), unit) == x.
        """
        s, e = ensure_aware(start), ensure_aware(end)
        if e < s:
            raise Invalid(f"end {e.isoformat()} is before start {s.isoformat()}")
        return self._measure(s, e, _unit(unit))

    def _measure(self, s: datetime, e: datetime, u: TimeUnit) -> float:
        if u is TimeUnit.urgent_hours:
            return (e - s).total_seconds() / 3600.0
        if u is TimeUnit.calendar_days:
            return (e - s).total_seconds() / 86400.0
        if u is TimeUnit.working_hours:
            return self._working_seconds(s, e) / 3600.0
        return self._working_days(s, e)

    def _working_seconds(self, s: datetime, e: datetime) -> float:
        (o0, t0), (o1, t1) = self._local(s), self._local(e)
        if o0 == o1:
            return self._worked(o1, t1) - self._worked(o0, t0)
        full = self.office_hours.day_seconds
        first_day = (full if self._is_workday(o0) else 0.0) - self._worked(o0, t0)
        return first_day + full * self._workdays_between(o0 + 1, o1) + self._worked(o1, t1)

    def _working_days(self, s: datetime, e: datetime) -> float:
        (o0, _), (o1, t1) = self._local(s), self._local(e)
        if o1 <= o0:
            return 0.0  # the day of receipt does not count
        share = self._worked(o1, t1) / self.office_hours.day_seconds
        return self._workdays_between(o0 + 1, o1) + share

    def elapsed_excluding(
        self,
        start: datetime,
        end: datetime,
        unit: TimeUnit | str,
        pauses: list[tuple[datetime, datetime]],
    ) -> float:
        """`elapsed` with the paused intervals (挂账, suspended cases) taken out.

        Pauses may overlap each other or run past `start`/`end`: they are clipped and merged first,
        so no paused moment is subtracted twice.
        """
        s, e = ensure_aware(start), ensure_aware(end)
        u = _unit(unit)
        if e < s:
            raise Invalid(f"end {e.isoformat()} is before start {s.isoformat()}")
        total = self._measure(s, e, u)
        for a, b in _merge_pauses(pauses, s, e):
            if u is TimeUnit.working_days:
                # Working days are measured from the close of the day of receipt, so a pause counts
                # only for the part of it that the clock would have counted.
                total -= self._working_days(s, b) - self._working_days(s, a)
            else:
                total -= self._measure(a, b, u)
        return max(total, 0.0)  # rounding of many subtractions must not yield -1e-15


def _merge_pauses(
    pauses: list[tuple[datetime, datetime]], lo: datetime, hi: datetime
) -> list[tuple[datetime, datetime]]:
    """Pauses clipped to [lo, hi], sorted and merged where they overlap or touch."""
    clipped: list[tuple[datetime, datetime]] = []
    for pause in pauses:
        a, b = ensure_aware(pause[0]), ensure_aware(pause[1])
        if b < a:
            raise Invalid(f"pause ends ({b.isoformat()}) before it starts ({a.isoformat()})")
        a, b = max(a, lo), min(b, hi)
        if a < b:
            clipped.append((a, b))
    clipped.sort()
    merged: list[tuple[datetime, datetime]] = []
    for a, b in clipped:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def calendar_for(office_hours: str, tz: str, holiday_file: Path | None) -> WorkCalendar:
    """The site's calendar from its settings (office hours, zone, optional holiday file)."""
    schedule = None
    if holiday_file is not None:
        try:
            schedule = HolidaySchedule.from_csv(holiday_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise Invalid(f"cannot read the holiday file {holiday_file}: {exc.strerror}") from exc
    return WorkCalendar(office_hours, tz, schedule)


__all__ = [
    "DEFAULT_OFFICE_HOURS",
    "DEFAULT_TZ",
    "HolidayDataMissing",
    "HolidaySchedule",
    "OfficeHours",
    "TimeUnit",
    "WorkCalendar",
    "calendar_for",
]
