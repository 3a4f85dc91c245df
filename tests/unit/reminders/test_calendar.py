"""The working-day calendar as tables: National Day 2018 with its make-up days, Spring Festival 2019, quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar  # type: ignore[import-untyped, unused-ignore]
import pytest

from bot.domain.schedule import ZONE, QuietHours, at
from reminders.calendar import add_workdays, is_workday, workday_on_or_after

D = date.fromisoformat


def sh(text: str) -> datetime:
    """An instant written in Shanghai local time."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


@pytest.mark.parametrize(("day", "workday"), [
    ("2018-09-28", True),  # Friday
    ("2018-09-29", True),  # Saturday, make-up working day (调休)
    ("2018-09-30", True),  # Sunday, make-up working day
    *((f"2018-10-0{d}", False) for d in range(1, 8)),  # National Day holidays, Monday to Sunday
    ("2018-10-08", True),
    ("2018-10-13", False),  # an ordinary Saturday
    ("2019-02-01", True),
    ("2019-02-02", True),  # Saturday, make-up working day for Spring Festival
    ("2019-02-03", True),  # Sunday, make-up working day
    *((f"2019-02-{d:02d}", False) for d in range(4, 11)),  # Spring Festival holidays
    ("2019-02-11", True),
    ("2018-12-29", True),  # Saturday, make-up working day for New Year 2019
    ("2018-12-31", False),  # Monday, New Year holiday
])
def test_is_workday(day: str, workday: bool) -> None:
    assert is_workday(D(day)) is workday


@pytest.mark.parametrize(("day", "n", "expected"), [
    ("2018-10-10", -1, "2018-10-09"),
    ("2018-10-10", -3, "2018-09-30"),  # Oct 8, Oct 7..1 skipped, then the make-up Sunday Sep 30
    ("2018-10-10", -7, "2018-09-26"),  # Oct 9, 8, Sep 30, 29, 28, 27, 26
    ("2018-09-28", 1, "2018-09-29"),  # the make-up Saturday counts
    ("2018-09-30", 1, "2018-10-08"),  # across the whole holiday week
    ("2018-10-01", 1, "2018-10-08"),  # from inside the holiday
    ("2018-10-01", -1, "2018-09-30"),
    ("2018-10-08", -1, "2018-09-30"),
    ("2018-10-10", 3, "2018-10-15"),  # over an ordinary weekend
    ("2019-02-01", 1, "2019-02-02"),
    ("2019-02-03", 1, "2019-02-11"),  # across Spring Festival
    ("2019-02-11", -1, "2019-02-03"),
    ("2019-02-11", -3, "2019-02-01"),
    ("2019-01-31", 5, "2019-02-12"),  # Feb 1, 2, 3, 11, 12
    ("2018-10-01", 0, "2018-10-01"),  # n == 0: d itself, even on a holiday
    ("2018-10-10", 0, "2018-10-10"),
])
def test_add_workdays(day: str, n: int, expected: str) -> None:
    assert add_workdays(D(day), n) == D(expected)


@pytest.mark.parametrize(("day", "expected"), [
    ("2018-10-01", "2018-10-08"),
    ("2018-10-07", "2018-10-08"),
    ("2018-10-08", "2018-10-08"),
    ("2018-09-29", "2018-09-29"),
    ("2018-10-13", "2018-10-15"),
    ("2019-02-04", "2019-02-11"),
    ("2018-12-30", "2019-01-02"),
])
def test_workday_on_or_after(day: str, expected: str) -> None:
    assert workday_on_or_after(D(day)) == D(expected)


@pytest.mark.parametrize("year", [1990, 2099])
def test_years_the_package_does_not_cover_fall_back_to_weekdays(year: int) -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(year, 10, 1))
    first = date(year, 9, 1)
    for k in range(60):  # National Day would be a holiday; without data only weekends are off
        d = first + timedelta(days=k)
        assert is_workday(d) is (d.weekday() < 5)


def test_add_workdays_in_an_uncovered_year_counts_weekdays() -> None:
    assert date(2099, 10, 2).weekday() == 4  # a Friday
    assert add_workdays(date(2099, 10, 2), 1) == date(2099, 10, 5)
    assert add_workdays(date(2099, 10, 5), -1) == date(2099, 10, 2)
    assert workday_on_or_after(date(2099, 10, 3)) == date(2099, 10, 5)


def test_at_is_aware_in_shanghai() -> None:
    t = at(date(2018, 10, 10), time(9, 0))
    assert t.tzinfo is ZONE
    assert t.utcoffset() == timedelta(hours=8)
    assert t == datetime(2018, 10, 10, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(("clock", "quiet"), [
    ("20:59", False),
    ("21:00", True),
    ("23:59", True),
    ("00:00", True),
    ("07:59", True),
    ("08:00", False),
    ("12:00", False),
])
def test_quiet_hours(clock: str, quiet: bool) -> None:
    assert QuietHours().contains(sh(f"2018-10-09T{clock}")) is quiet


def test_quiet_hours_are_read_in_shanghai_whatever_the_zone_of_the_instant() -> None:
    assert QuietHours().contains(datetime(2018, 10, 9, 13, 0, tzinfo=UTC))  # 21:00 in Shanghai
    assert not QuietHours().contains(datetime(2018, 10, 9, 0, 0, tzinfo=UTC))  # 08:00 in Shanghai


@pytest.mark.parametrize(("t", "expected"), [
    ("2018-10-09T20:59", "2018-10-09T20:59"),  # outside: itself
    ("2018-10-09T08:00", "2018-10-09T08:00"),
    ("2018-10-09T21:00", "2018-10-10T08:00"),  # across midnight
    ("2018-12-31T23:30", "2019-01-01T08:00"),  # across midnight and the year
    ("2018-10-10T00:30", "2018-10-10T08:00"),  # after midnight: the same morning
    ("2018-10-10T07:59", "2018-10-10T08:00"),
])
def test_next_allowed(t: str, expected: str) -> None:
    got = QuietHours().next_allowed(sh(t))
    assert got == sh(expected)
    assert got.tzinfo is ZONE
    assert not QuietHours().contains(got)


def test_next_allowed_from_another_zone_returns_shanghai_time() -> None:
    got = QuietHours().next_allowed(datetime(2018, 10, 9, 15, 30, tzinfo=UTC))  # 23:30 in Shanghai
    assert got == sh("2018-10-10T08:00") and got.tzinfo is ZONE


def test_quiet_hours_within_one_day_and_empty() -> None:
    noon = QuietHours(time(12, 0), time(14, 0))
    assert [noon.contains(sh(f"2018-10-09T{c}")) for c in ("11:59", "12:00", "13:59", "14:00")] == [
        False, True, True, False]
    assert noon.next_allowed(sh("2018-10-09T12:30")) == sh("2018-10-09T14:00")
    never = QuietHours(time(8, 0), time(8, 0))
    assert not never.contains(sh("2018-10-09T08:00"))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        QuietHours().contains(datetime(2018, 10, 9, 22, 0))
