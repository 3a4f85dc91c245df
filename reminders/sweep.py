"""One sweep of the reminder policy at an instant: what fell due is queued in the outbox, once per recipient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import FigureRevisionRow, FigureRow, IndicatorRow, PlanRow, UnitRow
from bot.db.outbox import REMINDER, Delivery, delivery_for, enqueue, group_copy_key
from bot.db.outbox_models import SchedulerStateRow
from bot.domain.groups import for_reminder, receiving
from bot.domain.pace import Progress
from bot.domain.plan import Plan
from bot.domain.schedule import Policy, local
from bot.services.plans import active_plan
from bot.views import recipients
from bot.views.progress import assess_all, not_reported
from i18n import Translator, translator_for
from reminders import messages
from reminders.calendar import add_workdays
from reminders.policy import Reminder, due_between

BOOKMARK = "reminders"


@dataclass
class SweepResult:
    """What a sweep did: reminders found, messages queued, and reminders too old to send (marked missed)."""

    reminders: int = 0
    queued: int = 0
    missed: int = 0


def reported_by(s: Session, plan_row: PlanRow, now: datetime) -> set[tuple[str, str, str]]:
    """(indicator, unit, period) of every figure first entered on or before now."""
    first = (select(FigureRevisionRow.figure_id, func.min(FigureRevisionRow.entered_at).label("at"))
             .group_by(FigureRevisionRow.figure_id).subquery())
    stmt = (select(IndicatorRow.code, UnitRow.code, FigureRow.period)
            .join(first, first.c.figure_id == FigureRow.id)
            .join(IndicatorRow, FigureRow.indicator_id == IndicatorRow.id)
            .join(UnitRow, FigureRow.unit_id == UnitRow.id)
            .where(IndicatorRow.plan_id == plan_row.id, first.c.at <= now))
    return {(i, u, p) for i, u, p in s.execute(stmt)}


def catch_up_start(now: datetime, workdays: int) -> datetime:
    """The start of the working day `workdays` before now's day: reminders since then are still worth sending."""
    day = add_workdays(now.date(), -workdays)
    return datetime.combine(day, time(0), tzinfo=now.tzinfo)


def sweep(s: Session, now: datetime, *, catch_up_workdays: int = 1, policy: Policy | None = None,
          groups: tuple[tuple[str, str], ...] = ()) -> SweepResult:
    """Queue every reminder that fell due since the last sweep (or the catch-up window); older ones are missed.
    groups: push-only chat groups, (channel, audience), that get a copy of the reminders meant for them."""
    plan_row, plan = active_plan(s)
    policy = policy or Policy.from_mapping(plan.reminders)
    mark = s.get(SchedulerStateRow, BOOKMARK)
    floor = catch_up_start(now, catch_up_workdays)
    last = mark.at if mark else floor
    if last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    result = SweepResult()
    if last >= now:
        return result
    start = max(last, floor)
    reported = reported_by(s, plan_row, now)
    progress = assess_all(s, plan_row, plan, local(now).date())
    statuses = {p.indicator.code: p.status for p in progress}
    if last < floor:
        too_old = due_between(plan, policy, reported, statuses, last, floor)
        result.missed = len(too_old)
        record_missed(s, plan_row, too_old, now, groups)
    window = due_between(plan, policy, reported, statuses, start, now)
    due, superseded = latest_only(window)
    result.missed += superseded
    kept = {id(r) for r in due}
    record_missed(s, plan_row, [r for r in window if id(r) not in kept], now, groups)
    for r in due:
        result.reminders += 1
        result.queued += _queue(s, plan_row, plan, r, progress, now, groups)
    if mark is None:
        s.add(SchedulerStateRow(name=BOOKMARK, at=now))
    else:
        mark.at = now
    s.flush()
    return result


CHAIN = ("before_due", "due_today", "overdue")


def latest_only(reminders: list[Reminder]) -> tuple[list[Reminder], int]:
    """When a catch-up finds several reminders of one unit's report, or several weekly digests, only the latest
    still makes sense to send."""
    latest: dict[tuple[str | None, str], Reminder] = {}
    for r in reminders:
        if r.kind in CHAIN or r.kind == "digest":  # one digest per sweep too: a catch-up may span two weeks
            key = _chain_key(r)
            if key not in latest or r.send_at > latest[key].send_at:
                latest[key] = r
    keep = [r for r in reminders if (r.kind not in CHAIN and r.kind != "digest") or latest[_chain_key(r)] is r]
    return keep, len(reminders) - len(keep)


def _chain_key(r: Reminder) -> tuple[str | None, str]:
    return ("", "digest") if r.kind == "digest" else (r.unit, r.period.label if r.period else "")


def _text(plan: Plan, r: Reminder, progress: list[Progress], now: datetime, t: Translator) -> str:
    if r.kind == "milestone":
        return messages.milestone_text(plan, r, next(p for p in progress if p.indicator.code == r.indicators[0]), t)
    if r.kind == "digest":
        overdue = len({o.unit for o in not_reported(progress)})
        return messages.digest_text(plan, progress, overdue, local(now).date(), t)
    return messages.reminder_text(plan, r, local(now).date(), t)


def _queue(s: Session, plan_row: PlanRow, plan: Plan, r: Reminder, progress: list[Progress], now: datetime,
           groups: tuple[tuple[str, str], ...]) -> int:
    people = recipients.for_audience(s, plan_row, r.audience, r.to_unit, r.lead_units)
    queued = 0
    for person in people:
        to = delivery_for(s, person)
        if to is None:
            continue
        t = translator_for(person.lang)
        reports = r.kind not in ("milestone", "digest") and r.audience == "contacts"
        buttons = messages.report_button(t) if reports else None
        queued += enqueue(s, f"{r.key}:{person.id}", to, r.kind, _text(plan, r, progress, now, t), now,
                          buttons=buttons, priority=REMINDER, not_before=max(now, r.send_at))
    for channel, audience in receiving(groups, for_reminder(r.kind)):  # in the default language, no buttons
        queued += enqueue(s, group_copy_key(r.key, audience), Delivery(None, channel, audience), r.kind,
                          _text(plan, r, progress, now, translator_for(None)), now, priority=REMINDER,
                          not_before=max(now, r.send_at))
    return queued


def record_missed(s: Session, plan_row: PlanRow, reminders: list[Reminder], now: datetime,
                  groups: tuple[tuple[str, str], ...] = ()) -> int:
    """Record reminders that are no longer worth sending as outbox rows with status 'missed', one per recipient
    and group (under the key the reminder would have had, so it is never sent later either); how many rows."""
    recorded = 0
    for r in reminders:
        for channel, audience in receiving(groups, for_reminder(r.kind)):
            recorded += enqueue(s, group_copy_key(r.key, audience), Delivery(None, channel, audience), r.kind, r.key,
                                now, priority=REMINDER, not_before=r.send_at, status="missed")
        for person in recipients.for_audience(s, plan_row, r.audience, r.to_unit, r.lead_units):
            to = delivery_for(s, person)
            if to is not None:
                recorded += enqueue(s, f"{r.key}:{person.id}", to, r.kind, r.key, now, priority=REMINDER,
                                    not_before=r.send_at, status="missed")
    return recorded
