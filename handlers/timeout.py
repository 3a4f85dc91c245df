"""A step left unanswered too long ends, and says so: when the person next writes, they are told what was dropped.

Why then, and not by a scheduled message: a step matters again only when the person comes back, and then a "1" or
"确认" meant for something new must not act on a half-hour-old prompt; a message pushed in between would ring the
phone of someone who may have left on purpose, and a figure left unconfirmed is still owed, so the period's reminders
ask for it again anyway. The timeout is PLANBOT_CONVERSATION_TIMEOUT minutes (30 by default: long enough to look a
figure up or ask a colleague, short enough that the prompt is still on the screen when the answer comes).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from bot.domain.period import parse_period
from bot.messages import Reply
from bot.render.text import value_text
from handlers.context import Ctx, text_reply
from handlers.states import State

UNSAVED = frozenset({State.REPORT_VALUE, State.REPORT_REASON, State.REPORT_CONFIRM, State.REPORT_GUESS,
                     State.BROADCAST_AUDIENCE, State.BROADCAST_CONFIRM})


def expired(ctx: Ctx, updated_at: datetime | None) -> bool:
    """Whether the step in progress was left longer than the configured timeout."""
    limit = timedelta(minutes=ctx.app.settings.conversation_timeout)
    return bool(ctx.state) and updated_at is not None and ctx.now - updated_at > limit


def expire(ctx: Ctx) -> Reply:
    """End the step in progress (and drop the messages kept while it waited); the reply says what was dropped."""
    t = ctx.t
    state = State(ctx.state) if ctx.state in State._value2member_map_ else State.IDLE
    minutes = f"{ctx.app.settings.conversation_timeout:g}"
    lines = [t("I stopped waiting for your answer after {minutes} minutes, so this was dropped: {what}.",
               minutes=minutes, what=_what(ctx, state))]
    if state in UNSAVED:
        lines.append(t("Nothing of it was saved or sent; please send it again if you still want to."))
    lines += [t("Also dropped, kept while that step waited: “{text}”", text=text[:60]) for text in ctx.queue]
    ctx.queue = []
    ctx.reset()
    return text_reply("\n".join(lines))


def _what(ctx: Ctx, state: State) -> str:
    """What the step held, in words."""
    t, d = ctx.t, ctx.data
    try:
        if state in (State.REPORT_CONFIRM, State.REPORT_REASON):
            ind = ctx.plan.indicator(d["ind"])
            return t("{indicator} of {unit} for {period}: {value}, not yet confirmed",
                     indicator=ind.name.get(t.lang), unit=ctx.plan.unit(d["unit"]).name.get(t.lang),
                     period=parse_period(d["period"]).label, value=value_text(ind, Decimal(d["value"]), t))
        if state is State.REPORT_VALUE:
            return t("the figure of {indicator} for {period}, not yet given",
                     indicator=ctx.plan.indicator(d["ind"]).name.get(t.lang), period=d["period"])
        if state in (State.REPORT_PICK, State.REPORT_NEXT):
            return t("reporting for {unit}", unit=ctx.plan.unit(d["unit"]).name.get(t.lang))
        if state is State.REPORT_GUESS:
            return t("“{text}”, whose indicator was not yet chosen", text=str(d["text"])[:60])
        if state in (State.BROADCAST_AUDIENCE, State.BROADCAST_CONFIRM):
            return t("the notice “{text}”, not yet sent", text=str(d["text"])[:60])
        if state is State.LANGUAGE:
            return t("choosing a language")
        if state is State.BROADCAST_TEXT:
            return t("a notice, not yet written")
    except (KeyError, ValueError):  # a step stored by an older version, or without its data: name it generally
        pass
    return t("the step in progress")
