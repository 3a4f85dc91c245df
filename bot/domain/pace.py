"""The pace engine (序时进度): actual against time-elapsed expected value, shortfall, status and forecast."""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from itertools import accumulate, pairwise

from bot.domain.period import Period, closing_period, last_due
from bot.domain.plan import Aggregation, Indicator, Kind, Milestone, Plan

HUNDRED = Decimal(100)


class Status(StrEnum):
    """Where an indicator stands against its pace."""

    MISSED = "missed"
    UNMET = "unmet"  # on a milestone's date itself: the target is not met as of today
    LAGGING = "lagging"
    BEHIND = "behind"
    NO_DATA = "no_data"
    NO_BASELINE = "no_baseline"
    ON_TRACK = "on_track"
    ACHIEVED = "achieved"

    @property
    def severity(self) -> int:
        """Sort key: worst first (missed 0 ... achieved 7)."""
        return list(Status).index(self)

    @property
    def needs_attention(self) -> bool:
        """Whether a leader should look at it (behind, lagging, missed or without data)."""
        return self in (Status.MISSED, Status.UNMET, Status.LAGGING, Status.BEHIND, Status.NO_DATA)

    @property
    def unjudged(self) -> bool:
        """Whether the indicator cannot be judged (no figure for the period due, or no baseline for its pace)."""
        return self in (Status.NO_DATA, Status.NO_BASELINE)


class Verdict(StrEnum):
    """A passed milestone's result: reached, not reached, or not known (no figure, or a relative target without a
    baseline)."""

    ACHIEVED = "achieved"
    MISSED = "missed"
    NO_DATA = "no_data"
    NO_BASELINE = "no_baseline"


@dataclass(frozen=True)
class MilestoneResult:
    """A milestone's result, judged on the figure for the period ending on its date (kept once the date passed)."""

    milestone: Milestone
    target: Decimal | None
    verdict: Verdict | None  # None: the date has not passed yet
    actual: Decimal | None  # the latest city value for a period ending on or before the date (may be stale)
    period: Period | None  # the period of that value
    forecast: Decimal | None = None  # not yet due: the value on its date at the pace of the last two figures


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
    milestone: Milestone | None = None  # the milestone the status is about (its comparator shows with the target)
    results: tuple[MilestoneResult, ...] = ()  # every milestone of the indicator, passed ones with their verdict
    final: bool = False  # the last milestone has passed: the status is the plan's final result

    @property
    def passed(self) -> tuple[MilestoneResult, ...]:
        """The results of the milestones whose date has passed."""
        return tuple(r for r in self.results if r.verdict is not None)


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
    info = set(ind.informational_units)  # figures for information only never form a city value
    known = [f for f in figures if f.effective <= as_of and f.unit not in info]
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


def due_period(plan: Plan, ind: Indicator, as_of: date) -> Period | None:
    """The latest period whose report fell due by as_of, never one after the plan's last period."""
    return last_due(ind.schedule.cadence, ind.schedule.due_days, as_of, plan.start, plan.end)


def assess(plan: Plan, ind: Indicator, figures: Sequence[Figure], as_of: date) -> Progress:
    """Judge one indicator as of a date from every unit figure reported for it."""
    baseline = baseline_of(plan, ind, figures)
    in_plan = [f for f in figures if f.period.start >= plan.start and f.period.end <= plan.end]
    series = city_series(ind, in_plan, as_of)
    due = due_period(plan, ind, as_of)
    known = [f for f in in_plan if f.effective <= as_of]
    unit_values = {}
    for f in sorted(known, key=lambda f: (f.period.end, f.effective)):
        unit_values[f.unit] = f.value
    return judge(plan, ind, as_of, baseline, series, due, _missing_units(ind, known, due), unit_values)


def _target(ms: Milestone, baseline: Decimal | None) -> Decimal | None:
    """A milestone's absolute value, None for a relative one without a baseline."""
    return None if ms.relative and baseline is None else target_value(ms, baseline)


def milestone_results(ind: Indicator, baseline: Decimal | None, series: Sequence[Point],
                      as_of: date) -> tuple[MilestoneResult, ...]:
    """Every milestone with its result once its date has passed: judged on the city value for the period ending on
    that date (its figure, whenever entered, describes that date, so a later question gets the same answer)."""
    out = []
    passed = any(ms.due < as_of for ms in ind.milestones)
    ends = [p.period.end if p.period is not None else p.day for p in series] if passed else []
    ordered = all(map(operator.le, ends, ends[1:]))
    for ms in ind.milestones:
        target = _target(ms, baseline)
        if ms.due >= as_of:  # not yet judged
            out.append(MilestoneResult(ms, target, None, None, None))
            continue
        closing = closing_period(ind.schedule.cadence, ms.due)
        # the last point (in series order) of a period ending by the date
        i = bisect_right(ends, ms.due) - 1 if ordered else max(
            (k for k, end in enumerate(ends) if end <= ms.due), default=-1)
        last = series[i] if i >= 0 else None
        if last is None or (last.period is not None and last.period.end < closing.end):
            verdict = Verdict.NO_DATA
        elif target is None:
            verdict = Verdict.NO_BASELINE
        else:
            verdict = Verdict.ACHIEVED if ms.comparator.met(last.value, target) else Verdict.MISSED
        out.append(MilestoneResult(ms, target, verdict, last.value if last else None,
                                   last.period if last else None))
    return tuple(out)


_FINAL = {Verdict.ACHIEVED: Status.ACHIEVED, Verdict.MISSED: Status.MISSED, Verdict.NO_DATA: Status.NO_DATA,
          Verdict.NO_BASELINE: Status.NO_BASELINE}


def judge(plan: Plan, ind: Indicator, as_of: date, baseline: Decimal | None, series: Sequence[Point],
          due_period: Period | None, missing_units: tuple[str, ...],
          unit_values: dict[str, Decimal] | None = None) -> Progress:
    """Judge one indicator from its baseline, its city series and who owes the last due period's report.

    Passed milestones keep their result; after the last one the status is the plan's final result, the same on
    any later day. Absolute targets are judged without a baseline; only the pace then stays unknown."""
    ms = _current_milestone(ind, as_of)
    target = _target(ms, baseline)
    results = milestone_results(ind, baseline, series, as_of)
    last = series[-1] if series else None
    base = Progress(
        indicator=ind, as_of=as_of, status=Status.NO_BASELINE, baseline=baseline, due=ms.due,
        actual=last.value if last else None, actual_period=last.period if last else None,
        expected=None, shortfall_pp=None, forecast=None, target=target,
        last_due_period=due_period, unit_values=unit_values or {}, missing_units=missing_units,
        milestone=ms, results=results,
    )
    if as_of > ind.milestones[-1].due:  # the plan is over: its final result
        final = results[-1]
        assert final.verdict is not None
        status = _FINAL[final.verdict]
        return replace(base, status=status, actual=final.actual, actual_period=final.period, final=True,
                       missed_milestone=ms if status is Status.MISSED else None)
    fc_points = [Point(plan.baseline_date, baseline), *series] if ind.kind is Kind.FLOW and baseline is not None \
        else series
    if ind.kind is not Kind.STAGED:  # each milestone still ahead: where the current pace leads by its date
        base = replace(base, results=tuple(r if r.verdict is not None else
                                           replace(r, forecast=forecast(fc_points, r.milestone.due)) for r in results))
    if baseline is not None:
        line = pace_points(plan, ind, baseline)
        expected = _interpolate(line, as_of)
        if ind.kind is Kind.STAGED:
            expected = expected.to_integral_value(rounding=ROUND_FLOOR)
        base = replace(base, expected=expected, forecast=forecast(fc_points, ms.due))
    if last is None or (due_period is not None and last.period is not None and last.period.end < due_period.end):
        return replace(base, status=Status.NO_DATA)
    actual = last.value
    unmet = [m for m in ind.milestones if m.due < as_of
             and (t := _target(m, baseline)) is not None and not m.comparator.met(actual, t)]
    if target is not None and ms.comparator.met(actual, target):
        return replace(base, status=Status.ACHIEVED)
    if unmet:
        return replace(base, status=Status.MISSED, missed_milestone=unmet[-1])
    shortfall = None
    if baseline is not None and target is not None and base.expected is not None:
        line = pace_points(plan, ind, baseline)
        segment_start = max((p for p in line if p.day < ms.due), key=lambda p: p.day)
        gain = target - segment_start.value
        shortfall = (base.expected - actual) / gain * HUNDRED if gain != 0 else None
    if as_of == ms.due and target is not None:  # the milestone's own date: not met as of today
        return replace(base, status=Status.UNMET, shortfall_pp=shortfall)
    if baseline is None:
        return base  # the pace is unknown without a baseline
    if shortfall is None or shortfall > ind.thresholds.behind:
        status = Status.LAGGING
    elif shortfall > ind.thresholds.on_track:
        status = Status.BEHIND
    else:
        status = Status.ON_TRACK
    return replace(base, status=status, shortfall_pp=shortfall)


def rank(progress: Iterable[Progress]) -> list[Progress]:
    """Worst first: by status severity, then by shortfall (largest first)."""
    return sorted(progress, key=lambda p: (p.status.severity, -(p.shortfall_pp or Decimal(0))))
