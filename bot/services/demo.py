"""Demo data: contacts for every reporting unit, a leader, an admin and plausible figures for 2018, clearly labelled
as demo."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.app import App
from bot.db.models import FigureRow, PlanRow, UnitRow
from bot.domain.period import Period, quarter, year
from bot.domain.plan import Aggregation, Indicator, Kind, Plan
from bot.services.figures import Entry, save
from bot.services.people import grant, identity_for
from bot.services.plans import active_plan
from bot.views.provenance import DEMO_ENTERED_BY

DEMO_NOW = "2018-10-15T10:00:00+08:00"
WHO = DEMO_ENTERED_BY
NOTE = "演示数据 demo"
ROLES_ZH = {"leader": "领导", "admin": "管理员"}
LATE_UNITS = ("panshan", "liaohekou")  # units that have not yet reported 2018Q3, so 谁还没报 has an answer


def _series(ind: Indicator, rng: random.Random, pace: float) -> list[tuple[Period, Decimal]]:
    """Quarterly figures for 2017 (baseline) and 2018 Q1-Q3 at a given share of the required pace."""
    if ind.kind is Kind.STAGED:
        return [(year(2017), Decimal(0)), (quarter(2018, 2), Decimal(1))]
    target = ind.milestones[0].value  # a relative milestone's N serves as the demo's scale too
    if ind.is_percent:
        start = target * Decimal("0.8")
        step = (target - start) / 4 * Decimal(str(pace))
        return [(year(2017), start.quantize(Decimal("0.01")))] + [
            (quarter(2018, q), (start + step * q).quantize(Decimal("0.01"))) for q in (1, 2, 3)]
    if ind.kind is Kind.FLOW:
        per_q = max(Decimal(1), (target / 4 * Decimal(str(pace))).quantize(Decimal(1)))
        return [(quarter(2018, q), per_q + rng.choice((-1, 0, 0, 1)) if per_q > 1 else per_q) for q in (1, 2, 3)]
    start = (target * Decimal("0.7")).quantize(Decimal(1))
    step = (target - start) / 4 * Decimal(str(pace))
    return [(year(2017), start)] + [(quarter(2018, q), (start + step * q).quantize(Decimal(1))) for q in (1, 2, 3)]


def _entered(period: Period, rng: random.Random) -> datetime:
    """When a demo figure was entered: a few days after its period ended, around the deadline."""
    day = period.end + timedelta(days=rng.randint(9, 12))
    return datetime.combine(day, time(10, 0), tzinfo=ZoneInfo("Asia/Shanghai"))


def seed(app: App) -> bool:
    """Fill the database with demo people and figures once; False when they are already there."""
    now = datetime.fromisoformat(DEMO_NOW)
    with app.uow.begin() as s:
        row, plan = active_plan(s)
        _people(s, row, plan, now)
        if s.scalar(select(func.count()).select_from(FigureRow).where(FigureRow.entered_by == WHO)):
            return False
        rng = random.Random(2018)
        paces = [1.0, 0.85, 0.5, 0.2, 1.1, 0.95]
        for n, ind in enumerate(plan.indicators):
            pace = paces[n % len(paces)]
            units = ind.reporting_units if ind.aggregation is Aggregation.SUM else ind.lead_units[:1]
            weights = {u: Decimal(str(rng.uniform(0.5, 1.5))) for u in units}
            total = sum(weights.values(), Decimal(0))
            for period, city in _series(ind, rng, pace):
                for unit in units:
                    if period.label == "2018Q3" and unit in LATE_UNITS:
                        continue
                    if ind.aggregation is Aggregation.SUM and not ind.is_percent:
                        value = (city * weights[unit] / total).quantize(Decimal(1))
                    else:
                        value = city
                    if ind.kind is Kind.FLOW and value < 0:
                        value = Decimal(0)
                    entry = Entry(plan.unit(unit), ind, period, value, NOTE)
                    save(s, row, plan, entry, WHO, "demo", _entered(period, rng))  # via "demo": the export says so
    return True


def _people(s: Session, row: PlanRow, plan: Plan, now: datetime) -> None:
    """The demo people (each time: a demo database made before one was added gets it too): a contact for each
    reporting unit, a leader and an admin."""
    unit_rows = {u.code: u for u in s.scalars(select(UnitRow).where(UnitRow.plan_id == row.id))}
    for code in ("shuangtaizi", "xinglongtai", "dawa", "panshan", "liaodongwan", "liaohekou", "sci_tech_bureau"):
        ident = identity_for(s, "console", f"demo-{code}", f"demo-{code}", f"演示联络员 {plan.unit(code).name.zh}",
                             None, now)
        grant(s, ident.person, "contact", unit_rows[code], "demo", now)
    for role in ("leader", "admin"):
        ident = identity_for(s, "console", f"demo-{role}", f"demo-{role}", f"演示{ROLES_ZH[role]} demo {role}", None,
                             now)
        grant(s, ident.person, role, None, "demo", now)
