"""Use cases for figures: submit, correct, import many at once; each figure keeps its history."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import FigureRevisionRow, FigureRow, IndicatorRow, PlanRow, UnitRow
from bot.db.plan_ids import plan_ids
from bot.db.series import record
from bot.domain.free_text import MAX_NOTE, MAX_REASON, one_line
from bot.domain.pace import effective_day
from bot.domain.period import Period
from bot.domain.plan import Indicator, Plan, Unit
from bot.domain.rules import check_figure
from bot.errors import UserError
from bot.services.plans import active_plan


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


def reason_text(text: str | None) -> str | None:
    """A correction's reason as it is stored: on one line, without control or bidi characters; None when empty.
    UserError when it is longer than MAX_REASON."""
    clean = one_line(text or "")
    if len(clean) > MAX_REASON:
        raise UserError("The reason is too long: {n} characters, at most {max}. Please shorten it.", n=len(clean),
                        max=MAX_REASON)
    return clean or None


def note_text(text: str | None) -> str | None:
    """A note as it is stored: on one line, without control or bidi characters; None when empty. UserError when it
    is longer than MAX_NOTE."""
    clean = one_line(text or "")
    if len(clean) > MAX_NOTE:
        raise UserError("The note is too long: {n} characters, at most {max}. Please shorten it.", n=len(clean),
                        max=MAX_NOTE)
    return clean or None


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


# the figure of one unit, indicator and period, locked for the change (statement built once: it caches its own key)
FIGURE = (select(FigureRow).where(FigureRow.indicator_id == bindparam("i"), FigureRow.unit_id == bindparam("u"),
                                  FigureRow.period == bindparam("p")).with_for_update())
# whether there is one, and its value, without loading it into the session (most saves are of a new figure)
FIGURE_VALUE = (select(FigureRow.id, FigureRow.value, FigureRow.revision)
                .where(FigureRow.indicator_id == bindparam("i"), FigureRow.unit_id == bindparam("u"),
                       FigureRow.period == bindparam("p")).with_for_update())
FIGURES: Table = FigureRow.__table__  # type: ignore[assignment]
NEW_FIGURE = insert(FIGURES).returning(FIGURES.c.id)  # Core: a new figure is two plain INSERTs, no unit of work
REVISIONS: Table = FigureRevisionRow.__table__  # type: ignore[assignment]
NEW_REVISION = insert(REVISIONS)
VALUE = select(FigureRow.value).where(FigureRow.indicator_id == bindparam("i"), FigureRow.unit_id == bindparam("u"),
                                      FigureRow.period == bindparam("p"))


def saved_value(s: Session, row: PlanRow, unit: str, indicator: str, period: str) -> Decimal | None:
    """The figure a unit has saved for an indicator and period, if any."""
    ids = plan_ids(s, row)  # figures change only in save(), which leaves nothing unflushed: Core, no autoflush
    value: Decimal | None = s.connection().scalar(VALUE, {"i": ids.indicator(indicator), "u": ids.unit(unit),
                                                          "p": period})
    return value


def latest_before(s: Session, row: PlanRow, unit: str, indicator: str, before: date) -> tuple[str, Decimal] | None:
    """A unit's latest figure for an indicator among the periods that end before `before`: its period and value."""
    ids = plan_ids(s, row)
    found = s.execute(select(FigureRow.period, FigureRow.value).where(
        FigureRow.indicator_id == ids.indicator(indicator), FigureRow.unit_id == ids.unit(unit),
        FigureRow.period_end < before).order_by(FigureRow.period_end.desc()).limit(1)).first()
    return None if found is None else (found.period, found.value)


def latest_figures(s: Session, row: PlanRow, unit: str) -> dict[str, tuple[str, Decimal]]:
    """A unit's latest figure for each indicator it has reported, by indicator code: its period and value."""
    found = s.execute(select(IndicatorRow.code, FigureRow.period, FigureRow.value)
                      .join(IndicatorRow, IndicatorRow.id == FigureRow.indicator_id)
                      .where(IndicatorRow.plan_id == row.id, FigureRow.unit_id == plan_ids(s, row).unit(unit))
                      .order_by(FigureRow.period_end, FigureRow.period_start))
    return {code: (period, value) for code, period, value in found}  # the latest of each code comes last


def added_before(s: Session, row: PlanRow, unit: str, indicator: str, start: date, before: date) -> Decimal:
    """The sum of a unit's figures for a flow indicator over the periods from start to before (exclusive):
    what a cumulative total is made of before the period being reported."""
    ids = plan_ids(s, row)
    values = s.scalars(select(FigureRow.value).where(  # summed exactly here: SQLite's SUM of text is a float
        FigureRow.indicator_id == ids.indicator(indicator), FigureRow.unit_id == ids.unit(unit),
        FigureRow.period_start >= start, FigureRow.period_end < before))
    total = sum(values, Decimal(0))
    # as few decimal places as the value needs (PostgreSQL's NUMERIC(28, 8) gives 3 back as 3.00000000)
    return total.quantize(Decimal(1)) if total == total.to_integral_value() else total.normalize()


def save(s: Session, row: PlanRow, plan: Plan, entry: Entry, who: str, via: str, now: datetime,
         allow_same: bool = False) -> Saved:
    """Validate and save one figure in session s (the caller commits); corrections need a reason. A successor's
    figure for an indicator its predecessor reported is saved for the predecessor (who entered it is kept)."""
    entry = replace(entry, note=note_text(entry.note), reason=reason_text(entry.reason))
    if (counts_for := plan.reporting_for(entry.indicator, entry.unit.code, entry.period.start)) != entry.unit.code:
        entry = replace(entry, unit=plan.unit(counts_for))
    validate(plan, entry, now)
    ids = plan_ids(s, row)
    ind_id, unit_id = ids.indicator(entry.indicator.code), ids.unit(entry.unit.code)
    key = {"i": ind_id, "u": unit_id, "p": entry.period.label}
    found = s.connection().execute(FIGURE_VALUE, key).first()  # Core: no ORM load for a new figure
    if found is None:
        if entry.reason:
            raise UserError("There is no figure for {period} to correct yet.", period=entry.period.label)
        effective = effective_day(entry.period, now.date())
        c = s.connection()  # two Core INSERTs on the session's connection: none of the ORM's execute overhead
        fig_id = c.execute(NEW_FIGURE, {
            "indicator_id": ind_id, "unit_id": unit_id, "period": entry.period.label,
            "period_start": entry.period.start, "period_end": entry.period.end, "value": entry.value,
            "note": entry.note, "entered_by": who, "entered_at": now, "via": via, "revision": 1,
            "effective_on": effective}).scalar_one()
        c.execute(NEW_REVISION, {"figure_id": fig_id, "revision": 1, "value": entry.value, "previous_value": None,
                                 "note": entry.note, "reason": None, "entered_by": who, "entered_at": now,
                                 "via": via})
        record(s, plan, entry.indicator, ind_id, entry.unit.code, unit_id, entry.period, entry.value, None,
               effective)
        return Saved(fig_id, 1, entry.value, None)
    if found.value == entry.value and (allow_same or entry.reason):
        if allow_same:
            return Saved(found.id, found.revision, found.value, found.value, unchanged=True)
        raise UserError("{period} is already {value}: nothing to correct.", period=entry.period.label,
                        value=found.value)
    if not entry.reason:
        raise UserError("{period} already has {value}. To change it, correct it and give a reason.",
                        period=entry.period.label, value=found.value)
    fig = s.scalars(FIGURE, key).one()
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
