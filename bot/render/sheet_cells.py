"""Cells of the assessment workbook: styles, number formats, column widths, sheet names, and text made safe."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from bot.domain.pace import Status, Verdict
from bot.domain.plan import Comparator, Indicator, Kind, Milestone
from bot.render.text import value_text
from i18n import Translator

GREEN, YELLOW, RED, GREY = "C6EFCE", "FFEB9C", "FFC7CE", "D9D9D9"
STATUS_FILLS = {
    Status.ACHIEVED: GREEN, Status.ON_TRACK: GREEN, Status.BEHIND: YELLOW, Status.LAGGING: RED,
    Status.MISSED: RED, Status.UNMET: RED, Status.NO_DATA: GREY, Status.NO_BASELINE: GREY,
}
VERDICT_FILLS = {Verdict.ACHIEVED: GREEN, Verdict.MISSED: RED, Verdict.NO_DATA: GREY, Verdict.NO_BASELINE: GREY}
SHEET_MAX = 31
SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
THIN_TOP = Border(top=Side(style="thin"))
WRAP = Alignment(wrap_text=True, vertical="top")
MAX_WIDTH = 60


# ---- formula injection (OWASP "CSV injection") ------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")  # what a spreadsheet may evaluate


def csv_text(value: str | None) -> str | None:
    """Free text for a CSV cell: one a spreadsheet would read as a formula gets a leading ' (OWASP's rule)."""
    return "'" + value if value and value.startswith(FORMULA_START) else value


def texts_only(wb: Workbook) -> None:
    """Make every text cell of the workbook plain text: nothing planbot writes is a formula, so a note or reason
    starting with = (which openpyxl would store as a formula) is stored as a string, and any text a spreadsheet
    might evaluate once edited is marked quote-prefixed (as Excel marks text typed after a ')."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                    cell.quotePrefix = True


# ---- formatting helpers ---------------------------------------------------------------------------------------

def cell_number(value: Decimal | None) -> int | float | None:
    """A Decimal as a spreadsheet number: an int when whole, else a float rounded to 4 places."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(round(value, 4))


def plain(value: Decimal | None) -> str:
    """A Decimal as plain text without exponent or trailing zeros (PostgreSQL gives 12.00000000)."""
    if value is None:
        return ""
    return format(value.normalize(), "f")


def figure_format(ind: Indicator, value: Decimal) -> str:
    """Integers for whole counts, 0.00 for percentages (and for counts with decimals)."""
    if ind.is_percent or value != value.to_integral_value():
        return "0.00"
    return "#,##0"


def summary_format(ind: Indicator, t: Translator, decimals: int, ms: Milestone | None = None) -> str:
    """A number format that shows the measure (12家 / 12 enterprises / 2.50%) and, for a target, its comparator
    (80家以上 / 超过100家), keeping the cell a number."""
    number = "0.00" if ind.is_percent else "#,##0" + ("." + "0" * decimals if decimals else "")
    sep = "" if t.lang == "zh" else " "
    unit = "%" if ind.is_percent else sep + ind.measure.get(t.lang).replace('"', "")
    if ms is None:
        return f'{number}"{unit}"'
    words = (t("more than {value}", value="\0") if ms.comparator is Comparator.GT
             else t("{value} or more", value="\0")).replace('"', "")
    before, _, after = words.partition("\0")
    return (f'"{before}"' if before else "") + number + f'"{unit}{after}"'


def put_value(cell: Any, ind: Indicator, value: Decimal | None, t: Translator, decimals: int = 0,
         summary: bool = False, ms: Milestone | None = None) -> None:
    """Write a value of ind into cell: a stage's name for staged indicators, else a number with its format."""
    if value is None:
        cell.value = None
    elif ind.kind is Kind.STAGED:
        cell.value = value_text(ind, value.to_integral_value(), t)
    else:
        cell.value = cell_number(value)
        cell.number_format = summary_format(ind, t, decimals, ms) if summary else figure_format(ind, value)


def text_width(value: object) -> int:
    """Display width of a cell's text: CJK characters count double."""
    if value is None:
        return 0
    text = value.isoformat() if isinstance(value, date) else str(value)
    return max((sum(2 if ord(c) >= 0x2E80 else 1 for c in line) for line in text.splitlines()), default=0)


def fit_columns(ws: Any, first_row: int, minimum: int = 8, maximum: int = MAX_WIDTH) -> None:
    """Set each column's width from the widest value below first_row (titles above it may overflow)."""
    widths: dict[int, int] = defaultdict(int)
    for row in ws.iter_rows(min_row=first_row):
        for cell in row:
            widths[cell.column] = max(widths[cell.column], text_width(cell.value))
    for col, w in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = max(minimum, min(maximum, w + 2))


def header_row(ws: Any, row: int, labels: Sequence[str]) -> None:
    """A bold, shaded header row of labels."""
    for col, label in enumerate(labels, 1):
        cell = ws.cell(row=row, column=col, value=label)
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")


def sheet_name(text: str, taken: set[str]) -> str:
    """A valid, unique sheet name: no []:*?/\\ characters, no edge apostrophes, at most 31 characters."""
    base = text.translate(SHEET_FORBIDDEN).strip().strip("'").strip() or "Sheet"
    base = base[:SHEET_MAX].rstrip()
    name, n = base, 1
    while name.casefold() in taken:
        n += 1
        suffix = f" ({n})"
        name = base[: SHEET_MAX - len(suffix)].rstrip() + suffix
    taken.add(name.casefold())
    return name


def indicator_sheet_title(number: int, ind: Indicator, lang: str) -> str:
    """Its number and Chinese name when that fits in a sheet name; else (and in English) its number and code."""
    named = f"{number} {ind.name.get(lang)}"
    return named if lang == "zh" and len(named) <= SHEET_MAX else f"{number} {ind.code}"
