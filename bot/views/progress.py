"""Use cases for leaders: every indicator's progress as of a date, worst first, and who has not reported."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import FigureRow, IndicatorRow, PlanRow, UnitRow
from bot.db.series import assess_from_series
from bot.domain.pace import Figure, Progress, assess, rank
from bot.domain.period import Period
from bot.domain.plan import Plan


def figures_by_indicator(s: Session, row: PlanRow, indicator: str | None = None) -> dict[str, list[Figure]]:
    """Every current figure of the plan (or of one indicator), grouped by indicator code."""
    stmt = (select(IndicatorRow.code, UnitRow.code, FigureRow.period, FigureRow.period_start, FigureRow.period_end,
                   FigureRow.value, FigureRow.effective_on)
            .join(IndicatorRow, FigureRow.indicator_id == IndicatorRow.id)
            .join(UnitRow, FigureRow.unit_id == UnitRow.id)
            .where(IndicatorRow.plan_id == row.id))
    if indicator is not None:
        stmt = stmt.where(IndicatorRow.code == indicator)
    out: dict[str, list[Figure]] = defaultdict(list)
    for code, unit, label, start, end, value, effective in s.execute(stmt):
        out[code].append(Figure(unit, Period(start, end, label), value, effective))
    return out


def assess_all(s: Session, row: PlanRow, plan: Plan, as_of: date, *, unit_values: bool = False) -> list[Progress]:
    """Every indicator's progress as of a date, worst first (with each unit's latest value if unit_values)."""
    if not unit_values:
        fast = assess_from_series(s, row, plan, as_of)
        if fast is not None:
            return rank(fast)
    figures = figures_by_indicator(s, row)
    return rank(assess(plan, ind, figures.get(ind.code, []), as_of) for ind in plan.indicators)


def assess_one(s: Session, row: PlanRow, plan: Plan, code: str, as_of: date) -> Progress:
    """One indicator's progress as of a date."""
    figures = figures_by_indicator(s, row, code)
    return assess(plan, plan.indicator(code), figures.get(code, []), as_of)


@dataclass(frozen=True)
class Owed:
    """A unit that owes a report for an indicator's last period that fell due."""

    unit: str
    indicator: str
    period: Period
    due: date


def not_reported(progress: list[Progress]) -> list[Owed]:
    """Units that owe a report for the last period that fell due, by unit."""
    owed = [
        Owed(unit, p.indicator.code, p.last_due_period, p.last_due_period.due(p.indicator.schedule.due_days))
        for p in progress if p.last_due_period is not None for unit in p.missing_units
    ]
    return sorted(owed, key=lambda o: (o.unit, o.indicator))
