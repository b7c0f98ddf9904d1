"""Deadlines and elapsed time over real PRC holiday weeks (chinesecalendar data, 2025–2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhili.core.errors import Invalid
from zhili.core.workcalendar import HolidayDataMissing, OfficeHours, TimeUnit, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
cal = WorkCalendar()


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Beijing-time instant, e.g. local(2025, 5, 30, 16) is 16:00 on 30 May 2025."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


def describe(first: date, last: date) -> str:
    """What the package says about each day, printed so a failing run shows the data it saw."""
    lines = []
    for d in days(first, last):
        kind = "work" if chinese_calendar.is_workday(d) else "off "
        lines.append(f"{d} {d:%a} {kind} {chinese_calendar.get_holiday_detail(d)[1] or ''}")
    return "\n".join(lines)


# --- the data --------------------------------------------------------------------------------------

# 2025 National Day + Mid-Autumn: 1–8 Oct off; Sun 28 Sep and Sat 11 Oct are adjusted workdays (调休).
NATIONAL_DAY_2025 = {
    date(2025, 9, 27): False,
    date(2025, 9, 28): True,  # Sunday, worked
    date(2025, 9, 29): True,
    date(2025, 9, 30): True,
    **{date(2025, 10, d): False for d in range(1, 9)},
    date(2025, 10, 9): True,
    date(2025, 10, 10): True,
    date(2025, 10, 11): True,  # Saturday, worked
    date(2025, 10, 12): False,
}

# 2026 Spring Festival as chinesecalendar 1.11.0 has it: 15–23 Feb off (Sun to Mon, nine days);
# Sat 14 Feb and Sat 28 Feb are adjusted workdays.
SPRING_FESTIVAL_2026 = {
    date(2026, 2, 13): True,
    date(2026, 2, 14): True,  # Saturday, worked
    **{date(2026, 2, d): False for d in range(15, 24)},
    date(2026, 2, 24): True,
    date(2026, 2, 27): True,
    date(2026, 2, 28): True,  # Saturday, worked
    date(2026, 3, 1): False,
}


@pytest.mark.parametrize(
    "expected", [NATIONAL_DAY_2025, SPRING_FESTIVAL_2026], ids=["national-day-2025", "spring-festival-2026"]
)
def test_holiday_weeks_match_the_package_data(expected: dict[date, bool]) -> None:
    print(describe(min(expected), max(expected)))
    assert {d: cal.is_workday(d) for d in expected} == expected


def test_is_workday_reads_an_aware_datetime_in_local_time() -> None:
    # 2025-09-30 17:00 UTC is already 1 Oct 01:00 in Guangzhou: a holiday.
    assert cal.is_workday(datetime(2025, 9, 30, 15, 0, tzinfo=UTC)) is True
    assert cal.is_workday(datetime(2025, 9, 30, 17, 0, tzinfo=UTC)) is False


# --- working hours ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        # 端午 2025 (Sat 31 May – Mon 2 Jun): Fri 16:00→17:30 counts 1.5 h; Sat, Sun and Mon are off;
        # the remaining 4 - 1.5 = 2.5 h run from Tue 08:30, inside the morning window: 08:30 + 2.5 h = 11:00.
        (local(2025, 5, 30, 16), local(2025, 6, 3, 11)),
        # 清明 2026 (Sat 4 – Mon 6 Apr): the same arithmetic, landing on Tue 7 Apr 11:00.
        (local(2026, 4, 3, 16), local(2026, 4, 7, 11)),
        # 国庆 2025: Tue 30 Sep 16:00→17:30 = 1.5 h; 1–8 Oct off; Thu 9 Oct 08:30 + 2.5 h = 11:00.
        (local(2025, 9, 30, 16), local(2025, 10, 9, 11)),
    ],
)
def test_four_working_hours_before_a_holiday_fall_due_on_the_first_workday_after_it(
    start: datetime, deadline: datetime
) -> None:
    due = cal.add(start, 4, TimeUnit.working_hours)
    assert due == deadline
    assert due.tzinfo is UTC
    assert cal.elapsed(start, due, TimeUnit.working_hours) == 4


def test_a_start_at_lunch_counts_from_the_afternoon_window() -> None:
    start = local(2025, 6, 9, 12, 30)  # Monday, lunch break
    assert cal.add(start, 1, "working_hours") == local(2025, 6, 9, 15)
    assert cal.elapsed(start, local(2025, 6, 9, 14), "working_hours") == 0
    assert cal.elapsed(start, local(2025, 6, 9, 14, 30), "working_hours") == 0.5


def test_a_limit_running_out_at_noon_falls_due_at_noon_not_at_two() -> None:
    assert cal.add(local(2025, 6, 9, 11), 1, "working_hours") == local(2025, 6, 9, 12)


def test_an_adjusted_saturday_counts_as_a_working_day() -> None:
    # Fri 10 Oct 2025 17:00 + 1 h: 30 min on Friday, the other 30 min on Saturday 11 Oct (调休).
    assert cal.add(local(2025, 10, 10, 17), 1, "working_hours") == local(2025, 10, 11, 9)
    # Sun 28 Sep 2025 was worked too: a report on Saturday 27 Sep counts from Sunday 08:30.
    assert cal.add(local(2025, 9, 27, 10), 2, "working_hours") == local(2025, 9, 28, 10, 30)
    # Received Fri 13 Feb 2026: one working day later is the close of Saturday 14 Feb, not Tue 24 Feb.
    assert cal.add(local(2026, 2, 13, 18), 1, "working_days") == local(2026, 2, 14, 17, 30)
    assert cal.elapsed(local(2026, 2, 13, 18), local(2026, 2, 14, 18), "working_days") == 1


def test_spring_festival_2026_is_skipped_by_working_hours() -> None:
    # Sat 14 Feb is worked and 15–23 Feb are off. 8 h from Sat 14:00: 14:00–17:30 = 3.5 h on Saturday;
    # 4.5 h left on Tue 24 Feb: 08:30–12:00 = 3.5 h, then 1 h after lunch, 14:00–15:00.
    assert cal.add(local(2026, 2, 14, 14), 8, "working_hours") == local(2026, 2, 24, 15)
    assert cal.elapsed(local(2026, 2, 14, 14), local(2026, 2, 24, 15), "working_hours") == 8


# --- working days ----------------------------------------------------------------------------------


def test_working_days_run_from_the_close_of_the_day_of_receipt() -> None:
    received = local(2025, 9, 30, 10)  # the last workday before National Day
    assert cal.add(received, 1, "working_days") == local(2025, 10, 9, 17, 30)
    assert cal.add(received, 3, "working_days") == local(2025, 10, 11, 17, 30)  # the adjusted Saturday
    assert cal.add(received, 2.5, "working_days") == local(2025, 10, 11, 12)  # half of 7 h past 08:30
    assert cal.add(received, 0, "working_days") == local(2025, 9, 30, 17, 30)
    # A report on a holiday: the first working day after it is day one.
    assert cal.add(local(2025, 10, 3, 9), 1, "working_days") == local(2025, 10, 9, 17, 30)


def test_elapsed_working_days_is_zero_through_the_day_of_receipt() -> None:
    received = local(2025, 6, 9, 9)
    assert cal.elapsed(received, local(2025, 6, 9, 17, 30), "working_days") == 0
    assert cal.elapsed(received, local(2025, 6, 10, 8, 30), "working_days") == 0
    assert cal.elapsed(received, local(2025, 6, 10, 12), "working_days") == 0.5
    assert cal.elapsed(received, local(2025, 6, 10, 20), "working_days") == 1


# --- continuous units ------------------------------------------------------------------------------


def test_urgent_hours_and_calendar_days_run_through_nights_and_holidays() -> None:
    start = local(2025, 9, 30, 23)
    assert cal.add(start, 2, "urgent_hours") == local(2025, 10, 1, 1)
    assert cal.add(start, 3, "calendar_days") == local(2025, 10, 3, 23)
    assert cal.elapsed(start, local(2025, 10, 1, 11), "urgent_hours") == 12
    assert cal.elapsed(start, local(2025, 10, 1, 11), "calendar_days") == 0.5


# --- hypothesis: elapsed inverts add ---------------------------------------------------------------

starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 6, 30), timezones=st.just(UTC))
AMOUNT_CAP = {
    # Caps that keep every deadline inside 2026, the last year the installed package knows.
    TimeUnit.urgent_hours: 2000.0,
    TimeUnit.working_hours: 300.0,
    TimeUnit.working_days: 60.0,
    TimeUnit.calendar_days: 150.0,
}


@settings(max_examples=400, deadline=None)
@given(start=starts, unit=st.sampled_from(list(TimeUnit)), share=st.floats(0.0, 1.0))
def test_elapsed_until_the_deadline_equals_the_limit(start: datetime, unit: TimeUnit, share: float) -> None:
    amount = share * AMOUNT_CAP[unit]
    due = cal.add(start, amount, unit)
    assert due >= start
    assert abs(cal.elapsed(start, due, unit) - amount) < 1e-6


@settings(max_examples=200, deadline=None)
@given(start=starts, unit=st.sampled_from(list(TimeUnit)), a=st.floats(0.0, 1.0), b=st.floats(0.0, 1.0))
def test_deadlines_and_elapsed_are_monotonic(start: datetime, unit: TimeUnit, a: float, b: float) -> None:
    small, large = sorted((a, b))
    cap = AMOUNT_CAP[unit]
    assert cal.add(start, small * cap, unit) <= cal.add(start, large * cap, unit)
    end1, end2 = start + timedelta(days=small * 60), start + timedelta(days=large * 60)
    assert cal.elapsed(start, end1, unit) <= cal.elapsed(start, end2, unit)


# --- pauses (挂账) -----------------------------------------------------------------------------------


def test_pauses_are_clipped_merged_and_subtracted_once() -> None:
    start = local(2025, 6, 9, 8, 30)  # Monday
    end = local(2025, 6, 10, 17, 30)  # Tuesday close: 14 working hours
    pauses = [
        (local(2025, 6, 9, 7), local(2025, 6, 9, 10, 30)),  # overlaps the start: counts 08:30–10:30 = 2 h
        (local(2025, 6, 10, 9), local(2025, 6, 10, 11)),  # Tue 09:00–11:00 ...
        (local(2025, 6, 10, 10), local(2025, 6, 10, 11, 30)),  # ... overlapping: merged 09:00–11:30 = 2.5 h
        (local(2025, 6, 10, 17), local(2025, 6, 11, 12)),  # runs past the end: counts 17:00–17:30 = 0.5 h
    ]
    assert cal.elapsed(start, end, "working_hours") == 14
    assert cal.elapsed_excluding(start, end, "working_hours", pauses) == pytest.approx(14 - 2 - 2.5 - 0.5)
    assert cal.elapsed_excluding(start, end, "working_hours", []) == 14


def test_pauses_in_working_days_only_remove_counted_time() -> None:
    received = local(2025, 6, 9, 9)  # Monday: the day of receipt does not count anyway
    end = local(2025, 6, 12, 17, 30)  # Thursday close: Tue, Wed, Thu = 3 days
    pause_on_receipt_day = [(local(2025, 6, 9, 10), local(2025, 6, 9, 16))]
    pause_wednesday = [(local(2025, 6, 11, 0), local(2025, 6, 12, 0))]
    assert cal.elapsed_excluding(received, end, "working_days", pause_on_receipt_day) == 3
    assert cal.elapsed_excluding(received, end, "working_days", pause_wednesday) == 2
    assert cal.elapsed_excluding(received, end, "calendar_days", pause_wednesday) == pytest.approx(
        (end - received) / timedelta(days=1) - 1
    )


def test_a_backwards_pause_is_refused() -> None:
    with pytest.raises(Invalid, match="pause ends"):
        cal.elapsed_excluding(
            local(2025, 6, 9, 9),
            local(2025, 6, 9, 17),
            "working_hours",
            [(local(2025, 6, 9, 12), local(2025, 6, 9, 10))],
        )


# --- refusals --------------------------------------------------------------------------------------


def test_a_year_outside_the_package_data_gives_a_clear_error() -> None:
    with pytest.raises(
        HolidayDataMissing, match=r"no PRC holiday schedule for 2027.*covers 2004–2026"
    ) as info:
        cal.is_workday(date(2027, 1, 4))
    assert isinstance(info.value, Invalid) and info.value.status_code == 422
    with pytest.raises(HolidayDataMissing, match="2003"):
        cal.add(local(2003, 12, 31, 9), 1, "working_hours")
    # A deadline that would run into the unknown year is refused, not guessed.
    with pytest.raises(HolidayDataMissing, match="2027"):
        cal.add(local(2026, 12, 15, 9), 20, "working_days")


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2025, 6, 9, 9)
    with pytest.raises(ValueError, match="time zone"):
        cal.add(naive, 1, "working_hours")
    with pytest.raises(ValueError, match="time zone"):
        cal.elapsed(local(2025, 6, 9, 9), naive, "urgent_hours")


@pytest.mark.parametrize("amount", [-1, float("nan"), float("inf"), True, "4"])
def test_bad_amounts_are_refused(amount: object) -> None:
    with pytest.raises(Invalid, match="time limit"):
        cal.add(local(2025, 6, 9, 9), amount, "working_hours")  # type: ignore[arg-type]


def test_unknown_unit_end_before_start_and_unknown_zone_are_refused() -> None:
    with pytest.raises(Invalid, match="unknown time unit 'weeks'"):
        cal.add(local(2025, 6, 9, 9), 1, "weeks")
    with pytest.raises(Invalid, match="before start"):
        cal.elapsed(local(2025, 6, 9, 9), local(2025, 6, 9, 8), "urgent_hours")
    with pytest.raises(Invalid, match="unknown time zone 'Mars/Olympus'"):
        WorkCalendar(tz="Mars/Olympus")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not HH:MM-HH:MM"),
        ("8:30-12:00", "'8:30-12:00' is not HH:MM-HH:MM"),
        ("08:30-12:00;14:00-17:30", "not HH:MM-HH:MM"),
        ("08:30-24:00", "not HH:MM-HH:MM"),
        ("08:30-12:60", "not HH:MM-HH:MM"),
        ("12:00-08:30", "12:00-08:30 must start before it ends"),
        ("08:30-08:30", "must start before it ends"),
        ("08:30-12:00,11:00-17:30", "11:00-17:30 overlaps"),
        ("14:00-17:30,08:30-12:00", "08:30-12:00 overlaps or precedes"),
    ],
)
def test_bad_office_hours_are_refused(text: str, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        OfficeHours.parse(text)


def test_office_hours_parse_and_other_sites_hours() -> None:
    hours = OfficeHours.parse(" 09:00-12:00 , 13:30-18:00 ")
    assert str(hours) == "09:00-12:00,13:30-18:00"
    assert hours.day_seconds == 7.5 * 3600
    summer = WorkCalendar(office_hours="08:00-12:00,15:00-18:00")
    assert summer.add(local(2025, 6, 9, 11), 2, "working_hours") == local(2025, 6, 9, 16)


def test_a_site_schedule_covers_a_year_the_package_does_not_know(tmp_path) -> None:
    from zhili.core.workcalendar import calendar_for

    # Pretend the State Council published: 2027-01-01 (Fri) off, 2027-01-02 (Sat) worked.
    holidays = tmp_path / "holidays.csv"
    holidays.write_text("date,kind\n2027-01-01,holiday\n2027-01-02,workday  # 调休\n", encoding="utf-8")
    cal = calendar_for("08:30-12:00,14:00-17:30", "Asia/Shanghai", holidays)
    assert not cal.is_workday(date(2027, 1, 1)) and cal.is_workday(date(2027, 1, 2))
    assert cal.is_workday(date(2027, 1, 4)) and not cal.is_workday(date(2027, 1, 3))
    # Thu 2026-12-31 17:00 + 1 working hour: 0.5 h on Thursday, then Saturday 2027-01-02 09:00.
    start = datetime(2026, 12, 31, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
    assert cal.add(start, 1, TimeUnit.working_hours) == datetime(2027, 1, 2, 1, 0, tzinfo=UTC)
    with pytest.raises(HolidayDataMissing):
        WorkCalendar().add(start, 1, TimeUnit.working_hours)


def test_a_bad_holiday_file_is_refused_with_its_line(tmp_path) -> None:
    from zhili.core.workcalendar import HolidaySchedule

    with pytest.raises(Invalid, match="line 2: '2027-13-01' is not a date"):
        HolidaySchedule.from_csv("date,kind\n2027-13-01,holiday\n")
    with pytest.raises(Invalid, match="kind must be"):
        HolidaySchedule.from_csv("2027-01-01,vacation\n")
