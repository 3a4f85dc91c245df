"""What reminders fall due in a time window: report reminders, escalations, milestone warnings, digests. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from bot.domain.pace import Status
from bot.domain.period import Period, periods_between
from bot.domain.plan import Aggregation, Cadence, Indicator, Plan
from reminders.calendar import QuietHours, add_workdays, at, is_workday, local, workday_on_or_after

KINDS = ("before_due", "due_today", "overdue", "escalate_unit_leader", "escalate_lead", "milestone", "digest")
AUDIENCES = ("contacts", "unit_leader", "lead_and_admins", "lead_units", "leaders")
WARN_STATUSES = frozenset({Status.BEHIND, Status.LAGGING})
_Due = tuple[Period, date, date, date]
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def _time(key: str, v: Any) -> time:
    """A time from "09:00", a time, or an int: YAML 1.1 reads an unquoted 21:00 as 1260 (minutes since midnight)."""
    if isinstance(v, time):
        return v
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 24 * 60:
        return time(v // 60, v % 60)
    if isinstance(v, str) and (m := _CLOCK.match(v.strip())) and int(m[1]) < 24 and int(m[2]) < 60:
        return time(int(m[1]), int(m[2]))
    raise ValueError(f"reminders.{key}: expected a time like \"09:00\", got {v!r}")


def _int(key: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"reminders.{key}: expected a whole number, got {v!r}")
    return v


def _ints(key: str, v: Any) -> tuple[int, ...]:
    if not isinstance(v, list | tuple):
        raise ValueError(f"reminders.{key}: expected a list of whole numbers, got {v!r}")
    return tuple(_int(key, x) for x in v)


def _quiet(v: Any) -> QuietHours:
    if isinstance(v, QuietHours):
        return v
    if not isinstance(v, Mapping):
        raise ValueError(f"reminders.quiet: expected {{start: \"21:00\", end: \"08:00\"}}, got {v!r}")
    for k in v:
        if k not in ("start", "end"):
            raise ValueError(f"reminders.quiet: unknown key {k!r}")
    d = QuietHours()
    return QuietHours(_time("quiet.start", v.get("start", d.start)), _time("quiet.end", v.get("end", d.end)))


@dataclass(frozen=True)
class Policy:
    """When reminders go out: working days before and after a due date, escalations, milestones, the digest."""

    before_workdays: tuple[int, ...] = (7, 3, 1)  # working days before the due date
    on_due_day: bool = True
    overdue_workdays: int = 3  # daily, on each of the first N working days after the due date
    escalate_unit_leader_after: int = 4  # working days after the due date: to the unit's leader contact
    escalate_lead_after: int = 6  # working days after the due date: to the lead unit(s) and the admins
    milestone_days: tuple[int, ...] = (90, 30, 7)  # calendar days before each milestone date
    send_time: time = time(9, 0)
    digest_weekday: int = 0  # Monday
    quiet: QuietHours = field(default_factory=QuietHours)

    def __post_init__(self) -> None:
        for name in ("before_workdays", "milestone_days"):
            days: tuple[int, ...] = getattr(self, name)
            if any(n < 1 for n in days) or len(set(days)) != len(days):
                raise ValueError(f"reminders.{name}: expected distinct numbers of at least 1, got {list(days)}")
        if self.overdue_workdays < 0:
            raise ValueError(f"reminders.overdue_workdays: expected 0 or more, got {self.overdue_workdays}")
        for name in ("escalate_unit_leader_after", "escalate_lead_after"):
            if getattr(self, name) < 1:
                raise ValueError(f"reminders.{name}: expected 1 or more, got {getattr(self, name)}")
        if not 0 <= self.digest_weekday <= 6:
            raise ValueError(f"reminders.digest_weekday: expected 0 (Monday) to 6 (Sunday), got {self.digest_weekday}")
        if self.quiet.contains(at(date(2018, 1, 1), self.send_time)):
            raise ValueError(f"reminders.send_time: {self.send_time:%H:%M} lies in the quiet hours")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Policy:
        """The policy from a plan file's optional `reminders:` section; ValueError names a key that is wrong."""
        if not data:
            return cls()
        names = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {}
        for key, v in data.items():
            if key not in names:
                raise ValueError(f"reminders: unknown key {key!r}")
            if key in ("before_workdays", "milestone_days"):
                kw[key] = _ints(key, v)
            elif key == "on_due_day":
                if not isinstance(v, bool):
                    raise ValueError(f"reminders.on_due_day: expected true or false, got {v!r}")
                kw[key] = v
            elif key == "send_time":
                kw[key] = _time(key, v)
            elif key == "quiet":
                kw[key] = _quiet(v)
            else:
                kw[key] = _int(key, v)
        return cls(**kw)


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


def owed(plan: Plan, unit: str) -> list[Indicator]:
    """The indicators unit must report: as a reporting unit of a summed one, or as first lead of a lead-only one."""
    return [
        i for i in plan.indicators
        if (i.aggregation is Aggregation.SUM and unit in i.reporting_set)
        or (i.aggregation is Aggregation.LEAD and i.lead_units[:1] == (unit,))
    ]


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
           tag: str) -> Iterator[Reminder]:
    """Every report reminder for one unit, period and due date; steps after the due count from its working day."""
    eff = workday_on_or_after(due)  # a due date on a holiday falls due on the next working day
    codes = tuple(i.code for i in inds)

    def make(kind: str, day: date, audience: str, days: int, step: str = "", lead: tuple[str, ...] = ()) -> Reminder:
        return Reminder(kind, f"{kind}:{unit}:{tag}{step}", at(day, policy.send_time), audience, unit, period, due,
                        codes, lead, days)

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
            out.extend(r for r in _steps(policy, unit, p, d, tuple(inds), tag) if lo < r.send_at <= hi)
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
    """The day the digest of d's week goes out: the first working day within 7 days from d, else d itself."""
    for k in range(7):
        if is_workday(day := d + timedelta(days=k)):
            return day
    return d


def digests(policy: Policy, start: datetime, end: datetime) -> list[Reminder]:
    """The weekly digest for leaders, one per week, sent in (start, end]; key digest:{iso_year}-W{iso_week}."""
    lo, hi = local(start), local(end)
    d = lo.date() - timedelta(days=7)
    d += timedelta(days=(policy.digest_weekday - d.weekday()) % 7)
    out: list[Reminder] = []
    while d <= hi.date():
        send_at = at(digest_day(d), policy.send_time)
        if lo < send_at <= hi:
            y, w, _ = d.isocalendar()
            out.append(Reminder("digest", f"digest:{y}-W{w:02d}", send_at, "leaders"))
        d += timedelta(days=7)
    return out


def due_between(plan: Plan, policy: Policy, reported: AbstractSet[tuple[str, str, str]],
                statuses: Mapping[str, Status], start: datetime, end: datetime) -> list[Reminder]:
    """Every reminder sent in (start, end] (start exclusive, end inclusive), by send_at then key."""
    return sorted(
        [*report_reminders(plan, policy, reported, start, end), *milestone_warnings(plan, policy, statuses, start, end),
         *digests(policy, start, end)],
        key=_order,
    )


def _order(r: Reminder) -> tuple[datetime, str]:
    return r.send_at, r.key
