"""Use cases for figures: submit, correct, import many at once; each figure keeps its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import FigureRevisionRow, FigureRow, IndicatorRow, PlanRow, UnitRow
from bot.domain.pace import effective_day
from bot.domain.period import Period
from bot.domain.plan import Indicator, Plan, Unit
from bot.domain.rules import check_figure
from bot.errors import UserError
from bot.plan_store import active_plan
from bot.series import record


@dataclass(frozen=True)
class Entry:
    """One figure someone wants saved: for a unit, an indicator and a period."""

    unit: Unit
    indicator: Indicator
    period: Period
    value: Decimal
    note: str | None = None
    reason: str | None = None  # a correction's reason; required to change a saved figure


@dataclass(frozen=True)
class Saved:
    """A figure as saved: its revision number and the value it replaced, if any."""

    figure_id: int
    revision: int
    value: Decimal
    previous: Decimal | None
    unchanged: bool = False


def validate(plan: Plan, entry: Entry, now: datetime) -> None:
    """Raise UserError if the entry breaks a rule of the plan."""
    v = check_figure(plan, entry.indicator, entry.unit.code, entry.period, entry.value, now.date())
    if v is not None:
        params = dict(v.params)
        if "unit" in params:
            params["unit"] = entry.unit.name
        if "indicator" in params:
            params["indicator"] = entry.indicator.name
        raise UserError(v.msgid, **params)


def _ids(s: Session, row: PlanRow, entry: Entry) -> tuple[int, int]:
    ind_id = s.scalar(select(IndicatorRow.id).where(IndicatorRow.plan_id == row.id,
                                                     IndicatorRow.code == entry.indicator.code))
    unit_id = s.scalar(select(UnitRow.id).where(UnitRow.plan_id == row.id, UnitRow.code == entry.unit.code))
    if ind_id is None or unit_id is None:
        raise UserError("The plan in the database is out of date: load the plan file again.")
    return ind_id, unit_id


def save(s: Session, row: PlanRow, plan: Plan, entry: Entry, who: str, via: str, now: datetime,
         allow_same: bool = False) -> Saved:
    """Validate and save one figure in session s (the caller commits); corrections need a reason."""
    validate(plan, entry, now)
    ind_id, unit_id = _ids(s, row, entry)
    fig = s.scalar(select(FigureRow).where(FigureRow.indicator_id == ind_id, FigureRow.unit_id == unit_id,
                                           FigureRow.period == entry.period.label).with_for_update())
    if fig is None:
        if entry.reason:
            raise UserError("There is no figure for {period} to correct yet.", period=entry.period.label)
        fig = FigureRow(indicator_id=ind_id, unit_id=unit_id, period=entry.period.label,
                        period_start=entry.period.start, period_end=entry.period.end, value=entry.value,
                        note=entry.note, entered_by=who, entered_at=now, via=via, revision=1,
                        effective_on=effective_day(entry.period, now.date()))
        fig.history.append(FigureRevisionRow(revision=1, value=entry.value, previous_value=None, note=entry.note,
                                             reason=None, entered_by=who, entered_at=now, via=via))
        s.add(fig)
        s.flush()
        record(s, plan, entry.indicator, ind_id, entry.unit.code, unit_id, entry.period, entry.value, None,
               fig.effective_on)
        return Saved(fig.id, 1, entry.value, None)
    if fig.value == entry.value and (allow_same or entry.reason):
        if allow_same:
            return Saved(fig.id, fig.revision, fig.value, fig.value, unchanged=True)
        raise UserError("{period} is already {value}: nothing to correct.", period=entry.period.label,
                        value=fig.value)
    if not entry.reason:
        raise UserError("{period} already has {value}. To change it, correct it and give a reason.",
                        period=entry.period.label, value=fig.value)
    previous = fig.value
    fig.revision += 1
    fig.value, fig.note, fig.entered_by, fig.entered_at, fig.via = entry.value, entry.note, who, now, via
    fig.history.append(FigureRevisionRow(revision=fig.revision, value=entry.value, previous_value=previous,
                                         note=entry.note, reason=entry.reason, entered_by=who, entered_at=now,
                                         via=via))
    s.flush()
    record(s, plan, entry.indicator, ind_id, entry.unit.code, unit_id, entry.period, entry.value, previous,
           fig.effective_on)
    return Saved(fig.id, fig.revision, entry.value, previous)


def submit(uow: sessionmaker[Session], entry: Entry, who: str, via: str, now: datetime) -> Saved:
    """Save one figure (or correct it, when the entry has a reason) in its own transaction."""
    with uow.begin() as s:
        row, plan = active_plan(s)
        return save(s, row, plan, entry, who, via, now)


def history(s: Session, plan_row: PlanRow, indicator: str, unit: str, period: str) -> list[FigureRevisionRow]:
    """Every version of one figure, oldest first (empty when it was never reported)."""
    stmt = (select(FigureRevisionRow).join(FigureRow).join(IndicatorRow).join(UnitRow, FigureRow.unit_id == UnitRow.id)
            .where(IndicatorRow.plan_id == plan_row.id, IndicatorRow.code == indicator, UnitRow.code == unit,
                   FigureRow.period == period)
            .order_by(FigureRevisionRow.revision))
    return list(s.scalars(stmt))
