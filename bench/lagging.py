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
    assess_all      bot.progress.assess_all(...) in a fresh session: the city series (bot/series.py) and one count
                    over the coverage index for who has not reported
    chat answer     handlers.router.Router(app).handle(Inbound("哪些指标滞后")) from a bound leader: the whole
                    answer, text and chart (the chart is drawn once and reused while what it shows is unchanged)
    after a save    the same question right after a unit corrected a figure (untimed), so the chart is redrawn
    save            one stock figure corrected through bot.reporting.submit, with the series upkeep
Targets (assess_all and chat answer): p95 <= 20 ms at every size, and p95(largest) / p95(smallest) <= 2.
Also printed: building the series from scratch (what the migration and a plan load do), the engine reading every
figure once (assess_all with unit values, the path a question about a past date takes), and whether its answer
equals the series' answer.

    .venv/bin/python bench/lagging.py                                  # 10k and 1M, SQLite and PostgreSQL
    .venv/bin/python bench/lagging.py --quick                          # 10k and 100k, fewer reps
    .venv/bin/python bench/lagging.py --db postgres --sizes 10000,1000000

Exit status: 0 PASS, 1 FAIL (targets missed, or a measurement aborted at its time limit), 2 error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from common import BenchError, database, load_average, percentile, unit_code
from sqlalchemy import (
    Table,
    insert,
    select,
)

from bot.app import App
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.db.models import FigureRevisionRow, FigureRow, IndicatorRow, UnitRow
from bot.db.series import rebuild
from bot.domain import pace
from bot.domain.pace import Progress, rank
from bot.domain.period import Period, month
from bot.messages import Inbound
from bot.services.figures import Entry, submit
from bot.services.people import grant, identity_for
from bot.services.plans import active_plan
from bot.views.progress import assess_all
from handlers.router import Router

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
        return 1000 * percentile(self.samples, q)

    @property
    def complete(self) -> bool:
        return self.aborted is None and len(self.samples) == self.wanted


def measure(what: str, call: Callable[[], float], warmups: int, reps: int, call_limit: float,
            budget: float) -> Series:
    """warm-ups then reps of call (which returns its own timed seconds), each call bounded, the series bounded."""
    series = Series(what, reps)
    load0 = load_average()
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
    series.load = (load0, load_average())
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


# --- what else is measured -------------------------------------------------------------------------------------------
COMPARED = ("status", "actual", "actual_period", "expected", "target", "due", "shortfall_pp", "baseline", "forecast",
            "last_due_period", "missing_units", "missed_milestone")


def same_answer(a: list[Progress], b: list[Progress]) -> str | None:
    """What differs between two answers (None: the same), unit values aside."""
    if [p.indicator.code for p in a] != [p.indicator.code for p in b]:
        return "a different order"
    for x, y in zip(a, b, strict=True):
        for k in COMPARED:
            if getattr(x, k) != getattr(y, k):
                return f"{x.indicator.code}.{k}: {getattr(x, k)!r} != {getattr(y, k)!r}"
    return None


def engine_once(app: App, as_of: date, limit: float) -> tuple[str, list[Progress]]:
    """The engine over every figure (assess_all with unit values), once, time-limited."""
    sink: list[list[Progress]] = []
    try:
        with time_limit(limit, "the engine over every figure"):
            seconds = assess_call(app, as_of, sink, lambda s, r, p, d: assess_all(s, r, p, d, unit_values=True))()
    except BenchTimeout as e:
        return f"aborted: {e}", []
    return f"{1000 * seconds:,.0f} ms", sink[0]


def rebuild_series(app: App) -> float:
    """Build the city series from the bulk-loaded figures, as the migration and a plan load do; seconds."""
    t0 = time.perf_counter()
    with app.uow.begin() as s:
        row, plan = active_plan(s)
        rebuild(s, row.id, plan)
    if app.engine.dialect.name == "postgresql":
        with app.engine.connect() as c:
            c.exec_driver_sql("ANALYZE city_series")
            c.commit()
    return time.perf_counter() - t0


def correction(app: App, grid: Grid) -> Callable[[], float]:
    """A unit correcting its latest enterprises figure (alternating values); the call times the save."""
    counter = iter(range(1, 10**9))
    last = month(2011 + (grid.full_months - 1) // 12, (grid.full_months - 1) % 12 + 1)
    with app.uow() as s:
        _, plan = active_plan(s)
    ind, unit = plan.indicator("enterprises"), plan.unit(unit_code(1))

    def call() -> float:
        k = next(counter)
        value = value_for("enterprises", 1, grid.full_months) + Decimal(k % 7 + 1)
        entry = Entry(unit, ind, last, value, None, f"bench correction {k}")
        t0 = time.perf_counter()
        submit(app.uow, entry, "bench", "telegram", app.clock.now())
        return time.perf_counter() - t0
    return call


def after_save(app: App, grid: Grid, sink: list[str]) -> Callable[[], float]:
    """The chat answer right after a correction (the correction itself is not timed)."""
    save, ask = correction(app, grid), chat_call(app, sink)

    def call() -> float:
        save()
        return ask()
    return call


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


def run_db(args: argparse.Namespace, db: str, tmp: Path, plan_path: Path) -> list[Result]:
    results = []
    for size in args.sizes:
        grid = grid_for(size)
        tag = f"{db}-{size}"
        print(f"\n== {db}, {grid.describe()}", flush=True)
        with database(args.pg_url if db == "postgres" else None, tmp, f"lagging_{tag}") as url:
            now = datetime(grid.as_of.year, grid.as_of.month, grid.as_of.day, 18, 0, tzinfo=TZ)
            settings = Settings(data_dir=tmp / tag, database_url=url, plan_file=plan_path, now=now)
            app = bootstrap(settings)
            try:
                deadline = time.monotonic() + args.gen_limit
                with time_limit(args.gen_limit + 30, f"generating {grid.figures:,} figures"):
                    secs = load_figures(app, grid, deadline)
                print(f"loaded {grid.figures:,} figures + {grid.figures:,} revisions in {secs:.1f} s "
                      f"({grid.figures / secs:,.0f} figures/s)", flush=True)
                print(f"city series built from scratch in {rebuild_series(app):.1f} s", flush=True)
                bind_leader(app)
                res = Result(db, grid)
                fast: list[list[Progress]] = []
                res.series["assess_all"] = measure("assess_all", assess_call(app, grid.as_of, fast),
                                                   args.warmups, args.reps, args.call_limit, args.budget)
                print(f"assess_all   {fmt_series(res.series['assess_all'])}", flush=True)
                if fast:
                    print("  answer: " + ", ".join(f"{p.indicator.code} {p.status.value}" for p in fast[0]))
                answer: list[str] = []
                res.series["chat answer"] = measure("chat answer", chat_call(app, answer), args.warmups,
                                                    args.reps, args.call_limit, args.budget)
                print(f"chat answer  {fmt_series(res.series['chat answer'])}", flush=True)
                if answer:
                    excerpt = " / ".join(answer[0].splitlines()[:2])
                    print(f"  reply ({len(answer[0]):,} chars): {excerpt[:150]}")
                res.series["after a save"] = measure("after a save", after_save(app, grid, []), 1,
                                                     max(5, args.reps // 5), args.call_limit, args.budget)
                print(f"after a save {fmt_series(res.series['after a save'])}  (chart redrawn)", flush=True)
                res.series["save"] = measure("save", correction(app, grid), args.warmups, args.reps,
                                             args.call_limit, args.budget)
                print(f"save         {fmt_series(res.series['save'])}  (a stock correction with the series upkeep)",
                      flush=True)
                if not args.no_engine:
                    took, slow = engine_once(app, grid.as_of, args.engine_limit)
                    check = ""
                    if slow:
                        mine: list[list[Progress]] = []
                        assess_call(app, grid.as_of, mine)()
                        diff = same_answer(rank(slow), mine[0])
                        check = "; same answer as the series" if diff is None else f"; DIFFERS: {diff}"
                    print(f"engine over every figure, once: {took}{check}", flush=True)
                results.append(res)
            finally:
                app.close()
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
    p.add_argument("--engine-limit", type=float, default=300.0,
                   help="seconds allowed for the engine reading every figure once (300)")
    p.add_argument("--no-engine", action="store_true", help="skip the engine reading every figure")
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
            for db in args.dbs:
                results += run_db(args, db, tmp, plan_path)
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
        for name in ("assess_all", "chat answer", "after a save", "save"):
            if name not in small.series:
                continue
            for r in mine:
                print(f"{db:8} {r.grid.figures:>9,}  {name:12} {fmt_series(r.series[name])}")
            if small is not large and name in ("assess_all", "chat answer"):
                ok, line = verdict_line(f"{db} {name} ({small.grid.figures:,} -> {large.grid.figures:,})",
                                        small.series[name], large.series[name])
                print("  " + line)
                if name in ("assess_all", "chat answer"):
                    ok_all &= ok
    if len(args.sizes) < 2:
        print("(one size only: no ratio; PASS/FAIL needs two sizes)")
        ok_all = False
    print("PASS" if ok_all else "FAIL: the lagging question misses its targets")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
