#!/usr/bin/env python3
"""The lagging question ("哪些指标滞后") over a large figure history: p50/p95 at 10,000 and ~1,000,000 figures.

The plan (generated into a temp dir): 2,000 district units in one group plus a lead bureau, monthly reporting, a plan
from 2011-01-01 to 2020-12-31 with yearly milestones, and five indicators:

    enterprises  stock, sum of all 2,000 units      jobs     stock, sum of all 2,000 units
    investment   flow,  sum of all 2,000 units      patents  flow,  sum of all 2,000 units
    rd_share     ratio, reported by the lead bureau only (aggregation: lead)

Figures are laid month by month (the bureau's rd_share, then each indicator's 2,000 unit figures) until the size
asked for is reached, so that every size is the same plan with the same reporting discipline, only a longer history:

    10,000      2011-01 complete (8,001) + 1,999 figures of 2011-02 (not yet due); asked on 2011-03-05
    100,000     12 complete months + 3,988 figures of 2012-01;                   asked on 2012-02-05
    1,000,000   capped at the plan's whole grid: 120 months x (4 x 2,000 + 1) = 960,120 figures; asked on 2021-01-15

Every figure has its FigureRevisionRow, as the real save path writes. Loading is bulk: SQLAlchemy Core executemany in
chunks of 10,000 on SQLite, COPY on PostgreSQL (then VACUUM ANALYZE, as autovacuum would).

Measured (each after --warmups warm-ups, --reps repetitions, nearest-rank p50/p95):
    assess_all   bot.progress.assess_all(...) in a fresh session (the timer wraps the assess_all call only)
    chat answer  handlers.router.Router(app).handle(Inbound("哪些指标滞后")) from a bound leader (one transaction)
Targets: p95 <= 20 ms at every size, and p95(largest) / p95(smallest) <= 2.

At the largest size it then shows where the time goes (SQL fetch, building Figure objects, the chart, the pace engine
per indicator, a time-boxed cProfile). At every size it measures a prototype of the proposed design, patched into this
process only (no file outside bench/ changes): a city-series table (one row per indicator and period, as a save would
maintain it) + a covering index and one GROUP BY for who has not reported ("proto"); the same with two engine fixes,
pace._disjoint in O(n log n) and period.last_due in O(1) ("proto+fixes"); each also through the router with the chart
left out ("text"). At the smallest size the prototype is checked against assess_all with some reports taken away.

    .venv/bin/python bench/lagging.py                                  # 10k and 1M, SQLite and PostgreSQL
    .venv/bin/python bench/lagging.py --quick                          # 10k and 100k, fewer reps
    .venv/bin/python bench/lagging.py --db postgres --sizes 10000,1000000
    .venv/bin/python bench/lagging.py --skip-current                   # the prototype only (minutes, not an hour)

Exit status: 0 PASS, 1 FAIL (targets missed, or a measurement aborted at its time limit), 2 error.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import cProfile
import io
import math
import os
import platform
import pstats
import signal
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import (  # noqa: E402
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    create_engine,
    func,
    insert,
    or_,
    select,
    text,
)

from bot.bootstrap import App, bootstrap  # noqa: E402
from bot.config import Settings, _redact_url  # noqa: E402
from bot.db.models import ExactDecimal, FigureRevisionRow, FigureRow, IndicatorRow, UnitRow  # noqa: E402
from bot.domain import pace  # noqa: E402
from bot.domain.pace import Figure, Progress, assess, rank  # noqa: E402
from bot.domain.period import Period, last_due, month, period_of  # noqa: E402
from bot.domain.plan import Aggregation, Kind, Plan  # noqa: E402
from bot.people import grant, identity_for  # noqa: E402
from bot.plan_store import active_plan  # noqa: E402
from bot.progress import assess_all, figures_by_indicator  # noqa: E402
from handlers.router import Router  # noqa: E402
from handlers.types import Inbound  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
N_UNITS = 2000
N_MONTHS = 120  # 2011-01 .. 2020-12
PLAN_START = date(2011, 1, 1)
UNIT_INDICATORS = ("enterprises", "jobs", "investment", "patents")
LEAD_INDICATOR = "rd_share"
LEAD = "bureau"
TZ = ZoneInfo("Asia/Shanghai")
CHUNK = 10_000
TARGET_P95_MS, TARGET_RATIO = 20.0, 2.0
QUESTION = "哪些指标滞后"
LEADER_ID = "990001"


class BenchError(Exception):
    """The benchmark could not run (setup problem, unexpected answer)."""


class BenchTimeout(Exception):
    """A time limit ran out."""


# --- time limits --------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise BenchTimeout inside the block once `seconds` have passed (SIGALRM; the main thread only)."""
    def on_alarm(_sig: int, _frame: Any) -> None:
        raise BenchTimeout(f"{what} ran past its time limit of {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- the plan and the data grid -------------------------------------------------------------------------------------
def unit_code(i: int) -> str:
    return f"u{i:04d}"


def write_plan(path: Path) -> None:
    years = range(2011, 2021)
    lines = [
        "# Generated by bench/lagging.py: 2,000 reporting units, monthly figures, ten years, yearly milestones.",
        "plan:",
        "  code: bench-lagging",
        "  title: {zh: 滞后问题基准测试计划, en: Lagging question benchmark plan}",
        f"  start: {PLAN_START.isoformat()}",
        "  end: 2020-12-31",
        "defaults:",
        "  schedule: {cadence: monthly, due_days: 10}",
        "units:",
        f"  - code: {LEAD}",
        "    name: {zh: 市发展改革委, en: Development and Reform Commission}",
    ]
    for i in range(1, N_UNITS + 1):
        lines += [f"  - code: {unit_code(i)}", f"    name: {{zh: 基准单位{i:04d}, en: Bench unit {i:04d}}}",
                  "    kind: district"]
    lines += ["groups:", "  all_units: [" + ", ".join(unit_code(i) for i in range(1, N_UNITS + 1)) + "]",
              "indicators:"]

    def indicator(code: str, zh: str, en: str, kind: str, measure: str, baseline: str | None,
                  milestone: Callable[[int], str], lead_only: bool = False) -> None:
        nonlocal lines
        lines += [f"  - code: {code}", f"    name: {{zh: {zh}, en: {en}}}", f"    kind: {kind}",
                  f"    measure: {{zh: \"{measure}\", en: \"{measure}\"}}", f"    lead: [{LEAD}]"]
        if baseline is not None:
            lines.append(f"    baseline: {baseline}")
        lines += ["    aggregation: lead"] if lead_only else ['    reporters: ["@all_units"]']
        lines.append("    milestones:")
        lines += [f"      - {{due: {y}-12-31, value: {milestone(y - 2010)}}}" for y in years]

    # with all 2,000 units reporting, the city values at month m are:
    # enterprises 10000 + 100 m (a pace of 1,320 a year: lagging), jobs 200000 + 2000 m (pace 21,600 a year: ahead),
    # investment 3000 a month (pace 36,000 a year: on pace), patents 400 a month (pace 6,000 a year: lagging),
    # rd_share 1.5 + 0.01 m (pace 1.5 + 0.1 a year: ahead)
    indicator("enterprises", "高新技术企业总数", "High-tech enterprises", "stock", "家", "10000",
              lambda y: str(10000 + 1320 * y))
    indicator("jobs", "就业人数", "Jobs", "stock", "人", "200000", lambda y: str(200000 + 21600 * y))
    indicator("investment", "累计投资额", "Investment", "flow", "万元", None, lambda y: str(36000 * y))
    indicator("patents", "累计专利授权数", "Patents granted", "flow", "件", None, lambda y: str(6000 * y))
    indicator(LEAD_INDICATOR, "研发经费占GDP比重", "R&D share of GDP", "ratio", "%", "1.5",
              lambda y: f"{Decimal('1.5') + Decimal('0.1') * y}", lead_only=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def value_for(ind: str, unit_index: int, m: int) -> Decimal:
    """The figure unit_index reports for indicator ind in month m (1-based); bureau figures use unit_index 0."""
    spread = Decimal((unit_index % 5) - 2) / 100  # -0.02 .. 0.02, summing to zero over each 5 units
    if ind == "enterprises":
        return Decimal(5) + Decimal(m) / 20 + spread
    if ind == "jobs":
        return Decimal(100) + Decimal(m) + spread
    if ind == "investment":
        return Decimal("1.5") + spread
    if ind == "patents":
        return Decimal("0.2") + spread
    return Decimal("1.5") + Decimal(m) / 100


@dataclass
class Grid:
    """How many figures, laid out how, and the day the leader asks."""

    requested: int
    figures: int
    full_months: int  # months with every figure
    partial: int  # figures of the month after them (0: none)
    as_of: date

    @property
    def months(self) -> int:
        return self.full_months + (1 if self.partial else 0)

    def describe(self) -> str:
        last = month(2011 + (self.full_months - 1) // 12, (self.full_months - 1) % 12 + 1).label
        out = f"{self.figures:,} figures: {self.full_months} complete months 2011-01..{last}"
        if self.partial:
            nxt = month(2011 + self.full_months // 12, self.full_months % 12 + 1).label
            out += f" + {self.partial:,} figures of {nxt} (not yet due)"
        if self.figures != self.requested:
            out += f" (the plan's whole grid; {self.requested:,} asked for)"
        return out + f"; asked on {self.as_of}"


PER_MONTH = len(UNIT_INDICATORS) * N_UNITS + 1


def grid_for(n: int) -> Grid:
    capacity = N_MONTHS * PER_MONTH
    n = max(1, n)
    figures = min(n, capacity)
    full, partial = divmod(figures, PER_MONTH)
    if full == 0:
        raise BenchError(f"--sizes {n}: at least {PER_MONTH:,} figures (one month of the plan) are needed")
    last_full = month(2011 + (full - 1) // 12, (full - 1) % 12 + 1)
    # complete data: asked after the last month's reports fell due; partial: while the next month's are coming in
    as_of = last_full.end + timedelta(days=15) if not partial else last_full.end + timedelta(days=36)
    if partial:
        nxt = month(2011 + full // 12, full % 12 + 1)
        as_of = min(as_of, nxt.end + timedelta(days=5))
    return Grid(n, figures, full, partial, as_of)


def entered_at(p: Period, as_of: date) -> datetime:
    day = min(p.end + timedelta(days=5), as_of)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=TZ)


def figure_rows(grid: Grid, ind_ids: dict[str, int], unit_ids: dict[str, int]) -> Iterator[tuple[Any, ...]]:
    """(id, indicator_id, unit_id, period, start, end, value, entered_by, entered_at, effective_on), in order."""
    fid = 0
    for mi in range(1, grid.months + 1):
        p = month(2011 + (mi - 1) // 12, (mi - 1) % 12 + 1)
        at = entered_at(p, grid.as_of)
        eff = pace.effective_day(p, at.date())
        owners = [(LEAD_INDICATOR, 0)] + [(ind, i) for ind in UNIT_INDICATORS for i in range(1, N_UNITS + 1)]
        for ind, i in owners:
            if fid >= grid.figures:
                return
            fid += 1
            code = LEAD if i == 0 else unit_code(i)
            yield (fid, ind_ids[ind], unit_ids[code], p.label, p.start, p.end, value_for(ind, i, mi),
                   f"telegram:{880000 + i} ({code})", at, eff)


# --- databases ------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def database(kind: str, pg_url: str, tmp: Path, tag: str) -> Iterator[str]:
    """A fresh SQLite file, or an own PostgreSQL schema (created here, dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'lagging-{tag}.db'}"
        return
    schema = f"bench_lagging_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url)
    try:
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as e:
        admin.dispose()
        raise BenchError(f"PostgreSQL at {_redact_url(pg_url)} is not reachable: {e}") from None
    try:
        yield f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def ids(app: App) -> tuple[dict[str, int], dict[str, int]]:
    with app.uow() as s:
        row, _ = active_plan(s)
        inds = dict(s.execute(select(IndicatorRow.code, IndicatorRow.id).where(IndicatorRow.plan_id == row.id)).all())
        units = dict(s.execute(select(UnitRow.code, UnitRow.id).where(UnitRow.plan_id == row.id)).all())
    return inds, units


def load_figures(app: App, grid: Grid, deadline: float) -> float:
    """Bulk-load the grid's figures and their first revisions; returns seconds."""
    ind_ids, unit_ids = ids(app)
    t0 = time.perf_counter()
    rows = figure_rows(grid, ind_ids, unit_ids)
    if app.engine.dialect.name == "postgresql":
        _copy_pg(app, rows, deadline)
    else:
        _insert_core(app, rows, deadline)
    return time.perf_counter() - t0


def _check(deadline: float, done: int) -> None:
    if time.monotonic() > deadline:
        raise BenchTimeout(f"generation ran past its time limit after {done:,} figures")


def _insert_core(app: App, rows: Iterator[tuple[Any, ...]], deadline: float) -> None:
    fig_t, rev_t = cast(Table, FigureRow.__table__), cast(Table, FigureRevisionRow.__table__)
    done = 0
    with app.engine.begin() as c:
        while True:
            chunk = [r for _, r in zip(range(CHUNK), rows, strict=False)]
            if not chunk:
                break
            c.execute(insert(fig_t), [
                {"id": r[0], "indicator_id": r[1], "unit_id": r[2], "period": r[3], "period_start": r[4],
                 "period_end": r[5], "value": r[6], "note": None, "entered_by": r[7], "entered_at": r[8],
                 "effective_on": r[9], "via": "telegram", "revision": 1} for r in chunk])
            c.execute(insert(rev_t), [
                {"id": r[0], "figure_id": r[0], "revision": 1, "value": r[6], "previous_value": None, "note": None,
                 "reason": None, "entered_by": r[7], "entered_at": r[8], "via": "telegram"} for r in chunk])
            done += len(chunk)
            _check(deadline, done)


def _copy_pg(app: App, rows: Iterator[tuple[Any, ...]], deadline: float) -> None:
    done = 0
    with app.engine.connect() as c:
        raw = c.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            with cur.copy("COPY figures (id, indicator_id, unit_id, period, period_start, period_end, value, note, "
                          "entered_by, entered_at, effective_on, via, revision) FROM STDIN") as fig_copy:
                buffered = []
                for r in rows:
                    fig_copy.write_row((*r[:7], None, r[7], r[8], r[9], "telegram", 1))
                    buffered.append((r[0], r[6], r[7], r[8]))
                    done += 1
                    if done % CHUNK == 0:
                        _check(deadline, done)
            with cur.copy("COPY figure_revisions (id, figure_id, revision, value, previous_value, note, reason, "
                          "entered_by, entered_at, via) FROM STDIN") as rev_copy:
                for k, (fid, value, who, at) in enumerate(buffered, 1):
                    rev_copy.write_row((fid, fid, 1, value, None, None, None, who, at, "telegram"))
                    if k % CHUNK == 0:
                        _check(deadline, done)
            for table in ("figures", "figure_revisions"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))")
        raw.commit()
        raw.autocommit = True
        try:
            with raw.cursor() as cur:
                cur.execute("VACUUM ANALYZE figures")
                cur.execute("VACUUM ANALYZE figure_revisions")
        finally:
            raw.autocommit = False


def bind_leader(app: App) -> None:
    now = app.clock.now()
    with app.uow.begin() as s:
        ident = identity_for(s, "telegram", LEADER_ID, LEADER_ID, "Bench Leader", "zh-hans", now)
        grant(s, ident.person, "leader", None, "bench", now)


# --- measuring ------------------------------------------------------------------------------------------------------
@dataclass
class Series:
    """One timed series."""

    what: str
    wanted: int
    samples: list[float] = field(default_factory=list)  # seconds
    aborted: str | None = None
    first: float | None = None  # seconds of the first (warm-up) call
    load: tuple[float, float] | None = None  # 1-minute load average before and after (a shared 2-core machine)

    def pct(self, q: float) -> float:
        xs = sorted(self.samples)
        return 1000 * xs[max(0, math.ceil(q * len(xs)) - 1)] if xs else float("nan")

    @property
    def complete(self) -> bool:
        return self.aborted is None and len(self.samples) == self.wanted


def measure(what: str, call: Callable[[], float], warmups: int, reps: int, call_limit: float,
            budget: float) -> Series:
    """warm-ups then reps of call (which returns its own timed seconds), each call bounded, the series bounded."""
    series = Series(what, reps)
    load0 = os.getloadavg()[0]
    start = time.monotonic()
    for k in range(warmups + reps):
        if k and time.monotonic() - start > budget:
            series.aborted = (f"series budget of {budget:.0f} s used up after {k} calls "
                              f"({max(0, k - warmups)} of {reps} timed reps)")
            break
        try:
            with time_limit(call_limit, f"one {what}"):
                seconds = call()
        except BenchTimeout as e:
            series.aborted = f"{e} (call {k + 1}; {'warm-up' if k < warmups else 'timed rep'})"
            if series.first is None:
                series.first = float("inf")
            break
        if series.first is None:
            series.first = seconds
        if k >= warmups:
            series.samples.append(seconds)
    series.load = (load0, os.getloadavg()[0])
    return series


def assess_call(app: App, as_of: date, sink: list[list[Progress]],
                fn: Callable[..., list[Progress]] | None = None) -> Callable[[], float]:
    def call() -> float:
        with app.uow() as s:
            row, plan = active_plan(s)
            t0 = time.perf_counter()
            progress = (fn or assess_all)(s, row, plan, as_of)
            seconds = time.perf_counter() - t0
        sink[:] = [progress]
        return seconds
    return call


def chat_call(app: App, sink: list[str]) -> Callable[[], float]:
    router = Router(app)
    counter = iter(range(1, 10**9))

    def call() -> float:
        inbound = Inbound(channel="telegram", sender=LEADER_ID, chat=LEADER_ID,
                          message_id=f"lagging-{uuid.uuid4().hex[:6]}-{next(counter)}", text=QUESTION,
                          sender_name="Bench Leader", lang_hint="zh-hans")
        t0 = time.perf_counter()
        outcome = router.handle(inbound)
        seconds = time.perf_counter() - t0
        if outcome.duplicate or not outcome.replies:
            raise BenchError("the leader's question got no answer")
        sink[:] = [outcome.replies[0].text]
        return seconds
    return call


# --- where the time goes ----------------------------------------------------------------------------------------------
def breakdown(app: App, as_of: date, engine_limit: float, profile_limit: float, with_engine: bool) -> list[str]:
    """SQL fetch vs building Figure objects vs the pace engine, for one lagging question at this size."""
    out: list[str] = []
    with app.uow() as s, time_limit(900, "the fetch part of the breakdown"):
        row, plan = active_plan(s)
        stmt = (select(IndicatorRow.code, UnitRow.code, FigureRow.period, FigureRow.period_start,
                       FigureRow.period_end, FigureRow.value, FigureRow.effective_on)
                .join(IndicatorRow, FigureRow.indicator_id == IndicatorRow.id)
                .join(UnitRow, FigureRow.unit_id == UnitRow.id)
                .where(IndicatorRow.plan_id == row.id))
        sql = str(stmt.compile(dialect=app.engine.dialect, compile_kwargs={"literal_binds": True}))
        t0 = time.perf_counter()
        n = len(s.connection().exec_driver_sql(sql).fetchall())
        t_driver = time.perf_counter() - t0
        t0 = time.perf_counter()
        s.execute(stmt).all()
        t_typed = time.perf_counter() - t0
        t0 = time.perf_counter()
        figures = figures_by_indicator(s, row)
        t_fbi = time.perf_counter() - t0
    out.append(f"fetch, driver only (exec_driver_sql + fetchall, {n:,} rows): {1000 * t_driver:9.0f} ms")
    out.append(f"fetch through SQLAlchemy with type processing (.all()):        {1000 * t_typed:9.0f} ms "
               f"(+{1000 * (t_typed - t_driver):.0f} ms for result processing: Decimal, dates)")
    out.append(f"figures_by_indicator (fetch + Period/Figure objects):          {1000 * t_fbi:9.0f} ms "
               f"(~{1000 * max(0.0, t_fbi - t_typed):.0f} ms building {n:,} Period+Figure objects)")
    chart = _chart_ms(plan, as_of, figures)
    out.append(f"chart of the chat answer (bot.charts.overview_chart, PNG): p50 {chart:.0f} ms "
               "of 5 draws (drawn on every lagging answer; independent of the figure count)")
    if not with_engine:
        out.append("pace engine: see the first database's breakdown (the same Python work on the same figures)")
        return out
    total_engine = 0.0
    estimated = False
    for ind in plan.indicators:
        figs = figures.get(ind.code, [])
        try:
            with time_limit(engine_limit, f"assess({ind.code})"):
                t0 = time.perf_counter()
                assess(plan, ind, figs, as_of)
                secs = time.perf_counter() - t0
            note = "measured"
        except BenchTimeout:
            with time_limit(5 * engine_limit, f"estimating assess({ind.code})"):
                secs, note = _estimate_engine(plan, ind, figs, as_of, engine_limit)
            estimated = True
        total_engine += secs
        out.append(f"pace engine assess({ind.code:<11}) {ind.kind.value:<5} {len(figs):>9,} figures: "
                   f"{_fmt(secs):>12}  {note}")
    out.append(f"one assess_all at this size: ~{_fmt(t_fbi + total_engine)}"
               f"{' (partly estimated)' if estimated else ''}")
    out.append(f"cProfile of one assess_all (time-boxed to {profile_limit:.0f} s; top by own time):")
    out += ["  " + line for line in _profile(app, as_of, profile_limit)]
    return out


def _chart_ms(plan: Plan, as_of: date, figures: dict[str, list[Figure]]) -> float:
    from bot.charts import overview_chart
    from i18n import translator_for

    progress = [assess(plan, ind, figures.get(ind.code, [])[:1], as_of) for ind in plan.indicators]
    t = translator_for("zh-hans")
    times = []
    with tempfile.TemporaryDirectory(prefix="planbot-lagging-chart-") as d:
        for k in range(5):
            t0 = time.perf_counter()
            overview_chart(plan, progress, t, Path(d) / f"c{k}.png")
            times.append(time.perf_counter() - t0)
    return 1000 * sorted(times)[2]


def _fmt(seconds: float) -> str:
    return f"{1000 * seconds:.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _estimate_engine(plan: Plan, ind: Any, figs: list[Figure], as_of: date, limit: float) -> tuple[float, str]:
    """When assess runs past the limit: time its dominant step, _carried_sum, for 100 of the reporting units on the
    first, middle and last period, and scale to all units and all periods (its cost is units x figures per period)."""
    in_plan = [f for f in figs if f.period.start >= plan.start]
    known = [f for f in in_plan if f.effective <= as_of]
    periods = sorted({f.period for f in known}, key=lambda p: p.end)
    if ind.kind is Kind.STOCK and ind.aggregation is Aggregation.SUM and periods:
        sample = replace(ind, reporting_units=ind.reporting_units[:100])
        scale = len(ind.reporting_units) / len(sample.reporting_units)
        picked = [periods[0], periods[len(periods) // 2], periods[-1]]
        t0 = time.perf_counter()
        for p in picked:
            pace._carried_sum(sample, known, p)
        one = (time.perf_counter() - t0) / len(picked) * scale
        return (one * len(periods),
                f"ESTIMATED (over {limit:.0f} s): _carried_sum ~{one:.1f} s per period "
                f"({len(ind.reporting_units):,} units x {len(known):,} figures scanned) x {len(periods)} periods")
    return float("inf"), f"over {limit:.0f} s (not estimated)"


def _profile(app: App, as_of: date, limit: float) -> list[str]:
    prof = cProfile.Profile()
    finished = True
    with app.uow() as s:
        row, plan = active_plan(s)
        t0 = time.perf_counter()
        try:
            with time_limit(limit, "profiled assess_all"):
                prof.enable()
                try:
                    assess_all(s, row, plan, as_of)
                finally:
                    prof.disable()
        except BenchTimeout:
            finished = False
        wall = time.perf_counter() - t0
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(12)
    lines = [f"{'finished' if finished else 'STOPPED at the time box'} after {wall:.1f} s wall (under the profiler)"]
    keep = False
    for line in buf.getvalue().splitlines():
        if line.strip().startswith("ncalls"):
            keep = True
        if keep and line.strip():
            lines.append(line.replace(str(ROOT) + "/", "").rstrip())
    return lines


# --- a prototype of the design that meets the target (this process only) ---------------------------------------------
SERIES_MD = MetaData()
CITY_SERIES = Table(
    "bench_city_series", SERIES_MD,
    Column("indicator_id", Integer, primary_key=True), Column("period", String(10), primary_key=True),
    Column("period_start", Date), Column("period_end", Date), Column("value", ExactDecimal()),
    Column("effective_on", Date),
)
PROTO_INDEX = "bench_ix_figures_ind_end_unit"


def build_city_series(app: App) -> float:
    """Fill the city-series table once, as a save-time maintenance would keep it (one row per indicator/period)."""
    SERIES_MD.create_all(app.engine)
    with app.engine.begin() as c:
        c.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {PROTO_INDEX} "
                          "ON figures (indicator_id, period_end, period_start, unit_id)")
    t0 = time.perf_counter()
    with app.uow() as s:
        row, plan = active_plan(s)
        ind_ids = dict(s.execute(select(IndicatorRow.code, IndicatorRow.id)
                                 .where(IndicatorRow.plan_id == row.id)).all())
        figures = figures_by_indicator(s, row)
    rows = []
    for ind in plan.indicators:
        for period, value, eff in _city_values(ind, figures.get(ind.code, [])):
            rows.append({"indicator_id": ind_ids[ind.code], "period": period.label, "period_start": period.start,
                         "period_end": period.end, "value": value, "effective_on": eff})
    with app.engine.begin() as c:
        c.execute(CITY_SERIES.delete())
        if rows:
            c.execute(insert(CITY_SERIES), rows)
        if app.engine.dialect.name == "postgresql":
            c.exec_driver_sql("ANALYZE figures")
    return time.perf_counter() - t0


def _city_values(ind: Any, figs: list[Figure]) -> list[tuple[Period, Decimal, date]]:
    """pace.city_series' per-period city values in one pass (carried sums for stocks), for figures known today."""
    lead = set(ind.lead_units)
    reporting = set(ind.reporting_units)
    by_period: dict[Period, list[Figure]] = defaultdict(list)
    for f in figs:
        by_period[f.period].append(f)
    out: list[tuple[Period, Decimal, date]] = []
    latest: dict[str, Figure] = {}  # stocks: each reporting unit's latest level so far
    total = Decimal(0)
    last_eff: date | None = None
    for period in sorted(by_period, key=lambda p: (p.end, p.start)):
        fs = by_period[period]
        if ind.kind is Kind.STOCK and ind.aggregation is Aggregation.SUM:
            for f in sorted(fs, key=lambda f: f.effective):
                if f.unit in reporting:
                    old = latest.get(f.unit)
                    if old is None or (old.period.end, old.effective) <= (f.period.end, f.effective):
                        total += f.value - (old.value if old else 0)
                        latest[f.unit] = f
                        last_eff = max(last_eff or f.effective, f.effective)
        leads = [f for f in fs if f.unit in lead]
        if leads:
            out.append((period, leads[0].value, max(f.effective for f in leads)))
        elif ind.aggregation is Aggregation.SUM and ind.kind is Kind.FLOW:
            parts = [f for f in fs if f.unit in reporting]
            if parts:
                out.append((period, sum((f.value for f in parts), Decimal(0)), max(f.effective for f in parts)))
        elif ind.aggregation is Aggregation.SUM:
            out.append((period, total, max(period.start, last_eff or period.start)))
    return out


def proto_assess_all(s: Any, row: Any, plan: Plan, as_of: date) -> list[Progress]:
    """The lagging question in two queries: the city-series table (~600 rows), and one index-only GROUP BY counting
    who has reported for each indicator's last due period; the names of who has not are fetched only when someone
    has not (the answer lists them then). For the figures known today (effective_on <= today always holds, so that
    filter is left out; a question about a past date would take today's slow path). unit_values, unused by the
    lagging answer, are left out."""
    conn = s.connection()
    ind_rows = _indicator_ids(conn, row.id)
    series: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for r in conn.execute(select(CITY_SERIES.c.indicator_id, CITY_SERIES.c.period, CITY_SERIES.c.period_start,
                                 CITY_SERIES.c.period_end, CITY_SERIES.c.value, CITY_SERIES.c.effective_on)
                          .where(CITY_SERIES.c.indicator_id.in_(list(ind_rows.values())))):
        series[r[0]].append(r)
    progress = []
    for ind in plan.indicators:
        lead = ind.lead_units[0]
        figs = [Figure(lead, Period(st, en, label), value, eff) for _, label, st, en, value, eff
                in series[ind_rows[ind.code]] if eff <= as_of]
        progress.append(assess(plan, ind, figs, as_of))
    missing = _missing(conn, row.id, plan, ind_rows, progress)
    return rank(replace(p, missing_units=missing.get(p.indicator.code, ()), unit_values={}) for p in progress)


def _coverage(ind: Any, iid: int, due: Period) -> Any:
    """pace._missing_units' test of a figure covering the due period, as SQL."""
    fig = FigureRow.__table__.c
    if ind.kind is Kind.FLOW:  # an increment for this period (or one containing it)
        return and_(fig.indicator_id == iid, fig.period_end >= due.start, fig.period_start <= due.end)
    return and_(fig.indicator_id == iid, fig.period_end >= due.end)  # a level for this period or a later one


def _missing(conn: Any, plan_id: int, plan: Plan, ind_rows: dict[str, int],
             progress: list[Progress]) -> dict[str, tuple[str, ...]]:
    """pace._missing_units for every indicator from one index-only query on (indicator_id, period_end,
    period_start, unit_id). Assumes only a reporting or lead unit can hold a figure of an indicator."""
    fig = FigureRow.__table__.c
    unit_codes = _unit_codes(conn, plan_id)
    code_to_id = _unit_ids(unit_codes)
    due = {p.indicator.code: p.last_due_period for p in progress if p.last_due_period is not None}
    if not due:
        return {}
    leads = sorted({code_to_id[c] for ind in plan.indicators for c in ind.lead_units})
    lead_col = case((fig.unit_id.in_(leads), fig.unit_id), else_=0).label("lead")
    q = (select(fig.indicator_id, lead_col, func.count(fig.unit_id.distinct()))
         .where(or_(*[_coverage(plan.indicator(c), ind_rows[c], d) for c, d in due.items()]))
         .group_by(fig.indicator_id, lead_col))
    others: dict[int, int] = {}  # indicator id -> how many units other than lead units cover its due period
    lead_cover: dict[int, set[str]] = defaultdict(set)  # indicator id -> lead units covering it
    for iid, lead, n in conn.execute(q):
        if lead:
            lead_cover[iid].add(unit_codes[lead])
        else:
            others[iid] = n
    out: dict[str, tuple[str, ...]] = {}
    for code, d in due.items():
        ind = plan.indicator(code)
        iid = ind_rows[code]
        if lead_cover[iid] & set(ind.lead_units):
            continue
        if ind.aggregation is not Aggregation.SUM:
            out[code] = ind.lead_units[:1]
            continue
        if others.get(iid, 0) >= len(ind.reporting_units):
            continue
        covered = {unit_codes[u] for u in conn.execute(select(fig.unit_id).where(_coverage(ind, iid, d))).scalars()}
        out[code] = tuple(u for u in ind.reporting_units if u not in covered)
    return out


_IND_IDS: dict[int, dict[str, int]] = {}
_REVERSE: dict[int, dict[str, int]] = {}


def _unit_ids(unit_codes: dict[int, str]) -> dict[str, int]:
    key = id(unit_codes)
    if key not in _REVERSE:
        _REVERSE[key] = {c: u for u, c in unit_codes.items()}
    return _REVERSE[key]


def _indicator_ids(conn: Any, plan_id: int) -> dict[str, int]:
    """indicator code -> id, cached per plan (they change only when a plan file is loaded)."""
    if plan_id not in _IND_IDS:
        _IND_IDS[plan_id] = dict(conn.execute(select(IndicatorRow.code, IndicatorRow.id)
                                              .where(IndicatorRow.plan_id == plan_id)).all())
    return _IND_IDS[plan_id]


_UNIT_CODES: dict[int, dict[int, str]] = {}


def _unit_codes(s: Any, plan_id: int) -> dict[int, str]:
    """unit id -> code, cached per plan (units change only when a plan file is loaded)."""
    if plan_id not in _UNIT_CODES:
        _UNIT_CODES[plan_id] = dict(s.execute(select(UnitRow.id, UnitRow.code).where(UnitRow.plan_id == plan_id)).all())
    return _UNIT_CODES[plan_id]


def same_answer(real: list[Progress], proto: list[Progress]) -> str | None:
    """What differs between the real and the prototype's answer (None: the same), unit_values aside."""
    keys = ("status", "actual", "expected", "target", "shortfall_pp", "forecast", "last_due_period",
            "missing_units", "missed_milestone")
    if [p.indicator.code for p in real] != [p.indicator.code for p in proto]:
        return "a different order"
    for a, b in zip(real, proto, strict=True):
        for k in keys:
            if getattr(a, k) != getattr(b, k):
                return f"{a.indicator.code}.{k}: {getattr(a, k)!r} != {getattr(b, k)!r}"
    return None


def gap_check(app: App, as_of: date) -> str:
    """Take a few reports of the last due month away (and one of the month after), rebuild the series, and compare
    the prototype's answer with assess_all's (this dataset is thrown away afterwards)."""
    with app.uow.begin() as s:
        row, plan = active_plan(s)
        ind_ids, unit_ids = (dict(s.execute(select(IndicatorRow.code, IndicatorRow.id)
                                            .where(IndicatorRow.plan_id == row.id)).all()),
                             dict(s.execute(select(UnitRow.code, UnitRow.id).where(UnitRow.plan_id == row.id)).all()))
        due = last_due(plan.indicators[0].schedule.cadence, plan.indicators[0].schedule.due_days, as_of, plan.start)
        assert due is not None
        gone = [FigureRow.id.in_(select(FigureRow.id).where(
            FigureRow.indicator_id == ind_ids[ind], FigureRow.unit_id == unit_ids[u], FigureRow.period_end >= p))
            for ind, u, p in [("enterprises", "u0003", due.end), ("enterprises", "u0500", due.end),
                              ("investment", "u0007", due.end), ("jobs", "u1999", due.end),
                              (LEAD_INDICATOR, LEAD, due.end)]]
        ids_gone = list(s.scalars(select(FigureRow.id).where(or_(*gone))))
        s.execute(cast(Table, FigureRevisionRow.__table__).delete().where(FigureRevisionRow.figure_id.in_(ids_gone)))
        s.execute(cast(Table, FigureRow.__table__).delete().where(FigureRow.id.in_(ids_gone)))
    build_city_series(app)
    real: list[list[Progress]] = []
    proto: list[list[Progress]] = []
    assess_call(app, as_of, real)()
    assess_call(app, as_of, proto, proto_assess_all)()
    diff = same_answer(real[0], proto[0])
    with engine_fixes():
        assess_call(app, as_of, proto, proto_assess_all)()
    diff = diff or same_answer(real[0], proto[0])
    owed = ", ".join(f"{p.indicator.code} {len(p.missing_units)}" for p in real[0] if p.missing_units)
    return (f"same answer as assess_all with {len(ids_gone)} figures taken away (missing: {owed})" if diff is None
            else f"DIFFERS after taking {len(ids_gone)} figures away: {diff}")


def _disjoint_fast(figures: Any) -> list[Figure]:
    """pace._disjoint in O(n log n): kept periods are disjoint, so a candidate can only overlap its neighbours."""
    starts: list[date] = []
    kept: list[Figure] = []
    for f in sorted(figures, key=lambda f: (-(f.period.end - f.period.start).days, f.period.start)):
        i = bisect.bisect_left(starts, f.period.start)
        if (i > 0 and kept[i - 1].period.overlaps(f.period)) or (i < len(kept) and kept[i].period.overlaps(f.period)):
            continue
        starts.insert(i, f.period.start)
        kept.insert(i, f)
    return kept


def _last_due_fast(cadence: Any, due_days: int, as_of: date, not_before: date) -> Period | None:
    """period.last_due without walking every period since the plan began: step back from the one holding as_of."""
    p = period_of(cadence, as_of)
    while p.due(due_days) > as_of:
        p = period_of(cadence, p.start - timedelta(days=1))
    return p if p.start >= period_of(cadence, not_before).start else None


@contextlib.contextmanager
def engine_fixes() -> Iterator[None]:
    """pace._disjoint and pace.last_due replaced by the O(n log n) / O(1) versions above, in this process only."""
    saved = pace._disjoint, getattr(pace, "last_due")  # noqa: B009
    setattr(pace, "_disjoint", _disjoint_fast)  # noqa: B010
    setattr(pace, "last_due", _last_due_fast)  # noqa: B010
    try:
        yield
    finally:
        setattr(pace, "_disjoint", saved[0])  # noqa: B010
        setattr(pace, "last_due", saved[1])  # noqa: B010


@contextlib.contextmanager
def patched_lagging(chart: bool = True) -> Iterator[None]:
    """handlers.query.assess_all -> proto_assess_all (and, with chart=False, no chart), in this process only."""
    import handlers.query as q

    original, original_chart = getattr(q, "assess_all"), getattr(q, "_chart", None)  # noqa: B009
    setattr(q, "assess_all", proto_assess_all)  # noqa: B010
    if not chart and original_chart is not None:
        setattr(q, "_chart", lambda *_a, **_k: None)  # noqa: B010
    try:
        yield
    finally:
        setattr(q, "assess_all", original)  # noqa: B010
        if original_chart is not None:
            setattr(q, "_chart", original_chart)  # noqa: B010


def save_time_cost(app: App, reps: int = 20) -> tuple[float, int]:
    """What a save would add (p50 ms, rows touched): one UPDATE of the carried city values from the saved period on
    (a stock level saved for the middle month of the history; later months carry it)."""
    times = []
    with app.uow() as s:
        iid = s.scalar(select(IndicatorRow.id).where(IndicatorRow.code == "enterprises"))
        ends = sorted(s.scalars(select(CITY_SERIES.c.period_end).where(CITY_SERIES.c.indicator_id == iid)))
    if not ends:
        return float("nan"), 0
    since = ends[len(ends) // 2]
    touched = sum(1 for e in ends if e >= since)
    for k in range(reps):
        delta = Decimal("0.01") * (1 if k % 2 else -1)
        with app.engine.begin() as c:
            t0 = time.perf_counter()
            if app.engine.dialect.name == "postgresql":
                c.execute(text("UPDATE bench_city_series SET value = value + :d WHERE indicator_id = :i "
                               "AND period_end >= :e"), {"d": delta, "i": iid, "e": since})
            else:  # exact text on SQLite: the upkeep adds in Python with Decimals
                vals = c.execute(text("SELECT period, value FROM bench_city_series WHERE indicator_id = :i "
                                      "AND period_end >= :e"), {"i": iid, "e": since}).all()
                c.execute(text("UPDATE bench_city_series SET value = :v WHERE indicator_id = :i AND period = :p"),
                          [{"v": str(Decimal(v) + delta), "i": iid, "p": p} for p, v in vals])
            times.append(time.perf_counter() - t0)
    return 1000 * sorted(times)[len(times) // 2], touched


# --- main ---------------------------------------------------------------------------------------------------------
@dataclass
class Result:
    db: str
    grid: Grid
    series: dict[str, Series] = field(default_factory=dict)


def verdict_line(name: str, small: Series, large: Series) -> tuple[bool, str]:
    if not (small.complete and large.complete):
        bad = small if not small.complete else large
        return False, f"FAIL  {name}: measurement aborted ({bad.aborted or 'incomplete'})"
    ratio = large.pct(0.95) / small.pct(0.95)
    ok = small.pct(0.95) <= TARGET_P95_MS and large.pct(0.95) <= TARGET_P95_MS and ratio <= TARGET_RATIO
    return ok, (f"{'PASS' if ok else 'FAIL'}  {name}: p95 {small.pct(0.95):.1f} ms -> {large.pct(0.95):.1f} ms "
                f"(target <= {TARGET_P95_MS:.0f} ms), ratio {ratio:.2f} (target <= {TARGET_RATIO:.0f})")


def fmt_series(s: Series) -> str:
    if s.samples and s.load is not None:
        return _fmt_series(s) + f"  [load avg {s.load[0]:.1f} -> {s.load[1]:.1f}]"
    return _fmt_series(s)


def _fmt_series(s: Series) -> str:
    if s.samples:
        head = f"p50 {s.pct(0.5):9.1f} ms  p95 {s.pct(0.95):9.1f} ms  ({len(s.samples)} reps)"
    else:
        head = f"p50 {'—':>9}     p95 {'—':>9}     (0 reps)"
    if s.aborted:
        first = "" if s.first in (None, float("inf")) else f"; first call {s.first:.1f} s"
        head += f"  ABORTED: {s.aborted}{first}"
    return head


def run_db(args: argparse.Namespace, db: str, tmp: Path, plan_path: Path, profile_engine: bool) -> list[Result]:
    results = []
    largest = max(args.sizes)
    for size in args.sizes:
        grid = grid_for(size)
        tag = f"{db}-{size}"
        print(f"\n== {db}, {grid.describe()}", flush=True)
        with database(db, args.pg_url, tmp, tag) as url:
            now = datetime(grid.as_of.year, grid.as_of.month, grid.as_of.day, 18, 0, tzinfo=TZ)
            settings = Settings(data_dir=tmp, database_url=url, plan_file=plan_path, now=now)
            app = bootstrap(settings)
            try:
                deadline = time.monotonic() + args.gen_limit
                with time_limit(args.gen_limit + 30, f"generating {grid.figures:,} figures"):
                    secs = load_figures(app, grid, deadline)
                print(f"loaded {grid.figures:,} figures + {grid.figures:,} revisions in {secs:.1f} s "
                      f"({grid.figures / secs:,.0f} figures/s)", flush=True)
                bind_leader(app)
                res = Result(db, grid)
                real: list[list[Progress]] = []
                if args.skip_current:
                    res.series["assess_all"] = Series("assess_all", 0, aborted="skipped (--skip-current)")
                    res.series["chat answer"] = Series("chat answer", 0, aborted="skipped (--skip-current)")
                else:
                    res.series["assess_all"] = measure("assess_all", assess_call(app, grid.as_of, real),
                                                       args.warmups, args.reps, args.call_limit, args.budget)
                print(f"assess_all   {fmt_series(res.series['assess_all'])}", flush=True)
                if real:
                    print("  answer: " + ", ".join(f"{p.indicator.code} {p.status.value}" for p in real[0]))
                answer: list[str] = []
                if not args.skip_current:
                    res.series["chat answer"] = measure("chat answer", chat_call(app, answer), args.warmups,
                                                        args.reps, args.call_limit, args.budget)
                print(f"chat answer  {fmt_series(res.series['chat answer'])}", flush=True)
                if answer:
                    excerpt = " / ".join(answer[0].splitlines()[:2])
                    print(f"  reply ({len(answer[0]):,} chars): {excerpt[:150]}")
                if size == largest and not args.no_breakdown and not args.skip_current:
                    print(f"-- where the time goes at {grid.figures:,} figures ({db}):", flush=True)
                    for line in breakdown(app, grid.as_of, args.engine_limit, args.profile_limit, profile_engine):
                        print("  " + line, flush=True)
                if not args.no_proto:
                    secs = build_city_series(app)
                    proto: list[list[Progress]] = []
                    res.series["proto assess"] = measure("proto assess", assess_call(app, grid.as_of, proto,
                                                                                     proto_assess_all),
                                                         args.warmups, args.reps, args.call_limit, args.budget)
                    check = "not checked (the real answer did not finish)"
                    if real and proto:
                        diff = same_answer(real[0], proto[0])
                        check = "same answer as assess_all" if diff is None else f"DIFFERS: {diff}"
                    print(f"prototype    {fmt_series(res.series['proto assess'])}  [{check}; "
                          f"series built once in {secs:.1f} s]", flush=True)
                    with engine_fixes():
                        fixed: list[list[Progress]] = []
                        res.series["proto+fixes"] = measure("proto+fixes", assess_call(app, grid.as_of, fixed,
                                                                                       proto_assess_all),
                                                            args.warmups, args.reps, args.call_limit, args.budget)
                        with patched_lagging(chart=False):
                            res.series["proto+fixes text"] = measure("proto+fixes text", chat_call(app, []),
                                                                     args.warmups, args.reps, args.call_limit,
                                                                     args.budget)
                    same = "same answer as the prototype" if proto and fixed and same_answer(proto[0], fixed[0]) \
                        is None else "DIFFERS from the prototype"
                    print(f"proto+fixes  {fmt_series(res.series['proto+fixes'])}  [{same}]", flush=True)
                    print(f"  +fixes text {fmt_series(res.series['proto+fixes text'])}  (chat answer without chart)",
                          flush=True)
                    with patched_lagging():
                        res.series["proto chat"] = measure("proto chat", chat_call(app, []), args.warmups,
                                                           args.reps, args.call_limit, args.budget)
                    print(f"proto chat   {fmt_series(res.series['proto chat'])}", flush=True)
                    with patched_lagging(chart=False):
                        res.series["proto text"] = measure("proto text", chat_call(app, []), args.warmups,
                                                           args.reps, args.call_limit, args.budget)
                    print(f"proto text   {fmt_series(res.series['proto text'])}  (the chat answer without its chart)",
                          flush=True)
                    upkeep, touched = save_time_cost(app)
                    if size == min(args.sizes) and not args.skip_current:
                        print(f"  check: {gap_check(app, grid.as_of)}", flush=True)
                    print(f"  save-time upkeep of the series (one stock figure saved: {touched} carried city rows "
                          f"updated): p50 {upkeep:.2f} ms")
                results.append(res)
            finally:
                app.close()
                _UNIT_CODES.clear()
                _IND_IDS.clear()
                _REVERSE.clear()
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="10000,1000000", help="figure counts, comma separated (10000,1000000)")
    p.add_argument("--db", default="sqlite,postgres", help="sqlite,postgres")
    p.add_argument("--pg-url", default=PG_URL, help=f"PostgreSQL URL; an own schema is created and dropped ({PG_URL})")
    p.add_argument("--reps", type=int, default=50, help="timed repetitions (50)")
    p.add_argument("--warmups", type=int, default=3, help="warm-up calls (3)")
    p.add_argument("--quick", action="store_true", help="10,000 and 100,000 figures, 10 reps after 1 warm-up")
    p.add_argument("--gen-limit", type=float, default=900.0, help="seconds allowed to load one dataset (900)")
    p.add_argument("--call-limit", type=float, default=60.0, help="seconds allowed for one timed call (60)")
    p.add_argument("--budget", type=float, default=300.0, help="seconds allowed for one series of calls (300)")
    p.add_argument("--engine-limit", type=float, default=30.0,
                   help="seconds allowed for one indicator's pace engine in the breakdown (30)")
    p.add_argument("--profile-limit", type=float, default=120.0, help="time box of the cProfile run (120)")
    p.add_argument("--no-breakdown", action="store_true", help="skip the breakdown at the largest size")
    p.add_argument("--skip-current", action="store_true",
                   help="measure only the prototype (skip today's assess_all, chat answer and the breakdown)")
    p.add_argument("--no-proto", action="store_true", help="skip the prototype of the city-series design")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.reps, args.warmups = "10000,100000", 10, 1
    try:
        args.sizes = sorted({int(x.replace("_", "")) for x in args.sizes.split(",") if x.strip()})
    except ValueError:
        p.error("--sizes takes integers, e.g. 10000,1000000")
    args.dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    if not args.sizes or any(d not in ("sqlite", "postgres") for d in args.dbs):
        p.error("--db takes sqlite and/or postgres")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"bench/lagging.py: sizes {', '.join(f'{n:,}' for n in args.sizes)}; databases {', '.join(args.dbs)}; "
          f"{args.warmups} warm-ups + {args.reps} reps; {os.cpu_count()} CPU cores; Python "
          f"{platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"plan: {N_UNITS:,} units (one group) + lead bureau; monthly; 2011-01-01..2020-12-31, yearly milestones; "
          f"indicators {', '.join(UNIT_INDICATORS)} (all units, sum) + {LEAD_INDICATOR} (lead only)")
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory(prefix="planbot-lagging-") as tmpdir:
            tmp = Path(tmpdir)
            plan_path = tmp / "bench-lagging.yaml"
            write_plan(plan_path)
            for k, db in enumerate(args.dbs):
                results += run_db(args, db, tmp, plan_path, profile_engine=(k == 0))
    except BenchTimeout as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 2
    except BenchError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 2
    print("\n== summary (p95 target <= 20 ms at every size; largest/smallest p95 <= 2)")
    ok_all = True
    for db in args.dbs:
        mine = [r for r in results if r.db == db]
        if len(mine) < 1:
            continue
        small, large = mine[0], mine[-1]
        for name in ("assess_all", "chat answer", "proto assess", "proto chat", "proto text", "proto+fixes",
                     "proto+fixes text"):
            if name not in small.series:
                continue
            for r in mine:
                print(f"{db:8} {r.grid.figures:>9,}  {name:12} {fmt_series(r.series[name])}")
            if small is not large:
                ok, line = verdict_line(f"{db} {name} ({small.grid.figures:,} -> {large.grid.figures:,})",
                                        small.series[name], large.series[name])
                print("  " + line)
                if name in ("assess_all", "chat answer"):
                    ok_all &= ok
    if len(args.sizes) < 2:
        print("(one size only: no ratio; PASS/FAIL needs two sizes)")
        ok_all = False
    if args.skip_current:
        print("FAIL: no verdict on the current implementation (--skip-current); prototype lines are for comparison")
        return 1
    print("PASS" if ok_all else "FAIL: the current implementation misses the targets (prototype lines are "
          "for comparison only)")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
