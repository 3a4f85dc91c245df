"""Leaders' questions: which targets are lagging, how one indicator is doing, who has not reported."""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from bot.domain.lookup import Ambiguous, find
from bot.domain.pace import Progress, assess, city_series
from bot.domain.period_words import years_named
from bot.errors import UserError, echo
from bot.messages import Button, Reply
from bot.render.scorecard import scorecard as milestone_rows
from bot.render.scorecard import scorecard_text
from bot.render.text import progress_text, unjudged_text, value_text
from bot.services.entry import guess_indicators, match_indicator
from bot.views.progress import assess_all, figures_by_indicator, not_reported
from handlers import leaders
from handlers.context import Ctx, text_reply

log = logging.getLogger(__name__)


def lagging(ctx: Ctx) -> list[Reply]:
    """The targets behind their pace, worst first, with who is responsible and who has not reported."""
    from bot.render.charts import (
        overview_chart,  # matplotlib is imported when a chart is first drawn, not by every process
    )

    t = ctx.t
    progress = assess_all(ctx.s, ctx.plan_row, ctx.plan, ctx.today)
    shown = [p for p in progress if p.status.needs_attention]
    head = t("As of {date}:", date=t.date(ctx.today))
    unjudged = unjudged_text(ctx.plan, progress, t)
    if not shown:
        return [text_reply("\n".join([head, t("No target is behind its pace."), *([unjudged] if unjudged else [])]))]
    lines = [head + "\n" + t("Targets needing attention: {n} of {total}.", n=len(shown), total=len(progress))
             + ("\n" + unjudged if unjudged else "")]
    lines += [progress_text(ctx.plan, p, t, brief=True) for p in shown]
    owed = not_reported(progress)
    if owed:
        lines.append(t("Overdue reports: {n}. Ask “who has not reported” for the list.", n=len(owed)))
    replies = [text_reply(chunk) for chunk in _chunks(lines)]
    chart = _chart(ctx, "overview", [_drawn(p) for p in progress],
                   lambda path: overview_chart(ctx.plan, progress, t, path))
    if chart is not None:
        replies.append(Reply(t("Progress against the time-elapsed pace"), image=chart))
    return replies


MESSAGE_MAX = 3900  # characters in one reply: Telegram refuses messages over 4,096 (UTF-16 units; emoji count 2)


def _chunks(paragraphs: list[str], limit: int = MESSAGE_MAX) -> list[str]:
    """Paragraphs joined into as few messages as fit the limit, never splitting a paragraph."""
    out: list[str] = []
    for para in paragraphs:
        if out and len(out[-1]) + 2 + len(para) <= limit:
            out[-1] += "\n\n" + para
        else:
            out.append(para)
    return out


def status(ctx: Ctx, arg: str) -> list[Reply]:
    """How one indicator is doing, with each unit's figure."""
    from bot.render.charts import indicator_chart  # (see lagging)

    t = ctx.t
    ind = match_indicator(ctx.plan, arg) if arg else None
    if ind is None:
        if (unit := leaders.named_unit(ctx, arg)) is not None:  # "盘山县情况怎么样": how that unit is doing
            ctx.handled = "command:units"
            return leaders.unit_view(ctx, unit)
        if arg:
            return which_indicator(ctx, arg, "status")
        raise UserError("Which indicator? For example: /status high-tech enterprises")
    figures = figures_by_indicator(ctx.s, ctx.plan_row, ind.code).get(ind.code, [])
    p = assess(ctx.plan, ind, figures, ctx.today)
    lines = [t("As of {date}:", date=t.date(ctx.today)), progress_text(ctx.plan, p, t)]
    if p.unit_values:
        lines.append(t("By unit:"))
        lines += ["  " + t("{unit}: {value}", unit=ctx.plan.unit(u).name.get(t.lang),
                           value=value_text(ind, p.unit_values[u], t)) for u in ind.reporters if u in p.unit_values]
    replies = [text_reply("\n".join(lines), [Button(t("Source of these figures"), f"0|source|{ind.code}")])]
    series = city_series(ind, [f for f in figures if f.period.start >= ctx.plan.start], ctx.today)
    chart = _chart(ctx, ind.code, (_drawn(p), series), lambda path: indicator_chart(ctx.plan, p, series, t, path))
    if chart is not None:
        replies.append(Reply(ind.name.get(t.lang), image=chart))
    return replies


def which_indicator(ctx: Ctx, query: str, action: str) -> list[Reply]:
    """A name that is not one indicator's: the candidates (a part of several names, or near misses) as buttons."""
    t = ctx.t
    found = find(query, ctx.plan.indicators)
    candidates = list(found.candidates) if isinstance(found, Ambiguous) else guess_indicators(ctx.plan, query, 5)
    if not candidates:
        raise UserError("No indicator matches “{query}”.", query=query)
    rows = [[Button(i.name.get(t.lang), ctx.button("", action, i.code).payload, (i.name.zh, i.name.en, *i.aliases))]
            for i in candidates[:8]]
    return [text_reply(t("“{query}” could mean several indicators. Which one?", query=echo(query))
                       if len(candidates) > 1 else t("Did you mean {indicator}?",
                                                     indicator=candidates[0].name.get(t.lang)), *rows)]


def _chart(ctx: Ctx, name: str, drawn: object, draw: Callable[[Path], Path]) -> Path | None:
    """The chart of what `drawn` describes, drawn once into the data folder and reused while nothing it shows
    changes; an answer without its picture is better than no answer."""
    folder = ctx.app.settings.data_dir / "charts"
    key = hashlib.sha256(repr((drawn, ctx.plan_row.source_sha256, ctx.today, ctx.t.lang)).encode()).hexdigest()
    path = folder / f"{name}-{ctx.today.isoformat()}-{ctx.t.lang}-{key[:20]}.png"
    if path.exists():
        return path
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{path.stem}-{uuid.uuid4().hex}.png"
        draw(partial)
        os.replace(partial, path)  # readers see a whole picture or none
        return path
    except Exception:
        log.exception("chart %s could not be drawn", name)
        return None


def _drawn(p: Progress) -> tuple[object, ...]:
    """What the charts show of one indicator's progress."""
    return (p.indicator.code, p.status, p.actual, p.actual_period, p.expected, p.target, p.baseline, p.due,
            p.shortfall_pp, p.forecast)


def scorecard(ctx: Ctx, arg: str = "") -> list[Reply]:
    """Every milestone's result so far (the assessment table); only a year's milestones when the question names a
    year that has some ("2018年目标完成了吗")."""
    rows = milestone_rows(ctx.plan, assess_all(ctx.s, ctx.plan_row, ctx.plan, ctx.today))
    years = years_named(arg, ctx.today)
    if of_year := [r for r in rows if r.result.milestone.due.year in years]:
        rows = of_year
    return [text_reply(scorecard_text(rows, ctx.today, ctx.t))]


def scorecard_or_status(ctx: Ctx, arg: str) -> list[Reply]:
    """The scorecard ("2018年目标完成了吗"), or, when the question names an indicator ("高企目标完成了吗"), how that
    one is doing, its milestones' results with it."""
    named = match_indicator(ctx.plan, arg) if arg else None
    if named is not None:
        ctx.handled = "command:status"
        return status(ctx, named.code)
    return scorecard(ctx, arg)


def missing(ctx: Ctx, arg: str = "") -> list[Reply]:
    """Units owing a report for the period that fell due last, unit by unit; with a unit named ("盘山县报了没有"),
    that unit (leaders.unit_view)."""
    if (named := leaders.named_unit(ctx, arg)) is not None:
        return leaders.unit_view(ctx, named)
    t = ctx.t
    owed = not_reported(assess_all(ctx.s, ctx.plan_row, ctx.plan, ctx.today))
    if not owed:
        return [text_reply(t("Every unit has reported for the periods that have fallen due."))]
    by_unit: dict[str, list[str]] = defaultdict(list)
    for o in owed:
        by_unit[o.unit].append(leaders.owed_text(ctx, o))
    lines = [t("Not yet reported, as of {date}:", date=t.date(ctx.today))]
    for unit, items in by_unit.items():
        lines.append("• " + t("{unit}: {value}", unit=ctx.plan.unit(unit).name.get(t.lang),
                              value=("；" if t.lang == "zh" else "; ").join(items)))
    return [text_reply("\n".join(lines))]
