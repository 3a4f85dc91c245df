"""Reporting rates by unit: on time, late and missing reports against the due dates, worst first."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event

from bot.app import App
from bot.domain.period import parse_period
from bot.services.figures import Entry, submit
from bot.services.plans import active_plan
from bot.views.league import league, league_text
from i18n import translator_for

SH = ZoneInfo("Asia/Shanghai")
AS_OF = date(2018, 10, 15)  # Q1, Q2 and Q3 2018 have fallen due (April 10, July 10, October 10)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2018, month, day, hour, minute, tzinfo=SH)


def report(app: App, unit: str, ind: str, period: str, value: str, now: datetime, reason: str | None = None,
           who: str = "contact") -> None:
    with app.uow() as s:
        _, plan = active_plan(s)
    entry = Entry(plan.unit(unit), plan.indicator(ind), parse_period(period), Decimal(value), None, reason)
    submit(app.uow, entry, who, "chat", now)


def seed(app: App) -> None:
    # panshan: Q1 just before midnight on the due day (on time), corrected long after: the first entry decides
    report(app, "panshan", "hightech_enterprises", "2018Q1", "10", at(4, 10, 23, 30))
    report(app, "panshan", "hightech_enterprises", "2018Q1", "11", at(5, 20), reason="miscounted")
    # 07:00 on July 11 in Panjin is still July 10 in UTC: late, because due dates are local
    report(app, "panshan", "hightech_enterprises", "2018Q2", "12", at(7, 11, 7, 0))
    report(app, "panshan", "tech_smes", "2018Q1", "30", at(4, 1))
    # dawa: three on time; a Q4 figure (not yet due) does not count
    for period, when in (("2018Q1", at(4, 5)), ("2018Q2", at(7, 5)), ("2018Q3", at(10, 8)), ("2018Q4", at(10, 12))):
        report(app, "dawa", "hightech_enterprises", period, "20", when)
    # shuangtaizi: one late report
    report(app, "shuangtaizi", "key_tech_breakthroughs", "2018Q3", "2", at(10, 12))
    # xinglongtai: only a 2017 baseline figure, which no due date asks for
    report(app, "xinglongtai", "hightech_enterprises", "2017", "7", at(3, 1))
    # the bureau reports lead-only indicators it leads first
    for period, when in (("2018Q1", at(4, 2)), ("2018Q2", at(7, 2)), ("2018Q3", at(10, 2))):
        report(app, "sci_tech_bureau", "rd_spending_gdp", period, "1.8", when)
    report(app, "sci_tech_bureau", "patent_share", "2018Q2", "45", at(7, 3))
    # the industry commission reports its one indicator on time every quarter
    for period, when in (("2018Q1", at(4, 9)), ("2018Q2", at(7, 9)), ("2018Q3", at(10, 9))):
        report(app, "industry_it_commission", "entrepreneur_training", period, "10", when)


@contextmanager
def count_queries(app: App) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(app.engine, "before_cursor_execute", record)


def test_league_counts_on_time_late_and_missing_worst_first(app: App) -> None:
    seed(app)
    with app.uow() as s:
        row, plan = active_plan(s)
        with count_queries(app) as queries:
            rates = league(s, row, plan, AS_OF)
    assert len([q for q in queries if q.lstrip().upper().startswith("SELECT")]) <= 2
    assert [(r.unit, r.expected, r.on_time, r.late, r.missing, r.rate) for r in rates] == [
        ("xinglongtai", 21, 0, 0, 21, Decimal("0.0")),
        ("liaodongwan", 21, 0, 0, 21, Decimal("0.0")),
        ("liaohekou", 21, 0, 0, 21, Decimal("0.0")),
        ("shuangtaizi", 21, 0, 1, 20, Decimal("0.0")),
        ("hr_social_security_bureau", 6, 0, 0, 6, Decimal("0.0")),
        # R&D/GDP and the S&T contribution rate are annual: nothing of theirs is due before September 2019, so the
        # bureau owes 6 quarterly indicators x 3 quarters, and its quarterly R&D/GDP figures do not count
        ("sci_tech_bureau", 18, 1, 0, 17, Decimal("5.6")),
        ("panshan", 21, 2, 1, 18, Decimal("9.5")),
        ("dawa", 21, 3, 0, 18, Decimal("14.3")),
        ("industry_it_commission", 3, 3, 0, 0, Decimal("100.0")),
    ]


def test_the_first_entry_decides_even_after_a_late_correction(app: App) -> None:
    report(app, "liaohekou", "tech_smes", "2018Q1", "5", at(4, 3), who="alice")
    report(app, "liaohekou", "tech_smes", "2018Q1", "6", at(8, 1), reason="late count", who="bob")
    report(app, "liaodongwan", "tech_smes", "2018Q1", "5", at(4, 11, 9, 0))  # a day late
    with app.uow() as s:
        row, plan = active_plan(s)
        rates = {r.unit: r for r in league(s, row, plan, date(2018, 4, 30))}
    assert (rates["liaohekou"].on_time, rates["liaohekou"].late) == (1, 0)
    assert (rates["liaodongwan"].on_time, rates["liaodongwan"].late) == (0, 1)
    assert rates["liaohekou"].expected == 7  # seven indicators, one quarter due by April 30


def test_nothing_due_yet_means_an_empty_league(app: App) -> None:
    with app.uow() as s:
        row, plan = active_plan(s)
        rates = league(s, row, plan, date(2018, 4, 9))
    assert rates == []
    assert league_text(plan, rates, translator_for("en")) == "No reports have fallen due yet."


def test_league_text_lists_units_with_their_counts_and_rate(app: App) -> None:
    seed(app)
    with app.uow() as s:
        row, plan = active_plan(s)
        rates = league(s, row, plan, AS_OF)
    text = league_text(plan, rates, translator_for("en")).splitlines()
    assert len(text) == 1 + len(rates)
    assert text[1] == "1. Xinglongtai District Government: 0 / 0 / 21 of 21; 0%"
    assert text[6] == "6. Municipal Science and Technology Bureau: 1 / 0 / 17 of 18; 5.6%"
    assert text[7] == "7. Panshan County Government: 2 / 1 / 18 of 21; 9.5%"
    assert text[-1] == "9. Municipal Commission of Industry and Information Technology: 3 / 0 / 0 of 3; 100%"
    assert "盘山县人民政府" in league_text(plan, rates, translator_for("zh"))
