"""Verdicts a city can sign: milestone results that stay, the plan's final result, judging without a baseline."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from bot.domain.pace import Status, Verdict, assess, due_period
from bot.domain.period import Cadence, closing_period, last_due, quarter, year
from bot.domain.plan import Comparator, Kind, Milestone, Schedule
from tests.unit.domain.test_pace import fig, ind, plan_with

LATER = [date(2021, 1, 11), date(2021, 4, 11), date(2026, 12, 1)]


def test_the_period_due_is_never_after_the_plan() -> None:
    i = ind()
    plan = plan_with(i)
    assert due_period(plan, i, date(2021, 4, 11)) == quarter(2020, 4)
    assert due_period(plan, i, date(2026, 12, 1)) == quarter(2020, 4)
    assert due_period(plan, i, date(2021, 1, 9)) == quarter(2020, 3)  # 2020Q4 is due on 2021-01-10
    y = ind(schedule=Schedule(Cadence.YEARLY, 180))
    assert due_period(plan_with(y), y, date(2026, 12, 1)) == year(2020)
    assert due_period(plan_with(y), y, date(2021, 6, 28)) == year(2019)
    assert last_due(Cadence.QUARTERLY, 10, date(2026, 12, 1), date(2018, 1, 1)) == quarter(2026, 3)  # unbounded


def test_closing_period_of_a_milestone() -> None:
    assert closing_period(Cadence.QUARTERLY, date(2018, 12, 31)) == quarter(2018, 4)
    assert closing_period(Cadence.QUARTERLY, date(2018, 11, 15)) == quarter(2018, 3)
    assert closing_period(Cadence.YEARLY, date(2020, 12, 31)) == year(2020)


@pytest.mark.parametrize("as_of", LATER)
def test_after_the_plan_the_final_result_stays(as_of: date) -> None:
    i = ind()  # 120 by 2018, 200 by 2020, baseline 60
    plan = plan_with(i)
    met = assess(plan, i, [fig(130, "2018Q4"), fig(205, "2020Q4", entered=date(2021, 1, 8))], as_of)
    assert (met.status, met.final, met.actual, met.missed_milestone) == (Status.ACHIEVED, True, D(205), None)
    missed = assess(plan, i, [fig(130, "2018Q4"), fig(190, "2020Q4")], as_of)
    assert missed.status is Status.MISSED and missed.actual == D(190) and missed.missing_units == ()
    none = assess(plan, i, [fig(130, "2018Q4"), fig(190, "2020Q3")], as_of)
    assert none.status is Status.NO_DATA and none.last_due_period == quarter(2020, 4)
    assert none.status.needs_attention


def test_final_result_before_the_last_report_falls_due_is_no_data_not_a_stale_guess() -> None:
    i = ind()
    p = assess(plan_with(i), i, [fig(130, "2018Q4"), fig(230, "2020Q3")], date(2021, 1, 1))
    assert p.final and p.status is Status.NO_DATA
    assert p.results[-1].verdict is Verdict.NO_DATA and p.results[-1].actual == D(230)


def test_milestone_results_stay_after_the_figure_recovers() -> None:
    i = ind()
    figures = [fig(119, "2018Q4"), fig(170, "2019Q2")]
    for as_of in (date(2019, 1, 1), date(2019, 7, 20), date(2021, 4, 11), date(2026, 12, 1)):
        first = assess(plan_with(i), i, figures, as_of).results[0]
        assert (first.verdict, first.actual, first.target, first.period) == (
            Verdict.MISSED, D(119), D(120), quarter(2018, 4))
    now = assess(plan_with(i), i, figures, date(2019, 7, 20))
    assert now.status is Status.ON_TRACK and now.passed == now.results[:1]
    assert now.results[1].verdict is None  # 2020 has not come yet
    on_day = assess(plan_with(i), i, figures, date(2018, 12, 31))
    assert on_day.passed == () and on_day.status is Status.UNMET


def test_a_milestone_without_its_period_figure_is_no_data_until_entered() -> None:
    i = ind()
    assert assess(plan_with(i), i, [fig(130, "2018Q3")], date(2019, 1, 5)).results[0].verdict is Verdict.NO_DATA
    later = fig(121, "2018Q4", entered=date(2019, 1, 9))
    assert assess(plan_with(i), i, [fig(130, "2018Q3"), later], date(2019, 1, 10)).results[0].verdict is \
        Verdict.ACHIEVED


def test_more_than_at_the_end() -> None:
    ms = (Milestone(date(2018, 12, 31), D(80)), Milestone(date(2020, 12, 31), D(100), comparator=Comparator.GT))
    i = ind(milestones=ms, baseline=None)
    exactly = assess(plan_with(i), i, [fig(80, "2018Q4"), fig(100, "2020Q4")], date(2021, 4, 11))
    assert exactly.status is Status.MISSED
    assert [r.verdict for r in exactly.results] == [Verdict.ACHIEVED, Verdict.MISSED]


def test_absolute_targets_are_judged_without_a_baseline() -> None:
    i = ind(baseline=None, milestones=(Milestone(date(2018, 12, 31), D(80)), Milestone(date(2019, 12, 31), D(100)),
                                       Milestone(date(2020, 12, 31), D(120))))
    plan = plan_with(i)
    low = assess(plan, i, [fig(85, "2018Q4"), fig(95, "2019Q4")], date(2019, 12, 31))
    assert low.status is Status.UNMET and low.expected is None and low.target == D(100)
    assert assess(plan, i, [fig(51, "2018Q4"), fig(51, "2019Q4")], date(2019, 12, 31)).status is Status.MISSED
    missed = assess(plan, i, [fig(51, "2018Q4"), fig(60, "2019Q1")], date(2019, 4, 11))
    assert missed.status is Status.MISSED and missed.results[0].verdict is Verdict.MISSED
    ok = assess(plan, i, [fig(90, "2018Q4"), fig(100, "2019Q1")], date(2019, 4, 11))
    assert ok.status is Status.ACHIEVED
    unknown = assess(plan, i, [fig(90, "2018Q4"), fig(95, "2019Q1")], date(2019, 4, 11))
    assert unknown.status is Status.NO_BASELINE and unknown.expected is None and unknown.shortfall_pp is None
    assert unknown.results[0].verdict is Verdict.ACHIEVED


def test_a_relative_target_without_baseline_cannot_be_judged() -> None:
    ms = (Milestone(date(2018, 12, 31), D(5), relative=True), Milestone(date(2020, 12, 31), D(25)))
    i = ind(milestones=ms, baseline=None)
    p = assess(plan_with(i), i, [fig(13, "2018Q4"), fig(14, "2019Q1")], date(2019, 4, 11))
    assert p.results[0].verdict is Verdict.NO_BASELINE and p.status is Status.NO_BASELINE
    end = assess(plan_with(i), i, [fig(13, "2018Q4"), fig(26, "2020Q4")], date(2026, 12, 1))
    assert end.status is Status.ACHIEVED and [r.verdict for r in end.results] == [Verdict.NO_BASELINE,
                                                                                  Verdict.ACHIEVED]


def test_unreported_flow_is_unknown_not_zero() -> None:
    i = ind(kind=Kind.FLOW, baseline=None)
    p = assess(plan_with(i), i, [], date(2018, 7, 2))
    assert p.actual is None and p.status is Status.NO_DATA


def test_a_zone_inside_districts_reports_for_information_only() -> None:
    from bot.config import DEFAULT_PLAN
    from bot.domain.lookup import find
    from bot.domain.owed import owed
    from bot.services.plan_file import read_plan_file

    plan = read_plan_file(DEFAULT_PLAN)
    hte = plan.indicator("hightech_enterprises")
    assert "hightech_zone" in hte.reporter_set and "hightech_zone" not in hte.reporting_units
    assert hte.informational_units == ("hightech_zone",)
    assert "hightech_enterprises" not in [i.code for i in owed(plan, "hightech_zone")]  # never reminded for it
    figures = [fig(30, "2018Q3", "xinglongtai"), fig(20, "2018Q3", "liaodongwan"), fig(12, "2018Q3", "hightech_zone")]
    p = assess(plan, hte, figures, date(2018, 10, 15))
    assert p.actual == D(50)  # the zone's 12 firms are already in the two figures
    assert p.unit_values["hightech_zone"] == D(12)
    assert "hightech_zone" not in p.missing_units
    found = find("辽滨沿海经济技术开发区", plan.units)
    assert not isinstance(found, tuple) and getattr(found, "code", None) == "liaodongwan"


def test_a_figure_for_information_alone_is_no_city_value() -> None:
    from bot.config import DEFAULT_PLAN
    from bot.domain.owed import owed  # noqa: F401  (the zone owes nothing for it either: see above)
    from bot.services.plan_file import read_plan_file

    plan = read_plan_file(DEFAULT_PLAN)
    hte = plan.indicator("hightech_enterprises")
    p = assess(plan, hte, [fig(12, "2018Q2", "hightech_zone")], date(2018, 7, 5))
    assert p.actual is None and p.status is Status.NO_DATA  # not a city total of 0
