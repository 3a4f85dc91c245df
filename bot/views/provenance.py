"""Where a figure comes from: who reported it, when, through which channel, and every correction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.db.models import FigureRevisionRow, FigureRow, IndicatorRow, PlanRow, UnitRow


@dataclass(frozen=True)
class Source:
    """One figure and its history, oldest version first."""

    unit: str
    period: str
    revisions: tuple[FigureRevisionRow, ...]


def sources(s: Session, plan_row: PlanRow, indicator: str, unit: str | None = None,
            period: str | None = None, latest_only: bool = True) -> list[Source]:
    """The figures of an indicator (of one unit or period if given), each with its history; latest period only."""
    stmt = (select(FigureRow, UnitRow.code).join(IndicatorRow, FigureRow.indicator_id == IndicatorRow.id)
            .join(UnitRow, FigureRow.unit_id == UnitRow.id)
            .where(IndicatorRow.plan_id == plan_row.id, IndicatorRow.code == indicator)
            .options(selectinload(FigureRow.history)).order_by(UnitRow.code, FigureRow.period_end))
    if unit:
        stmt = stmt.where(UnitRow.code == unit)
    if period:
        stmt = stmt.where(FigureRow.period == period)
    rows = list(s.execute(stmt))
    if latest_only and not period:
        last: dict[str, tuple[FigureRow, str]] = {}
        for fig, code in rows:
            last[code] = (fig, code)
        rows = list(last.values())  # type: ignore[arg-type]
    return [Source(code, fig.period, tuple(fig.history)) for fig, code in rows]


DEMO_ENTERED_BY = "demo (演示数据 / demo data)"  # who entered the demo figures: exports label them as demo data
