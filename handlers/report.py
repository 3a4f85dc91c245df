"""Reporting figures in chat, step by step: pick an indicator, type its figure, confirm it (or give the reason for a
correction), then the next one still owed. Sentences that carry a figure are read in handlers/report_sentence.py."""

from __future__ import annotations

from decimal import Decimal

from bot.domain.owed import reports_of
from bot.domain.period import Period, parse_period, period_of, reporting_period
from bot.domain.plan import Indicator, Kind, Unit
from bot.errors import UserError
from bot.messages import Button, Reply
from bot.render.text import value_text
from bot.services.entry import (
    find_unit_in,
    lookup_unit,
)
from bot.services.figures import Entry, note_text, reason_text, save, saved_value
from handlers.context import Ctx, text_reply
from handlers.states import State


def reported(ctx: Ctx, unit: str, ind: str, period: str) -> Decimal | None:
    """The figure a unit has saved for an indicator and period, if any."""
    return saved_value(ctx.s, ctx.plan_row, unit, ind, period)


def unit_for(ctx: Ctx, query: str = "") -> Unit:
    """The unit this person reports for: their own; admins may name any unit; a contact may not name another."""
    mine = ctx.roles.contact_units
    if query:
        unit = lookup_unit(ctx.plan, query)
        if unit.code not in mine and not ctx.roles.admin:
            raise UserError("You can only report for your own unit ({unit}).",
                            unit=", ".join(ctx.plan.unit(u).name.get(ctx.t.lang) for u in mine))
        return unit
    if mine:
        return ctx.plan.unit(mine[0])
    if ctx.roles.admin:
        raise UserError("Name the unit you are reporting for, e.g. /report Shuangtaizi.")
    ctx.need(contact=True)
    raise AssertionError("unreachable")


def period_for(ind: Indicator, ctx: Ctx) -> Period:
    """The period asked for today; once the plan is over, its last period (the final figures are still due)."""
    if ctx.today > ctx.plan.end:
        return period_of(ind.schedule.cadence, ctx.plan.end)
    return reporting_period(ind.schedule.cadence, ctx.today)


def _what(ind: Indicator, ctx: Ctx) -> str:
    t = ctx.t
    if ind.kind is Kind.FLOW:
        return t("the number added in the period, in {measure}", measure=ind.measure.get(t.lang))
    if ind.is_percent:
        return t("a percentage, e.g. 2.5%")
    if ind.kind is Kind.STAGED:
        return t("the stage reached")
    return t("the total at the end of the period, in {measure}", measure=ind.measure.get(t.lang))


def start(ctx: Ctx, arg: str = "") -> list[Reply]:
    """"填报" / /report: the indicators my unit owes for the current period, as buttons."""
    try:
        unit = unit_for(ctx, arg)
    except UserError:
        if not (arg and ctx.roles.contact_units and find_unit_in(ctx.plan, arg)[0] is None):
            raise
        unit = unit_for(ctx)  # "我要报数据": words around the request, not a unit
    due = owed_now(ctx, unit.code)
    if not due:
        return [text_reply(ctx.t("{unit} has no indicators to report.", unit=unit.name.get(ctx.t.lang)))]
    ctx.go(State.REPORT_PICK, unit=unit.code)
    rows, todo = [], 0
    for ind, counted in due:
        period = period_for(ind, ctx)
        done = reported(ctx, counted, ind.code, period.label) is not None
        todo += not done
        mark = "✓ " if done else ""
        label = ctx.t("{indicator} ({period})", indicator=ind.name.get(ctx.t.lang), period=period.label)
        rows.append([_pick(ctx, mark + label, ind)])
    rows.append([ctx.button(ctx.t("Cancel"), "cancel")])
    head = ctx.t("{unit}: {todo} of {n} indicators still to report. Choose one:",
                 unit=unit.name.get(ctx.t.lang), todo=todo, n=len(due))
    return [text_reply(head, *rows)]


def owed_now(ctx: Ctx, unit: str) -> list[tuple[Indicator, str]]:
    """What unit's people report for the periods asked today, each with the unit it counts for (after a merger,
    the indicators of the unit it succeeded count for that unit)."""
    return reports_of(ctx.plan, unit, lambda ind: period_for(ind, ctx))


def _pick(ctx: Ctx, label: str, ind: Indicator) -> Button:
    """A button choosing an indicator; its names and aliases may be typed instead."""
    b = ctx.button(label, "pick", ind.code)
    return Button(b.label, b.payload, (ind.name.zh, ind.name.en, *ind.aliases))


def ask_value(ctx: Ctx, unit: str, ind: Indicator, period: Period) -> list[Reply]:
    """Ask for one figure, saying what is wanted and in which measure."""
    t = ctx.t
    ctx.go(State.REPORT_VALUE, unit=unit, ind=ind.code, period=period.label)
    lines = [t("{indicator}, {period}: please send {what}.", indicator=ind.name.get(t.lang),
               period=period.label, what=_what(ind, ctx))]
    saved = reported(ctx, unit, ind.code, period.label)
    if saved is not None:
        lines.append(t("Already saved: {value}. A new value will correct it (you will be asked why).",
                       value=value_text(ind, saved, t)))
    if ind.kind is Kind.STAGED:
        rows = [[Button(s.name.get(t.lang), ctx.button("", "stage", str(i)).payload, (s.code, s.name.zh, s.name.en))]
                for i, s in enumerate(ind.stages)]
        return [text_reply("\n".join(lines), *rows, [ctx.button(t("Cancel"), "cancel")])]
    return [text_reply("\n".join(lines), [ctx.button(t("Cancel"), "cancel")], expects_text=True)]


def ask_indicator(ctx: Ctx, ind: Indicator) -> list[Reply]:
    """An indicator named alone by a contact who reports it: ask for its figure."""
    unit = next(u for u in ctx.roles.contact_units if u in ind.reporter_set)
    return ask_value(ctx, unit, ind, period_for(ind, ctx))


def pick(ctx: Ctx, code: str) -> list[Reply]:
    """An indicator chosen from the list."""
    unit = ctx.data.get("unit")
    if ctx.state not in (State.REPORT_PICK, State.REPORT_NEXT) or not unit:
        return start(ctx)
    ind, counted = next(((i, u) for i, u in owed_now(ctx, unit) if i.code == code), (None, unit))
    if ind is None:  # not one of the indicators offered: a forged button
        raise UserError("That button is not valid.")
    return ask_value(ctx, counted, ind, period_for(ind, ctx))


def stage(ctx: Ctx, arg: str) -> list[Reply]:
    """A stage chosen for a staged indicator."""
    if ctx.state != State.REPORT_VALUE:
        raise UserError("That button is no longer valid. Please start again.")
    ind = ctx.plan.indicator(ctx.data["ind"])
    if ind.kind is not Kind.STAGED or arg not in {str(i) for i in range(len(ind.stages))}:
        raise UserError("That button is not valid.")  # only the stage numbers offered (no 1e3, no abc)
    return confirm(ctx, ctx.data["unit"], ind, parse_period(ctx.data["period"]), Decimal(int(arg)), None)


def confirm(ctx: Ctx, unit: str, ind: Indicator, period: Period, v: Decimal, reason: str | None,
            note: str | None = None, total: Decimal | None = None) -> list[Reply]:
    """Check the figure against the plan's rules, then ask to confirm (or for a reason, when it corrects one)."""
    from bot.services.figures import validate

    unit = ctx.plan.reporting_for(ind, unit, period.start)  # a successor's figure counts for the unit it succeeded
    note = note_text(note)  # on one line, no control or bidi characters, capped: as it will be stored
    entry = Entry(ctx.plan.unit(unit), ind, period, v)
    validate(ctx.plan, entry, ctx.now)
    saved = reported(ctx, unit, ind.code, period.label)
    if saved is not None and saved == v:
        ctx.reset()
        return [text_reply(ctx.t("{period} is already {value}: nothing to correct.", period=period.label,
                                 value=value_text(ind, v, ctx.t)))]
    extra = {k: val for k, val in (("note", note), ("total", None if total is None else str(total))) if val}
    ctx.go(State.REPORT_CONFIRM, unit=unit, ind=ind.code, period=period.label, value=str(v), reason=reason, **extra)
    if saved is not None and not reason:
        ctx.go(State.REPORT_REASON, unit=unit, ind=ind.code, period=period.label, value=str(v), **extra)
        return [text_reply(ctx.t("{period} already has {old}. Why change it to {new}? Please send the reason.",
                                 period=period.label, old=value_text(ind, saved, ctx.t),
                                 new=value_text(ind, v, ctx.t)),
                           [ctx.button(ctx.t("Cancel"), "cancel")], expects_text=True)]
    t = ctx.t
    shown = value_text(ind, v, t)
    if ind.kind is Kind.FLOW:
        shown = t("{value} added this period", value=shown)
    lines = [t("Please confirm: {unit}, {indicator}, {period}: {value}", unit=ctx.plan.unit(unit).name.get(t.lang),
               indicator=ind.name.get(t.lang), period=period.label, value=shown)]
    if total is not None:
        lines.append(t("(a running total of {total}, less {before} reported for the periods before)",
                       total=value_text(ind, total, t), before=value_text(ind, total - v, t)))
    if note:
        lines.append(t("Note: {note}", note=note))
    if saved is not None:
        lines.append(t("Correcting {old}; reason: {reason}", old=value_text(ind, saved, t), reason=reason))
    return [text_reply("\n".join(lines), [ctx.button(t("Confirm"), "confirm"), ctx.button(t("Edit"), "edit"),
                                           ctx.button(t("Cancel"), "cancel")])]


def reason(ctx: Ctx, text: str) -> list[Reply]:
    """The reason for a correction (kept on one line, its length capped)."""
    clean = reason_text(text) or ""
    if len(clean) < 2:
        raise UserError("Please give a reason of a few words.")
    ind = ctx.plan.indicator(ctx.data["ind"])
    d = ctx.data
    return confirm(ctx, d["unit"], ind, parse_period(d["period"]), Decimal(d["value"]), clean,
                   note=d.get("note"), total=Decimal(d["total"]) if d.get("total") else None)


def do_confirm(ctx: Ctx) -> list[Reply]:
    """Save the confirmed figure and offer the next one still owed."""
    if ctx.state != State.REPORT_CONFIRM:
        raise UserError("That button is no longer valid. Please start again.")
    d = ctx.data
    ind, unit = ctx.plan.indicator(d["ind"]), ctx.plan.unit(d["unit"])
    entry = Entry(unit, ind, parse_period(d["period"]), Decimal(d["value"]), d.get("note"), d.get("reason"))
    saved = save(ctx.s, ctx.plan_row, ctx.plan, entry, ctx.who, ctx.inbound.channel, ctx.now)
    ctx.committed = True
    t = ctx.t
    if saved.previous is None:
        text = t("Saved: {indicator}, {period}: {value}.", indicator=ind.name.get(t.lang), period=d["period"],
                 value=value_text(ind, saved.value, t))
    else:
        text = t("Corrected: {indicator}, {period}: {old} → {new}.", indicator=ind.name.get(t.lang),
                 period=d["period"], old=value_text(ind, saved.previous, t), new=value_text(ind, saved.value, t))
    mine = next((u for u in (unit.code, ctx.plan.answered_by(unit.code, entry.period.start))
                 if u in ctx.roles.contact_units), None)  # the person's own unit, if they report for it
    just_saved = (ind.code, unit.code, entry.period.label)
    nxt = next((i for i, counted in owed_now(ctx, mine or unit.code) if _still_owed(ctx, i, counted, just_saved)),
               None)
    if nxt is None or mine is None:
        ctx.reset()
        return [text_reply(text + ("\n" + t("Everything for this period is reported. Thank you!")
                                   if nxt is None else ""))]
    ctx.go(State.REPORT_NEXT, unit=mine)
    question = t("Next: {indicator}?", indicator=nxt.name.get(t.lang))
    return [text_reply(text + "\n" + question,
                       [_pick(ctx, t("Report {indicator}", indicator=nxt.name.get(t.lang)), nxt),
                        ctx.button(t("Done for now"), "cancel")], asks=question)]


def _still_owed(ctx: Ctx, ind: Indicator, unit: str, just_saved: tuple[str, str, str]) -> bool:
    """Whether unit still owes ind for the period asked today; the figure just saved is not asked for again."""
    period = period_for(ind, ctx).label
    return (ind.code, unit, period) != just_saved and reported(ctx, unit, ind.code, period) is None


def edit(ctx: Ctx) -> list[Reply]:
    """Go back and type the figure again."""
    if ctx.state not in (State.REPORT_CONFIRM, State.REPORT_REASON):
        raise UserError("That button is no longer valid. Please start again.")
    d = ctx.data
    return ask_value(ctx, d["unit"], ctx.plan.indicator(d["ind"]), parse_period(d["period"]))
