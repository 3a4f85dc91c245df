"""Test helpers shared by the channel tests: a console testbot in the errbot style."""

from __future__ import annotations

from bot.bootstrap import App
from bot.channels.console import ConsoleChannel, render
from bot.people import create_invite, parse_duration
from bot.plan_store import active_plan


class TestBot:
    """A console channel with helpers to talk as several people and to make invite codes."""

    __test__ = False

    def __init__(self, app: App) -> None:
        self.app = app
        self.console = ConsoleChannel(app)
        self.last: dict[str, list[str]] = {}

    def say(self, user: str, text: str, lang: str | None = None) -> str:
        """Send one message as user; the replies rendered as the console shows them."""
        replies = self.console.send(user, text, lang=lang)
        self.last[user] = [b.payload for r in replies for b in r.flat_buttons]
        return "\n".join(render(r) for r in replies)

    def invite(self, role: str, unit: str | None = None, expires: str = "7d") -> str:
        """A fresh invite code, as `planbot invite` makes it."""
        with self.app.uow.begin() as s:
            row, _ = active_plan(s)
            code, _ = create_invite(s, row, role, unit, parse_duration(expires), "test", self.app.clock.now())
        return code

    def join(self, user: str, role: str, unit: str | None = None, lang: str = "en") -> str:
        """Bind user with a new invite code; the welcome text."""
        return self.say(user, self.invite(role, unit), lang=lang)
