"""Reporting figures in sentences: "高新技术企业 12家" with a unit, a period, a note, a sign or a running total in it,
the figure typed at the figure's prompt, a near-miss name ("did you mean ...?"), and 更正 / /correct."""

from __future__ import annotations

import re
from decimal import Decimal

from bot.domain.digits import odd_digit
from bot.domain.figures import FigureError, ParsedFigure, find_figure
from bot.domain.period import Period, parse_period, year
from bot.domain.period_words import PeriodWordError, Said, find_said, fit
from bot.domain.plan import Indicator, Kind, Unit
from bot.domain.rules import MAX_DECIMALS
from bot.domain.sentence import approximation, says_cumulative, says_fall, says_increase, split_note
from bot.errors import UserError, Word, echo
from bot.messages import Button, Reply
from bot.render.text import value_text
from bot.services.entry import (
    FIGURE_MESSAGES,
    figure_for,
    find_unit_in,
    guess_indicators,
    match_indicator,
    read_value,
)
from bot.services.figures import added_before, latest_before
from handlers.context import Ctx, text_reply
from handlers.report import ask_value, confirm, owed_now, period_for, reported, unit_for
from handlers.states import State
from i18n import N_


def _refuse_approximation(ind: Indicator, text: str) -> None:
    if ind.kind is not Kind.STAGED and (approx := approximation(text)):
        raise UserError("“{text}” is an approximate figure. Please send the exact figure for {indicator}.",
                        text=approx, indicator=ind.name)


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


_DASH = re.compile(r"[\u4e00-\u9fff）)】][-—–]\s*[0-9]")


CADENCE_WORDS = {"monthly": Word(N_("monthly")), "quarterly": Word(N_("quarterly")), "yearly": Word(N_("yearly"))}


def value(ctx: Ctx, text: str) -> list[Reply]:
    """The figure typed for the indicator asked about."""
    ind = ctx.plan.indicator(ctx.data["ind"])
    body, note = split_note(text)
    _refuse_approximation(ind, body)
    if ind.kind is Kind.STOCK and says_increase(body) and not says_cumulative(body):  # "5 new" at the total's prompt
        raise UserError("{indicator} is reported as the total at the end of each period, and “{text}” gives an "
                        "increase: please send the total.", indicator=ind.name, text=echo(text))
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


def _unit_in_sentence(ctx: Ctx, named: Unit | None) -> Unit:
    """The unit a sentence reports for: the one it names (an admin may name any; a contact only their own), the
    one chosen with /report UNIT, else the person's own."""
    if named is None:
        chosen = ctx.data.get("unit") if ctx.state in (State.REPORT_PICK, State.REPORT_NEXT) else None
        return ctx.plan.unit(chosen) if chosen else unit_for(ctx)
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
        return period_for(ind, ctx)
    if said.end == ctx.plan.baseline_date and said.start.year == said.end.year and ind.kind is not Kind.FLOW:
        return year(said.end.year)  # the baseline, reported for the year before the plan
    try:
        return fit(said, ind.schedule.cadence, ind.kind is not Kind.FLOW)
    except PeriodWordError:
        raise UserError("{indicator} is reported {cadence}; “{said}” is not one of its periods. Please name one, "
                        "e.g. {example}.", indicator=ind.name, cadence=CADENCE_WORDS[ind.schedule.cadence.value],
                        said=said.text, example=period_for(ind, ctx).label) from None


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
    period = _period_said(ctx, ind, said)
    counted = ctx.plan.reporting_for(ind, unit.code, period.start)  # after a merger: the unit it succeeded
    if counted not in ind.reporter_set:
        raise UserError("{unit} does not report “{indicator}”.", unit=unit.name.get(ctx.t.lang),
                        indicator=ind.name.get(ctx.t.lang))
    unit = ctx.plan.unit(counted)
    _refuse_approximation(ind, body)
    if ind.kind is Kind.STOCK and says_increase(rest_text) and not says_cumulative(rest_text):
        return _ask_total(ctx, unit, ind, period, text)
    parsed = _signed(ind, parsed, rest_text)
    v = figure_for(ind, parsed, text)
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


def _ask_total(ctx: Ctx, unit: Unit, ind: Indicator, period: Period, text: str) -> list[Reply]:
    """An increase given for an indicator reported as a total (高企新增12家): ask for the total, saying the last one
    the unit reported; the increase is not saved as if it were the total, and no total is guessed from it."""
    t = ctx.t
    lines = [t("{indicator} is reported as the total at the end of each period, and “{text}” gives an increase.",
               indicator=ind.name.get(t.lang), text=echo(text))]
    last = latest_before(ctx.s, ctx.plan_row, unit.code, ind.code, period.start)
    if last is not None:
        lines.append(t("{unit} last reported {value} for {period}.", unit=unit.name.get(t.lang),
                       value=value_text(ind, last[1], t), period=last[0]))
    ctx.handled = "figure:total"
    return [text_reply("\n".join(lines)), *ask_value(ctx, unit.code, ind, period)]


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
            unit = unit_for(ctx)
            return ask_value(ctx, unit.code, ind, period_for(ind, ctx))
    unit = unit_for(ctx)
    rows: list[list[Button]] = []
    for ind, counted in owed_now(ctx, unit.code):
        period = period_for(ind, ctx)
        saved = reported(ctx, counted, ind.code, period.label)
        if saved is not None:
            label = ctx.t("{indicator} ({period}): {value}", indicator=ind.name.get(ctx.t.lang),
                          period=period.label, value=value_text(ind, saved, ctx.t))
            rows.append([ctx.button(label, "pick", ind.code)])
    if not rows:
        return [text_reply(ctx.t("Nothing has been reported for this period yet, so there is nothing to correct."))]
    ctx.go(State.REPORT_PICK, unit=unit.code)
    return [text_reply(ctx.t("Which figure do you want to correct?"), *rows, [ctx.button(ctx.t("Cancel"), "cancel")])]
