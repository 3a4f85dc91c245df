"""The `planbot` command: run the bot, manage the plan, enter figures, ask what is lagging.

`parser` defines the command line; each command group has a module of its own (run, reminders, notices,
leaders, plan, figures, people); `main` below builds the app, runs the command and turns errors into messages.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from bot.bootstrap import bootstrap
from bot.channels.shared.redaction import protect_output
from bot.cli.common import Command, demo_settings
from bot.cli.figures import cmd_import, cmd_report
from bot.cli.leaders import cmd_export, cmd_lagging, cmd_scorecard, cmd_status, cmd_units
from bot.cli.notices import cmd_broadcast, cmd_notices
from bot.cli.parser import JSON_OUTPUT, build_parser, command_name
from bot.cli.people import cmd_invite
from bot.cli.plan import cmd_plan_load, cmd_plan_show, cmd_plan_validate
from bot.cli.reminders import cmd_remind
from bot.cli.run import cmd_chat, cmd_run
from bot.config import ConfigError, Settings
from bot.db.engine import DatabaseUnavailable
from bot.errors import UserError
from bot.services.demo import seed
from bot.services.imports import ImportRejected
from bot.services.plan_problems import PlanFileError
from i18n import translator_for

__all__ = ["COMMANDS", "main"]

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 128 + getattr(signal, "SIGPIPE", 13)
"""What a shell reports for a Unix tool stopped by SIGPIPE when its reader went away (`| head`)."""

COMMANDS: dict[str, Command] = {
    "run": cmd_run, "chat": cmd_chat, "invite": cmd_invite, "remind": cmd_remind, "report": cmd_report,
    "broadcast": cmd_broadcast, "notices": cmd_notices, "export": cmd_export, "units": cmd_units,
    "import": cmd_import, "lagging": cmd_lagging, "status": cmd_status, "scorecard": cmd_scorecard,
    "plan load": cmd_plan_load, "plan show": cmd_plan_show,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `planbot` command; errors go to stderr with exit status 2; a closed pipe ends quietly."""
    try:
        status = _run(argv)
        sys.stdout.flush()  # inside the try: a reader that went away (`| head`) shows here, not at exit
        return status
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # what is still buffered goes nowhere
        return EXIT_BROKEN_PIPE


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    protect_output(os.environ)  # whatever goes wrong below, no token or secret is printed
    t = translator_for(args.lang or os.environ.get("PLANBOT_LANG") or "zh")
    try:
        settings = Settings.from_env()
        t = translator_for(args.lang or settings.lang)
        name = command_name(args)
        if args.json and name not in JSON_OUTPUT:
            raise UserError("planbot {command} has no JSON output; leave out --json.", command=name)
        if name == "plan validate":
            return cmd_plan_validate(args, t)
        if args.demo:
            settings = demo_settings(settings)
        app = bootstrap(settings, ensure_plan=name != "plan load")
        if args.demo:
            seed(app)
        try:
            return COMMANDS[name](app, args, t)
        finally:
            app.close()
    except PlanFileError as e:
        for problem in e.problems:
            print(problem.render(t), file=sys.stderr)
        print(t("Problems in the plan file: {n}.", n=len(e.problems)), file=sys.stderr)
    except ImportRejected as e:
        for rp in e.problems:
            print(t("row {row}: {message}", row=rp.row, message=rp.error.render(t)), file=sys.stderr)
        print(t("Nothing was imported: fix the rows above and import the file again."), file=sys.stderr)
    except UserError as e:
        print(e.render(t), file=sys.stderr)
    except ConfigError as e:
        print(e.render(t), file=sys.stderr)
    except (DatabaseUnavailable, OperationalError) as e:
        print(t("The database is unavailable: {error}", error=str(e).splitlines()[0]), file=sys.stderr)
    return EXIT_USAGE
