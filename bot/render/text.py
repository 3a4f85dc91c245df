"""Progress as text for people (in their language) and as JSON-ready dicts for programs."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.domain.pace import MilestoneResult, Progress, Status, Verdict
from bot.domain.plan import Comparator, Indicator, Kind, Milestone, Plan
from i18n import N_, Translator

STATUS_LABELS = {
    Status.ACHIEVED: N_("achieved"),
    Status.ON_TRACK: N_("on track"),
    Status.BEHIND: N_("behind"),
    Status.LAGGING: N_("lagging"),
    Status.MISSED: N_("missed"),
    Status.UNMET: N_("not met as of today"),
    Status.NO_DATA: N_("no data"),
    Status.NO_BASELINE: N_("no baseline"),
}
KIND_LABELS = {
    Kind.STOCK: N_("stock"), Kind.FLOW: N_("cumulative flow"), Kind.RATIO: N_("ratio"),
    Kind.GROWTH: N_("annual growth rate"), Kind.STAGED: N_("staged"),
}
STATUS_MARKS = {
    Status.ACHIEVED: "✅", Status.ON_TRACK: "🟢", Status.BEHIND: "🟡", Status.LAGGING: "🔴",
    Status.MISSED: "❌", Status.UNMET: "🔴", Status.NO_DATA: "⚪", Status.NO_BASELINE: "⚪",
}
VERDICT_LABELS = {
    Verdict.ACHIEVED: N_("milestone reached"), Verdict.MISSED: N_("milestone not reached"),
    Verdict.NO_DATA: N_("no data"), Verdict.NO_BASELINE: N_("no baseline"),
}
VERDICT_MARKS = {Verdict.ACHIEVED: "✅", Verdict.MISSED: "❌", Verdict.NO_DATA: "⚪", Verdict.NO_BASELINE: "⚪"}


def num(x: Decimal | None, places: int = 4) -> float | None:
    """A Decimal as a JSON number rounded to places (None stays None)."""
    return None if x is None else float(round(x, places))


def value_text(ind: Indicator, value: Decimal | None, t: Translator) -> str:
    """A figure with its measure word: 12家 / 12 enterprises / 2.5% / the stage's name; 暂无数据 when unknown."""
    if value is None:
        return t("no data yet")
    if ind.kind is Kind.STAGED:
        i = int(value)
        return ind.stages[i].name.get(t.lang) if 0 <= i < len(ind.stages) else t.number(value)
    if ind.is_percent:
        return t.percent(value)
    measure = ind.measure.get(t.lang)
    return f"{t.number(value)}{measure}" if t.lang == "zh" else f"{t.number(value)} {measure}"


def whole(ind: Indicator, value: Decimal | None) -> Decimal | None:
    """A value rounded to whole units where the measure is a count (no 33.3 people); others as they are."""
    if value is None or ind.kind not in (Kind.STOCK, Kind.FLOW):
        return value
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def target_text(ind: Indicator, target: Decimal | None, ms: Milestone | None, t: Translator,
                 baseline_missing: bool = False) -> str:
    """A target with its comparator: 80家以上 / 超过100家 / the stage; a relative one without a baseline as
    基数+5家."""
    if ms is not None and target is None and ms.relative:
        return t("baseline + {value}", value=value_text(ind, ms.value, t))
    if target is None:
        return value_text(ind, None, t)
    text = value_text(ind, target, t)
    if ind.kind is Kind.STAGED or ms is None:
        return text
    return t("more than {value}", value=text) if ms.comparator is Comparator.GT else t("{value} or more", value=text)


def expected_text(p: Progress, t: Translator) -> str:
    """The value expected by now at the time-elapsed pace (whole units for counts), or why it is unknown."""
    if p.expected is None:
        return t("unknown (no baseline)") if p.baseline is None else value_text(p.indicator, None, t)
    return value_text(p.indicator, whole(p.indicator, p.expected), t)


def result_text(ind: Indicator, r: MilestoneResult, t: Translator) -> str:
    """One milestone's result: its date and target, then 达成 / 未达成 with the figure of that date, 无数据 or
    not yet due."""
    target = target_text(ind, r.target, r.milestone, t)
    if r.verdict is None and r.forecast is not None and r.target is not None:
        likely = whole(ind, r.forecast) or r.forecast
        return t("{due}, target {target}: not yet due; at the current pace {forecast} by then, {course}",
                 due=t.date(r.milestone.due), target=target, forecast=value_text(ind, likely, t),
                 course=t(N_("on course")) if r.milestone.comparator.met(likely, r.target)
                 else t(N_("short of the target")))
    if r.verdict is None:
        return t("{due}, target {target}: not yet due", due=t.date(r.milestone.due), target=target)
    label = t(VERDICT_LABELS[r.verdict])
    if r.verdict in (Verdict.ACHIEVED, Verdict.MISSED) or (r.verdict is Verdict.NO_BASELINE and r.actual is not None):
        label = t("{status}, {actual} for {period}", status=label, actual=value_text(ind, r.actual, t),
                  period=r.period.label if r.period else "—")
    return t("{due}, target {target}: {result}", due=t.date(r.milestone.due), target=target, result=label)


def unjudged_text(plan: Plan, progress: Sequence[Progress], t: Translator) -> str | None:
    """How many indicators cannot be judged, why, and how to fix it (None when every one can be)."""
    no_data = sum(p.status is Status.NO_DATA for p in progress)
    no_base = sum(p.status is Status.NO_BASELINE for p in progress)
    if not no_data and not no_base:
        return None
    lines = [t("{n} of {total} indicators cannot be judged:", n=no_data + no_base, total=len(progress))]
    if no_data:
        lines.append("• " + t("{n} without a figure for the period last due: ask “who has not reported” and have "
                              "those units report.", n=no_data))
    if no_base:
        lines.append("• " + t("{n} without a baseline, so their pace is unknown: set `baseline` in the plan file, "
                              "or report the {year} figure.", n=no_base, year=plan.baseline_date.year))
    return "\n".join(lines)


def unit_names(plan: Plan, codes: tuple[str, ...] | list[str], t: Translator) -> str:
    """Unit names joined for a sentence."""
    sep = "、" if t.lang == "zh" else ", "
    return sep.join(plan.unit(c).name.get(t.lang) for c in codes) or "—"


def progress_text(plan: Plan, p: Progress, t: Translator, brief: bool = False) -> str:
    """A short paragraph on one indicator's progress, with the results of the milestones already passed (brief:
    without the responsible units, for lists of many indicators; those who owe a report are still named)."""
    ind = p.indicator
    status = t(STATUS_LABELS[p.status])
    if p.final:
        status = t("final result: {status}", status=status)
    head = STATUS_MARKS[p.status] + " " + t("{name}: {status}", name=ind.name.get(t.lang), status=status)
    lines = [head]
    target = target_text(ind, p.target, p.milestone, t)
    if p.final and p.actual_period is not None:
        lines.append(t("actual {actual} for {period}, target {target} by {due}", actual=value_text(ind, p.actual, t),
                       period=p.actual_period.label, target=target, due=t.date(p.due)))
    elif p.final:
        lines.append(t("actual {actual}, target {target} by {due}", actual=value_text(ind, p.actual, t),
                       target=target, due=t.date(p.due)))
    elif p.status is Status.NO_DATA and p.actual is not None and p.actual_period is not None:
        # the period due is not reported: the figure known is an older period's, and says which
        lines.append(t("last reported {actual} for {period}, expected by now {expected}, target {target} by {due}",
                       actual=value_text(ind, p.actual, t), period=p.actual_period.label,
                       expected=expected_text(p, t), target=target, due=t.date(p.due)))
    else:
        lines.append(t("actual {actual}, expected by now {expected}, target {target} by {due}",
                       actual=value_text(ind, p.actual, t), expected=expected_text(p, t),
                       target=target, due=t.date(p.due)))
    if p.shortfall_pp is not None and p.shortfall_pp > 0 and p.status is not Status.ACHIEVED:
        lines.append(t("{pp} points behind the time-elapsed pace", pp=t.number(p.shortfall_pp, 1)))
    if p.baseline is None and p.status is not Status.ACHIEVED and not p.final:
        lines.append(t("No baseline: set one in the plan file or report the {year} figure.",
                       year=plan.baseline_date.year))
    if p.forecast is not None and p.status.needs_attention and p.target is not None and not p.final:
        lines.append(t("At the current pace: {forecast} by {due} (target {target})",
                       forecast=value_text(ind, whole(ind, p.forecast), t), due=t.date(p.due), target=target))
    shown = p.passed if not p.final else p.passed[:-1]  # the final one is the status itself
    for r in shown:
        lines.append(t("Milestone {result}", result=result_text(ind, r, t)))
    if not brief:  # the milestones after the current one (its own forecast is said above): where the pace leads
        for r in p.results:
            if r.verdict is None and r.forecast is not None and r.milestone != p.milestone:
                lines.append(t("Milestone {result}", result=result_text(ind, r, t)))
    lines.append(t("Lead units: {units}", units=unit_names(plan, ind.lead_units, t)))
    if ind.reporting_units and not brief:
        lines.append(t("Responsible units: {units}", units=unit_names(plan, ind.reporting_units, t)))
    if p.missing_units and p.last_due_period is not None:
        lines.append(t("Not yet reported for {period}: {units}", period=p.last_due_period.label,
                       units=unit_names(plan, p.missing_units, t)))
    return "\n".join(lines)


def result_dict(r: MilestoneResult) -> dict[str, Any]:
    """A milestone's result for JSON (verdict null while its date has not passed)."""
    return {"due": r.milestone.due.isoformat(), "comparator": r.milestone.comparator.value,
            "target": num(r.target), "verdict": r.verdict.value if r.verdict else None,
            "actual": num(r.actual), "period": r.period.label if r.period else None, "forecast": num(r.forecast)}


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
        "comparator": p.milestone.comparator.value if p.milestone else None, "final": p.final,
        "milestones": [result_dict(r) for r in p.results],
    }
