"""China's working-day calendar (holidays and make-up days), quiet hours, and instants in the plan's zone. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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


def at(d: date, t: time) -> datetime:
    """The instant at time t on day d in Asia/Shanghai (any tzinfo on t is ignored)."""
    return datetime.combine(d, t.replace(tzinfo=None), tzinfo=ZONE)


def local(t: datetime) -> datetime:
    """An aware instant seen in Asia/Shanghai; raise ValueError for a naive datetime."""
    if t.tzinfo is None or t.tzinfo.utcoffset(t) is None:
        raise ValueError(f"naive datetime {t.isoformat()}: pass an aware instant")
    return t.astimezone(ZONE)


@dataclass(frozen=True)
class QuietHours:
    """Hours in Asia/Shanghai when nothing is pushed: from start (inclusive) to end (exclusive), across midnight."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def contains(self, t: datetime) -> bool:
        """Whether the aware instant t falls in quiet hours (start <= local time < end); never when start == end."""
        clock = local(t).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def next_allowed(self, t: datetime) -> datetime:
        """t itself (in Asia/Shanghai) outside quiet hours, else the next `end` time in Asia/Shanghai."""
        lt = local(t)
        if not self.contains(lt):
            return lt
        candidate = at(lt.date(), self.end)
        return candidate if candidate > lt else at(lt.date() + _DAY, self.end)
