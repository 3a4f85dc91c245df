"""Leaders' views beyond the questions: the units' reporting league table, one unit, and the assessment workbook."""

from __future__ import annotations

from bot.domain.plan import Unit
from bot.messages import Reply
from bot.render.text import value_text
from bot.services.entry import find_unit_in
from bot.services.figures import latest_figures
from bot.views.league import league, league_text
from bot.views.progress import Owed, assess_all, not_reported
from handlers.context import Ctx, text_reply


def units(ctx: Ctx, arg: str = "") -> list[Reply]:
    """"各单位报送情况" / /units: per unit, reports on time, late and missing, worst first; with a unit named, that
    unit (unit_view)."""
    named = named_unit(ctx, arg)
    if named is not None:
        return unit_view(ctx, named)
    rates = league(ctx.s, ctx.plan_row, ctx.plan, ctx.today)
    return [text_reply(league_text(ctx.plan, rates, ctx.t))]


def named_unit(ctx: Ctx, text: str) -> Unit | None:
    """The unit a question names ("盘山县情况怎么样", "has Panshan reported"), if it names one."""
    return find_unit_in(ctx.plan, text)[0] if text else None


def unit_view(ctx: Ctx, unit: Unit) -> list[Reply]:
    """One unit: its reporting record, what it still owes for the periods fallen due, and its latest figures."""
    t = ctx.t
    lines = [t("{unit}, as of {date}:", unit=unit.name.get(t.lang), date=t.date(ctx.today))]
    rate = next((r for r in league(ctx.s, ctx.plan_row, ctx.plan, ctx.today) if r.unit == unit.code), None)
    if rate is not None:
        lines.append(t("Reports on time / late / missing: {on_time} / {late} / {missing} of {expected}; on-time rate "
                       "{rate}", on_time=rate.on_time, late=rate.late, missing=rate.missing, expected=rate.expected,
                       rate=t.percent(rate.rate, 1)))
    owed = [o for o in not_reported(assess_all(ctx.s, ctx.plan_row, ctx.plan, ctx.today)) if o.unit == unit.code]
    if owed:
        lines.append(t("Not yet reported:"))
        lines += ["  • " + owed_text(ctx, o) for o in owed]
    elif rate is not None:
        lines.append(t("Everything due has been reported."))
    latest = latest_figures(ctx.s, ctx.plan_row, unit.code)  # one query, not one per indicator
    figures = [(ind, latest[ind.code]) for ind in ctx.plan.indicators
               if unit.code in ind.reporter_set and ind.code in latest]
    if figures:
        lines.append(t("Its latest figures:"))
        lines += ["  " + t("{indicator}: {value} for {period}", indicator=ind.name.get(t.lang),
                           value=value_text(ind, value, t), period=period) for ind, (period, value) in figures]
    if rate is None and not figures:
        lines.append(t("This unit reports no figures in the plan."))
    return [text_reply("\n".join(lines))]


def export(ctx: Ctx) -> list[Reply]:
    """/export: the Excel workbook for the annual assessment, as a file."""
    from bot.render.workbook import (
        export_xlsx,  # openpyxl is imported when a workbook is first made, not by every process
    )

    folder = ctx.app.settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"planbot-{ctx.plan.code}-{ctx.today.isoformat()}-{ctx.ident.id}.xlsx"
    export_xlsx(ctx.s, ctx.plan_row, ctx.plan, ctx.today, path, ctx.t.locale)
    return [Reply(ctx.t("The assessment workbook as of {date}: a summary, one sheet per indicator, and the source "
                        "of every figure.", date=ctx.t.date(ctx.today)), document=path)]


def owed_text(ctx: Ctx, owed: Owed) -> str:
    """One report owed: 高新技术企业总数（2018Q3，2018年10月10日截止）."""
    return ctx.t("{indicator} ({period}, due {due})", indicator=ctx.plan.indicator(owed.indicator).name.get(ctx.t.lang),
                 period=owed.period.label, due=ctx.t.date(owed.due))
