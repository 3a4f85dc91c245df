"""Reporting figures in chat: guided (pick, type, confirm), one-shot sentences, and corrections with a reason."""

from __future__ import annotations

import re
from decimal import Decimal

from bot.domain.digits import odd_digit
from bot.domain.figures import FigureError, ParsedFigure, find_figure
from bot.domain.owed import owed
from bot.domain.period import Period, parse_period, period_of, reporting_period, year
from bot.domain.period_words import PeriodWordError, Said, find_said, fit
from bot.domain.plan import Indicator, Kind, Unit
from bot.domain.rules import MAX_DECIMALS
from bot.domain.sentence import approximation, says_cumulative, says_fall, split_note
from bot.errors import UserError, Word
from bot.messages import Button, Reply
from bot.render.text import value_text
from bot.services.entry import (
    FIGURE_MESSAGES,
    figure_for,
    find_unit_in,
    guess_indicators,
    lookup_unit,
    match_indicator,
    read_value,
)
from bot.services.figures import Entry, added_before, note_text, reason_text, save, saved_value
from handlers.context import Ctx, text_reply
from handlers.states import State
from i18n import N_


def reported(ctx: Ctx, unit: str, ind: str, period: str) -> Decimal | None:
    """The figure a unit has saved for an indicator and period, if any."""
    return saved_value(ctx.s, ctx.plan_row, unit, ind, period)


def _unit_for(ctx: Ctx, query: str = "") -> Unit:
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


def _period(ind: Indicator, ctx: Ctx) -> Period:
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
        unit = _unit_for(ctx, arg)
    except UserError:
        if not (arg and ctx.roles.contact_units and find_unit_in(ctx.plan, arg)[0] is None):
            raise
        unit = _unit_for(ctx)  # "我要报数据": words around the request, not a unit
    due = owed(ctx.plan, unit.code)
    if not due:
        return [text_reply(ctx.t("{unit} has no indicators to report.", unit=unit.name.get(ctx.t.lang)))]
    ctx.go(State.REPORT_PICK, unit=unit.code)
    rows, todo = [], 0
    for ind in due:
        period = _period(ind, ctx)
        done = reported(ctx, unit.code, ind.code, period.label) is not None
        todo += not done
        mark = "✓ " if done else ""
        label = ctx.t("{indicator} ({period})", indicator=ind.name.get(ctx.t.lang), period=period.label)
        rows.append([_pick(ctx, mark + label, ind)])
    rows.append([ctx.button(ctx.t("Cancel"), "cancel")])
    head = ctx.t("{unit}: {todo} of {n} indicators still to report. Choose one:",
                 unit=unit.name.get(ctx.t.lang), todo=todo, n=len(due))
    return [text_reply(head, *rows)]


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
    return ask_value(ctx, unit, ind, _period(ind, ctx))


def pick(ctx: Ctx, code: str) -> list[Reply]:
    """An indicator chosen from the list."""
    unit = ctx.data.get("unit")
    if ctx.state not in (State.REPORT_PICK, State.REPORT_NEXT) or not unit:
        return start(ctx)
    ind = next((i for i in owed(ctx.plan, unit) if i.code == code), None)
    if ind is None:  # not one of the indicators offered: a forged button
        raise UserError("That button is not valid.")
    return ask_value(ctx, unit, ind, _period(ind, ctx))


def value(ctx: Ctx, text: str) -> list[Reply]:
    """The figure typed for the indicator asked about."""
    ind = ctx.plan.indicator(ctx.data["ind"])
    body, note = split_note(text)
    _refuse_approximation(ind, body)
    try:
        v = read_value(ind, body)
    except UserError:
        named = _named_value(ctx, ind, body)
        if named is None:
            raise
        v = named
    return confirm(ctx, ctx.data["unit"], ind, parse_period(ctx.data["period"]), v, ctx.data.get("reason"), note=note)


def _named_value(ctx: Ctx, ind: Indicator, text: str) -> Decimal | None:
    """The figure of a sentence naming the indicator asked about (高企 12家 at 高企's prompt), else None."""
    if ind.kind is Kind.STAGED:
        return None
    try:
        parsed, rest = find_figure(text, allow_negative=True)
    except FigureError:
        return None
    if match_indicator(ctx.plan, rest) is not ind:
        return None
    return figure_for(ind, _signed(ind, parsed, text), text)


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
    t = ctx.t
    if saved.previous is None:
        text = t("Saved: {indicator}, {period}: {value}.", indicator=ind.name.get(t.lang), period=d["period"],
                 value=value_text(ind, saved.value, t))
    else:
        text = t("Corrected: {indicator}, {period}: {old} → {new}.", indicator=ind.name.get(t.lang),
                 period=d["period"], old=value_text(ind, saved.previous, t), new=value_text(ind, saved.value, t))
    nxt = next((i for i in owed(ctx.plan, unit.code)
                if reported(ctx, unit.code, i.code, _period(i, ctx).label) is None), None)
    if nxt is None or unit.code not in ctx.roles.contact_units:
        ctx.reset()
        return [text_reply(text + ("\n" + t("Everything for this period is reported. Thank you!")
                                   if nxt is None else ""))]
    ctx.go(State.REPORT_NEXT, unit=unit.code)
    return [text_reply(text + "\n" + t("Next: {indicator}?", indicator=nxt.name.get(t.lang)),
                       [_pick(ctx, t("Report {indicator}", indicator=nxt.name.get(t.lang)), nxt),
                        ctx.button(t("Done for now"), "cancel")])]


def edit(ctx: Ctx) -> list[Reply]:
    """Go back and type the figure again."""
    if ctx.state not in (State.REPORT_CONFIRM, State.REPORT_REASON):
        raise UserError("That button is no longer valid. Please start again.")
    d = ctx.data
    return ask_value(ctx, d["unit"], ctx.plan.indicator(d["ind"]), parse_period(d["period"]))


def mentions_indicator(ctx: Ctx, text: str) -> bool:
    """Whether any indicator's name or alias appears in text."""
    low = text.lower()
    return any(len(n) >= 2 and n.lower() in low for i in ctx.plan.indicators for n in (i.name.zh, *i.aliases))


def is_report_of_another(ctx: Ctx, text: str, any_indicator: bool = False) -> bool:
    """Whether text is a figure for an indicator it names (other than the one being asked about, unless
    any_indicator): a new report, not an answer to the question in progress."""
    body, _ = split_note(text)
    _, rest_text = find_said(body, ctx.today)
    try:
        _, rest = find_figure(rest_text, allow_negative=True)
    except FigureError:
        return False
    ind = match_indicator(ctx.plan, rest) if rest else None
    return ind is not None and (any_indicator or ind.code != ctx.data.get("ind"))


def _refuse_approximation(ind: Indicator, text: str) -> None:
    if ind.kind is not Kind.STAGED and (approx := approximation(text)):
        raise UserError("“{text}” is an approximate figure. Please send the exact figure for {indicator}.",
                        text=approx, indicator=ind.name)


def _unit_in_sentence(ctx: Ctx, named: Unit | None) -> Unit:
    """The unit a sentence reports for: the one it names (an admin may name any; a contact only their own), the
    one chosen with /report UNIT, else the person's own."""
    if named is None:
        chosen = ctx.data.get("unit") if ctx.state in (State.REPORT_PICK, State.REPORT_NEXT) else None
        return ctx.plan.unit(chosen) if chosen else _unit_for(ctx)
    mine = ctx.roles.contact_units
    if ctx.roles.admin or named.code in mine:
        return named
    ctx.need(contact=True)
    raise UserError("You are the contact of {mine}, so you cannot report for {unit}.",
                    mine=", ".join(ctx.plan.unit(u).name.get(ctx.t.lang) for u in mine),
                    unit=named.name)


def _period_said(ctx: Ctx, ind: Indicator, said: Said | None) -> Period:
    """The indicator's period for the period words of a sentence (the current one when none)."""
    if said is None:
        return _period(ind, ctx)
    if said.end == ctx.plan.baseline_date and said.start.year == said.end.year and ind.kind is not Kind.FLOW:
        return year(said.end.year)  # the baseline, reported for the year before the plan
    try:
        return fit(said, ind.schedule.cadence, ind.kind is not Kind.FLOW)
    except PeriodWordError:
        raise UserError("{indicator} is reported {cadence}; “{said}” is not one of its periods. Please name one, "
                        "e.g. {example}.", indicator=ind.name, cadence=CADENCE_WORDS[ind.schedule.cadence.value],
                        said=said.text, example=_period(ind, ctx).label) from None


_DASH = re.compile(r"[\u4e00-\u9fff）)】][-—–]\s*[0-9]")
CADENCE_WORDS = {"monthly": Word(N_("monthly")), "quarterly": Word(N_("quarterly")), "yearly": Word(N_("yearly"))}


def one_shot(ctx: Ctx, text: str, forced: Indicator | None = None) -> list[Reply] | None:
    """A sentence like "高新技术企业 12家" (with a unit, a period, a note, a sign or a running total in it): the
    figure it gives, to be confirmed. None if it is not one."""
    if odd_digit(text) is not None:  # ①② or ²: read by nobody as a figure (NFKC would make them digits)
        if not (forced or mentions_indicator(ctx, text)):
            return None
        raise UserError(FIGURE_MESSAGES["not_a_number"], text=text, n=MAX_DECIMALS)
    body, note = split_note(text)
    named, body = find_unit_in(ctx.plan, body)
    said, rest_text = find_said(body, ctx.today)
    try:
        parsed, rest = find_figure(rest_text, allow_negative=True)
    except FigureError as e:
        if e.reason == "no_number" or not (forced or mentions_indicator(ctx, rest_text)):
            approx = approximation(body)
            if approx and (forced or mentions_indicator(ctx, rest_text)):
                raise UserError("“{text}” is an approximate figure. Please send the exact figure for {indicator}.",
                                text=approx, indicator=forced.name if forced else rest_text) from None
            return None
        raise UserError(FIGURE_MESSAGES.get(e.reason, FIGURE_MESSAGES["not_a_number"]), text=text,
                        n=MAX_DECIMALS) from None
    ind = forced or match_indicator(ctx.plan, rest) or match_indicator(ctx.plan, rest_text)
    if ind is None:
        if not rest:
            return None
        guesses = guess_indicators(ctx.plan, rest)
        if guesses:
            ctx.need(contact=True, admin=True)
            return _ask_guess(ctx, text, guesses)
        raise UserError("I could not tell which indicator “{text}” is about. Try its name, e.g. high-tech "
                        "enterprises 12.",
                        text=text)
    ctx.need(contact=True, admin=True)
    unit = _unit_in_sentence(ctx, named)
    if unit.code not in ind.reporter_set:
        raise UserError("{unit} does not report “{indicator}”.", unit=unit.name.get(ctx.t.lang),
                        indicator=ind.name.get(ctx.t.lang))
    _refuse_approximation(ind, body)
    parsed = _signed(ind, parsed, rest_text)
    v = figure_for(ind, parsed, text)
    period = _period_said(ctx, ind, said)
    total = None
    if ind.kind is Kind.FLOW and says_cumulative(rest_text):
        total = v
        before = added_before(ctx.s, ctx.plan_row, unit.code, ind.code, ctx.plan.start, period.start)
        v = total - before
        if v < 0:
            raise UserError("The running total {total} is less than the {before} already reported before {period}.",
                            total=value_text(ind, total, ctx.t), before=value_text(ind, before, ctx.t),
                            period=period.label)
    return confirm(ctx, unit.code, ind, period, v, None, note=note, total=total)


def _signed(ind: Indicator, parsed: ParsedFigure, words: str) -> ParsedFigure:
    """The figure with the sign its words give (下降2.5% is -2.5%); a fall is only a figure for growth rates."""
    if says_fall(words):
        if ind.kind is not Kind.GROWTH:
            raise UserError("Please send the figure of {indicator} itself, not by how much it fell.",
                            indicator=ind.name)
        return ParsedFigure(-abs(parsed.value), parsed.percent, parsed.points, parsed.measure, parsed.text)
    if parsed.value < 0 and ind.kind is not Kind.GROWTH:
        if _DASH.search(words):  # 高企-12家: a dash between the name and the figure, not a minus sign
            return ParsedFigure(-parsed.value, parsed.percent, parsed.points, parsed.measure, parsed.text)
        raise UserError("The value cannot be negative here: “{text}”.", text=parsed.text)
    return parsed


def _ask_guess(ctx: Ctx, text: str, guesses: list[Indicator]) -> list[Reply]:
    """A name not quite matched: "did you mean ...?" with the candidates as buttons."""
    t = ctx.t
    ctx.go(State.REPORT_GUESS, text=text)
    rows = [[Button(i.name.get(t.lang), ctx.button("", "guess", i.code).payload, (i.name.zh, i.name.en, *i.aliases))]
            for i in guesses]
    head = (t("Did you mean {indicator}?", indicator=guesses[0].name.get(t.lang)) if len(guesses) == 1
            else t("Which indicator did you mean?"))
    if len(guesses) == 1:
        rows = [[Button(t("Yes: {indicator}", indicator=guesses[0].name.get(t.lang)), rows[0][0].payload,
                        rows[0][0].words)]]
    return [text_reply(head, *rows, [ctx.button(t("No, cancel"), "cancel")])]


def guessed(ctx: Ctx, code: str) -> list[Reply]:
    """The indicator meant, chosen after a near-miss: the sentence read again with it."""
    if ctx.state != State.REPORT_GUESS or code not in {i.code for i in ctx.plan.indicators}:
        raise UserError("That button is no longer valid. Please start again.")
    text = ctx.data["text"]
    ctx.reset()
    return one_shot(ctx, text, forced=ctx.plan.indicator(code)) or []


def correct(ctx: Ctx, arg: str) -> list[Reply]:
    """"更正 …" / /correct: correct with the value in the message, or pick what to correct."""
    if arg:
        replies = one_shot(ctx, arg)
        if replies is not None:
            return replies
        ind = match_indicator(ctx.plan, arg)
        if ind is not None:
            unit = _unit_for(ctx)
            return ask_value(ctx, unit.code, ind, _period(ind, ctx))
    unit = _unit_for(ctx)
    rows: list[list[Button]] = []
    for ind in owed(ctx.plan, unit.code):
        period = _period(ind, ctx)
        saved = reported(ctx, unit.code, ind.code, period.label)
        if saved is not None:
            label = ctx.t("{indicator} ({period}): {value}", indicator=ind.name.get(ctx.t.lang),
                          period=period.label, value=value_text(ind, saved, ctx.t))
            rows.append([ctx.button(label, "pick", ind.code)])
    if not rows:
        return [text_reply(ctx.t("Nothing has been reported for this period yet, so there is nothing to correct."))]
    ctx.go(State.REPORT_PICK, unit=unit.code)
    return [text_reply(ctx.t("Which figure do you want to correct?"), *rows, [ctx.button(ctx.t("Cancel"), "cancel")])]
