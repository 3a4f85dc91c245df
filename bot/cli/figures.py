"""Figures from the command line: `planbot report` (one figure) and `planbot import` (a file of them)."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from bot.app import App
from bot.cli.common import who
from bot.domain.period import PeriodError, parse_period
from bot.errors import UserError
from bot.render.text import value_text
from bot.services.entry import lookup_indicator, lookup_unit, read_value
from bot.services.figures import Entry, submit
from bot.services.imports import import_file
from bot.services.plans import active_plan
from i18n import Translator


def cmd_report(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Enter (or, with --reason, correct) one figure."""
    with app.uow() as s:
        _, plan = active_plan(s)
    unit = lookup_unit(plan, args.unit)
    ind = lookup_indicator(plan, args.indicator)
    try:
        period = parse_period(args.period)
    except PeriodError:
        raise UserError("Cannot read period {period}: write 2018, 2018Q3 or 2018-09.", period=args.period) from None
    entry = Entry(unit, ind, period, read_value(ind, args.value), args.note, args.reason)
    saved = submit(app.uow, entry, who(), "cli", app.clock.now())
    if saved.previous is None:
        print(t("Saved: {unit}, {indicator}, {period}: {value}.", unit=unit.name.get(t.lang),
                indicator=ind.name.get(t.lang), period=period.label, value=value_text(ind, saved.value, t)))
    else:
        print(t("Corrected: {unit}, {indicator}, {period}: {old} → {new}.", unit=unit.name.get(t.lang),
                indicator=ind.name.get(t.lang), period=period.label, old=value_text(ind, saved.previous, t),
                new=value_text(ind, saved.value, t)))
    return 0


def cmd_import(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Import many figures from a .csv or .xlsx file, all or nothing."""
    n = import_file(app.uow, Path(args.file), f"import:{getpass.getuser()}", app.clock.now())
    print(t("Imported {n} figures from {file}.", n=n, file=args.file))
    return 0
