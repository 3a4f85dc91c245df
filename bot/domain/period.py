"""Reporting periods (2018, 2018Q3, 2018-09): parsing, bounds, due dates, and the periods of a cadence."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from bot.domain.digits import odd_digit
from bot.domain.plan import Cadence

_YEAR = re.compile(r"^([0-9]{4})(?:年(?:度|全年)?)?$")
_QUARTER = re.compile(r"^([0-9]{4})\s*(?:-?\s*Q|年\s*第?)\s*([1-4一二三四])\s*(?:季度?)?$", re.IGNORECASE)
_MONTH = re.compile(r"^([0-9]{4})\s*(?:[-/.]|年)\s*([0-9]{1,2})\s*月?$")
_CN_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4}


class PeriodError(ValueError):
    """A period label that cannot be read."""


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period: a year, a quarter or a month."""

    start: date
    end: date
    label: str

    @property
    def kind(self) -> Cadence:
        """Whether this is a month, a quarter or a year."""
        if "Q" in self.label:
            return Cadence.QUARTERLY
        return Cadence.MONTHLY if "-" in self.label else Cadence.YEARLY

    def due(self, due_days: int) -> date:
        """The day a report for this period is due: due_days after the period ends."""
        return self.end + timedelta(days=due_days)

    def contains(self, other: Period) -> bool:
        """Whether other lies wholly inside this period."""
        return self.start <= other.start and other.end <= self.end

    def overlaps(self, other: Period) -> bool:
        """Whether the two periods share a day."""
        return self.start <= other.end and other.start <= self.end

    def __str__(self) -> str:
        return self.label


def year(y: int) -> Period:
    """The calendar year y."""
    return Period(date(y, 1, 1), date(y, 12, 31), f"{y}")


def quarter(y: int, q: int) -> Period:
    """Quarter q (1-4) of year y."""
    start = date(y, 3 * q - 2, 1)
    end = date(y + 1, 1, 1) - timedelta(days=1) if q == 4 else date(y, 3 * q + 1, 1) - timedelta(days=1)
    return Period(start, end, f"{y}Q{q}")


def month(y: int, m: int) -> Period:
    """Month m of year y."""
    start = date(y, m, 1)
    nxt = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
    return Period(start, nxt - timedelta(days=1), f"{y}-{m:02d}")


def parse_period(text: str) -> Period:
    """Read 2018, 2018Q3, 2018-09 (and 2018年, 2018年第三季度, 2018年9月); raise PeriodError otherwise."""
    if odd_digit(text):
        raise PeriodError(f"cannot read period {text!r}: write 2018, 2018Q3 or 2018-09")
    s = unicodedata.normalize("NFKC", text).strip()
    if m := _YEAR.match(s):
        return year(int(m.group(1)))
    if m := _QUARTER.match(s):
        q = m.group(2)
        return quarter(int(m.group(1)), _CN_DIGIT.get(q) or int(q))
    if m := _MONTH.match(s):
        mo = int(m.group(2))
        if 1 <= mo <= 12:
            return month(int(m.group(1)), mo)
    raise PeriodError(f"cannot read period {text!r}: write 2018, 2018Q3 or 2018-09")


def period_of(cadence: Cadence, day: date) -> Period:
    """The period of this cadence that contains day."""
    if cadence is Cadence.YEARLY:
        return year(day.year)
    if cadence is Cadence.QUARTERLY:
        return quarter(day.year, (day.month - 1) // 3 + 1)
    return month(day.year, day.month)


def periods_between(cadence: Cadence, first: date, last: date) -> Iterator[Period]:
    """Every period of this cadence from the one containing first to the one containing last."""
    p = period_of(cadence, first)
    while p.start <= last:
        yield p
        p = period_of(cadence, p.end + timedelta(days=1))


def last_due(cadence: Cadence, due_days: int, as_of: date, not_before: date,
             not_after: date | None = None) -> Period | None:
    """The latest period (starting on or after not_before) whose report fell due on or before as_of; with
    not_after (a plan's last day), never a period later than the one containing it."""
    p = period_of(cadence, as_of)
    if not_after is not None and p.end > (final := period_of(cadence, not_after)).end:
        p = final  # nothing is owed for a period after the plan: its last period stays the last one due
    while p.due(due_days) > as_of:  # a report falls due after its period ends, so this steps back a few periods
        p = period_of(cadence, p.start - timedelta(days=1))
    return p if p.start >= period_of(cadence, not_before).start else None


@lru_cache(maxsize=4096)
def closing_period(cadence: Cadence, day: date) -> Period:
    """The latest period of this cadence that ends on or before day: the one whose figure tells a milestone's
    result."""
    p = period_of(cadence, day)
    return p if p.end <= day else period_of(cadence, p.start - timedelta(days=1))


def reporting_period(cadence: Cadence, today: date) -> Period:
    """The period a report is asked for on this day: the latest one that has ended."""
    return period_of(cadence, period_of(cadence, today).start - timedelta(days=1))


_IN_TEXT = re.compile(
    r"([0-9]{4})\s*年\s*第?\s*([1-4一二三四])\s*季度?|([0-9]{4})\s*[Qq]\s*([1-4])|([0-9]{4})\s*年\s*([0-9]{1,2})\s*月(?:份)?"
    r"|([0-9]{4})\s*-\s*([0-9]{2})(?![0-9])|([0-9]{4})\s*年(?:度|全年)?"
)


def find_period(text: str) -> tuple[Period | None, str]:
    """A period written inside a sentence (2018年第三季度, 2018Q3, 2018年9月, 2018年), and the text without it."""
    s = unicodedata.normalize("NFKC", text)
    m = _IN_TEXT.search(s) if odd_digit(text) is None else None
    if not m:
        return None, text
    g = m.groups()
    try:
        if g[0]:
            p = quarter(int(g[0]), _CN_DIGIT.get(g[1]) or int(g[1]))
        elif g[2]:
            p = quarter(int(g[2]), int(g[3]))
        elif g[4] or g[6]:
            y, mo = (g[4], g[5]) if g[4] else (g[6], g[7])
            p = month(int(y), int(mo))
        else:
            p = year(int(g[8]))
    except ValueError:
        return None, text
    return p, (s[: m.start()] + s[m.end():]).strip()
