"""`planbot invite`: a one-time invite code for a role; `planbot people import`: WeCom members bound from a file."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from bot.app import App
from bot.cli.common import who
from bot.render.provenance import local_day
from bot.services.entry import lookup_unit
from bot.services.people import create_invite, parse_duration
from bot.services.people_import import import_people
from bot.services.plans import active_plan
from i18n import Translator


def cmd_invite(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Print a one-time invite code for a role (and unit, for contacts)."""
    with app.uow.begin() as s:
        row, plan = active_plan(s)
        unit = lookup_unit(plan, args.unit).code if args.unit else None
        code, invite = create_invite(s, row, args.role, unit, parse_duration(args.expires), who(), app.clock.now())
    print(code)
    until = local_day(invite.expires_at, app.clock.tz)
    print(t("Valid until {date}; it works once.", date=t.date(until)), file=sys.stderr)
    return 0


def cmd_people_import(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Bind WeCom userids to units and roles from a .csv or .xlsx file, all rows or none."""
    result = import_people(app.uow, Path(args.file), f"import:{getpass.getuser()}", app.clock.now())
    print(t("{rows} rows read from {file}: {members} WeCom members new, {roles} roles granted (the rest were "
            "already in place).", rows=result.rows, file=args.file, members=result.new_members,
            roles=result.new_roles))
    return 0
