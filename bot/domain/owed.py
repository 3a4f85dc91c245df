"""Who owes which report: a reporting unit of a summed indicator, or the first lead unit of a lead-only one. Pure."""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.period import Period
from bot.domain.plan import Aggregation, Indicator, Plan


def owed(plan: Plan, unit: str) -> list[Indicator]:
    """The indicators unit must report: as a reporting unit of a summed one, or as first lead of a lead-only one."""
    return [
        i for i in plan.indicators
        if (i.aggregation is Aggregation.SUM and unit in i.reporting_set)
        or (i.aggregation is Aggregation.LEAD and i.lead_units[:1] == (unit,))
    ]


def reports_of(plan: Plan, unit: str, period_of: Callable[[Indicator], Period]) -> list[tuple[Indicator, str]]:
    """What unit's people report for the periods period_of gives: each indicator with the unit it counts for. The
    unit's own, then those of each unit it succeeded (for periods from the succession on), each indicator once."""
    out = [(i, unit) for i in owed(plan, unit)]
    seen = {i.code for i, _ in out}
    for u in plan.succeeded:
        if u.code == unit:
            continue
        for i in owed(plan, u.code):
            if i.code not in seen and plan.answered_by(u.code, period_of(i).start) == unit:
                out.append((i, u.code))
                seen.add(i.code)
    return out
