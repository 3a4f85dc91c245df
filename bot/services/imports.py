"""Backfill figures from a .csv or .xlsx file: every row checked first, then all saved in one transaction."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import IndicatorRow
from bot.domain.period import PeriodError, parse_period
from bot.errors import UserError
from bot.services.entry import lookup_indicator, lookup_unit, read_value
from bot.services.figures import Entry, save
from bot.services.plans import active_plan

COLUMNS = {
    "unit": ("unit", "单位", "填报单位"),
    "indicator": ("indicator", "指标"),
    "period": ("period", "期间", "时期", "报告期"),
    "value": ("value", "数值", "值"),
    "note": ("note", "备注"),
    "reason": ("reason", "更正原因", "原因"),
}


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row of an import file."""

    row: int
    error: UserError


class ImportRejected(Exception):
    """The file was rejected as a whole; nothing was saved."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Rows of a figures file as (row number as a spreadsheet shows it, {column: text})."""
    return read_table(path, COLUMNS, ("unit", "indicator", "period", "value"))


def read_table(path: Path, columns: Mapping[str, tuple[str, ...]], required: tuple[str, ...]
               ) -> list[tuple[int, dict[str, str]]]:
    """Rows of a .csv or .xlsx file as (row number as a spreadsheet shows it, {column: text}); the first row names
    the columns, each by one of the names columns gives it (any case); UserError when a required one is missing."""
    if not path.exists():
        raise UserError("File not found: {path}", path=str(path))
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                table = [list(r) for r in csv.reader(fh)]
        except UnicodeDecodeError:
            raise UserError("{path} is not UTF-8 text: save it as CSV UTF-8.", path=str(path)) from None
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises many kinds for a damaged file
            raise UserError("Cannot read {path} as an Excel workbook: {error}", path=str(path), error=str(e)) from None
        ws = wb.worksheets[0]
        table = [["" if c is None else str(c) for c in r] for r in ws.iter_rows(values_only=True)]
        wb.close()
    else:
        raise UserError("Import takes .csv or .xlsx files, not {suffix}.", suffix=suffix or path.name)
    if not table:
        raise UserError("{path} is empty.", path=str(path))
    header = [h.strip().lower() for h in table[0]]
    index: dict[str, int] = {}
    for key, names in columns.items():
        for i, h in enumerate(header):
            if h in names:
                index[key] = i
    missing = [k for k in required if k not in index]
    if missing:
        raise UserError("The first row must name the columns; missing: {columns}", columns=", ".join(missing))
    rows = []
    for n, raw in enumerate(table[1:], start=2):
        if not any(c.strip() for c in raw):
            continue
        rows.append((n, {k: (raw[i].strip() if i < len(raw) else "") for k, i in index.items()}))
    return rows


def import_file(uow: sessionmaker[Session], path: Path, who: str, now: datetime) -> int:
    """Import every row or none: raise ImportRejected listing each bad row; return how many were saved."""
    rows = read_rows(path)
    problems: list[RowProblem] = []
    seen: dict[tuple[str, str, str], int] = {}
    saved = 0
    with uow() as s, s.begin():
        row, plan = active_plan(s)
        # every save locks its indicator's city series; taking them all first, in one order, rules out a deadlock
        s.execute(select(IndicatorRow.id).where(IndicatorRow.plan_id == row.id).order_by(IndicatorRow.id)
                  .with_for_update(key_share=True))
        for n, cells in rows:
            try:
                unit = lookup_unit(plan, cells["unit"])
                ind = lookup_indicator(plan, cells["indicator"])
                try:
                    period = parse_period(cells["period"])
                except PeriodError:
                    raise UserError("Cannot read period {period}: write 2018, 2018Q3 or 2018-09.",
                                    period=cells["period"]) from None
                key = (unit.code, ind.code, period.label)
                if key in seen:
                    raise UserError("Same unit, indicator and period as row {row}.", row=seen[key])
                seen[key] = n
                entry = Entry(unit, ind, period, read_value(ind, cells["value"]), cells.get("note") or None,
                              cells.get("reason") or None)
                with s.begin_nested():
                    result = save(s, row, plan, entry, who, "import", now, allow_same=True)
                saved += 0 if result.unchanged else 1
            except UserError as e:
                problems.append(RowProblem(n, e))
        if problems:
            s.rollback()
            raise ImportRejected(problems)
    return saved
