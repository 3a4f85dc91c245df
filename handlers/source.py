"""/source and the 来源 button: the origin of every figure in an answer."""

from __future__ import annotations

from bot.domain.period import PeriodError, find_period
from bot.errors import UserError
from bot.messages import Reply
from bot.render.provenance import revision_line
from bot.services.entry import find_unit_in, match_indicator
from bot.views.provenance import sources
from handlers.context import Ctx, text_reply
from handlers.query import which_indicator


def source(ctx: Ctx, arg: str) -> list[Reply]:
    """/source INDICATOR [UNIT] [PERIOD]: who reported each figure, when, how, and its corrections."""
    try:
        period, rest = find_period(arg)
    except PeriodError:
        period, rest = None, arg
    named, rest = find_unit_in(ctx.plan, rest)
    ind = match_indicator(ctx.plan, rest) if rest else None
    if ind is None:
        if rest.strip():
            return which_indicator(ctx, rest.strip(), "source")
        raise UserError("Which indicator? For example: /source high-tech enterprises")
    unit = named.code if named is not None else None
    if ctx.roles.contact_units and not (ctx.roles.leader or ctx.roles.admin):
        if unit and unit not in ctx.roles.contact_units:
            raise UserError("You can only report for your own unit ({unit}).",
                            unit=", ".join(ctx.plan.unit(u).name.get(ctx.t.lang) for u in ctx.roles.contact_units))
        unit = ctx.roles.contact_units[0]
    found = sources(ctx.s, ctx.plan_row, ind.code, unit, period.label if period else None)
    t = ctx.t
    if not found:
        return [text_reply(t("No figures have been reported for {indicator} yet.", indicator=ind.name.get(t.lang)))]
    lines = [t("Sources of {indicator}:", indicator=ind.name.get(t.lang))]
    for shown, src in enumerate(found):
        entry = ["• " + t("{unit}, {period}:", unit=ctx.plan.unit(src.unit).name.get(t.lang), period=src.period)]
        entry.extend("  " + revision_line(ind, rev, t, ctx.app.clock.tz) for rev in src.revisions)
        if shown and len(lines) + len(entry) > MAX_LINES:  # whole figures only, and say what was left out
            lines.append(t("… and {count} more figures: name a unit or a period to see them, for example "
                           "/source {indicator} {unit} {period}", count=len(found) - shown,
                           indicator=ind.name.get(t.lang), unit=ctx.plan.unit(src.unit).name.get(t.lang),
                           period=src.period))
            break
        lines.extend(entry)
    return [text_reply("\n".join(lines))]


MAX_LINES = 60  # one answer in chat; a whole city's figures over every period are asked for by unit or period
