"""Leaders' views beyond the questions: the units' reporting league table and the assessment workbook."""

from __future__ import annotations

from bot.messages import Reply
from bot.views.league import league, league_text
from handlers.context import Ctx, text_reply


def units(ctx: Ctx) -> list[Reply]:
    """"各单位报送情况" / /units: per unit, reports on time, late and missing, worst first."""
    rates = league(ctx.s, ctx.plan_row, ctx.plan, ctx.today)
    return [text_reply(league_text(ctx.plan, rates, ctx.t))]


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
