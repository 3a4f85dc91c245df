"""What leaders ask: `planbot lagging`, `status`, `scorecard`, `units` and `export`."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.app import App
from bot.cli.common import as_of, print_json
from bot.render.scorecard import scorecard, scorecard_json, scorecard_text
from bot.render.text import progress_dict, progress_text, unjudged_text, value_text
from bot.services.entry import lookup_indicator
from bot.services.plans import active_plan
from bot.views.progress import assess_all, assess_one
from i18n import Translator


def cmd_lagging(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Indicators that are behind, lagging, missed or without data, worst first."""
    day = as_of(app, args.as_of)
    with app.uow() as s:
        row, plan = active_plan(s)
        progress = assess_all(s, row, plan, day, unit_values=args.json)
    shown = progress if args.all else [p for p in progress if p.status.needs_attention]
    if args.json:
        print_json([progress_dict(plan, p, t) for p in shown])
        return 0
    print(t("As of {date}:", date=t.date(day)))
    if not shown:
        print(t("No target is behind its pace."))
    elif not args.all:
        print(t("Targets needing attention: {n} of {total}.", n=len(shown), total=len(progress)))
    if (unjudged := unjudged_text(plan, progress, t)) is not None:
        print(unjudged)
    for p in shown:
        print()
        print(progress_text(plan, p, t))
    return 0


def cmd_scorecard(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Every milestone's result (the assessment table) as of a date."""
    day = as_of(app, args.as_of)
    with app.uow() as s:
        row, plan = active_plan(s)
        rows = scorecard(plan, assess_all(s, row, plan, day))
    if args.json:
        print_json(scorecard_json(rows))
    else:
        print(scorecard_text(rows, day, t))
    return 0


def cmd_status(app: App, args: argparse.Namespace, t: Translator) -> int:
    """One indicator's progress with the per-unit breakdown."""
    day = as_of(app, args.as_of)
    with app.uow() as s:
        row, plan = active_plan(s)
        ind = lookup_indicator(plan, args.indicator)
        p = assess_one(s, row, plan, ind.code, day)
    if args.json:
        print_json(progress_dict(plan, p, t))
        return 0
    print(t("As of {date}:", date=t.date(day)))
    print(progress_text(plan, p, t))
    if p.unit_values:
        print(t("By unit:"))
        for code in ind.reporters:
            if code in p.unit_values:
                print("  " + t("{unit}: {value}", unit=plan.unit(code).name.get(t.lang),
                               value=value_text(ind, p.unit_values[code], t)))
    return 0


def cmd_units(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Reports on time, late and missing per unit, worst first."""
    from bot.views.league import league, league_text

    day = as_of(app, args.as_of)
    with app.uow() as s:
        row, plan = active_plan(s)
        rates = league(s, row, plan, day)
    if args.json:
        print_json([{"unit": r.unit, "expected": r.expected, "on_time": r.on_time, "late": r.late,
                     "missing": r.missing, "on_time_rate": float(r.rate)} for r in rates])
    else:
        print(league_text(plan, rates, t))
    return 0


def cmd_export(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Write the assessment workbook (.xlsx) or a flat .csv of every figure."""
    from bot.render.workbook import export_csv, export_xlsx

    day = as_of(app, args.as_of)
    out = Path(args.out or f"planbot-export-{day.isoformat()}.{args.format}")
    with app.uow() as s:
        row, plan = active_plan(s)
        if args.format == "csv":
            export_csv(s, row, plan, day, out, t.locale)
        else:
            export_xlsx(s, row, plan, day, out, t.locale)
    print(t("Written: {path}", path=str(out)))
    return 0
