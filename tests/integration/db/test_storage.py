"""Storage on SQLite and PostgreSQL: exact decimals, history of corrections, idempotent plan loads."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from paths import DATA
from sqlalchemy import func, select

from bot.app import App
from bot.config import DEFAULT_PLAN
from bot.db.models import FigureRevisionRow, FigureRow, IndicatorRow, UnitRow
from bot.domain.period import parse_period
from bot.errors import UserError
from bot.services.figures import Entry, history, submit
from bot.services.plans import active_plan, load_plan_file
from bot.views.progress import assess_one

NOW = datetime(2018, 10, 15, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WORKED = DATA / "worked-example.yaml"


def entry(app: App, unit: str, ind: str, period: str, value: str, reason: str | None = None) -> Entry:
    with app.uow() as s:
        _, plan = active_plan(s)
    return Entry(plan.unit(unit), plan.indicator(ind), parse_period(period), Decimal(value), None, reason)


def test_decimals_round_trip_exactly(app: App) -> None:
    submit(app.uow, entry(app, "sci_tech_bureau", "rd_spending_gdp", "2018Q2", "2.3456"), "t", "cli", NOW)
    with app.uow() as s:
        assert s.scalar(select(FigureRow.value)) == Decimal("2.3456")


def test_a_correction_keeps_the_previous_value_and_the_reason(app: App) -> None:
    submit(app.uow, entry(app, "panshan", "hightech_enterprises", "2018Q2", "12"), "alice", "chat", NOW)
    saved = submit(app.uow, entry(app, "panshan", "hightech_enterprises", "2018Q2", "13", "miscounted"),
                   "bob", "cli", NOW)
    assert (saved.revision, saved.previous) == (2, Decimal(12))
    with app.uow() as s:
        row, _ = active_plan(s)
        revs = history(s, row, "hightech_enterprises", "panshan", "2018Q2")
        assert [(r.value, r.previous_value, r.reason, r.entered_by, r.via) for r in revs] == [
            (Decimal(12), None, None, "alice", "chat"), (Decimal(13), Decimal(12), "miscounted", "bob", "cli")]
        assert s.scalar(select(func.count()).select_from(FigureRow)) == 1


def test_refused_figures_change_nothing(app: App) -> None:
    submit(app.uow, entry(app, "panshan", "hightech_enterprises", "2018Q2", "12"), "alice", "chat", NOW)
    for bad in (entry(app, "panshan", "hightech_enterprises", "2018Q2", "14"),  # no reason: not a correction
                entry(app, "finance_bureau", "hightech_enterprises", "2018Q2", "1"),  # not a reporter
                entry(app, "panshan", "hightech_enterprises", "2019Q1", "1")):  # not begun on NOW
        with pytest.raises(UserError):
            submit(app.uow, bad, "alice", "chat", NOW)
    with app.uow() as s:
        assert s.scalar(select(func.count()).select_from(FigureRevisionRow)) == 1
        assert s.scalar(select(FigureRow.value)) == Decimal(12)


def test_loading_twice_changes_nothing_and_edits_keep_reports(app: App, tmp_path: Path) -> None:
    assert not load_plan_file(app.uow, DEFAULT_PLAN, NOW).changed
    submit(app.uow, entry(app, "panshan", "hightech_enterprises", "2018Q2", "12"), "alice", "chat", NOW)
    edited = tmp_path / "plan.yaml"
    text = DEFAULT_PLAN.read_text(encoding="utf-8")
    edited.write_text(text.replace("name: {zh: 双台子区人民政府", "name: {zh: 双台子区政府"), encoding="utf-8")
    result = load_plan_file(app.uow, edited, NOW)
    assert result.changed and result.updated == ["unit shuangtaizi"] and not result.added
    with app.uow() as s:
        assert s.scalar(select(UnitRow.name_zh).where(UnitRow.code == "shuangtaizi")) == "双台子区政府"
        assert s.scalar(select(func.count()).select_from(UnitRow)) == 19
        assert s.scalar(select(func.count()).select_from(IndicatorRow)) == 17
        assert s.scalar(select(func.count()).select_from(FigureRow)) == 1


def test_progress_reads_figures_from_the_database(app: App) -> None:
    for unit, value in (("panshan", "12"), ("dawa", "20")):
        submit(app.uow, entry(app, unit, "hightech_enterprises", "2018Q3", value), "t", "cli", NOW)
    with app.uow() as s:
        row, plan = active_plan(s)
        p = assess_one(s, row, plan, "hightech_enterprises", NOW.date())
    assert p.actual == Decimal(32)
    assert set(p.missing_units) == {"shuangtaizi", "xinglongtai", "liaodongwan", "liaohekou"}
