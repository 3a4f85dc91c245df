"""Who owes which report: a reporting unit of a summed indicator, or the first lead unit of a lead-only one. Pure."""

from __future__ import annotations

from bot.domain.plan import Aggregation, Indicator, Plan


def owed(plan: Plan, unit: str) -> list[Indicator]:
    """The indicators unit must report: as a reporting unit of a summed one, or as first lead of a lead-only one."""
    return [
        i for i in plan.indicators
        if (i.aggregation is Aggregation.SUM and unit in i.reporting_set)
        or (i.aggregation is Aggregation.LEAD and i.lead_units[:1] == (unit,))
    ]
