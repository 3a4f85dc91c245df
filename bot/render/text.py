"""Progress as text for people (in their language) and as JSON-ready dicts for programs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.domain.pace import Progress, Status
from bot.domain.plan import Indicator, Kind, Milestone, Plan
from i18n import N_, Translator

STATUS_LABELS = {
    Status.ACHIEVED: N_("achieved"),
    Status.ON_TRACK: N_("on track"),
    Status.BEHIND: N_("behind"),
    Status.LAGGING: N_("lagging"),
    Status.MISSED: N_("missed"),
    Status.NO_DATA: N_("no data"),
    Status.NO_BASELINE: N_("no baseline"),
}
KIND_LABELS = {
    Kind.STOCK: N_("stock"), Kind.FLOW: N_("cumulative flow"), Kind.RATIO: N_("ratio"),
    Kind.GROWTH: N_("annual growth rate"), Kind.STAGED: N_("staged"),
}
STATUS_MARKS = {
    Status.ACHIEVED: "✅", Status.ON_TRACK: "🟢", Status.BEHIND: "🟡", Status.LAGGING: "🔴",
    Status.MISSED: "❌", Status.NO_DATA: "⚪", Status.NO_BASELINE: "⚪",
}


def num(x: Decimal | None, places: int = 4) -> float | None:
    """A Decimal as a JSON number rounded to places (None stays None)."""
    return None if x is None else float(round(x, places))


def value_text(ind: Indicator, value: Decimal | None, t: Translator) -> str:
    """A figure with its measure word: 12家 / 12 enterprises / 2.5% / the stage's name."""
    if value is None:
        return "—"
    if ind.kind is Kind.STAGED:
        i = int(value)
        return ind.stages[i].name.get(t.lang) if 0 <= i < len(ind.stages) else t.number(value)
    if ind.is_percent:
        return t.percent(value)
    measure = ind.measure.get(t.lang)
    return f"{t.number(value)}{measure}" if t.lang == "zh" else f"{t.number(value)} {measure}"


def unit_names(plan: Plan, codes: tuple[str, ...] | list[str], t: Translator) -> str:
    """Unit names joined for a sentence."""
    sep = "、" if t.lang == "zh" else ", "
    return sep.join(plan.unit(c).name.get(t.lang) for c in codes) or "—"


def progress_text(plan: Plan, p: Progress, t: Translator) -> str:
    """A short paragraph on one indicator's progress."""
    ind = p.indicator
    head = STATUS_MARKS[p.status] + " " + t("{name}: {status}", name=ind.name.get(t.lang),
                                             status=t(STATUS_LABELS[p.status]))
    lines = [head]
    lines.append(t("actual {actual}, expected by now {expected}, target {target} by {due}",
                   actual=value_text(ind, p.actual, t), expected=value_text(ind, p.expected, t),
                   target=value_text(ind, p.target, t), due=t.date(p.due)))
    if p.shortfall_pp is not None and p.shortfall_pp > 0 and p.status is not Status.ACHIEVED:
        lines.append(t("{pp} points behind the time-elapsed pace", pp=t.number(p.shortfall_pp, 1)))
    if p.status is Status.NO_BASELINE:
        lines.append(t("No baseline: set one in the plan file or report the {year} figure.",
                       year=plan.baseline_date.year))
    if p.forecast is not None and p.status.needs_attention and p.target is not None:
        lines.append(t("At the current pace: {forecast} by {due} (target {target})",
                       forecast=value_text(ind, p.forecast, t), due=t.date(p.due),
                       target=value_text(ind, p.target, t)))
    lines.append(t("Responsible: {units}", units=unit_names(plan, ind.lead_units, t)))
    if p.missing_units and p.last_due_period is not None:
        lines.append(t("Not yet reported for {period}: {units}", period=p.last_due_period.label,
                       units=unit_names(plan, p.missing_units, t)))
    return "\n".join(lines)


def milestone_dict(ind: Indicator, ms: Milestone) -> dict[str, Any]:
    """A milestone for JSON."""
    out: dict[str, Any] = {"due": ms.due.isoformat(), "comparator": ms.comparator.value}
    if ind.kind is Kind.STAGED:
        out["stage"] = ind.stages[int(ms.value)].code
    else:
        out["value"] = num(ms.value)
        out["relative_to_baseline"] = ms.relative
    return out


def indicator_dict(plan: Plan, ind: Indicator) -> dict[str, Any]:
    """An indicator's definition for JSON."""
    return {
        "code": ind.code, "name": {"zh": ind.name.zh, "en": ind.name.en}, "kind": ind.kind.value,
        "measure": {"zh": ind.measure.zh, "en": ind.measure.en}, "task": ind.task,
        "milestones": [milestone_dict(ind, ms) for ms in ind.milestones],
        "baseline": num(ind.baseline) if ind.kind is not Kind.STAGED else None,
        "lead_units": list(ind.lead_units), "reporting_units": list(ind.reporting_units),
        "aggregation": ind.aggregation.value, "cadence": ind.schedule.cadence.value,
        "due_days": ind.schedule.due_days,
        "stages": [s.code for s in ind.stages] or None,
    }


def progress_dict(plan: Plan, p: Progress, t: Translator) -> dict[str, Any]:
    """One indicator's progress for JSON: code, name, status, actual, expected, target, due, shortfall_pp, ..."""
    ind = p.indicator
    return {
        "code": ind.code, "name": ind.name.get(t.lang), "kind": ind.kind.value, "status": p.status.value,
        "actual": num(p.actual), "expected": num(p.expected), "target": num(p.target),
        "due": p.due.isoformat() if p.due else None, "shortfall_pp": num(p.shortfall_pp, 2),
        "baseline": num(p.baseline), "forecast": num(p.forecast),
        "as_of": p.as_of.isoformat(),
        "actual_period": p.actual_period.label if p.actual_period else None,
        "last_due_period": p.last_due_period.label if p.last_due_period else None,
        "lead_units": list(ind.lead_units), "responsible_units": list(ind.reporting_units),
        "missing_units": list(p.missing_units),
        "units": {u: num(v) for u, v in p.unit_values.items()},
    }
