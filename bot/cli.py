"""The `planbot` command: run the bot, manage the plan, enter figures, ask what is lagging."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from bot.app import App
from bot.bootstrap import bootstrap, dispatch_chat_channels
from bot.channels.console import ConsoleChannel
from bot.config import ConfigError, Settings
from bot.db.engine import DatabaseUnavailable
from bot.domain.period import PeriodError, parse_period
from bot.errors import UserError
from bot.render.provenance import local_day
from bot.render.scorecard import scorecard, scorecard_json, scorecard_text
from bot.render.text import (
    KIND_LABELS,
    indicator_dict,
    progress_dict,
    progress_text,
    unit_names,
    unjudged_text,
    value_text,
)
from bot.services.demo import DEMO_NOW, seed
from bot.services.entry import lookup_indicator, lookup_unit, read_value
from bot.services.figures import Entry, submit
from bot.services.imports import ImportRejected, import_file
from bot.services.people import create_invite, parse_duration
from bot.services.plan_file import PlanFileError, read_plan_file
from bot.services.plans import active_plan, load_plan_file
from bot.views.progress import assess_all, assess_one
from i18n import N_, Translator, translator_for

EXIT_USAGE = 2


def demo_settings(settings: Settings) -> Settings:
    """The demo's own SQLite database beside the real one, and the clock at 2018-10-15 unless PLANBOT_NOW says."""
    url = f"sqlite:///{settings.data_dir / 'demo.db'}"
    return replace(settings, database_url=url, now=settings.now or datetime.fromisoformat(DEMO_NOW))


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _as_of(app: App, text: str | None) -> date:
    if not text:
        return app.clock.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError("Cannot read the date {date}: write it as YYYY-MM-DD.", date=text) from None


def cmd_run(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Start the bot: with no chat account configured, an interactive console as an admin and leader."""
    for key, value in app.settings.describe().items():
        print(f"{key}: {value}")
    with app.uow() as s:
        _, plan = active_plan(s)
    print(t("Plan loaded: {title}", title=plan.title.get(t.lang)))
    if app.settings.telegram_token and not args.console:
        from bot.bootstrap import run_channels

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        print(t("Telegram channel starting; press Ctrl+C to stop."))
        asyncio.run(run_channels(app))
        return 0
    console = ConsoleChannel(app)
    console.make_admin(args.user)
    console.interactive(args.user, sys.stdout)
    return 0


def cmd_chat(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Read messages from stdin line by line as one user, print the replies; state persists between runs."""
    ConsoleChannel(app).converse(args.user, sys.stdin, sys.stdout)
    return 0


def cmd_remind(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Run one reminder sweep at an instant and dispatch what it queued (console pushes are printed)."""
    from bot.channels.console import ConsoleSender
    from reminders.dispatch import dispatch
    from reminders.scheduler import Ticker

    try:
        at = datetime.fromisoformat(args.now)
    except ValueError:
        raise UserError("Cannot read the date {date}: write it as YYYY-MM-DD.", date=args.now) from None
    at = at if at.tzinfo else at.replace(tzinfo=app.clock.tz)
    ticker = Ticker(app, [], catch_up_workdays=args.catch_up)
    result = ticker.sweep_now(at)
    console = ConsoleSender(out=sys.stdout)
    stats = asyncio.run(dispatch(app.uow, console, lambda: at))
    sent = stats.sent
    sent += asyncio.run(dispatch_chat_channels(app, at)).sent  # Telegram (and later channels) when configured
    print(t("Reminders due: {n}; messages queued: {queued}; sent now: {sent}; too old (marked missed): {missed}.",
            n=result.reminders, queued=result.queued, sent=sent, missed=result.missed))
    return 0


def cmd_broadcast(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Preview a notice and its audience, then (after yes, or with --yes) queue it; a scheduler sends it."""
    from bot.services import notices

    now = app.clock.now()
    send_at = datetime.fromisoformat(args.at) if args.at else None
    if send_at is not None and send_at.tzinfo is None:
        send_at = send_at.replace(tzinfo=app.clock.tz)
    with app.uow.begin() as s:
        row, plan = active_plan(s)
        people = notices.resolve(s, row, plan, args.audience, now)
        print(t("Preview: this notice goes to {n} people, each with a sign-for-it button:\n\n{text}",
                n=len(people), text=args.text))
        if not args.yes:
            answer = input(t("Send it? [y/N] ")).strip().lower()
            if answer not in ("y", "yes", "是", "确认"):
                print(t("Cancelled."))
                return 0
        notice = notices.broadcast(s, row, plan, args.text, args.audience, f"cli:{getpass.getuser()}", now, send_at)
        print(t("Notice {n} queued for {count} people. Ask /notices to see who has signed.", n=notice.id,
                count=notice.recipients))
    return 0


def cmd_notices(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Delivered, signed, failed and pending counts of recent notices; --resend N re-queues the unsigned."""
    from bot.render.notices import notice_line
    from bot.services import notices
    from bot.views import notices as notice_views

    with app.uow.begin() as s:
        if args.resend:
            count = notices.resend_unsigned(s, args.resend, app.clock.now())
            print(t("Notice {n} queued again for {count} people.", n=args.resend, count=count))
            return 0
        found = notice_views.recent(s, 20)
        if args.json:
            _print_json([{"id": st.notice.id, "text": st.notice.text, "audience": st.notice.audience,
                          "recipients": st.recipients, "delivered": st.delivered, "signed": st.signed,
                          "failed": st.failed, "pending": st.pending, "uncertain": st.uncertain}
                         for st in (notice_views.stats(s, n.id) for n in found)])
            return 0
        for notice in found:
            print(notice_line(notice_views.stats(s, notice.id), t, app.clock.tz))
    return 0


def cmd_export(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Write the assessment workbook (.xlsx) or a flat .csv of every figure."""
    from bot.render.workbook import export_csv, export_xlsx

    as_of = _as_of(app, args.as_of)
    out = Path(args.out or f"planbot-export-{as_of.isoformat()}.{args.format}")
    with app.uow() as s:
        row, plan = active_plan(s)
        if args.format == "csv":
            export_csv(s, row, plan, as_of, out, t.locale)
        else:
            export_xlsx(s, row, plan, as_of, out, t.locale)
    print(t("Written: {path}", path=str(out)))
    return 0


def cmd_units(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Reports on time, late and missing per unit, worst first."""
    from bot.views.league import league, league_text

    as_of = _as_of(app, args.as_of)
    with app.uow() as s:
        row, plan = active_plan(s)
        rates = league(s, row, plan, as_of)
    if args.json:
        _print_json([{"unit": r.unit, "expected": r.expected, "on_time": r.on_time, "late": r.late,
                      "missing": r.missing, "on_time_rate": float(r.rate)} for r in rates])
    else:
        print(league_text(plan, rates, t))
    return 0


def cmd_invite(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Print a one-time invite code for a role (and unit, for contacts)."""
    with app.uow.begin() as s:
        row, plan = active_plan(s)
        unit = lookup_unit(plan, args.unit).code if args.unit else None
        code, invite = create_invite(s, row, args.role, unit, parse_duration(args.expires),
                                     f"cli:{getpass.getuser()}", app.clock.now())
    print(code)
    until = local_day(invite.expires_at, app.clock.tz)
    print(t("Valid until {date}; it works once.", date=t.date(until)), file=sys.stderr)
    return 0


def cmd_plan_validate(args: argparse.Namespace, t: Translator) -> int:
    """Check a plan file and report every problem with its place."""
    plan = read_plan_file(args.file)
    print(t("{file}: valid plan {code} with {n} indicators, {units} units and {tasks} tasks.",
            file=args.file, code=plan.code, n=len(plan.indicators), units=len(plan.units), tasks=len(plan.tasks)))
    return 0


def cmd_plan_load(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Load a plan file into the database; loading it again changes nothing."""
    result = load_plan_file(app.uow, Path(args.file), app.clock.now())
    if not result.changed:
        print(t("Plan {code} is already up to date.", code=result.code))
        return 0
    if result.created:
        print(t("Plan {code} loaded.", code=result.code))
        return 0
    print(t("Plan {code} updated; every report is kept.", code=result.code))
    for label, items in ((N_("Added: {items}"), result.added), (N_("Changed: {items}"), result.updated),
                         (N_("Retired (kept with their reports): {items}"), result.retired)):
        if items:
            print("  " + t(label, items=", ".join(items)))
    return 0


def cmd_plan_show(app: App, args: argparse.Namespace, t: Translator) -> int:
    """List the active plan's indicators with their milestones, units and kinds."""
    with app.uow() as s:
        _, plan = active_plan(s)
    if args.json:
        _print_json({"code": plan.code, "title": {"zh": plan.title.zh, "en": plan.title.en},
                     "start": plan.start.isoformat(), "end": plan.end.isoformat(),
                     "units": [{"code": u.code, "name": {"zh": u.name.zh, "en": u.name.en}, "kind": u.kind}
                               for u in plan.units],
                     "groups": {g: list(m) for g, m in plan.groups.items()},
                     "indicators": [indicator_dict(plan, i) for i in plan.indicators]})
        return 0
    print(plan.title.get(t.lang))
    for n, ind in enumerate(plan.indicators, 1):
        milestones = "; ".join(f"{t.date(ms.due)} {ms.comparator.value} {value_text(ind, ms.value, t)}"
                               + (" " + t("(over baseline)") if ms.relative else "") for ms in ind.milestones)
        print(f"{n:>2}. {ind.name.get(t.lang)} [{ind.code}, {t(KIND_LABELS[ind.kind])}]")
        print(f"    {milestones}")
        print("    " + t("Lead: {units}", units=unit_names(plan, ind.lead_units, t)))
        if ind.reporting_units:
            print("    " + t("Reported by: {units}", units=unit_names(plan, ind.reporting_units, t)))
    return 0


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
    saved = submit(app.uow, entry, f"cli:{getpass.getuser()}", "cli", app.clock.now())
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


def cmd_lagging(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Indicators that are behind, lagging, missed or without data, worst first."""
    as_of = _as_of(app, args.as_of)
    with app.uow() as s:
        row, plan = active_plan(s)
        progress = assess_all(s, row, plan, as_of, unit_values=args.json)
    shown = progress if args.all else [p for p in progress if p.status.needs_attention]
    if args.json:
        _print_json([progress_dict(plan, p, t) for p in shown])
        return 0
    print(t("As of {date}:", date=t.date(as_of)))
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


def cmd_status(app: App, args: argparse.Namespace, t: Translator) -> int:
    """One indicator's progress with the per-unit breakdown."""
    as_of = _as_of(app, args.as_of)
    with app.uow() as s:
        row, plan = active_plan(s)
        ind = lookup_indicator(plan, args.indicator)
        p = assess_one(s, row, plan, ind.code, as_of)
    if args.json:
        _print_json(progress_dict(plan, p, t))
        return 0
    print(t("As of {date}:", date=t.date(as_of)))
    print(progress_text(plan, p, t))
    if p.unit_values:
        print(t("By unit:"))
        for code in ind.reporters:
            if code in p.unit_values:
                print("  " + t("{unit}: {value}", unit=plan.unit(code).name.get(t.lang),
                               value=value_text(ind, p.unit_values[code], t)))
    return 0


def cmd_scorecard(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Every milestone's result (the assessment table) as of a date."""
    as_of = _as_of(app, args.as_of)
    with app.uow() as s:
        row, plan = active_plan(s)
        rows = scorecard(plan, assess_all(s, row, plan, as_of))
    if args.json:
        _print_json(scorecard_json(rows))
    else:
        print(scorecard_text(rows, as_of, t))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="planbot", description="Chat-based tracker for government action plans.")
    parser.add_argument("--lang", choices=["zh", "en"], help="language of the output (default: PLANBOT_LANG or zh)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the bot (a console chat when no account is configured)")
    run.add_argument("--user", default="local", help="console user name (default: local)")
    run.add_argument("--console", action="store_true", help="the console even when Telegram is configured")
    run.add_argument("--demo", action="store_true", help="demo database and data, clock at 2018-10-15")
    chat = sub.add_parser("chat", help="chat on the console: one message per stdin line")
    chat.add_argument("--user", required=True)
    chat.add_argument("--demo", action="store_true", help="use the demo database")
    rem = sub.add_parser("remind", help="one reminder sweep at an instant, and send what it queued")
    rem.add_argument("--now", required=True, help="the instant, e.g. 2018-10-08T09:00")
    rem.add_argument("--catch-up", type=int, default=1, help="working days of reminders still worth sending")
    rem.add_argument("--demo", action="store_true", help="use the demo database")
    bc = sub.add_parser("broadcast", help="send a notice to an audience, to be signed for")
    bc.add_argument("--audience", required=True,
                    help="all, role:contact|leader|admin, units:CODE,CODE, group:NAME or overdue")
    bc.add_argument("--text", required=True)
    bc.add_argument("--at", help="send at this ISO date-time instead of now")
    bc.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    nt = sub.add_parser("notices", help="who has received and signed for recent notices")
    nt.add_argument("--resend", type=int, metavar="N", help="re-send notice N to those who have not signed")
    nt.add_argument("--json", action="store_true")
    ex = sub.add_parser("export", help="the assessment workbook (.xlsx) or a flat .csv")
    ex.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    ex.add_argument("--as-of")
    ex.add_argument("--out", help="file to write (default planbot-export-DATE.xlsx)")
    un = sub.add_parser("units", help="reports on time, late and missing per unit")
    un.add_argument("--as-of")
    un.add_argument("--json", action="store_true")
    inv = sub.add_parser("invite", help="make a one-time invite code")
    inv.add_argument("--unit")
    inv.add_argument("--role", required=True, choices=["contact", "leader", "admin"])
    inv.add_argument("--expires", default="7d", help="how long it is valid: 7d, 12h, 30m, 2w (default 7d)")
    plan = sub.add_parser("plan", help="validate, load or show the plan").add_subparsers(dest="plan_cmd", required=True)
    plan.add_parser("validate", help="check a plan file").add_argument("file")
    plan.add_parser("load", help="load a plan file into the database").add_argument("file")
    plan.add_parser("show", help="list the plan's indicators").add_argument("--json", action="store_true")
    rep = sub.add_parser("report", help="enter one figure")
    rep.add_argument("--unit", required=True)
    rep.add_argument("--indicator", required=True)
    rep.add_argument("--period", required=True, help="2018, 2018Q3 or 2018-09")
    rep.add_argument("--value", required=True)
    rep.add_argument("--note")
    rep.add_argument("--reason", help="correct the saved figure, for this reason")
    sub.add_parser("import", help="import figures from .csv or .xlsx").add_argument("file")
    lag = sub.add_parser("lagging", help="targets behind their pace")
    lag.add_argument("--as-of")
    lag.add_argument("--json", action="store_true")
    lag.add_argument("--all", action="store_true", help="every indicator, not only those needing attention")
    sc = sub.add_parser("scorecard", help="every milestone's result: reached, not reached, no data")
    sc.add_argument("--as-of")
    sc.add_argument("--json", action="store_true")
    st = sub.add_parser("status", help="one indicator's progress")
    st.add_argument("indicator")
    st.add_argument("--as-of")
    st.add_argument("--json", action="store_true")
    return parser


COMMANDS: dict[str, Callable[[App, argparse.Namespace, Translator], int]] = {
    "run": cmd_run, "chat": cmd_chat, "invite": cmd_invite, "remind": cmd_remind, "report": cmd_report,
    "broadcast": cmd_broadcast, "notices": cmd_notices, "export": cmd_export, "units": cmd_units,
    "import": cmd_import, "lagging": cmd_lagging, "status": cmd_status, "scorecard": cmd_scorecard,
    "plan load": cmd_plan_load, "plan show": cmd_plan_show,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `planbot` command; errors go to stderr with exit status 2."""
    args = _parser().parse_args(argv)
    t = translator_for("en")
    try:
        settings = Settings.from_env()
        t = translator_for(args.lang or settings.lang)
        name = args.command + (f" {args.plan_cmd}" if args.command == "plan" else "")
        if name == "plan validate":
            return cmd_plan_validate(args, t)
        if getattr(args, "demo", False):
            settings = demo_settings(settings)
        app = bootstrap(settings, ensure_plan=name != "plan load")
        if getattr(args, "demo", False):
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
        print(str(e), file=sys.stderr)
    except (DatabaseUnavailable, OperationalError) as e:
        print(t("The database is unavailable: {error}", error=str(e).splitlines()[0]), file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
