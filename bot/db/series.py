"""The city series: each indicator's city parts per period, kept up to date by every save.

The lagging question then reads about ten rows per indicator instead of every unit's figures, so it takes the same
time with ten thousand figures as with a million. `rebuild` computes the rows from the figures (after a plan is
loaded, and in the migration that added them); `record` updates them in the transaction that saves a figure.
The pace engine still judges: this module only gives it the city series, the baseline and who has not reported,
and gives up (None) where those would differ from the engine's own reading of the figures.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, and_, bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.db.models import CitySeriesRow, FigureRow, IndicatorRow, PlanRow, UnitRow
from bot.db.plan_ids import PlanIds, plan_ids
from bot.domain.pace import Figure, Point, Progress, baseline_of, city_points, due_period, judge
from bot.domain.period import Period
from bot.domain.plan import Aggregation, Indicator, Kind, Plan

ZERO = Decimal(0)


def _carries(ind: Indicator) -> bool:
    """Whether the city value is the sum of every reporting unit's latest level (stocks and the like)."""
    return ind.aggregation is Aggregation.SUM and ind.kind is not Kind.FLOW


# --- keeping the rows ----------------------------------------------------------------------------------------------

@dataclass
class _Part:
    start: date
    end: date
    lead_unit: int | None = None
    lead_value: Decimal | None = None
    lead_effective: date | None = None
    part_sum: Decimal = ZERO
    part_count: int = 0
    part_effective: date | None = None
    carried: Decimal | None = None
    carried_effective: date | None = None


def _later(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else max(a, b)


def rebuild(s: Session, plan_id: int, plan: Plan) -> int:
    """Recompute the city series of every indicator of a plan from its figures; return the rows written."""
    ind_ids = dict(s.execute(select(IndicatorRow.code, IndicatorRow.id).where(IndicatorRow.plan_id == plan_id)).all())
    units = dict(s.execute(select(UnitRow.id, UnitRow.code).where(UnitRow.plan_id == plan_id)).all())
    if ind_ids:
        s.execute(delete(CitySeriesRow).where(CitySeriesRow.indicator_id.in_(list(ind_ids.values()))))
    rows: list[dict[str, object]] = []
    for ind in plan.indicators:
        iid = ind_ids.get(ind.code)
        if iid is None:
            continue
        figs = s.execute(select(FigureRow.unit_id, FigureRow.period, FigureRow.period_start, FigureRow.period_end,
                                FigureRow.value, FigureRow.effective_on)
                         .where(FigureRow.indicator_id == iid).order_by(FigureRow.id)).all()
        parts = _parts(plan, ind, [(units.get(u, ""), u, label, st, en, v, eff) for u, label, st, en, v, eff in figs])
        rows += [{"indicator_id": iid, "period": label, "period_start": p.start, "period_end": p.end,
                  "lead_unit_id": p.lead_unit, "lead_value": p.lead_value, "lead_effective": p.lead_effective,
                  "part_sum": p.part_sum, "part_count": p.part_count, "part_effective": p.part_effective,
                  "carried": p.carried, "carried_effective": p.carried_effective} for label, p in parts.items()]
    for i in range(0, len(rows), 5000):
        s.execute(insert(CitySeriesRow), rows[i:i + 5000])
    return len(rows)


def _parts(plan: Plan, ind: Indicator,
           figs: list[tuple[str, int, str, date, date, Decimal, date]]) -> dict[str, _Part]:
    """Each period's parts from an indicator's figures (code, unit id, label, start, end, value, effective), oldest
    saved first."""
    lead, reporting = set(ind.lead_units), set(ind.reporting_units)
    out: dict[str, _Part] = {}
    units_of: dict[int, str] = {}
    info = set(ind.informational_units)
    for code, uid, label, start, end, value, eff in figs:
        if code in info:  # reported for information only: not part of the city's value
            continue
        p = out.setdefault(label, _Part(start, end))
        if code in lead:
            if p.lead_unit is None or _ranks_before(ind, code, units_of.get(p.lead_unit, "")):
                p.lead_unit, p.lead_value = uid, value
                units_of[uid] = code
            p.lead_effective = _later(p.lead_effective, eff)
        if code in reporting:
            p.part_sum += value
            p.part_count += 1
            p.part_effective = _later(p.part_effective, eff)
    if _carries(ind):
        carried = [f for f in figs if f[0] in reporting and f[3] >= plan.start]
        carried.sort(key=lambda f: (f[4], f[6]))  # by end, then effective; ties keep the order saved
        latest: dict[int, Decimal] = {}
        total, seen, i = ZERO, None, 0
        for label in sorted(out, key=lambda k: out[k].end):
            p = out[label]
            while i < len(carried) and carried[i][4] <= p.end:
                _, uid, _, _, _, value, eff = carried[i]
                total += value - latest.get(uid, ZERO)
                latest[uid] = value
                seen = _later(seen, eff)
                i += 1
            p.carried, p.carried_effective = total, seen
    return out


def _ranks_before(ind: Indicator, unit: str, other: str) -> bool:
    """Whether unit comes before other among the indicator's lead units (the first one that reports counts)."""
    order = ind.lead_units
    return other not in order or (unit in order and order.index(unit) < order.index(other))


SERIES: Table = CitySeriesRow.__table__  # type: ignore[assignment]
_C = SERIES.c
_PART = (_C.lead_unit_id, _C.lead_value, _C.lead_effective, _C.part_sum, _C.part_count, _C.part_effective)
# statements built once (each then caches its own key): a save runs them all
# FOR NO KEY UPDATE: saves of one indicator take turns, but the key-share lock that inserting a figure takes on
# its indicator (the foreign key) does not conflict with it; with FOR UPDATE two saves could deadlock on the two
_LOCK = (select(IndicatorRow.__table__.c.id).where(IndicatorRow.__table__.c.id == bindparam("i"))
         .with_for_update(key_share=True))
_ROW = select(*_PART).where(_C.indicator_id == bindparam("i"), _C.period == bindparam("p"))
_SET = (update(SERIES).where(_C.indicator_id == bindparam("i"), _C.period == bindparam("p"))
        .values(**{c.name: bindparam(c.name) for c in _PART}))
_CARRIED_BEFORE = (select(_C.carried, _C.carried_effective)
                   .where(_C.indicator_id == bindparam("i"), _C.period_end <= bindparam("end"),
                          _C.period_start >= bindparam("plan_start"))
                   .order_by(_C.period_end.desc()).limit(1))
_FIG = FigureRow.__table__.c
_MINE = select(_FIG.period_end, _FIG.effective_on, _FIG.id, _FIG.value, _FIG.period).where(
    _FIG.indicator_id == bindparam("i"), _FIG.unit_id == bindparam("u"), _FIG.period_start >= bindparam("plan_start"))
_CARRIED_AFTER = (select(_C.period, _C.period_end, _C.carried, _C.carried_effective)
                  .where(_C.indicator_id == bindparam("i"), _C.period_end >= bindparam("end"),
                         _C.period_start >= bindparam("plan_start")))
_SET_CARRIED = (update(SERIES).where(_C.indicator_id == bindparam("i"), _C.period == bindparam("p"))
                .values(carried=bindparam("carried"), carried_effective=bindparam("carried_effective")))
_UNIT_CODE = select(UnitRow.__table__.c.code).where(UnitRow.__table__.c.id == bindparam("u"))


def record(s: Session, plan: Plan, ind: Indicator, ind_id: int, unit: str, unit_id: int, period: Period,
           value: Decimal, previous: Decimal | None, effective: date) -> None:
    """Bring the series up to date with a figure just saved (previous: the value a correction replaced)."""
    if unit in ind.informational_units:  # reported for information only: not part of the city's value
        return
    # One save at a time per indicator: the rows are read, changed in Python (exact decimals: SQLite keeps them as
    # text) and written back. SQLite's single writer already serialises saves; PostgreSQL locks the indicator.
    s.flush()  # the statements below are Core, on the session's connection (no autoflush, no ORM overhead)
    c = s.connection()
    if c.dialect.name != "sqlite":
        c.execute(_LOCK, {"i": ind_id})
    key = {"i": ind_id, "p": period.label}
    found = c.execute(_ROW, key).first()
    if found is None:
        carried: tuple[Decimal | None, date | None] = (None, None)
        if _carries(ind):
            before = c.execute(_CARRIED_BEFORE, {"i": ind_id, "end": period.end, "plan_start": plan.start}).first()
            carried = (before[0], before[1]) if before else (ZERO, None)
        c.execute(insert(SERIES).values(indicator_id=ind_id, period=period.label, period_start=period.start,
                                        period_end=period.end, part_sum=ZERO, part_count=0, carried=carried[0],
                                        carried_effective=carried[1]))
        row: dict[str, Any] = dict.fromkeys(col.name for col in _PART) | {"part_sum": ZERO, "part_count": 0}
    else:
        row = dict(found._mapping)
    if unit in ind.lead_units:
        current = row["lead_unit_id"]
        if current in (None, unit_id) or _ranks_before(ind, unit, c.scalar(_UNIT_CODE, {"u": current}) or ""):
            row["lead_unit_id"], row["lead_value"] = unit_id, value
        row["lead_effective"] = _later(row["lead_effective"], effective)
    part = unit in ind.reporting_set
    if part:
        row["part_sum"] += value - (previous if previous is not None else ZERO)
        row["part_count"] += previous is None
        row["part_effective"] = _later(row["part_effective"], effective)
    c.execute(_SET, key | row)
    if part and _carries(ind) and period.start >= plan.start:
        _carry(c, plan, ind_id, unit_id, period, previous, effective)


def _carry(c: Connection, plan: Plan, ind_id: int, unit_id: int, period: Period, previous: Decimal | None,
           effective: date) -> None:
    """Change the carried sums from this period's end on by how this unit's carried level changed."""
    mine = c.execute(_MINE, {"i": ind_id, "u": unit_id, "plan_start": plan.start}).all()
    after = sorted((end, eff, fid, v) for end, eff, fid, v, _ in mine)
    saved = next(fid for _, _, fid, _, label in mine if label == period.label)
    if previous is None:
        before = [f for f in after if f[2] != saved]
    else:
        before = [(end, eff, fid, previous if fid == saved else v) for end, eff, fid, v in after]
    rows = c.execute(_CARRIED_AFTER, {"i": ind_id, "end": period.end, "plan_start": plan.start}).all()
    level_after, level_before = _levels(after), _levels(before)
    c.execute(_SET_CARRIED, [
        {"i": ind_id, "p": label, "carried": (carried or ZERO) + level_after(end) - level_before(end),
         "carried_effective": _later(carried_effective, effective)}
        for label, end, carried, carried_effective in rows])


def _levels(levels: list[tuple[date, date, int, Decimal]]) -> Callable[[date], Decimal]:
    """A unit's carried level on a day, from its levels sorted by (end, effective, id)."""
    ends = [f[0] for f in levels]

    def on(day: date) -> Decimal:
        i = bisect_right(ends, day)
        return levels[i - 1][3] if i else ZERO
    return on


# --- reading the rows ----------------------------------------------------------------------------------------------

def _strays(s: Session, plan: Plan, ids: PlanIds) -> frozenset[int]:
    """Indicators with figures from units that no longer report them (once per plan version)."""
    if "strays" not in ids.memo:
        strays = set()
        for ind in plan.indicators:
            allowed = [ids.units[u] for u in ind.reporters if u in ids.units]
            if ind.code in ids.indicators and s.scalar(select(FigureRow.id).where(
                    FigureRow.indicator_id == ids.indicators[ind.code], FigureRow.unit_id.not_in(allowed))
                    .limit(1)) is not None:
                strays.add(ids.indicators[ind.code])
        ids.memo["strays"] = frozenset(strays)
    result: frozenset[int] = ids.memo["strays"]
    return result


_COLUMNS = (CitySeriesRow.indicator_id, CitySeriesRow.period, CitySeriesRow.period_start, CitySeriesRow.period_end,
            CitySeriesRow.lead_value, CitySeriesRow.lead_effective, CitySeriesRow.part_sum, CitySeriesRow.part_count,
            CitySeriesRow.part_effective, CitySeriesRow.carried, CitySeriesRow.carried_effective)


def assess_from_series(s: Session, row: PlanRow, plan: Plan, as_of: date) -> list[Progress] | None:
    """Every indicator's progress from the city series, or None when as_of is before a figure already known
    (a question about the past needs the figures themselves). Unit values are left out."""
    ids = plan_ids(s, row)
    stored: dict[int, list[_Stored]] = defaultdict(list)
    for r in s.execute(select(*_COLUMNS).where(CitySeriesRow.indicator_id.in_(list(ids.indicators.values())))):
        r = _Stored(*r)
        if max(d for d in (r.lead_effective, r.part_effective, r.carried_effective, r.period_start) if d) > as_of:
            return None
        stored[r.indicator_id].append(r)
    judged = []
    for ind in plan.indicators:
        rows = stored[ids.indicators[ind.code]]
        baseline = _series_baseline(s, plan, ind, ids, rows)
        inside = [r for r in rows if r.period_start >= plan.start and r.period_end <= plan.end]
        city = [f for f in (_city_value(ind, r) for r in inside) if f is not None]
        series: list[Point] = city_points(ind, city)
        due = due_period(plan, ind, as_of)
        judged.append((ind, baseline, series, due))
    missing = _missing(s, plan, ids, {ind.code: due for ind, _, _, due in judged if due is not None})
    return [judge(plan, ind, as_of, baseline, series, due, missing.get(ind.code, ()))
            for ind, baseline, series, due in judged]


class _Stored(NamedTuple):
    indicator_id: int
    period: str
    period_start: date
    period_end: date
    lead_value: Decimal | None
    lead_effective: date | None
    part_sum: Decimal
    part_count: int
    part_effective: date | None
    carried: Decimal | None
    carried_effective: date | None


def _city_value(ind: Indicator, r: _Stored) -> Figure | None:
    """The city's figure for one period, as the pace engine forms it from the unit figures."""
    period = Period(r.period_start, r.period_end, r.period)
    if r.lead_value is not None and r.lead_effective is not None:
        return Figure("", period, r.lead_value, r.lead_effective)
    if ind.aggregation is not Aggregation.SUM:
        return None
    if ind.kind is Kind.FLOW:
        return Figure("", period, r.part_sum, r.part_effective) if r.part_count and r.part_effective else None
    return Figure("", period, r.carried or ZERO, max(r.period_start, r.carried_effective or r.period_start))


def _series_baseline(s: Session, plan: Plan, ind: Indicator, ids: PlanIds,
                     rows: list[_Stored]) -> Decimal | None:
    """The baseline as the engine reads it from the figures of periods ending on the baseline date."""
    if ind.kind is Kind.FLOW or ind.baseline is not None:
        return baseline_of(plan, ind, [])
    base = [r for r in rows if r.period_end == plan.baseline_date]
    if not base:
        return None
    if len(base) == 1:  # one period: its lead figure, else the sum of its reporting units' figures
        r = base[0]
        if r.lead_value is not None:
            return r.lead_value
        return r.part_sum if ind.aggregation is Aggregation.SUM and r.part_count else None
    figs = s.execute(select(FigureRow.unit_id, FigureRow.period, FigureRow.period_start, FigureRow.period_end,
                            FigureRow.value, FigureRow.effective_on)
                     .where(FigureRow.indicator_id == ids.indicators[ind.code],
                            FigureRow.period_end == plan.baseline_date).order_by(FigureRow.id)).all()
    return baseline_of(plan, ind, [Figure(ids.unit_codes.get(u, ""), Period(st, en, label), v, eff)
                                 for u, label, st, en, v, eff in figs])


def _covers(plan: Plan, ind: Indicator, iid: int, due: Period) -> ColumnElement[bool]:
    """The engine's test of a figure covering the due period, as SQL on the coverage index."""
    fig = FigureRow.__table__.c
    if ind.kind is Kind.FLOW:  # an increment for this period, or one containing it
        return and_(fig.indicator_id == iid, fig.period_end >= due.start, fig.period_start <= due.end,
                    fig.period_start >= plan.start)
    return and_(fig.indicator_id == iid, fig.period_end >= due.end, fig.period_start >= plan.start)


def _missing(s: Session, plan: Plan, ids: PlanIds, due: dict[str, Period]) -> dict[str, tuple[str, ...]]:
    """Who owes each indicator's last due report: one count over the coverage index, names only when short."""
    if not due:
        return {}
    fig = FigureRow.__table__.c
    leads = sorted({ids.units[u] for ind in plan.indicators for u in ind.lead_units if u in ids.units})
    lead_col = case((fig.unit_id.in_(leads), fig.unit_id), else_=0).label("lead")
    q = (select(fig.indicator_id, lead_col, func.count(fig.unit_id.distinct()))
         .where(or_(*[_covers(plan, plan.indicator(c), ids.indicators[c], d) for c, d in due.items()]))
         .group_by(fig.indicator_id, lead_col))
    others: dict[int, int] = {}
    lead_cover: dict[int, set[str]] = defaultdict(set)
    for iid, lead, n in s.execute(q):
        if lead:
            lead_cover[iid].add(ids.unit_codes[lead])
        else:
            others[iid] = n
    out: dict[str, tuple[str, ...]] = {}
    for code, d in due.items():
        ind = plan.indicator(code)
        iid = ids.indicators[code]
        if lead_cover[iid] & set(ind.lead_units):
            continue
        owing = ind.reporting_units if ind.aggregation is Aggregation.SUM else ind.lead_units[:1]
        if (ind.aggregation is Aggregation.SUM and iid not in _strays(s, plan, ids) and not ind.informational_units
                and others.get(iid, 0) >= len(owing)):  # units reporting for information are not among the owing
            continue
        covered = {ids.unit_codes.get(u) for u in s.scalars(select(fig.unit_id).where(_covers(plan, ind, iid, d)))}
        out[code] = tuple(u for u in owing if u not in covered)
    return {c: m for c, m in out.items() if m}
