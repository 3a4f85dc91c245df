"""China's working-day calendar (holidays and make-up days), quiet hours, and instants in the plan's zone. Pure."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped, unused-ignore]

ZONE = ZoneInfo("Asia/Shanghai")
_DAY = timedelta(days=1)


@lru_cache(maxsize=8192)
def _workday(d: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:  # a year the package has no data for
        return d.weekday() < 5


def is_workday(d: date) -> bool:
    """Whether d is a working day in China (holidays and make-up days 调休 included); Monday–Friday when unknown."""
    return _workday(d)


@lru_cache(maxsize=65536)
def _add_workdays(d: date, n: int) -> date:
    step = _DAY if n > 0 else -_DAY
    left = abs(n)
    while left:
        d += step
        if _workday(d):
            left -= 1
    return d


def add_workdays(d: date, n: int) -> date:
    """The n-th working day after d (n > 0) or before d (n < 0), d itself not counted; d when n == 0."""
    return _add_workdays(d, n)


def workday_on_or_after(d: date) -> date:
    """d if it is a working day, else the next working day."""
    while not _workday(d):
        d += _DAY
    return d


