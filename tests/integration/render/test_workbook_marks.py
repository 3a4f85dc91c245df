"""The workbook says what a reader could misread: city totals with carried-forward unit figures, and demo data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from bot.app import App
from bot.render.workbook import export_xlsx
from bot.services.demo import seed as seed_demo
from bot.services.plans import active_plan
from tests.integration.render.test_workbook import at, find_cell, report


def test_city_total_marks_the_figures_carried_forward(app: App, tmp_path: Path) -> None:
    report(app, "dawa", "tech_smes", "2018Q2", "30", at(2018, 7, 5))
    report(app, "panshan", "tech_smes", "2018Q2", "20", at(2018, 7, 6))
    report(app, "dawa", "tech_smes", "2018Q3", "35", at(2018, 10, 5))
    with app.uow() as s:
        row, plan = active_plan(s)
        wb = load_workbook(export_xlsx(s, row, plan, date(2018, 10, 15), tmp_path / "a.xlsx", lang="zh"))
    sheet = wb["2 科技型中小企业总数"]
    q2, q3 = find_cell(sheet, 4, "全市", "2018Q2"), find_cell(sheet, 4, "全市", "2018Q3")
    assert (q2.value, q2.comment) == (50, None)  # both units reported Q2 themselves
    assert q3.value == 55 and q3.font.italic
    assert q3.comment.text.startswith("含沿用以前报告期的数据：盘山县人民政府（2018Q2）")


def test_demo_data_is_labelled(app: App, tmp_path: Path) -> None:
    with app.uow() as s:
        row, plan = active_plan(s)
        plain = load_workbook(export_xlsx(s, row, plan, date(2018, 10, 15), tmp_path / "p.xlsx", lang="zh"))
    assert "演示数据" not in str(plain.worksheets[0]["A2"].value)
    seed_demo(app)
    with app.uow() as s:
        row, plan = active_plan(s)
        demo = load_workbook(export_xlsx(s, row, plan, date(2018, 10, 15), tmp_path / "d.xlsx", lang="zh"))
    assert "演示数据" in demo.worksheets[0]["A2"].value
