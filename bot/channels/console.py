"""The console channel: chat with planbot in a terminal; buttons appear as numbered choices."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy.orm import Session, sessionmaker

from bot.app import App
from bot.db.conversations import offer_pushed
from bot.messages import Button, Inbound, Reply
from bot.services.people import grant, identity_for
from handlers.router import Router
from i18n import translator_for

CHANNEL = "console"


def render(reply: Reply) -> str:
    """A reply as terminal text: the message, then its buttons numbered [1] [2] ..."""
    lines = [reply.text]
    for n, button in enumerate(reply.flat_buttons, 1):
        lines.append(f"  [{n}] {button.label}")
    for path in (reply.image, reply.document):
        if path is not None:
            lines.append(f"  ({path})")
    return "\n".join(lines)


class ConsoleChannel:
    """Messages typed by named local users go through the same router as every other channel."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.router = Router(app)

    def send(self, user: str, text: str, *, lang: str | None = None) -> list[Reply]:
        """Deliver one line from user; return the replies."""
        inbound = Inbound(channel=CHANNEL, sender=user, chat=user, message_id=uuid.uuid4().hex, text=text,
                          sender_name=user, lang_hint=lang)
        return self.router.handle(inbound).replies

    def press(self, user: str, payload: str) -> list[Reply]:
        """Press a button by its payload (as a channel with real buttons would)."""
        inbound = Inbound(channel=CHANNEL, sender=user, chat=user, message_id=uuid.uuid4().hex, payload=payload,
                          sender_name=user)
        return self.router.handle(inbound).replies

    def make_admin(self, user: str) -> None:
        """Make this console user an admin and a leader (the person at the keyboard of `planbot run`)."""
        now = self.app.clock.now()
        with self.app.uow.begin() as s:
            ident = identity_for(s, CHANNEL, user, user, user, None, now)
            for role in ("admin", "leader"):
                grant(s, ident.person, role, None, "console:setup", now)

    def converse(self, user: str, lines: Iterable[str], out: TextIO, echo: bool = True) -> None:
        """Read lines (stdin), print each one's replies; blank lines are skipped."""
        for line in lines:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if echo:
                print(f"{user}> {line}", file=out)
            for reply in self.send(user, line):
                print(render(reply), file=out)
            print(file=out, flush=True)

    def interactive(self, user: str, out: TextIO) -> None:
        """A prompt loop until end of input or /quit."""
        print(self.welcome(), file=out, flush=True)
        while True:
            try:
                line = input(f"{user}> ")
            except (EOFError, KeyboardInterrupt):
                print(file=out)
                return
            if line.strip() in ("/quit", "/exit", "退出"):
                return
            self.converse(user, [line], out, echo=False)

    def welcome(self) -> str:
        """The first lines shown by `planbot run` on the console, in the configured language."""
        t = translator_for(self.app.settings.lang)
        return t("planbot console. Type help to see what you can say, /language en for English, /quit to leave.")


@dataclass
class ConsoleSender:
    """The console channel's pushes: printed (for `planbot remind`) and kept in memory (for tests)."""

    out: TextIO | None = None
    channel: str = "console"
    delivered: list[tuple[str, str]] = field(default_factory=list)
    uow: sessionmaker[Session] | None = None  # given: the buttons become the recipient's choices (签收 typed signs)

    async def send(self, chat_id: str, text: str, buttons: list[Button]) -> str | None:
        """Print the message for its recipient; its buttons become choices the recipient can type."""
        self.delivered.append((chat_id, text))
        if self.uow is not None and buttons:
            with self.uow.begin() as s:
                offer_pushed(s, self.channel, chat_id, [(b.label, b.payload) for b in buttons], datetime.now(UTC))
        if self.out is not None:
            labels = "  ".join(f"[{n}] {b.label}" for n, b in enumerate(buttons, 1))
            print(f"→ {chat_id}: {text}" + (f"\n  {labels}" if labels else ""), file=self.out, flush=True)
        return str(len(self.delivered))
