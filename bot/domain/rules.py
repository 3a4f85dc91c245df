"""Checks a figure must pass before it is saved (pure): who may report it, for which period, what value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.domain.period import Period
from bot.domain.plan import Indicator, Kind, Plan

MAX_DECIMALS = 4


@dataclass(frozen=True)
class Violation:
    """Why a figure is refused: a message template (English, translated where shown) and its parameters."""

    msgid: str
    params: dict[str, object]


def check_figure(plan: Plan, ind: Indicator, unit: str, period: Period, value: Decimal,
                 today: date) -> Violation | None:
    """The first reason this figure cannot be accepted, or None when it can."""
    if unit not in ind.reporter_set:
        return Violation("{unit} does not report “{indicator}”.", {"unit": unit, "indicator": ind.code})
    if not value.is_finite():
        return Violation("The value must be a number.", {})
    baseline_ok = period.end == plan.baseline_date and ind.kind is not Kind.FLOW
    if not baseline_ok and (period.start < plan.start or period.end > plan.end):
        return Violation(
            "Period {period} is outside the plan ({start} to {end}).",
            {"period": period.label, "start": plan.start.isoformat(), "end": plan.end.isoformat()},
        )
    if period.start > today:
        return Violation("Period {period} has not begun yet.", {"period": period.label})
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
        return Violation("At most {n} decimal places, please.", {"n": MAX_DECIMALS})
    if ind.kind is Kind.STAGED:
        if value != value.to_integral_value() or not 0 <= value < len(ind.stages):
            return Violation("Choose one of the stages 0 to {last}.", {"last": len(ind.stages) - 1})
        return None
    low = ind.min_value if ind.min_value is not None else (None if ind.kind is Kind.GROWTH else Decimal(0))
    if low is not None and value < low:
        return Violation("{value} is below the lowest sensible value, {low}.", {"value": value, "low": low})
    if ind.max_value is not None and value > ind.max_value:
        return Violation("{value} is above the highest sensible value, {high}.",
                         {"value": value, "high": ind.max_value})
    return None
