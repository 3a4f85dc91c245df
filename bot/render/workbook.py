"""The assessment workbook for leaders (Excel) and a flat CSV of every figure, in the reader's language.

The workbook has a summary sheet (every indicator's progress, worst first, its status coloured), one sheet per
indicator (units by periods, each figure with a comment saying who entered it, when, how, and its corrections,
and the city figure), and a provenance sheet listing every revision of every figure.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, selectinload

from bot.db.models import FigureRevisionRow, FigureRow, IndicatorRow, PlanRow, UnitRow
from bot.domain.pace import Figure, Progress, Status, city_series
from bot.domain.period import Period, periods_between
from bot.domain.plan import Indicator, Kind, Plan
from bot.render.provenance import local_time, revision_line, via_name
from bot.render.scorecard import scorecard, verdict_label
from bot.render.sheet_cells import (
    BOLD,
    STATUS_FILLS,
    THIN_TOP,
    VERDICT_FILLS,
    WRAP,
    cell_number,
    csv_text,
    fit_columns,
    header_row,
    indicator_sheet_title,
    plain,
    put_value,
    sheet_name,
    text_width,
    texts_only,
)
from bot.render.text import KIND_LABELS, STATUS_LABELS, target_text, value_text, whole
from bot.views.progress import assess_all
from bot.views.provenance import DEMO_ENTERED_BY
from i18n import Translator, translator_for


@dataclass(frozen=True)
class _Names:
    """Names of the plan's units and indicators as stored, so figures of retired ones still get a name."""

    units: dict[str, UnitRow]
    indicators: dict[str, IndicatorRow]

    def unit(self, code: str, lang: str) -> str:
        row = self.units.get(code)
        return code if row is None else (row.name_en if lang == "en" else row.name_zh)

    def indicator(self, code: str, lang: str) -> str:
        row = self.indicators.get(code)
        return code if row is None else (row.name_en if lang == "en" else row.name_zh)


@dataclass(frozen=True)
class _Data:
    """Everything an export needs, read in a few queries."""

    progress: list[Progress]
    figures: list[FigureRow]  # current figures of periods begun by as_of, each with its history
    names: _Names
    tz: ZoneInfo

    @property
    def status(self) -> dict[str, Status]:
        return {p.indicator.code: p.status for p in self.progress}


def _load(s: Session, plan_row: PlanRow, plan: Plan, as_of: date) -> _Data:
    units = {u.code: u for u in s.scalars(select(UnitRow).where(UnitRow.plan_id == plan_row.id))}
    inds = {i.code: i for i in s.scalars(select(IndicatorRow).where(IndicatorRow.plan_id == plan_row.id))}
    stmt = (select(FigureRow).join(FigureRow.indicator).join(FigureRow.unit)
            .where(IndicatorRow.plan_id == plan_row.id, FigureRow.period_start <= as_of)
            .options(contains_eager(FigureRow.indicator), contains_eager(FigureRow.unit),
                     selectinload(FigureRow.history)))
    unit_order = {u.code: n for n, u in enumerate(plan.units)}
    ind_order = {i.code: n for n, i in enumerate(plan.indicators)}
    figures = sorted(s.scalars(stmt), key=lambda f: (
        ind_order.get(f.indicator.code, len(ind_order)), f.indicator.code,
        unit_order.get(f.unit.code, len(unit_order)), f.unit.code, f.period_end, f.period_start))
    return _Data(assess_all(s, plan_row, plan, as_of), figures, _Names(units, inds), ZoneInfo(plan.timezone))


def _names(codes: Iterable[str], t: Translator, names: _Names) -> str:
    sep = "、" if t.lang == "zh" else "; "
    return sep.join(names.unit(c, t.lang) for c in codes) or "—"


# ---- provenance ---------------------------------------------------------------------------------------------

def _comment_text(ind: Indicator, fig: FigureRow, t: Translator, tz: ZoneInfo) -> str:
    """Who entered a figure, when, how, and each correction with its reason."""
    # a figure without history (should not happen) is its own first revision: say what the row itself knows
    lines = [revision_line(ind, rev, t, tz) for rev in _revisions(fig)]
    if fig.note:
        lines.append(t("Note: {note}", note=fig.note))
    return "\n".join(lines)


def _comment(text: str) -> Comment:
    comment = Comment(text, "planbot")
    longest = max((text_width(line) for line in text.splitlines()), default=10)
    wrapped = sum(1 + text_width(line) // 60 for line in text.splitlines())
    comment.width = min(480, max(200, 6 * min(longest, 80)))
    comment.height = max(60, 16 * wrapped + 16)
    return comment


# ---- the workbook -------------------------------------------------------------------------------------------

def export_xlsx(s: Session, plan_row: PlanRow, plan: Plan, as_of: date, path: Path, lang: str = "zh") -> Path:
    """Write the assessment workbook as of a date to path (in lang) and return path."""
    t = translator_for(lang)
    data = _load(s, plan_row, plan, as_of)
    wb = Workbook()
    taken: set[str] = set()
    summary = wb.active
    summary.title = sheet_name(t("Summary"), taken)
    provenance_title = sheet_name(t("Provenance"), taken)
    scorecard_title = sheet_name(t("Milestone results"), taken)
    _summary_sheet(summary, plan, data, as_of, t)
    by_indicator: dict[str, list[FigureRow]] = defaultdict(list)
    for fig in data.figures:
        by_indicator[fig.indicator.code].append(fig)
    for number, ind in enumerate(plan.indicators, 1):
        ws = wb.create_sheet(sheet_name(indicator_sheet_title(number, ind, t.lang), taken))
        _indicator_sheet(ws, plan, number, ind, by_indicator.get(ind.code, []), data, as_of, t)
    _scorecard_sheet(wb.create_sheet(scorecard_title, 1), plan, data, as_of, t)
    _provenance_sheet(wb.create_sheet(provenance_title), plan, data, t)
    texts_only(wb)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


SUMMARY_HEADER_ROW = 4


def _summary_sheet(ws: Any, plan: Plan, data: _Data, as_of: date, t: Translator) -> None:
    ws["A1"] = plan.title.get(t.lang) + (t(" (demo data)") if any(f.via == "demo" for f in data.figures) else "")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = t("As of {date}", date=t.date(as_of))
    if any(f.entered_by == DEMO_ENTERED_BY for f in data.figures):
        ws["A2"] = t("As of {date}. DEMO DATA: these figures are made up for trying planbot out, not real.",
                     date=t.date(as_of))
        ws["A2"].font = Font(bold=True, color="C00000")
    if plan.document is not None:
        ws["A3"] = plan.document.get(t.lang)
        ws["A3"].font = Font(italic=True, color="595959")
    header_row(ws, SUMMARY_HEADER_ROW, [
        t("No."), t("Indicator"), t("Kind"), t("Status"), t("Actual"), t("Period"), t("Expected by now"),
        t("Target"), t("Due"), t("Shortfall (pp)"), t("Forecast at due date"), t("Lead units"), t("Responsible units"),
        t("Not yet reported"),
    ])
    number = {ind.code: n for n, ind in enumerate(plan.indicators, 1)}
    for r, p in enumerate(data.progress, SUMMARY_HEADER_ROW + 1):
        ind = p.indicator
        ws.cell(r, 1, number[ind.code])
        ws.cell(r, 2, ind.name.get(t.lang))
        ws.cell(r, 3, t(KIND_LABELS[ind.kind]))
        status = ws.cell(r, 4, t(STATUS_LABELS[p.status]))
        status.fill = PatternFill("solid", fgColor=STATUS_FILLS[p.status])
        status.font = BOLD
        put_value(ws.cell(r, 5), ind, p.actual, t, summary=True)
        if p.actual is None:
            ws.cell(r, 5, value_text(ind, None, t))  # unknown is said, never left to read as 0
        if p.actual_period is not None:  # the actual's period: an older one while the period due is unreported
            ws.cell(r, 6, p.actual_period.label)
        counts = ind.kind in (Kind.STOCK, Kind.FLOW)
        put_value(ws.cell(r, 7), ind, whole(ind, p.expected), t, decimals=0 if counts else 1, summary=True)
        if p.target is None:
            ws.cell(r, 8, target_text(ind, None, p.milestone, t))
        else:
            put_value(ws.cell(r, 8), ind, p.target, t, summary=True, ms=p.milestone)
        if p.due is not None:
            ws.cell(r, 9, p.due).number_format = "yyyy-mm-dd"
        if p.shortfall_pp is not None:
            ws.cell(r, 10, float(round(p.shortfall_pp, 1))).number_format = "0.0"
        put_value(ws.cell(r, 11), ind, p.forecast, t, decimals=1, summary=True)
        ws.cell(r, 12, _names(ind.lead_units, t, data.names))
        ws.cell(r, 13, _names(ind.reporting_units, t, data.names))
        if p.missing_units and p.last_due_period is not None:
            ws.cell(r, 14, t("{period}: {units}", period=p.last_due_period.label,
                             units=_names(p.missing_units, t, data.names)))
        for c in (2, 12, 13, 14):
            ws.cell(r, c).alignment = WRAP
    ws.freeze_panes = ws.cell(SUMMARY_HEADER_ROW + 1, 3)
    fit_columns(ws, SUMMARY_HEADER_ROW, maximum=40)
    ws.column_dimensions["A"].width = 6
    ws.row_dimensions[SUMMARY_HEADER_ROW].height = 30


def _scorecard_sheet(ws: Any, plan: Plan, data: _Data, as_of: date, t: Translator) -> None:
    """The assessment table: every milestone of every indicator with its result and the figure it was judged on."""
    ws["A1"] = t("Milestone results as of {date}:", date=t.date(as_of))
    ws["A1"].font = Font(bold=True, size=12)
    header_row(ws, SUMMARY_HEADER_ROW, [t("No."), t("Indicator"), t("Due"), t("Target"), t("Result"), t("Actual"),
                                     t("Period")])
    for r, row in enumerate(scorecard(plan, data.progress), SUMMARY_HEADER_ROW + 1):
        ind, res = row.indicator, row.result
        ws.cell(r, 1, row.number)
        ws.cell(r, 2, ind.name.get(t.lang)).alignment = WRAP
        ws.cell(r, 3, res.milestone.due).number_format = "yyyy-mm-dd"
        if res.target is None:
            ws.cell(r, 4, target_text(ind, None, res.milestone, t))
        else:
            put_value(ws.cell(r, 4), ind, res.target, t, summary=True, ms=res.milestone)
        verdict = ws.cell(r, 5, verdict_label(res, t))
        if res.verdict is not None:
            verdict.fill, verdict.font = PatternFill("solid", fgColor=VERDICT_FILLS[res.verdict]), BOLD
            put_value(ws.cell(r, 6), ind, res.actual, t, summary=True)
            ws.cell(r, 7, res.period.label if res.period else None)
    ws.freeze_panes = ws.cell(SUMMARY_HEADER_ROW + 1, 3)
    fit_columns(ws, SUMMARY_HEADER_ROW, maximum=40)


INDICATOR_HEADER_ROW = 4


def _columns(plan: Plan, ind: Indicator, figures: Sequence[FigureRow], as_of: date) -> list[Period]:
    """The periods of the indicator's cadence from the plan's start to as_of, plus any other period reported
    (the baseline period before the plan, or a year reported for a quarterly indicator), in time order."""
    found: dict[str, Period] = {}
    if as_of >= plan.start:
        for p in periods_between(ind.schedule.cadence, plan.start, min(as_of, plan.end)):
            found[p.label] = p
    for f in figures:
        found.setdefault(f.period, Period(f.period_start, f.period_end, f.period))
    return sorted(found.values(), key=lambda p: (p.end, -p.start.toordinal()))


def _indicator_sheet(ws: Any, plan: Plan, number: int, ind: Indicator, figures: list[FigureRow], data: _Data,
                     as_of: date, t: Translator) -> None:
    ws["A1"] = f"{number}. {ind.name.get(t.lang)}"
    ws["A1"].font = Font(bold=True, size=12)
    ws["A2"] = t("Measure: {measure}. As of {date}.", measure=ind.measure.get(t.lang), date=t.date(as_of))
    columns = _columns(plan, ind, figures, as_of)
    col_of = {p.label: c for c, p in enumerate(columns, 2)}
    labels = [t("{period} (baseline)", period=p.label) if p.end == plan.baseline_date else p.label for p in columns]
    header_row(ws, INDICATOR_HEADER_ROW, [t("Unit"), *labels])
    units = list(ind.reporters)
    units += [c for c in dict.fromkeys(f.unit.code for f in figures) if c not in units]
    row_of = {u: r for r, u in enumerate(units, INDICATOR_HEADER_ROW + 1)}
    for code, r in row_of.items():
        ws.cell(r, 1, data.names.unit(code, t.lang))
    for fig in figures:
        cell = ws.cell(row_of[fig.unit.code], col_of[fig.period])
        put_value(cell, ind, fig.value, t)
        cell.comment = _comment(_comment_text(ind, fig, t, data.tz))
    city_row = INDICATOR_HEADER_ROW + 1 + len(units)
    city = ws.cell(city_row, 1, t("City (cumulative)") if ind.kind is Kind.FLOW else t("City"))
    city.font, city.border = BOLD, THIN_TOP
    series = city_series(ind, [Figure(f.unit.code, Period(f.period_start, f.period_end, f.period), f.value,
                                      f.effective_on) for f in figures], as_of)
    for c in range(2, len(columns) + 2):
        ws.cell(city_row, c).border = THIN_TOP
    carried = _carried_forward(ind, figures)
    for point in series:
        if point.period is not None and point.period.label in col_of:
            cell = ws.cell(city_row, col_of[point.period.label])
            put_value(cell, ind, point.value, t)
            cell.font = BOLD
            if point.period.label in carried:  # a sum with some units' earlier figures in it: say whose
                cell.font = Font(bold=True, italic=True)
                whose = [t("{unit} ({period})", unit=data.names.unit(u, t.lang), period=p)
                         for u, p in carried[point.period.label]]
                cell.comment = _comment(t("Includes figures carried forward from earlier periods: {units}",
                                          units=("、" if t.lang == "zh" else "; ").join(whose)))
    ws.freeze_panes = ws.cell(INDICATOR_HEADER_ROW + 1, 2)
    fit_columns(ws, INDICATOR_HEADER_ROW, minimum=10)


def _carried_forward(ind: Indicator, figures: Sequence[FigureRow]) -> dict[str, list[tuple[str, str]]]:
    """For a city total summed from units' latest levels: each period's units whose figure is an earlier period's
    (unit, that period), when no lead unit's figure stands for the city."""
    if ind.kind is Kind.FLOW or ind.aggregation.value != "sum":
        return {}
    mine = [f for f in figures if f.unit.code in ind.reporting_set]
    periods = {f.period: f.period_end for f in mine}
    led = {f.period for f in figures if f.unit.code in ind.lead_units}
    out: dict[str, list[tuple[str, str]]] = {}
    for label, end in periods.items():
        if label in led:
            continue
        for unit in ind.reporting_units:
            own = [f for f in mine if f.unit.code == unit and f.period_end <= end]
            if own and not any(f.period == label for f in own):
                out.setdefault(label, []).append((unit, max(own, key=lambda f: f.period_end).period))
    return out


def _provenance_sheet(ws: Any, plan: Plan, data: _Data, t: Translator) -> None:
    header_row(ws, 1, [t("Indicator"), t("Unit"), t("Period"), t("Revision"), t("Value"), t("Previous value"),
                    t("Reason"), t("Entered by"), t("Entered at"), t("Via"), t("Note")])
    r = 2
    for fig in data.figures:
        ind = _plan_indicator(plan, fig.indicator.code)
        for rev in _revisions(fig):
            ws.cell(r, 1, data.names.indicator(fig.indicator.code, t.lang))
            ws.cell(r, 2, data.names.unit(fig.unit.code, t.lang))
            ws.cell(r, 3, fig.period)
            ws.cell(r, 4, rev.revision)
            if ind is None:
                ws.cell(r, 5, cell_number(rev.value))
                ws.cell(r, 6, cell_number(rev.previous_value))
            else:
                put_value(ws.cell(r, 5), ind, rev.value, t)
                put_value(ws.cell(r, 6), ind, rev.previous_value, t)
            ws.cell(r, 7, rev.reason)
            ws.cell(r, 8, rev.entered_by)
            ws.cell(r, 9, local_time(rev.entered_at, data.tz))
            ws.cell(r, 10, via_name(rev.via))
            ws.cell(r, 11, rev.note)
            r += 1
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:K{max(r - 1, 1)}"
    fit_columns(ws, 1, maximum=40)


def _plan_indicator(plan: Plan, code: str) -> Indicator | None:
    try:
        return plan.indicator(code)
    except KeyError:
        return None


def _revisions(fig: FigureRow) -> list[FigureRevisionRow]:
    """A figure's revisions oldest first; a figure saved without history counts as its own first revision."""
    if fig.history:
        return sorted(fig.history, key=lambda r: r.revision)
    return [FigureRevisionRow(revision=fig.revision, value=fig.value, previous_value=None, note=fig.note,
                              reason=None, entered_by=fig.entered_by, entered_at=fig.entered_at, via=fig.via)]


# ---- the CSV ------------------------------------------------------------------------------------------------

def export_csv(s: Session, plan_row: PlanRow, plan: Plan, as_of: date, path: Path, lang: str = "zh") -> Path:
    """Write every current figure as one flat CSV (UTF-8 with BOM, so Excel reads Chinese) and return path."""
    t = translator_for(lang)
    data = _load(s, plan_row, plan, as_of)
    status = data.status
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([t("Indicator code"), t("Indicator"), t("Unit code"), t("Unit"), t("Period"), t("Value"),
                      t("Status"), t("Entered by"), t("Entered at"), t("Via"), t("Revision"), t("Indicator status")])
        for fig in data.figures:
            code = fig.indicator.code
            out.writerow([code, csv_text(data.names.indicator(code, t.lang)), fig.unit.code,
                          csv_text(data.names.unit(fig.unit.code, t.lang)), fig.period, plain(fig.value),
                          _figure_status(plan, fig, data.tz, t), csv_text(fig.entered_by),
                          local_time(fig.entered_at, data.tz), via_name(fig.via), fig.revision,
                          t(STATUS_LABELS[status[code]]) if code in status else ""])
    return path


def _figure_status(plan: Plan, fig: FigureRow, tz: ZoneInfo, t: Translator) -> str:
    """The figure's own status: a baseline, reported on time or late (first entry against its due date), and
    whether it was corrected."""
    ind = _plan_indicator(plan, fig.indicator.code)
    first = min((r.entered_at for r in fig.history), default=fig.entered_at)
    if fig.period_end <= plan.baseline_date:
        text = t("baseline")
    elif ind is None:
        text = ""
    else:
        due = Period(fig.period_start, fig.period_end, fig.period).due(ind.schedule.due_days)
        text = t("reported on time") if first.astimezone(tz).date() <= due else t("reported late")
    return t("{status}, corrected", status=text) if fig.revision > 1 and text else text
