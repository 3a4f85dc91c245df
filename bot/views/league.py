"""Reporting rates by unit (like DHIS2's): how many of the reports due so far came on time, late, or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import FigureRevisionRow, FigureRow, IndicatorRow, PlanRow, UnitRow
from bot.domain.owed import owed
from bot.domain.period import Period, periods_between
from bot.domain.plan import Indicator, Plan
from i18n import Translator

HUNDRED = Decimal(100)
RATE_PLACES = Decimal("0.1")


@dataclass(frozen=True)
class UnitRate:
    """One unit's reporting record as of a date: reports expected so far, and how many came on time or late."""

    unit: str
    expected: int
    on_time: int
    late: int
    missing: int
    rate: Decimal  # on-time reports as a percentage of those expected, rounded to 0.1

    @property
    def share(self) -> Fraction:
        """The exact on-time share (0 to 1), for ranking without rounding ties."""
        return Fraction(self.on_time, self.expected) if self.expected else Fraction(1)


def due_periods(plan: Plan, ind: Indicator, as_of: date) -> list[tuple[Period, date]]:
    """Every period of the indicator's cadence from the plan's start whose report fell due on or before as_of."""
    sched = ind.schedule
    last = min(as_of, plan.end)
    if last < plan.start:
        return []
    out = []
    for p in periods_between(sched.cadence, plan.start, last):
        due = p.due(sched.due_days)
        if due <= as_of:
            out.append((p, due))
    return out


def first_entered(s: Session, plan_row: PlanRow) -> dict[tuple[str, str, str], datetime]:
    """For every current figure of the plan: (indicator, unit, period) -> when its first revision was entered."""
    first = (select(FigureRevisionRow.figure_id, func.min(FigureRevisionRow.entered_at).label("first_at"))
             .group_by(FigureRevisionRow.figure_id).subquery())
    stmt = (select(IndicatorRow.code, UnitRow.code, FigureRow.period, FigureRow.entered_at, first.c.first_at)
            .join(IndicatorRow, FigureRow.indicator_id == IndicatorRow.id)
            .join(UnitRow, FigureRow.unit_id == UnitRow.id)
            .outerjoin(first, first.c.figure_id == FigureRow.id)
            .where(IndicatorRow.plan_id == plan_row.id))
    out: dict[tuple[str, str, str], datetime] = {}
    for ind, unit, period, entered_at, first_at in s.execute(stmt):
        out[(ind, unit, period)] = first_at or entered_at  # a figure without history: its own entry time
    return out


def league(s: Session, plan_row: PlanRow, plan: Plan, as_of: date) -> list[UnitRate]:
    """Each unit's reporting rate as of a date, worst first (lowest on-time share, then most missing).

    A report is expected for every indicator a unit owes and every period whose due date is on or before as_of.
    It is on time when the figure was first entered (in the plan's time zone) on or before the due date, late
    when after, and missing when there is no figure. Units with nothing expected are left out.
    """
    tz = ZoneInfo(plan.timezone)
    entered = first_entered(s, plan_row)
    dues = {ind.code: due_periods(plan, ind, as_of) for ind in plan.indicators}
    rates: list[tuple[int, UnitRate]] = []
    for order, unit in enumerate(plan.units):
        expected = on_time = late = 0
        for ind in owed(plan, unit.code):
            for period, due in dues[ind.code]:
                expected += 1
                at = entered.get((ind.code, unit.code, period.label))
                if at is None:
                    continue
                if at.astimezone(tz).date() <= due:
                    on_time += 1
                else:
                    late += 1
        if expected == 0:
            continue
        rate = (HUNDRED * on_time / expected).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
        rates.append((order, UnitRate(unit.code, expected, on_time, late, expected - on_time - late, rate)))
    rates.sort(key=lambda pair: (pair[1].share, -pair[1].missing, pair[0]))
    return [r for _, r in rates]


def league_text(plan: Plan, rates: list[UnitRate], t: Translator) -> str:
    """The league table for chat: one numbered line per unit, worst first."""
    if not rates:
        return t("No reports have fallen due yet.")
    lines = [t("Reporting rates, worst first (on time / late / missing of the reports due; on-time rate):")]
    for n, r in enumerate(rates, 1):
        try:
            name = plan.unit(r.unit).name.get(t.lang)
        except KeyError:
            name = r.unit
        lines.append(t("{n}. {unit}: {on_time} / {late} / {missing} of {expected}; {rate}", n=n, unit=name,
                       on_time=r.on_time, late=r.late, missing=r.missing, expected=r.expected,
                       rate=t.percent(r.rate, 1)))
    return "\n".join(lines)
