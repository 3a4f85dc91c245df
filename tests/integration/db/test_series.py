"""The city series kept on every save gives the same answer as the pace engine reading every figure."""

from __future__ import annotations

import contextlib
import hashlib
import random
import threading
from dataclasses import fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event, select

from bot.app import App
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.db.models import CitySeriesRow, IndicatorRow, PlanRow
from bot.db.series import assess_from_series, rebuild
from bot.domain.pace import Progress
from bot.domain.period import Period, month, quarter, year
from bot.domain.plan import Cadence, Kind, Plan
from bot.errors import UserError
from bot.services.figures import Entry, submit
from bot.services.plans import active_plan, load_plan_file
from bot.views.progress import assess_all

SH = ZoneInfo("Asia/Shanghai")
COMPARED = [f.name for f in fields(Progress) if f.name != "unit_values"]


def _periods(plan: Plan, cadence: Cadence, now: date, rng: random.Random) -> Period:
    """A period that has begun: mostly of the indicator's cadence, sometimes a year, a quarter or the baseline."""
    y = rng.randint(plan.start.year, now.year)
    choice = rng.random()
    if choice < 0.1:
        return year(plan.baseline_date.year)
    if choice < 0.2 or cadence is Cadence.YEARLY:
        return year(y)
    if choice < 0.3 or cadence is Cadence.QUARTERLY:
        return quarter(y, rng.randint(1, 4))
    return month(y, rng.randint(1, 12))


def _rows(app: App, plan_id: int) -> list[tuple[object, ...]]:
    with app.uow() as s:
        ids = list(s.scalars(select(IndicatorRow.id).where(IndicatorRow.plan_id == plan_id)))
        return sorted(tuple(getattr(r, c.key) for c in CitySeriesRow.__table__.columns)
                      for r in s.scalars(select(CitySeriesRow).where(CitySeriesRow.indicator_id.in_(ids))))


def _compare(app: App, as_of: date) -> None:
    with app.uow() as s:
        row, plan = active_plan(s)
        fast = assess_from_series(s, row, plan, as_of)
        slow = assess_all(s, row, plan, as_of, unit_values=True)
    assert fast is not None
    by_code = {p.indicator.code: p for p in fast}
    for p in slow:
        q = by_code[p.indicator.code]
        for name in COMPARED:
            assert getattr(q, name) == getattr(p, name), f"{p.indicator.code}.{name} on {as_of}"


def test_random_reports_and_corrections_give_the_engines_answer(app: App) -> None:
    """Hundreds of random reports, corrections and refusals over the plan's three years; after each batch the
    series answers exactly like the engine over every figure, and equals a series rebuilt from scratch."""
    rng = random.Random(20181015)
    with app.uow() as s:
        row, plan = active_plan(s)
        plan_id = row.id
    now = datetime(2018, 1, 20, 10, tzinfo=SH)
    saved: list[Entry] = []
    checked = 0
    while now.date() < date(2021, 2, 1):
        for _ in range(12):
            if saved and rng.random() < 0.2:
                old = rng.choice(saved)
                entry = Entry(old.unit, old.indicator, old.period, old.value + rng.randint(1, 9), None, "typo")
            else:
                ind = rng.choice(plan.indicators)
                unit = plan.unit(rng.choice(ind.reporters))
                period = _periods(plan, ind.schedule.cadence, now.date(), rng)
                top = len(ind.stages) if ind.kind is Kind.STAGED else 50
                entry = Entry(unit, ind, period, Decimal(rng.randint(0, top - 1)))
            try:
                submit(app.uow, entry, "tester", "chat", now)
            except UserError:
                continue
            if entry.reason is None:
                saved.append(entry)
        _compare(app, now.date())
        checked += 1
        now += timedelta(days=rng.randint(10, 40))
    assert checked > 25 and len(saved) > 200
    kept = _rows(app, plan_id)
    with app.uow.begin() as s:
        row, plan = active_plan(s)
        rebuild(s, row.id, plan)
    assert _rows(app, plan_id) == kept  # upkeep on every save = building from scratch


def test_a_question_about_the_past_reads_the_figures(app: App) -> None:
    """Before a figure already known, the series cannot answer: the engine reads the figures instead."""
    with app.uow() as s:
        _, plan = active_plan(s)
    ind = plan.indicator("hightech_enterprises")
    unit = plan.unit(ind.reporting_units[-1])  # (reporters[-1] is the zone, which reports for information only)
    submit(app.uow, Entry(unit, ind, quarter(2018, 1), Decimal(4)), "t", "chat", datetime(2018, 4, 3, 10, tzinfo=SH))
    submit(app.uow, Entry(unit, ind, quarter(2018, 2), Decimal(5)), "t", "chat", datetime(2018, 7, 3, 10, tzinfo=SH))
    with app.uow() as s:
        row, plan = active_plan(s)
        assert assess_from_series(s, row, plan, date(2018, 6, 1)) is None
        assert assess_from_series(s, row, plan, date(2018, 7, 3)) is not None
        past = {p.indicator.code: p for p in assess_all(s, row, plan, date(2018, 6, 1))}
    then = past["hightech_enterprises"]
    assert (then.actual_period, then.actual, then.unit_values) == (quarter(2018, 1), Decimal(4), {unit.code: 4})


def test_loading_a_changed_plan_rebuilds_the_series(app: App, tmp_path: Path) -> None:
    """A plan file that changes who reports an indicator changes its city value at once."""
    with app.uow() as s:
        row, plan = active_plan(s)
        source = row.source_text
    ind = plan.indicator("hightech_enterprises")
    now = datetime(2018, 7, 3, 10, tzinfo=SH)
    for n, unit in enumerate(ind.reporting_units[:2], start=1):
        submit(app.uow, Entry(plan.unit(unit), ind, quarter(2018, 2), Decimal(10 * n)), "t", "chat", now)
    with app.uow() as s:
        row, plan = active_plan(s)
        before = {p.indicator.code: p for p in assess_all(s, row, plan, now.date())}["hightech_enterprises"]
    assert before.actual == Decimal(30)
    at = source.index("code: hightech_enterprises")
    at = source.index("reporters:", at)
    end = source.index("\n", at)
    changed = source[:at] + f"reporters: [{ind.reporting_units[0]}]" + source[end:]
    path = tmp_path / "plan.yaml"
    path.write_text(changed, encoding="utf-8")
    load_plan_file(app.uow, path, now)
    with app.uow() as s:
        row, plan = active_plan(s)
        assert plan.indicator("hightech_enterprises").reporting_units == ind.reporting_units[:1]
        after = {p.indicator.code: p for p in assess_all(s, row, plan, now.date())}["hightech_enterprises"]
        slow = {p.indicator.code: p for p in assess_all(s, row, plan, now.date(), unit_values=True)}
    assert after.actual == Decimal(10)
    assert after.missing_units == slow["hightech_enterprises"].missing_units


def test_starting_on_a_database_from_before_the_series_builds_the_series(tmp_path: Path) -> None:
    """A database at the revision before the series, holding figures, gets its series filled when planbot starts
    on it (the migration adds the table; the code that keeps the series fills it)."""
    from alembic import command
    from sqlalchemy import MetaData

    from bot.bootstrap import bootstrap
    from bot.config import Settings
    from bot.db.engine import alembic_config, make_engine

    app = bootstrap(Settings.from_env({"PLANBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}",
                                       "PLANBOT_DATA_DIR": str(tmp_path / "data")}))

    with app.uow() as s:
        row, plan = active_plan(s)
        plan_id = row.id
    now = datetime(2018, 10, 12, 10, tzinfo=SH)
    for ind in plan.indicators[:6]:
        for n, unit in enumerate(ind.reporters[:3]):
            with contextlib.suppress(UserError):
                submit(app.uow, Entry(plan.unit(unit), ind, quarter(2018, 3), Decimal(n + 1)), "t", "chat", now)
    kept = _rows(app, plan_id)
    assert len(kept) >= 3
    old = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(old), "0004")
    tables = MetaData()
    tables.reflect(old)
    with app.engine.connect() as src, old.begin() as dst:
        for name in ("plans", "units", "indicators", "figures", "figure_revisions"):
            cols = [c.name for c in tables.tables[name].columns]
            data = list(src.exec_driver_sql(f"SELECT {', '.join(cols)} FROM {name}"))
            dst.exec_driver_sql(f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                [tuple(r) for r in data])
    old.dispose()
    upgraded = bootstrap(Settings.from_env({"PLANBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'old.db'}",
                                            "PLANBOT_DATA_DIR": str(tmp_path / "data")}), ensure_plan=False)
    upgraded.close()
    old = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with old.connect() as c:
        moved = sorted(tuple(r) for r in c.execute(select(*CitySeriesRow.__table__.columns)))
        digest, text = c.execute(select(PlanRow.source_sha256, PlanRow.source_text)
                                 .where(PlanRow.id == plan_id)).one()
    old.dispose()
    app.close()
    assert moved == kept
    assert digest == hashlib.sha256(text.encode()).hexdigest()


def test_two_units_saving_one_indicator_at_once_do_not_deadlock(postgres_url: str, tmp_path: Path) -> None:
    """Inserting a figure takes a key-share lock on its indicator (the foreign key). If each of two saves has
    inserted its figure before either locks the indicator for the series, a FOR UPDATE lock would wait for the
    other's key share both ways (PostgreSQL aborts one as a deadlock); the series lock must not conflict with it."""
    app = bootstrap(Settings.from_env({"PLANBOT_DATABASE_URL": postgres_url, "PLANBOT_DATA_DIR": str(tmp_path)}))
    try:
        with app.uow() as s:
            _, plan = active_plan(s)
        ind = plan.indicator("hightech_enterprises")
        first_at_lock, second_inserted = threading.Event(), threading.Event()

        def hold(conn: object, cursor: object, statement: str, *args: object) -> None:
            name = threading.current_thread().name
            if name == "first" and "FROM indicators" in statement and "FOR" in statement:
                first_at_lock.set()
                second_inserted.wait(10)  # the second save's figure goes in before this lock is asked for
            elif name == "second" and statement.startswith("INSERT INTO figures"):
                second_inserted.set()

        def save(unit: str) -> None:
            if threading.current_thread().name == "second":
                assert first_at_lock.wait(10)
            submit(app.uow, Entry(plan.unit(unit), ind, quarter(2018, 3), Decimal(4)), "t", "chat",
                   datetime(2018, 10, 8, 10, tzinfo=SH))

        event.listen(app.engine, "before_cursor_execute", hold)
        event.listen(app.engine, "after_cursor_execute", hold)
        errors: list[BaseException] = []

        def run(unit: str) -> None:
            try:
                save(unit)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=run, args=(u,), name=n)
                   for n, u in (("first", ind.reporting_units[0]), ("second", ind.reporting_units[1]))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        with app.uow() as s:
            count = s.scalar(select(CitySeriesRow.part_count).join(IndicatorRow)
                             .where(IndicatorRow.code == ind.code, CitySeriesRow.period == "2018Q3"))
        assert count == 2
    finally:
        app.close()
