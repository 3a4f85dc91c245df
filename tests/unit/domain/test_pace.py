"""The pace engine as a table: every kind × every status, thresholds exactly, a leap year, milestone days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from bot.domain.pace import Figure, Status, assess, city_series, effective_day, forecast, rank
from bot.domain.period import Period, month, parse_period, quarter, year
from bot.domain.plan import (
    Aggregation,
    Comparator,
    Indicator,
    Kind,
    Milestone,
    Plan,
    Schedule,
    Stage,
    Text,
    Thresholds,
    Unit,
)

UNITS = ("lead", "a", "b")


def plan_with(*indicators: Indicator, start: date = date(2018, 1, 1), end: date = date(2020, 12, 31)) -> Plan:
    units = tuple(Unit(c, Text(c, c)) for c in UNITS)
    return Plan("p", Text("计划", "Plan"), start, end, "Asia/Shanghai", units, {}, indicators, ())


def ind(kind: Kind = Kind.STOCK, milestones: tuple[Milestone, ...] | None = None, baseline: D | None = D(60),
        aggregation: Aggregation = Aggregation.LEAD, stages: tuple[Stage, ...] = (),
        schedule: Schedule | None = None, thresholds: Thresholds | None = None) -> Indicator:
    return Indicator(
        code="x", name=Text("指标", "Indicator"), kind=kind, measure=Text("家", "units"),
        milestones=milestones or (Milestone(date(2018, 12, 31), D(120)), Milestone(date(2020, 12, 31), D(200))),
        lead_units=("lead",), reporting_units=("a", "b") if aggregation is Aggregation.SUM else (),
        aggregation=aggregation, baseline=baseline, stages=stages,
        schedule=schedule or Schedule(), thresholds=thresholds or Thresholds(),
    )


def fig(value: str | int, period: str = "2018Q2", unit: str = "lead", entered: date | None = None) -> Figure:
    p = parse_period(period)
    return Figure(unit, p, D(value), effective_day(p, entered or date(2030, 1, 1)))


WORKED_AS_OF = date(2018, 7, 2)


def test_worked_example_expected_is_about_ninety() -> None:
    i = ind()
    p = assess(plan_with(i), i, [fig(90)], WORKED_AS_OF)
    assert p.expected is not None
    assert abs(p.expected - D(90)) < D("0.1")
    assert p.target == D(120) and p.due == date(2018, 12, 31)


@pytest.mark.parametrize(("actual", "status"), [
    (90, Status.ON_TRACK), (80, Status.BEHIND), (65, Status.LAGGING), (125, Status.ACHIEVED),
    (120, Status.ACHIEVED), (119, Status.ON_TRACK),
])
def test_worked_example_statuses(actual: int, status: Status) -> None:
    i = ind()
    assert assess(plan_with(i), i, [fig(actual)], WORKED_AS_OF).status is status


# Thresholds exactly: baseline 0 at 2017-12-31, milestone 200 at 2019-12-31 (730 days). On 2018-12-31 (day 365)
# expected is 100, so the shortfall is exactly (100 - actual) / 200 * 100 percentage points.
EXACT = (Milestone(date(2019, 12, 31), D(200)), Milestone(date(2020, 12, 31), D(300)))


@pytest.mark.parametrize(("actual", "status", "shortfall"), [
    ("80", Status.ON_TRACK, D(10)),        # exactly on the on_track threshold
    ("79.98", Status.BEHIND, D("10.01")),  # just past it
    ("40", Status.BEHIND, D(30)),          # exactly on the behind threshold
    ("39.98", Status.LAGGING, D("30.01")),
    ("100", Status.ON_TRACK, D(0)),
    ("200", Status.ACHIEVED, D(-50)),
    ("0", Status.LAGGING, D(50)),
])
def test_thresholds_exactly(actual: str, status: Status, shortfall: D) -> None:
    i = ind(milestones=EXACT, baseline=D(0))
    p = assess(plan_with(i), i, [fig(actual, "2018Q4")], date(2018, 12, 31))
    assert p.expected == D(100)
    assert p.status is status
    assert p.shortfall_pp == (shortfall if status is not Status.ACHIEVED else None)


@pytest.mark.parametrize(("actual", "status"), [
    ("79", Status.UNMET), ("99.99", Status.UNMET), ("100", Status.ACHIEVED), ("0", Status.UNMET)])
def test_on_the_milestone_day_a_shortfall_is_not_green(actual: str, status: Status) -> None:
    i = ind(milestones=(Milestone(date(2018, 12, 31), D(100)), Milestone(date(2020, 12, 31), D(300))),
            baseline=D(0))
    p = assess(plan_with(i), i, [fig(actual, "2018Q4")], date(2018, 12, 31))
    assert p.status is status and p.expected == D(100)
    assert p.status.needs_attention is (status is Status.UNMET)


def test_thresholds_come_from_the_plan() -> None:
    i = ind(milestones=EXACT, baseline=D(0), thresholds=Thresholds(D(5), D(15)))
    p = assess(plan_with(i), i, [fig("80", "2018Q4")], date(2018, 12, 31))
    assert p.status is Status.BEHIND


def test_leap_year_day_counts() -> None:
    # 2020 is a leap year: from 2019-12-31 (0) to 2020-12-31 (366), 2020-07-01 is day 183 → exactly 50.
    i = ind(milestones=(Milestone(date(2019, 12, 31), D(0)), Milestone(date(2020, 12, 31), D(366))), baseline=D(0))
    plan = plan_with(i, start=date(2019, 1, 1))
    p = assess(plan, i, [fig(0, "2019Q4"), fig(182, "2020Q2")], date(2020, 7, 1))
    assert p.expected == D(183)
    assert p.shortfall_pp == pytest.approx(D(1) / D(366) * 100)
    assert p.status is Status.ON_TRACK
    assert assess(plan, i, [fig(0, "2019Q4"), fig(182, "2020Q2")], date(2020, 2, 29)).expected == D(60)


def test_milestone_day_itself_uses_that_milestone() -> None:
    i = ind()
    p = assess(plan_with(i), i, [fig(119, "2018Q4")], date(2018, 12, 31))
    assert p.due == date(2018, 12, 31) and p.expected == D(120)
    assert p.status is Status.UNMET  # 1/60 = 1.7 pp short on the day itself: not met as of today, not green
    nxt = assess(plan_with(i), i, [fig(119, "2018Q4")], date(2019, 1, 1))
    assert nxt.status is Status.MISSED and nxt.missed_milestone == i.milestones[0]
    assert nxt.due == date(2020, 12, 31)


def test_missed_clears_once_caught_up() -> None:
    i = ind()
    p = assess(plan_with(i), i, [fig(110, "2018Q4"), fig(130, "2019Q1")], date(2019, 4, 12))
    assert p.status is Status.ON_TRACK


def test_missed_after_the_last_milestone() -> None:
    i = ind()
    p = assess(plan_with(i), i, [fig(190, "2020Q4")], date(2021, 1, 15))
    assert p.status is Status.MISSED


def test_comparator_more_than() -> None:
    ms = (Milestone(date(2018, 12, 31), D(100), comparator=Comparator.GT),)
    i = ind(milestones=ms, baseline=D(0))
    assert assess(plan_with(i), i, [fig(100, "2018Q4")], date(2018, 12, 31)).status is Status.UNMET
    assert assess(plan_with(i), i, [fig(101, "2018Q4")], date(2018, 12, 31)).status is Status.ACHIEVED
    assert assess(plan_with(i), i, [fig(100, "2018Q4")], date(2019, 1, 1)).status is Status.MISSED


def test_no_data_when_the_last_due_period_was_not_reported() -> None:
    i = ind()
    # as of 2018-10-15 Q3 has fallen due (10th October); the latest figure is for Q2
    assert assess(plan_with(i), i, [fig(90)], date(2018, 10, 15)).status is Status.NO_DATA
    assert assess(plan_with(i), i, [], date(2018, 10, 15)).status is Status.NO_DATA
    # before Q3 fell due, the Q2 figure is current
    assert assess(plan_with(i), i, [fig(100)], date(2018, 10, 9)).status is not Status.NO_DATA


def test_no_baseline_unless_a_figure_for_the_baseline_period() -> None:
    i = ind(baseline=None)
    assert assess(plan_with(i), i, [fig(90)], WORKED_AS_OF).status is Status.NO_BASELINE
    p = assess(plan_with(i), i, [fig(60, "2017"), fig(90)], WORKED_AS_OF)
    assert p.baseline == D(60) and p.status is Status.ON_TRACK


def test_relative_milestone_is_baseline_plus_n() -> None:
    ms = (Milestone(date(2018, 12, 31), D(5), relative=True), Milestone(date(2020, 12, 31), D(25)))
    i = ind(milestones=ms, baseline=None)
    assert assess(plan_with(i), i, [fig(3, "2018Q2")], WORKED_AS_OF).target is None
    p = assess(plan_with(i), i, [fig(10, "2017"), fig(13, "2018Q4")], date(2018, 12, 31))
    # 2 short of a gain of 5 on the milestone day: (15 - 13) / 5 * 100 = 40 pp, not met as of today
    assert p.target == D(15) and p.shortfall_pp == D(40) and p.status is Status.UNMET


# Every kind × the statuses it can reach.
FLOW_MS = (Milestone(date(2018, 12, 31), D(20)), Milestone(date(2020, 12, 31), D(60)))
RATIO_MS = (Milestone(date(2018, 12, 31), D(75)), Milestone(date(2020, 12, 31), D(100)))
GROWTH_MS = (Milestone(date(2018, 12, 31), D(10)), Milestone(date(2020, 12, 31), D(15)))
STAGES = tuple(Stage(c, Text(c, c)) for c in ("s0", "s1", "s2", "s3", "s4"))
STAGED_MS = (Milestone(date(2018, 12, 31), D(2)), Milestone(date(2020, 12, 31), D(4)))

KIND_TABLE = [
    # kind, milestones, baseline, figures, as_of, status
    (Kind.FLOW, FLOW_MS, None, [("5", "2018Q1"), ("5", "2018Q2")], WORKED_AS_OF, Status.ON_TRACK),  # 10 vs ~10
    (Kind.FLOW, FLOW_MS, None, [("4", "2018Q1"), ("4", "2018Q2")], WORKED_AS_OF, Status.BEHIND),    # 8: 10.4pp
    (Kind.FLOW, FLOW_MS, None, [("2", "2018Q1"), ("2", "2018Q2")], WORKED_AS_OF, Status.LAGGING),  # 4: 30.1pp
    (Kind.FLOW, FLOW_MS, None, [("20", "2018Q2")], WORKED_AS_OF, Status.ACHIEVED),
    (Kind.FLOW, FLOW_MS, None, [("19", "2018")], date(2019, 1, 2), Status.MISSED),
    (Kind.FLOW, FLOW_MS, None, [("5", "2018Q1")], date(2018, 7, 11), Status.NO_DATA),
    (Kind.RATIO, RATIO_MS, D(50), [("62.5", "2018Q2")], WORKED_AS_OF, Status.ON_TRACK),
    (Kind.RATIO, RATIO_MS, D(50), [("58", "2018Q2")], WORKED_AS_OF, Status.BEHIND),
    (Kind.RATIO, RATIO_MS, D(50), [("52", "2018Q2")], WORKED_AS_OF, Status.LAGGING),
    (Kind.RATIO, RATIO_MS, D(50), [("75", "2018Q2")], WORKED_AS_OF, Status.ACHIEVED),
    (Kind.RATIO, RATIO_MS, D(50), [("74.9", "2018Q4")], date(2019, 1, 2), Status.MISSED),
    (Kind.RATIO, RATIO_MS, None, [("60", "2018Q2")], WORKED_AS_OF, Status.NO_BASELINE),
    (Kind.RATIO, RATIO_MS, D(50), [], WORKED_AS_OF, Status.NO_DATA),
    (Kind.GROWTH, GROWTH_MS, D(6), [("8", "2018Q2")], WORKED_AS_OF, Status.ON_TRACK),
    (Kind.GROWTH, GROWTH_MS, D(6), [("7.4", "2018Q2")], WORKED_AS_OF, Status.BEHIND),
    (Kind.GROWTH, GROWTH_MS, D(6), [("-2", "2018Q2")], WORKED_AS_OF, Status.LAGGING),
    (Kind.GROWTH, GROWTH_MS, D(6), [("10", "2018Q2")], WORKED_AS_OF, Status.ACHIEVED),
    (Kind.GROWTH, GROWTH_MS, D(6), [("9", "2018")], date(2019, 1, 5), Status.MISSED),
    (Kind.GROWTH, GROWTH_MS, None, [("9", "2018Q2")], WORKED_AS_OF, Status.NO_BASELINE),
    (Kind.GROWTH, GROWTH_MS, D(6), [], date(2018, 4, 11), Status.NO_DATA),
    (Kind.STOCK, None, D(60), [("90", "2018Q2")], WORKED_AS_OF, Status.ON_TRACK),
    (Kind.STOCK, None, D(60), [("80", "2018Q2")], WORKED_AS_OF, Status.BEHIND),
    (Kind.STOCK, None, D(60), [("65", "2018Q2")], WORKED_AS_OF, Status.LAGGING),
    (Kind.STOCK, None, D(60), [("125", "2018Q2")], WORKED_AS_OF, Status.ACHIEVED),
    (Kind.STOCK, None, D(60), [("100", "2018Q4")], date(2019, 2, 1), Status.MISSED),
    (Kind.STOCK, None, None, [("100", "2018Q2")], WORKED_AS_OF, Status.NO_BASELINE),
    (Kind.STOCK, None, D(60), [], WORKED_AS_OF, Status.NO_DATA),
    # staged: planned stage at mid-2018 is floor(1.0) = 1; reaching 1 is on track, 0 lags
    (Kind.STAGED, STAGED_MS, D(0), [("1", "2018Q2")], WORKED_AS_OF, Status.ON_TRACK),
    (Kind.STAGED, STAGED_MS, D(0), [("0", "2018Q2")], WORKED_AS_OF, Status.LAGGING),
    (Kind.STAGED, STAGED_MS, D(0), [("2", "2018Q2")], WORKED_AS_OF, Status.ACHIEVED),
    (Kind.STAGED, STAGED_MS, D(0), [("1", "2018Q4")], date(2019, 1, 2), Status.MISSED),
    (Kind.STAGED, STAGED_MS, D(0), [], WORKED_AS_OF, Status.NO_DATA),
    # staged, later in the second segment: planned floor(2 + 2 * 0.75) = 3; reached 2 → 50 pp short (lagging)
    (Kind.STAGED, STAGED_MS, D(0), [("2", "2020Q3")], date(2020, 10, 1), Status.LAGGING),
    # staged with thresholds of 60: one stage short of a two-stage segment (50 pp) is behind
]


@pytest.mark.parametrize(("kind", "milestones", "baseline", "figures", "as_of", "status"), KIND_TABLE)
def test_every_kind_and_status(kind: Kind, milestones: tuple[Milestone, ...] | None, baseline: D | None,
                               figures: list[tuple[str, str]], as_of: date, status: Status) -> None:
    stages = STAGES if kind is Kind.STAGED else ()
    i = ind(kind=kind, milestones=milestones, baseline=baseline, stages=stages)
    p = assess(plan_with(i), i, [fig(v, per) for v, per in figures], as_of)
    assert p.status is status, (p.status, p.expected, p.actual, p.shortfall_pp)


def test_staged_behind_with_wider_thresholds() -> None:
    i = ind(kind=Kind.STAGED, milestones=STAGED_MS, baseline=D(0), stages=STAGES,
            thresholds=Thresholds(D(10), D(60)))
    p = assess(plan_with(i), i, [fig(2, "2020Q3")], date(2020, 10, 1))
    assert p.expected == D(3) and p.shortfall_pp == D(50) and p.status is Status.BEHIND


def test_flow_sums_increments_and_a_year_beats_its_quarters() -> None:
    i = ind(kind=Kind.FLOW, milestones=FLOW_MS, baseline=None)
    figures = [fig(3, "2018Q1"), fig(4, "2018Q2"), fig(5, "2018Q3"), fig(6, "2018Q4"), fig(20, "2018"),
               fig(2, "2019-01")]
    series = city_series(i, figures, date(2019, 3, 1))
    assert [s.value for s in series] == [D(20), D(22)]
    assert assess(plan_with(i), i, figures[:4], date(2018, 12, 31)).actual == D(18)


def test_sum_of_units_with_carry_forward_and_lead_figure_wins() -> None:
    i = ind(aggregation=Aggregation.SUM)
    figures = [fig(40, "2018Q1", "a"), fig(30, "2018Q1", "b"), fig(45, "2018Q2", "a")]
    p = assess(plan_with(i), i, figures, WORKED_AS_OF)
    assert p.actual == D(75)  # a's Q2 45 + b's Q1 30 carried forward
    assert p.missing_units == ()  # Q1 is the last period fallen due; both reported it
    p2 = assess(plan_with(i), i, [*figures, fig(91, "2018Q2", "lead")], WORKED_AS_OF)
    assert p2.actual == D(91)
    p3 = assess(plan_with(i), i, [fig(40, "2018Q1", "a")], date(2018, 4, 20))
    assert p3.missing_units == ("b",)


def test_figures_not_yet_effective_are_ignored() -> None:
    i = ind()
    late = fig(100, "2018Q3", entered=date(2018, 8, 15))
    assert late.effective == date(2018, 8, 15)
    assert assess(plan_with(i), i, [fig(90), late], date(2018, 8, 1)).actual == D(90)
    assert assess(plan_with(i), i, [fig(90), late], date(2018, 8, 16)).actual == D(100)


def test_forecast_extrapolates_the_last_two_points() -> None:
    i = ind()
    p = assess(plan_with(i), i, [fig(70, "2018Q1"), fig(80, "2018Q2")], WORKED_AS_OF)
    # +10 over 91 days (Mar 31 → Jun 30); Jun 30 → Dec 31 is 184 days
    assert p.forecast == D(80) + D(10) * D(184) / D(91)
    assert forecast([], date(2018, 12, 31)) is None


def test_each_milestone_still_ahead_has_the_forecast_for_its_own_date() -> None:
    i = ind()
    figures = [fig(70, "2018Q1"), fig(80, "2018Q2")]
    p = assess(plan_with(i), i, figures, WORKED_AS_OF)
    # +10 over 91 days (Mar 31 → Jun 30): to Dec 31, 2018 184 days, to Dec 31, 2020 915 days
    assert [r.forecast for r in p.results] == [D(80) + D(10) * D(184) / D(91), D(80) + D(10) * D(915) / D(91)]
    later = assess(plan_with(i), i, [*figures, fig(125, "2018Q4")], date(2019, 1, 20))
    assert later.results[0].verdict is not None and later.results[0].forecast is None  # judged: no forecast
    assert later.results[1].forecast is not None
    staged = ind(kind=Kind.STAGED, milestones=STAGED_MS, baseline=D(0), stages=STAGES)
    assert all(r.forecast is None for r in assess(plan_with(staged), staged, [fig(1, "2018Q1"), fig(2, "2018Q2")],
                                                   WORKED_AS_OF).results)  # a stage is not extrapolated


def test_rank_puts_the_worst_first() -> None:
    a = ind()
    plan = plan_with(a)
    ps = [assess(plan, a, [fig(v)], WORKED_AS_OF) for v in (125, 65, 80, 90)]
    assert [p.status for p in rank(ps)] == [Status.LAGGING, Status.BEHIND, Status.ON_TRACK, Status.ACHIEVED]


@pytest.mark.parametrize(("text", "period"), [
    ("2018", year(2018)), ("2018Q3", quarter(2018, 3)), ("2018q1", quarter(2018, 1)),
    ("2018-09", month(2018, 9)), ("2018年", year(2018)), ("2018年第三季度", quarter(2018, 3)),
    ("2018年9月", month(2018, 9)), ("２０１８Ｑ４", quarter(2018, 4)),
])
def test_period_forms(text: str, period: Period) -> None:
    assert parse_period(text) == period


@pytest.mark.parametrize("text", ["18", "2018Q5", "2018-13", "Q3", "", "2018-00"])
def test_bad_periods(text: str) -> None:
    from bot.domain.period import PeriodError

    with pytest.raises(PeriodError):
        parse_period(text)
