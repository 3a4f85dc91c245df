"""`planbot invite`: a one-time invite code for a role."""

from __future__ import annotations

import argparse
import sys

from bot.app import App
from bot.cli.common import who
from bot.render.provenance import local_day
from bot.services.entry import lookup_unit
from bot.services.people import create_invite, parse_duration
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
