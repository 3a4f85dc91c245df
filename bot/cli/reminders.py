"""`planbot remind`: one reminder sweep at a given instant, and the sending of what it queued."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.app import App
from bot.cli.common import instant
from i18n import Translator


def cmd_remind(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Run one reminder sweep at an instant and dispatch what it queued (console pushes are printed)."""
    from bot.bootstrap import dispatch_chat_channels
    from bot.channels.console import ConsoleSender
    from reminders.dispatch import dispatch
    from reminders.scheduler import Ticker

    at = instant(app, args.now)
    ticker = Ticker(app, [], catch_up_workdays=args.catch_up)
    ticker.recover()  # rows a stopped run left claimed go out now; a run still sending loses nothing by it
    result = ticker.sweep_now(at)
    console = ConsoleSender(out=sys.stdout)
    stats = asyncio.run(dispatch(app.uow, console, lambda: at))
    sent = stats.sent
    sent += asyncio.run(dispatch_chat_channels(app, at)).sent  # Telegram, WeCom when configured
    print(t("Reminders due: {n}; messages queued: {queued}; sent now: {sent}; too old (marked missed): {missed}.",
            n=result.reminders, queued=result.queued, sent=sent, missed=result.missed))
    return 0
