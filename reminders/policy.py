"""What reminders fall due in a time window: report reminders, escalations, milestone warnings, digests. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from bot.domain.owed import owed
from bot.domain.pace import Status
from bot.domain.period import Period, periods_between
from bot.domain.plan import Cadence, Indicator, Plan
from bot.domain.schedule import Policy, at, local
from reminders.calendar import add_workdays, is_workday, workday_on_or_after

KINDS = ("before_due", "due_today", "overdue", "escalate_unit_leader", "escalate_lead", "milestone", "digest")
AUDIENCES = ("contacts", "unit_leader", "lead_and_admins", "lead_units", "leaders")
WARN_STATUSES = frozenset({Status.BEHIND, Status.LAGGING})
_Due = tuple[Period, date, date, date]


@dataclass(frozen=True)
class Reminder:
    """One reminder to send at an instant to an audience; `key` (without the recipient) makes it idempotent."""

    kind: str
    key: str
    send_at: datetime
    audience: str  # contacts | unit_leader | lead_and_admins | lead_units | leaders
    unit: str | None = None
    period: Period | None = None
    due: date | None = None  # the report's due date, or the milestone date
    indicators: tuple[str, ...] = ()  # indicator codes concerned, in plan order
    lead_units: tuple[str, ...] = ()  # for escalate_lead / milestone: the lead units of those indicators
    days: int | None = None  # working days before/after due, or calendar days before the milestone
    answered_by: str | None = None  # a successor whose people report `unit`'s figures for this period

    @property
    def to_unit(self) -> str | None:
        """The unit whose contacts and leaders a report reminder goes to."""
        return self.answered_by or self.unit


@lru_cache(maxsize=1024)
def _dues(policy: Policy, cadence: Cadence, due_days: int, first: date, last: date) -> tuple[_Due, ...]:
    """Each period of a cadence from first to last, its due date, and the first and last day a step can fall on."""
    out = []
    after = max(policy.overdue_workdays, policy.escalate_unit_leader_after, policy.escalate_lead_after)
    for p in periods_between(cadence, first, last):
        eff = workday_on_or_after(due := p.due(due_days))
        out.append((p, due, add_workdays(eff, -max(policy.before_workdays, default=0)), add_workdays(eff, after)))
    return tuple(out)


def _steps(policy: Policy, unit: str, period: Period, due: date, inds: tuple[Indicator, ...],
           tag: str, answered_by: str | None = None) -> Iterator[Reminder]:
    """Every report reminder for one unit, period and due date; steps after the due count from its working day."""
    eff = workday_on_or_after(due)  # a due date on a holiday falls due on the next working day
    codes = tuple(i.code for i in inds)

    def make(kind: str, day: date, audience: str, days: int, step: str = "", lead: tuple[str, ...] = ()) -> Reminder:
        return Reminder(kind, f"{kind}:{unit}:{tag}{step}", at(day, policy.send_time), audience, unit, period, due,
                        codes, lead, days, answered_by)

    for n in policy.before_workdays:
        yield make("before_due", add_workdays(eff, -n), "contacts", n, f":{n}")
    if policy.on_due_day:
        yield make("due_today", eff, "contacts", 0)
    for k in range(1, policy.overdue_workdays + 1):
        yield make("overdue", add_workdays(eff, k), "contacts", k, f":{k}")
    n = policy.escalate_unit_leader_after
    yield make("escalate_unit_leader", add_workdays(eff, n), "unit_leader", n)
    n = policy.escalate_lead_after
    leads = tuple(dict.fromkeys(u for i in inds for u in i.lead_units))
    yield make("escalate_lead", add_workdays(eff, n), "lead_and_admins", n, lead=leads)


def report_reminders(plan: Plan, policy: Policy, reported: AbstractSet[tuple[str, str, str]],
                     start: datetime, end: datetime) -> list[Reminder]:
    """Report reminders sent in (start, end] for what each unit owes and has not reported: (code, unit, period)."""
    lo, hi = local(start), local(end)
    if hi <= lo:
        return []
    live: dict[str, list[tuple[Period, date]]] = {}  # indicator code -> its periods with a step possibly in window
    for ind in plan.indicators:
        dues = _dues(policy, ind.schedule.cadence, ind.schedule.due_days, plan.start, plan.end)
        live[ind.code] = [(p, d) for p, d, first, last in dues if last >= lo.date() and first <= hi.date()]
    out: list[Reminder] = []
    for unit in (u.code for u in plan.units):
        mine = owed(plan, unit)
        due_days: dict[Cadence, set[int]] = {}
        for ind in mine:
            due_days.setdefault(ind.schedule.cadence, set()).add(ind.schedule.due_days)
        groups: dict[tuple[Period, date], list[Indicator]] = {}
        for ind in mine:
            for p, d in live[ind.code]:
                if (ind.code, unit, p.label) not in reported:
                    groups.setdefault((p, d), []).append(ind)
        for (p, d), inds in groups.items():
            # two due dates for one period label (different due_days): the key names the due date too
            tag = p.label if len(due_days[p.kind]) == 1 else f"{p.label}@{d.isoformat()}"
            # after a merger the successor's people report the unit's figures (saved under the unit's own code)
            by = plan.answered_by(unit, p.start)
            out.extend(r for r in _steps(policy, unit, p, d, tuple(inds), tag, by if by != unit else None)
                       if lo < r.send_at <= hi)
    return sorted(out, key=_order)


def milestone_warnings(plan: Plan, policy: Policy, statuses: Mapping[str, Status],
                       start: datetime, end: datetime) -> list[Reminder]:
    """Warnings to the lead units, sent in (start, end], that a behind or lagging indicator has a milestone ahead."""
    lo, hi = local(start), local(end)
    out: list[Reminder] = []
    for ind in plan.indicators:
        if statuses.get(ind.code) not in WARN_STATUSES:
            continue
        for ms in ind.milestones:
            for n in policy.milestone_days:
                day = workday_on_or_after(ms.due - timedelta(days=n))
                send_at = at(day, policy.send_time)
                if day <= ms.due and lo < send_at <= hi:  # never a warning after the milestone date itself
                    out.append(Reminder("milestone", f"milestone:{ind.code}:{ms.due.isoformat()}:{n}", send_at,
                                        "lead_units", due=ms.due, indicators=(ind.code,),
                                        lead_units=ind.lead_units, days=n))
    return sorted(out, key=_order)


def digest_day(d: date) -> date:
    """The day the digest of d's week goes out: the first working day from d (a week of holidays: the next week's,
    which then has one digest; see digests)."""
    for k in range(31):
        if is_workday(day := d + timedelta(days=k)):
            return day
    return d


def plan_over(plan: Plan, policy: Policy) -> date:
    """The last day a reminder of the plan can fall on: the last escalation for its final reports. Nothing is sent
    after it (no report is owed for a period after the plan)."""
    return max((_dues(policy, i.schedule.cadence, i.schedule.due_days, plan.start, plan.end)[-1][3]
                for i in plan.indicators), default=plan.end)


def digests(policy: Policy, start: datetime, end: datetime, until: date | None = None) -> list[Reminder]:
    """The weekly digest for leaders, one per week, sent in (start, end] and not after until (the plan's last
    reminder day); key digest:{iso_year}-W{iso_week}."""
    lo, hi = local(start), local(end)
    if until is not None and hi.date() > until:
        hi = at(until, time(23, 59))
    d = lo.date() - timedelta(days=7)
    d += timedelta(days=(policy.digest_weekday - d.weekday()) % 7)
    out: list[Reminder] = []
    while d <= hi.date():
        send_at = at(digest_day(d), policy.send_time)
        if lo < send_at <= hi:
            y, w, _ = send_at.date().isocalendar()  # one digest per ISO week it is sent in
            if not out or out[-1].send_at != send_at:
                out.append(Reminder("digest", f"digest:{y}-W{w:02d}", send_at, "leaders"))
        d += timedelta(days=7)
    return out


def due_between(plan: Plan, policy: Policy, reported: AbstractSet[tuple[str, str, str]],
                statuses: Mapping[str, Status], start: datetime, end: datetime) -> list[Reminder]:
    """Every reminder sent in (start, end] (start exclusive, end inclusive), by send_at then key."""
    return sorted(
        [*report_reminders(plan, policy, reported, start, end), *milestone_warnings(plan, policy, statuses, start, end),
         *digests(policy, start, end, plan_over(plan, policy))],
        key=_order,
    )


def _order(r: Reminder) -> tuple[datetime, str]:
    return r.send_at, r.key
