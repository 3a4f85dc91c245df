"""The words of reminders, escalations, milestone warnings and digests, in the recipient's language."""

from __future__ import annotations

from datetime import date

from bot.domain.pace import Progress, Status
from bot.domain.plan import Plan
from bot.messages import Button
from bot.render.text import STATUS_LABELS, expected_text, target_text, unit_names, value_text
from i18n import Translator
from reminders.calendar import is_workday
from reminders.policy import Reminder

DIGEST_LINES = 8
ITEMS_MAX = 1500  # characters of indicator names in one reminder: it stays one message on every channel's limits


def workdays_between(start: date, end: date) -> int:
    """Working days after start up to and including end (negative when end is earlier)."""
    if end < start:
        return -workdays_between(end, start)
    return sum(1 for n in range(1, (end - start).days + 1) if is_workday(date.fromordinal(start.toordinal() + n)))


def _indicators(plan: Plan, codes: tuple[str, ...], t: Translator, most: int = ITEMS_MAX) -> str:
    """The indicators' names, as many as fit in `most` characters, then how many more (立即填报 lists them all)."""
    sep = "、" if t.lang == "zh" else "; "
    names = [plan.indicator(c).name.get(t.lang) for c in codes]
    shown: list[str] = []
    for name in names:
        if shown and len(sep.join([*shown, name])) > most:
            break
        shown.append(name)
    rest = len(names) - len(shown)
    return sep.join(shown) + (sep + t("and {n} more", n=rest) if rest else "")


def report_button(t: Translator) -> list[Button]:
    """The button under a reminder that opens the report flow (valid whatever step the person is at)."""
    return [Button(t("Report now"), "0|report|")]


def reminder_text(plan: Plan, r: Reminder, today: date, t: Translator) -> str:
    """The message for a report reminder or an escalation; to a successor, it says whose figures these are."""
    text = _reminder_text(plan, r, today, t)
    if r.answered_by and r.unit:
        was = plan.unit(r.unit)
        text += " " + t("Since {day}, {successor} reports for {unit}.", day=t.date(was.succeeded_from),
                        successor=plan.unit(r.answered_by).name.get(t.lang), unit=was.name.get(t.lang))
    return text


def _reminder_text(plan: Plan, r: Reminder, today: date, t: Translator) -> str:
    unit = plan.unit(r.unit).name.get(t.lang) if r.unit else ""
    period = r.period.label if r.period else ""
    items = _indicators(plan, r.indicators, t)
    due = t.date(r.due)
    left = workdays_between(today, r.due) if r.due else 0
    if r.kind == "before_due":
        return t("Reminder: {unit}'s figures for {period} are due on {due} ({n} working days left). "
                 "Not yet reported: {items}.", unit=unit, period=period, due=due, n=left, items=items)
    if r.kind == "due_today":
        return t("Today ({due}) is the deadline for {unit}'s figures for {period}. Not yet reported: {items}.",
                 unit=unit, period=period, due=due, items=items)
    if r.kind == "overdue":
        return t("Overdue: {unit}'s figures for {period} were due on {due} ({n} working days ago). "
                 "Please report as soon as possible: {items}.", unit=unit, period=period, due=due, n=-left,
                 items=items)
    if r.kind == "escalate_unit_leader":
        return t("Supervision notice: {unit} has not reported its figures for {period}, due on {due} "
                 "({n} working days ago): {items}. Please see that your unit's contact reports them.",
                 unit=unit, period=period, due=due, n=-left, items=items)
    return t("Supervision notice: {unit} has not reported its figures for {period}, due on {due} "
             "({n} working days ago): {items}. Lead units: {lead}.", unit=unit, period=period, due=due,
             n=-left, items=items, lead=unit_names(plan, r.lead_units, t))


def milestone_text(plan: Plan, r: Reminder, p: Progress, t: Translator) -> str:
    """A warning to lead units that a milestone is near and the indicator is behind its pace."""
    ind = p.indicator
    return t("Milestone warning: {indicator} must reach {target} by {due} ({n} days left). It is {status}: "
             "actual {actual}, expected by now {expected}, {pp} points behind the time-elapsed pace.",
             indicator=ind.name.get(t.lang), target=target_text(ind, p.target, p.milestone, t), due=t.date(r.due),
             n=r.days, status=t(STATUS_LABELS[p.status]), actual=value_text(ind, p.actual, t),
             expected=expected_text(p, t), pp=t.number(p.shortfall_pp, 1))


def digest_text(plan: Plan, progress: list[Progress], overdue_units: int, today: date, t: Translator) -> str:
    """The weekly digest for leaders: lagging targets, worst first, and how many units are overdue."""
    attention = [p for p in progress if p.status.needs_attention]
    lines = [t("Weekly digest, {date}: {n} of {total} targets need attention; {units} units have overdue reports.",
               date=t.date(today), n=len(attention), total=len(progress), units=overdue_units)]
    for p in attention[:DIGEST_LINES]:
        status = t(STATUS_LABELS[p.status])
        if p.shortfall_pp is not None and p.shortfall_pp > 0:
            status = t("{status}, {pp} points behind", status=status, pp=t.number(p.shortfall_pp, 1))
        lines.append("• " + t("{name}: {status}", name=p.indicator.name.get(t.lang), status=status))
    if len(attention) > DIGEST_LINES:  # the count above and the list agree: say how many are not listed
        lines.append("• " + t("and {n} more", n=len(attention) - DIGEST_LINES))
    if not attention or all(p.status is Status.NO_DATA for p in attention):
        lines.append(t("Ask “which targets are lagging” for the details."))
    return "\n".join(lines)
