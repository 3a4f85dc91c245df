"""The assessment table (考核表): every milestone of every indicator with its result, in the plan's order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.domain.pace import MilestoneResult, Progress, Verdict
from bot.domain.plan import Indicator, Plan
from bot.render.text import VERDICT_LABELS, VERDICT_MARKS, result_dict, result_text
from i18n import N_, Translator

NOT_YET_DUE = N_("not yet due")


@dataclass(frozen=True)
class Row:
    """One milestone of one indicator with its result."""

    number: int
    indicator: Indicator
    result: MilestoneResult


def scorecard(plan: Plan, progress: Sequence[Progress]) -> list[Row]:
    """Every milestone's result, indicators in the plan's order, milestones by date."""
    by_code = {p.indicator.code: p for p in progress}
    return [Row(n, ind, r) for n, ind in enumerate(plan.indicators, 1) if ind.code in by_code
            for r in by_code[ind.code].results]


def verdict_label(r: MilestoneResult, t: Translator) -> str:
    """达成 / 未达成 / 无数据 / 无基数, or 未到期 while the date has not passed."""
    return t(NOT_YET_DUE) if r.verdict is None else t(VERDICT_LABELS[r.verdict])


def counts_text(rows: Sequence[Row], t: Translator) -> str:
    """How many milestones were reached, missed, are without data or not yet due."""
    c = Counter(r.result.verdict for r in rows)
    return t("{n} milestones: {achieved} reached, {missed} not reached, {unknown} without data or baseline, "
             "{pending} not yet due.", n=len(rows), achieved=c[Verdict.ACHIEVED], missed=c[Verdict.MISSED],
             unknown=c[Verdict.NO_DATA] + c[Verdict.NO_BASELINE], pending=c[None])


def scorecard_text(rows: Sequence[Row], as_of: date, t: Translator) -> str:
    """The assessment table for chat: a count line, then each indicator with its milestones' results."""
    lines = [t("Milestone results as of {date}:", date=t.date(as_of)), counts_text(rows, t)]
    current = None
    for row in rows:
        if row.indicator.code != current:
            current = row.indicator.code
            lines.append(f"{row.number}. {row.indicator.name.get(t.lang)}")
        mark = VERDICT_MARKS[row.result.verdict] if row.result.verdict is not None else "⏳"
        lines.append(f"   {mark} " + result_text(row.indicator, row.result, t))
    return "\n".join(lines)


def scorecard_json(rows: Sequence[Row]) -> list[dict[str, object]]:
    """The assessment table for programs: one object per milestone."""
    return [{"number": r.number, "code": r.indicator.code, **result_dict(r.result)} for r in rows]
