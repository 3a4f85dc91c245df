"""What the command groups share: the command signature, JSON output, dates, the demo database, who is acting."""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from bot.app import App
from bot.config import Settings
from bot.errors import UserError
from bot.services.demo import DEMO_NOW
from i18n import Translator

Command = Callable[[App, argparse.Namespace, Translator], int]
"""A command: the app, the parsed arguments and the translator in; the exit status out."""


def demo_settings(settings: Settings) -> Settings:
    """The demo's own SQLite database beside the real one, and the clock at 2018-10-15 unless PLANBOT_NOW says."""
    url = f"sqlite:///{settings.data_dir / 'demo.db'}"
    return replace(settings, database_url=url, now=settings.now or datetime.fromisoformat(DEMO_NOW))


def print_json(data: Any) -> None:
    """Print data as indented JSON, Chinese kept readable."""
    print(json.dumps(data, ensure_ascii=False, indent=2))


def as_of(app: App, text: str | None) -> date:
    """The --as-of date, or today on the app's clock when none was given."""
    if not text:
        return app.clock.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError("Cannot read the date {date}: write it as YYYY-MM-DD.", date=text) from None


def instant(app: App, text: str) -> datetime:
    """An ISO date-time given on the command line, in the plan's time zone unless it names one."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise UserError("Cannot read the date {date}: write it as YYYY-MM-DD.", date=text) from None
    return at if at.tzinfo else at.replace(tzinfo=app.clock.tz)


def who() -> str:
    """Who is acting, as recorded with what a command changes: the operating-system user."""
    return f"cli:{getpass.getuser()}"
