"""Leaders' questions: which targets are lagging, how one indicator is doing, who has not reported."""

from __future__ import annotations

from collections import defaultdict

from bot.entry import match_indicator
from bot.errors import UserError
from bot.progress import assess_all, assess_one, not_reported
from bot.render import progress_text, value_text
from handlers.context import Ctx, text_reply
from handlers.types import Button, Reply


def lagging(ctx: Ctx) -> list[Reply]:
    """The targets behind their pace, worst first, with who is responsible and who has not reported."""
    ctx.need(leader=True)
    t = ctx.t
    progress = assess_all(ctx.s, ctx.plan_row, ctx.plan, ctx.today)
    shown = [p for p in progress if p.status.needs_attention]
    head = t("As of {date}:", date=t.date(ctx.today))
    if not shown:
        return [text_reply(head + "\n" + t("No target is behind its pace."))]
    lines = [head + "\n" + t("Targets needing attention: {n} of {total}.", n=len(shown), total=len(progress))]
    lines += [progress_text(ctx.plan, p, t) for p in shown]
    owed = not_reported(progress)
    if owed:
        lines.append(t("Overdue reports: {n}. Ask “who has not reported” for the list.", n=len(owed)))
    return [text_reply("\n\n".join(lines))]


def status(ctx: Ctx, arg: str) -> list[Reply]:
    """How one indicator is doing, with each unit's figure."""
    ctx.need(leader=True)
    t = ctx.t
    ind = match_indicator(ctx.plan, arg) if arg else None
    if ind is None:
        if arg:
            raise UserError("No indicator matches “{query}”.", query=arg)
        raise UserError("Which indicator? For example: /status 高新技术企业")
    p = assess_one(ctx.s, ctx.plan_row, ctx.plan, ind.code, ctx.today)
    lines = [t("As of {date}:", date=t.date(ctx.today)), progress_text(ctx.plan, p, t)]
    if p.unit_values:
        lines.append(t("By unit:"))
        lines += ["  " + t("{unit}: {value}", unit=ctx.plan.unit(u).name.get(t.lang),
                           value=value_text(ind, p.unit_values[u], t)) for u in ind.reporters if u in p.unit_values]
    return [text_reply("\n".join(lines), [Button(t("Source of these figures"), f"0|source|{ind.code}")])]


def missing(ctx: Ctx) -> list[Reply]:
    """Units owing a report for the period that fell due last, unit by unit."""
    ctx.need(leader=True)
    t = ctx.t
    owed = not_reported(assess_all(ctx.s, ctx.plan_row, ctx.plan, ctx.today))
    if not owed:
        return [text_reply(t("Every unit has reported for the periods that have fallen due."))]
    by_unit: dict[str, list[str]] = defaultdict(list)
    for o in owed:
        ind = ctx.plan.indicator(o.indicator)
        by_unit[o.unit].append(t("{indicator} ({period}, due {due})", indicator=ind.name.get(t.lang),
                                 period=o.period.label, due=t.date(o.due)))
    lines = [t("Not yet reported, as of {date}:", date=t.date(ctx.today))]
    for unit, items in by_unit.items():
        lines.append("• " + t("{unit}: {value}", unit=ctx.plan.unit(unit).name.get(t.lang),
                              value=("；" if t.lang == "zh" else "; ").join(items)))
    return [text_reply("\n".join(lines))]
