"""The pace engine (序时进度): actual against time-elapsed expected value, shortfall, status and forecast."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from itertools import accumulate, pairwise

from bot.domain.period import Period, last_due
from bot.domain.plan import Aggregation, Indicator, Kind, Milestone, Plan

HUNDRED = Decimal(100)


class Status(StrEnum):
    """Where an indicator stands against its pace."""

    MISSED = "missed"
    LAGGING = "lagging"
    BEHIND = "behind"
    NO_DATA = "no_data"
    NO_BASELINE = "no_baseline"
    ON_TRACK = "on_track"
    ACHIEVED = "achieved"

    @property
    def severity(self) -> int:
        """Sort key: worst first (missed 0 ... achieved 6)."""
        return list(Status).index(self)

    @property
    def needs_attention(self) -> bool:
        """Whether a leader should look at it (behind, lagging, missed or without data)."""
        return self in (Status.MISSED, Status.LAGGING, Status.BEHIND, Status.NO_DATA)


@dataclass(frozen=True)
class Figure:
    """A figure one unit reported for one period; `effective` is when it describes the world."""

    unit: str
    period: Period
    value: Decimal
    effective: date


@dataclass(frozen=True)
class Point:
    """A city-level value at a date."""

    day: date
    value: Decimal
    period: Period | None = None


@dataclass(frozen=True)
class Progress:
    """An indicator's position as of a date."""

    indicator: Indicator
    as_of: date
    status: Status
    actual: Decimal | None
    actual_period: Period | None
    expected: Decimal | None
    target: Decimal | None
    due: date | None
    shortfall_pp: Decimal | None
    baseline: Decimal | None
    forecast: Decimal | None
    last_due_period: Period | None
    missing_units: tuple[str, ...] = ()
    unit_values: dict[str, Decimal] = field(default_factory=dict)
    missed_milestone: Milestone | None = None


def effective_day(period: Period, entered: date) -> date:
    """The day a figure describes: the period's end, or the day it was entered if earlier."""
    return min(period.end, entered)


def _interpolate(points: Sequence[Point], day: date) -> Decimal:
    """The piecewise-linear value at day through points (sorted by day); clamps at both ends."""
    if day <= points[0].day:
        return points[0].value
    for a, b in pairwise(points):
        if day <= b.day:
            span = Decimal((b.day - a.day).days)
            return a.value + (b.value - a.value) * Decimal((day - a.day).days) / span
    return points[-1].value


def _disjoint(figures: Iterable[Figure]) -> list[Figure]:
    """Longest periods first, dropping any that overlap one already kept (a year beats its quarters).

    The kept periods never overlap one another, so a candidate can only overlap its neighbours by start date:
    O(n log n) instead of comparing it with everything kept."""
    starts: list[date] = []
    kept: list[Figure] = []
    for f in sorted(figures, key=lambda f: (-(f.period.end - f.period.start).days, f.period.start)):
        i = bisect_left(starts, f.period.start)
        if (i > 0 and kept[i - 1].period.overlaps(f.period)) or (i < len(kept) and kept[i].period.overlaps(f.period)):
            continue
        starts.insert(i, f.period.start)
        kept.insert(i, f)
    return kept


def city_series(ind: Indicator, figures: Sequence[Figure], as_of: date) -> list[Point]:
    """The city's values over time from unit figures known by as_of (cumulative for flows)."""
    known = [f for f in figures if f.effective <= as_of]
    lead, reporters = set(ind.lead_units), set(ind.reporting_units)
    by_period: dict[Period, list[Figure]] = {}
    for f in known:
        by_period.setdefault(f.period, []).append(f)
    levels = _Levels(known, reporters) if ind.aggregation is Aggregation.SUM and ind.kind is not Kind.FLOW else None
    city: list[Figure] = []
    for period, fs in by_period.items():
        leads = sorted((f for f in fs if f.unit in lead), key=lambda f: ind.lead_units.index(f.unit))
        if leads:  # the first lead unit of the plan that reported speaks for the city
            city.append(Figure("", period, leads[0].value, max(f.effective for f in leads)))
        elif ind.aggregation is Aggregation.SUM and ind.kind is Kind.FLOW:
            parts = [f for f in fs if f.unit in reporters]
            if parts:
                city.append(Figure("", period, sum((f.value for f in parts), Decimal(0)),
                                   max(f.effective for f in parts)))
        elif levels is not None:
            city.append(levels.carried_sum(period))
    return city_points(ind, city)


def city_points(ind: Indicator, city: Iterable[Figure]) -> list[Point]:
    """The series through the city's value for each period: running totals for flows, levels otherwise."""
    if ind.kind is Kind.FLOW:
        total = Decimal(0)
        points = []
        for f in _disjoint(city):
            total += f.value
            points.append(Point(f.effective, total, f.period))
        return points
    return [Point(f.effective, f.value, f.period) for f in sorted(city, key=lambda f: (f.effective, f.period))]


class _Levels:
    """Each reporting unit's levels sorted by period end, to carry a unit's latest level forward quickly."""

    def __init__(self, known: Sequence[Figure], reporters: set[str]) -> None:
        mine: dict[str, list[Figure]] = {}
        for f in known:
            if f.unit in reporters:
                mine.setdefault(f.unit, []).append(f)
        self.units = {u: sorted(fs, key=lambda f: (f.period.end, f.effective)) for u, fs in mine.items()}
        self.ends = {u: [f.period.end for f in fs] for u, fs in self.units.items()}
        self.seen = {u: list(accumulate((f.effective for f in fs), max)) for u, fs in self.units.items()}

    def carried_sum(self, period: Period) -> Figure:
        """Sum of each reporting unit's latest level for a period ending no later than this one, dated by the
        latest day any of those units' figures so far describes (never before the period's start)."""
        total, last = Decimal(0), period.start
        for unit, fs in self.units.items():
            i = bisect_right(self.ends[unit], period.end)
            if i:
                total += fs[i - 1].value
                last = max(last, self.seen[unit][i - 1])
        return Figure("", period, total, last)


def baseline_of(plan: Plan, ind: Indicator, figures: Sequence[Figure]) -> Decimal | None:
    """The level an indicator starts from: 0 for a flow, the plan's baseline, else the figures of the baseline date."""
    if ind.kind is Kind.FLOW:
        return Decimal(0)
    if ind.baseline is not None:
        return ind.baseline
    base = [f for f in figures if f.period.end == plan.baseline_date]
    if not base:
        return None
    series = city_series(ind, base, plan.baseline_date)
    return series[-1].value if series else None


def pace_points(plan: Plan, ind: Indicator, baseline: Decimal) -> list[Point]:
    """The pace line: the baseline at the plan's start, then each milestone's absolute value."""
    points = [Point(plan.baseline_date, baseline)]
    points += [Point(ms.due, target_value(ms, baseline)) for ms in ind.milestones]
    return points


def target_value(ms: Milestone, baseline: Decimal | None) -> Decimal:
    """A milestone's absolute value (baseline + N for relative milestones; N when no baseline)."""
    return ms.value + (baseline or Decimal(0)) if ms.relative else ms.value


def _current_milestone(ind: Indicator, as_of: date) -> Milestone:
    for ms in ind.milestones:
        if ms.due >= as_of:
            return ms
    return ind.milestones[-1]


def forecast(points: Sequence[Point], day: date) -> Decimal | None:
    """The value on day at the pace of the last two points (None with fewer than two, or none in time)."""
    if len(points) < 2:
        return None
    a, b = points[-2], points[-1]
    days = (b.day - a.day).days
    if days <= 0:
        return None
    return b.value + (b.value - a.value) * Decimal((day - b.day).days) / Decimal(days)


def _missing_units(ind: Indicator, figures: Sequence[Figure], period: Period | None) -> tuple[str, ...]:
    if period is None:
        return ()
    owing = ind.reporting_units if ind.aggregation is Aggregation.SUM else ind.lead_units[:1]
    if ind.kind is Kind.FLOW:  # an increment for this period (or one containing it) is owed
        covered = {f.unit for f in figures if f.period.overlaps(period)}
    else:  # a level for this period or any later one will do
        covered = {f.unit for f in figures if f.period.end >= period.end}
    if covered & set(ind.lead_units):
        return ()
    return tuple(u for u in owing if u not in covered)


def assess(plan: Plan, ind: Indicator, figures: Sequence[Figure], as_of: date) -> Progress:
    """Judge one indicator as of a date from every unit figure reported for it."""
    baseline = baseline_of(plan, ind, figures)
    in_plan = [f for f in figures if f.period.start >= plan.start]
    series = city_series(ind, in_plan, as_of)
    due_period = last_due(ind.schedule.cadence, ind.schedule.due_days, as_of, plan.start)
    known = [f for f in in_plan if f.effective <= as_of]
    unit_values = {}
    for f in sorted(known, key=lambda f: (f.period.end, f.effective)):
        unit_values[f.unit] = f.value
    return judge(plan, ind, as_of, baseline, series, due_period, _missing_units(ind, known, due_period), unit_values)


def judge(plan: Plan, ind: Indicator, as_of: date, baseline: Decimal | None, series: Sequence[Point],
          due_period: Period | None, missing_units: tuple[str, ...],
          unit_values: dict[str, Decimal] | None = None) -> Progress:
    """Judge one indicator from its baseline, its city series and who owes the last due period's report."""
    ms = _current_milestone(ind, as_of)
    target = target_value(ms, baseline)
    last = series[-1] if series else None
    base = Progress(
        indicator=ind, as_of=as_of, status=Status.NO_BASELINE, baseline=baseline, due=ms.due,
        actual=last.value if last else (Decimal(0) if ind.kind is Kind.FLOW else None),
        actual_period=last.period if last else None,
        expected=None, shortfall_pp=None, forecast=None,
        target=target if baseline is not None or not ms.relative else None,
        last_due_period=due_period, unit_values=unit_values or {}, missing_units=missing_units,
    )
    if baseline is None:
        return base
    line = pace_points(plan, ind, baseline)
    expected = _interpolate(line, as_of)
    if ind.kind is Kind.STAGED:
        expected = expected.to_integral_value(rounding=ROUND_FLOOR)
    fc_points = [Point(plan.baseline_date, baseline), *series] if ind.kind is Kind.FLOW else series
    base = replace(base, expected=expected, forecast=forecast(fc_points, ms.due))
    if last is None or (due_period is not None and last.period is not None and last.period.end < due_period.end):
        return replace(base, status=Status.NO_DATA)
    actual = last.value
    segment_start = max((p for p in line if p.day < ms.due), key=lambda p: p.day)
    gain = target - segment_start.value
    shortfall = (expected - actual) / gain * HUNDRED if gain != 0 else None
    unmet = [m for m in ind.milestones if m.due < as_of and not m.comparator.met(actual, target_value(m, baseline))]
    if ms.comparator.met(actual, target):
        status = Status.ACHIEVED
    elif unmet:
        status = Status.MISSED
    elif shortfall is None or shortfall > ind.thresholds.behind:
        status = Status.LAGGING
    elif shortfall > ind.thresholds.on_track:
        status = Status.BEHIND
    else:
        status = Status.ON_TRACK
    return replace(base, status=status, shortfall_pp=shortfall,
                   missed_milestone=unmet[-1] if status is Status.MISSED else None)


def rank(progress: Iterable[Progress]) -> list[Progress]:
    """Worst first: by status severity, then by shortfall (largest first)."""
    return sorted(progress, key=lambda p: (p.status.severity, -(p.shortfall_pp or Decimal(0))))
