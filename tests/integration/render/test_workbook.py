"""The assessment workbook and the flat CSV: statuses and colours, figures with their provenance, every revision."""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.app import App
from bot.domain.period import parse_period
from bot.render.workbook import export_csv, export_xlsx
from bot.services.figures import Entry, submit
from bot.services.plans import active_plan

SH = ZoneInfo("Asia/Shanghai")
AS_OF = date(2018, 10, 15)
GREEN, YELLOW, RED, GREY = "00C6EFCE", "00FFEB9C", "00FFC7CE", "00D9D9D9"


def at(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return datetime(y, m, d, hour, tzinfo=SH)


def report(app: App, unit: str, ind: str, period: str, value: str, now: datetime, who: str = "alice",
           via: str = "chat", reason: str | None = None) -> None:
    with app.uow() as s:
        _, plan = active_plan(s)
    entry = Entry(plan.unit(unit), plan.indicator(ind), parse_period(period), Decimal(value), None, reason)
    submit(app.uow, entry, who, via, now)


def seed(app: App) -> None:
    # high-tech enterprises: baseline 50 (2017), 72 by Q3 against a pace of about 73.7: on track
    report(app, "sci_tech_bureau", "hightech_enterprises", "2017", "50", at(2018, 1, 15))
    report(app, "sci_tech_bureau", "hightech_enterprises", "2018Q3", "72", at(2018, 10, 8))
    report(app, "panshan", "hightech_enterprises", "2018Q3", "12", at(2018, 10, 9))
    report(app, "panshan", "hightech_enterprises", "2018Q3", "13", at(2018, 10, 14, 9), who="bob", via="cli",
           reason="miscounted")
    # R&D/GDP: 1.5% at the end of 2017, 1.55% by Q3 against about 1.89%: lagging
    report(app, "sci_tech_bureau", "rd_spending_gdp", "2017", "1.5", at(2018, 1, 15))
    report(app, "sci_tech_bureau", "rd_spending_gdp", "2018Q3", "1.55", at(2018, 10, 8))
    # breakthroughs: 5 + 4 + 3 = 12 against about 15.8: behind
    report(app, "dawa", "key_tech_breakthroughs", "2018Q1", "5", at(2018, 4, 5))
    report(app, "dawa", "key_tech_breakthroughs", "2018Q2", "4", at(2018, 7, 5))
    report(app, "panshan", "key_tech_breakthroughs", "2018Q3", "3", at(2018, 10, 5))
    # innovation teams: 6 of 5 already: achieved
    report(app, "shuangtaizi", "innovation_teams", "2018Q1", "6", at(2018, 4, 5))
    report(app, "shuangtaizi", "innovation_teams", "2018Q3", "0", at(2018, 10, 5))


def rows(ws: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def find_cell(ws: Any, header_row: int, row_label: str, column_label: str) -> Any:
    col = next(c.column for c in ws[header_row] if c.value == column_label)
    row = next(c.row for c in ws["A"] if c.value == row_label)
    return ws.cell(row, col)


def test_workbook_sheets_statuses_figures_and_provenance(app: App, tmp_path: Path) -> None:
    seed(app)
    # technology contracts: 7% by Q3 against an absolute 10%, no 2017 figure: the pace cannot be judged
    report(app, "sci_tech_bureau", "tech_contract_growth", "2018Q3", "7", at(2018, 10, 8))
    with app.uow() as s:
        row, plan = active_plan(s)
        out = export_xlsx(s, row, plan, AS_OF, tmp_path / "assessment.xlsx", lang="en")
    assert out == tmp_path / "assessment.xlsx"
    wb = load_workbook(out)
    codes = [ind.code for ind in plan.indicators]
    assert wb.sheetnames == ["Summary", "Milestone results", *[f"{n} {code}"[:31] for n, code in enumerate(codes, 1)],
                             "Provenance"]
    assert "13 achievement_transfer_project" in wb.sheetnames

    summary = wb["Summary"]
    assert summary["A1"].value == plan.title.en
    assert summary["A2"].value == "As of Oct 15, 2018"
    assert summary["D4"].value == "Status" and summary["D4"].font.bold
    assert summary.freeze_panes == "C5"
    table = {r[1]: r for r in rows(summary)[4:]}
    assert len(table) == len(plan.indicators)
    by_name = {c.value: c.row for c in summary["B"] if c.row > 4}
    expect = {
        "High-tech enterprises (total certified)": ("on track", GREEN),
        "R&D expenditure as a share of GDP": ("lagging", RED),
        "Key technology breakthrough projects (cumulative)": ("behind", YELLOW),
        "Innovation teams introduced (cumulative)": ("achieved", GREEN),
        "Growth of technology contract turnover": ("no baseline", GREY),
        "High-level innovation talent introduced (cumulative)": ("no data", GREY),
    }
    for name, (status, colour) in expect.items():
        cell = summary.cell(by_name[name], 4)
        assert (cell.value, cell.fill.fgColor.rgb) == (status, colour), name
    statuses = [summary.cell(r, 4).value for r in range(5, 5 + len(plan.indicators))]
    assert statuses[0] == "lagging" and statuses[-1] == "achieved"  # worst first
    hte = table["High-tech enterprises (total certified)"]
    assert hte[0] == 1 and hte[2] == "stock" and hte[4] == 72 and hte[5] == "2018Q3" and hte[7] == 80
    assert hte[8].date() == date(2018, 12, 31)
    assert summary.cell(by_name["High-tech enterprises (total certified)"], 5).number_format == '#,##0" enterprises"'
    rd = table["R&D expenditure as a share of GDP"]
    assert rd[4] == 1.55 and rd[9] > 30 and rd[13] is None
    assert table["Key technology breakthrough projects (cumulative)"][4] == 12

    sheet = wb["1 hightech_enterprises"]
    assert [c.value for c in sheet[4]] == ["Unit", "2017 (baseline)", "2018Q1", "2018Q2", "2018Q3", "2018Q4"]
    cell = find_cell(sheet, 4, "Panshan County Government", "2018Q3")
    assert (cell.value, cell.number_format) == (13, "#,##0")
    assert cell.comment.text == (
        "12 enterprises, reported by alice on 2018-10-09 10:00 via chat\n"
        "corrected 12 enterprises → 13 enterprises by bob on 2018-10-14 09:00 via CLI; reason: “miscounted”")
    assert find_cell(sheet, 4, "Municipal Science and Technology Bureau", "2017 (baseline)").value == 50
    assert find_cell(sheet, 4, "City", "2018Q3").value == 72  # the lead unit's figure is the city's
    assert find_cell(sheet, 4, "City", "2017 (baseline)").value == 50
    assert find_cell(sheet, 4, "Dawa District Government", "2018Q3").value is None

    ratio = find_cell(wb["6 rd_spending_gdp"], 4, "Municipal Science and Technology Bureau", "2018Q3")
    assert (ratio.value, ratio.number_format) == (1.55, "0.00")
    assert "1.55%, reported by alice on 2018-10-08 10:00 via chat" in ratio.comment.text
    flow = wb["3 key_tech_breakthroughs"]
    assert [find_cell(flow, 4, "City (cumulative)", p).value for p in ("2018Q1", "2018Q2", "2018Q3")] == [5, 9, 12]

    provenance = rows(wb["Provenance"])
    assert provenance[0] == ("Indicator", "Unit", "Period", "Revision", "Value", "Previous value", "Reason",
                             "Entered by", "Entered at", "Via", "Note")
    assert len(provenance) == 1 + 12
    assert provenance[1:5] == [
        ("High-tech enterprises (total certified)", "Municipal Science and Technology Bureau", "2017", 1, 50,
         None, None, "alice", "2018-01-15 10:00", "chat", None),
        ("High-tech enterprises (total certified)", "Municipal Science and Technology Bureau", "2018Q3", 1, 72,
         None, None, "alice", "2018-10-08 10:00", "chat", None),
        ("High-tech enterprises (total certified)", "Panshan County Government", "2018Q3", 1, 12,
         None, None, "alice", "2018-10-09 10:00", "chat", None),
        ("High-tech enterprises (total certified)", "Panshan County Government", "2018Q3", 2, 13,
         12, "miscounted", "bob", "2018-10-14 09:00", "CLI", None),
    ]


def test_chinese_workbook_names_sheets_and_statuses_in_chinese(app: App, tmp_path: Path) -> None:
    seed(app)
    with app.uow() as s:
        row, plan = active_plan(s)
        wb = load_workbook(export_xlsx(s, row, plan, AS_OF, tmp_path / "考核.xlsx"))
    assert wb.sheetnames[0] == "汇总" and wb.sheetnames[-1] == "来源"
    assert wb.sheetnames[1:3] == ["节点目标考核表", "1 高新技术企业总数"]
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in wb.sheetnames)
    assert len({n.casefold() for n in wb.sheetnames}) == len(wb.sheetnames)
    summary = wb.worksheets[0]
    assert summary["A1"].value == plan.title.zh
    statuses = {summary.cell(r, 2).value: summary.cell(r, 4).value for r in range(5, 5 + len(plan.indicators))}
    assert statuses["高新技术企业总数"] == "符合序时进度"
    assert statuses["全社会研究与开发经费占GDP比重"] == "滞后"
    assert statuses["核心技术攻关项目"] == "落后"
    cell = find_cell(wb["1 高新技术企业总数"], 4, "盘山县人民政府", "2018Q3")
    assert cell.comment.text.splitlines()[-1] == "由bob于2018-10-14 09:00通过CLI更正：12家 → 13家；理由：“miscounted”"


def test_csv_has_a_bom_and_one_row_per_figure(app: App, tmp_path: Path) -> None:
    seed(app)
    with app.uow() as s:
        row, plan = active_plan(s)
        out = export_csv(s, row, plan, AS_OF, tmp_path / "figures.csv")
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0] == ["指标代码", "指标", "单位代码", "单位", "报告期", "数值", "状态", "填报人", "填报时间", "渠道",
                        "版本", "指标状态"]
    assert len(table) == 1 + 10  # current figures, not revisions
    assert table[1:4] == [  # the status is the figure's own: the indicator's is in the last column
        ["hightech_enterprises", "高新技术企业总数", "sci_tech_bureau", "市科技局", "2017", "50", "基数",
         "alice", "2018-01-15 10:00", "chat", "1", "符合序时进度"],
        ["hightech_enterprises", "高新技术企业总数", "sci_tech_bureau", "市科技局", "2018Q3", "72", "按时报送",
         "alice", "2018-10-08 10:00", "chat", "1", "符合序时进度"],
        ["hightech_enterprises", "高新技术企业总数", "panshan", "盘山县人民政府", "2018Q3", "13", "按时报送，已更正",
         "bob", "2018-10-14 09:00", "CLI", "2", "符合序时进度"],
    ]
    assert [table[8][i] for i in (0, 4, 5, 11)] == ["rd_spending_gdp", "2018Q3", "1.55", "滞后"]


def test_exports_without_any_figure(app: App, tmp_path: Path) -> None:
    with app.uow() as s:
        row, plan = active_plan(s)
        wb = load_workbook(export_xlsx(s, row, plan, AS_OF, tmp_path / "out" / "empty.xlsx", lang="en"))
        out = export_csv(s, row, plan, AS_OF, tmp_path / "empty.csv", lang="en")
    summary = wb["Summary"]
    fills = {summary.cell(r, 4).fill.fgColor.rgb for r in range(5, 5 + len(plan.indicators))}
    assert fills == {GREY}
    assert rows(wb["Provenance"]) == [("Indicator", "Unit", "Period", "Revision", "Value", "Previous value",
                                       "Reason", "Entered by", "Entered at", "Via", "Note")]
    assert len(wb.sheetnames) == len(plan.indicators) + 3  # summary, milestone results, indicators, provenance
    with out.open(encoding="utf-8-sig", newline="") as fh:
        assert len(list(csv.reader(fh))) == 1
