"""The `planbot` command line: its commands, their options, and the options every command takes.

The common options (--lang, --demo, --json) may stand before the command or after it (`planbot --lang en
lagging` and `planbot lagging --lang en` are the same): the main parser has them with their defaults, and every
command's parser has them again without a default, so that an option given after the command wins and one given
before it is kept.
"""

from __future__ import annotations

import argparse

COMMON = ("--lang", "--demo", "--json")
"""The options every command accepts, before or after its name."""

JSON_OUTPUT = frozenset({"notices", "units", "plan show", "lagging", "status", "scorecard"})
"""The commands that can print JSON (--json); the others refuse it."""


def _common(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """Add the common options; without defaults (after the command) a missing option leaves the earlier value."""
    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--lang", choices=["zh", "en"], default=default(None),
                        help="language of the output (default: PLANBOT_LANG or zh)")
    parser.add_argument("--demo", action="store_true", default=default(False),
                        help="the demo database (data/demo.db) with demo people and figures, clock at 2018-10-15")
    parser.add_argument("--json", action="store_true", default=default(False),
                        help="print JSON (" + ", ".join(sorted(JSON_OUTPUT)) + ")")


class _Commands:
    """Adds command parsers that all take the common options."""

    def __init__(self, parent: argparse.ArgumentParser, dest: str) -> None:
        self.sub = parent.add_subparsers(dest=dest, required=True, metavar="COMMAND")

    def add(self, name: str, help: str) -> argparse.ArgumentParser:
        """A command's parser, with the common options already on it."""
        parser = self.sub.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".")
        _common(parser, defaults=False)
        return parser


def build_parser() -> argparse.ArgumentParser:
    """The parser of the `planbot` command."""
    parser = argparse.ArgumentParser(prog="planbot", description="Chat-based tracker for government action plans.")
    _common(parser, defaults=True)
    sub = _Commands(parser, "command")
    run = sub.add("run", "start the bot (a console chat when no account is configured)")
    run.add_argument("--user", default="local", help="console user name (default: local)")
    run.add_argument("--console", action="store_true", help="the console even when Telegram is configured")
    sub.add("chat", "chat on the console: one message per stdin line").add_argument("--user", required=True)
    rem = sub.add("remind", "one reminder sweep at an instant, and send what it queued")
    rem.add_argument("--now", required=True, help="the instant, e.g. 2018-10-08T09:00")
    rem.add_argument("--catch-up", type=int, default=1, help="working days of reminders still worth sending")
    bc = sub.add("broadcast", "send a notice to an audience, to be signed for")
    bc.add_argument("--audience", required=True,
                    help="all, role:contact|leader|admin, units:CODE,CODE, group:NAME or overdue")
    bc.add_argument("--text", required=True)
    bc.add_argument("--at", help="send at this ISO date-time instead of now")
    bc.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    nt = sub.add("notices", "who has received and signed for recent notices")
    resend = nt.add_mutually_exclusive_group()
    resend.add_argument("--resend", type=int, metavar="N", help="re-send notice N to those it could not reach")
    resend.add_argument("--resend-unsigned", type=int, metavar="N",
                        help="re-send notice N to everyone who has not signed, received or not")
    ex = sub.add("export", "the assessment workbook (.xlsx) or a flat .csv")
    ex.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    ex.add_argument("--as-of", help="the date the workbook is as of (default: today)")
    ex.add_argument("--out", help="file to write (default planbot-export-DATE.xlsx)")
    sub.add("units", "reports on time, late and missing per unit").add_argument("--as-of")
    inv = sub.add("invite", "make a one-time invite code")
    inv.add_argument("--unit")
    inv.add_argument("--role", required=True, choices=["contact", "leader", "admin"])
    inv.add_argument("--expires", default="7d", help="how long it is valid: 7d, 12h, 30m, 2w (default 7d)")
    people = _Commands(sub.add("people", "bind people to units and roles"), "people_cmd")
    people.add("import", "bind WeCom userids to units and roles from .csv or .xlsx (userid, name, unit, role)"
               ).add_argument("file")
    plan = _Commands(sub.add("plan", "validate, load or show the plan"), "plan_cmd")
    plan.add("validate", "check a plan file").add_argument("file")
    plan.add("load", "load a plan file into the database").add_argument("file")
    plan.add("show", "list the plan's indicators")
    rep = sub.add("report", "enter one figure")
    rep.add_argument("--unit", required=True)
    rep.add_argument("--indicator", required=True)
    rep.add_argument("--period", required=True, help="2018, 2018Q3 or 2018-09")
    rep.add_argument("--value", required=True)
    rep.add_argument("--note")
    rep.add_argument("--reason", help="correct the saved figure, for this reason")
    sub.add("import", "import figures from .csv or .xlsx").add_argument("file")
    lag = sub.add("lagging", "targets behind their pace")
    lag.add_argument("--as-of")
    lag.add_argument("--all", action="store_true", help="every indicator, not only those needing attention")
    sub.add("scorecard", "every milestone's result: reached, not reached, no data").add_argument("--as-of")
    st = sub.add("status", "one indicator's progress")
    st.add_argument("indicator")
    st.add_argument("--as-of")
    return parser


def command_name(args: argparse.Namespace) -> str:
    """The command the arguments name: "lagging", or "plan show" for a command with a sub-command."""
    sub = {"plan": "plan_cmd", "people": "people_cmd"}.get(str(args.command))
    return str(args.command) + (f" {getattr(args, sub)}" if sub else "")
