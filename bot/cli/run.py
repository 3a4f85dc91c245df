"""`planbot run` (the bot, or an interactive console) and `planbot chat` (a scripted console conversation)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.errors import ChannelRefused
from bot.services.plans import active_plan
from i18n import Translator

EXIT_REFUSED = 3  # a chat platform refused planbot's credentials


def cmd_run(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Start the bot: with no chat account configured, an interactive console as an admin and leader."""
    for key, value in app.settings.describe().items():
        print(f"{key}: {value}")
    with app.uow() as s:
        _, plan = active_plan(s)
    print(t("Plan loaded: {title}", title=plan.title.get(t.lang)))
    if (app.settings.telegram_token or app.settings.wecom_configured) and not args.console:
        from bot.bootstrap import run_channels

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        if app.settings.telegram_token:
            print(t("Telegram channel starting; press Ctrl+C to stop."))
        if app.settings.wecom_configured:
            print(t("WeCom channel starting; press Ctrl+C to stop."))
        try:
            asyncio.run(run_channels(app))
        except ChannelRefused:
            print(t("Telegram refused the bot token: it was revoked or is wrong. planbot stopped; set "
                    "TELEGRAM_BOT_TOKEN to a valid token and start it again."), file=sys.stderr)
            return EXIT_REFUSED
        return 0
    console = ConsoleChannel(app)
    console.make_admin(args.user)
    console.interactive(args.user, sys.stdout)
    return 0


def cmd_chat(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Read messages from stdin line by line as one user, print the replies; state persists between runs."""
    ConsoleChannel(app).converse(args.user, sys.stdin, sys.stdout)
    return 0
