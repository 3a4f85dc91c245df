"""Test helpers shared by the channel tests: a console testbot in the errbot style."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.app import App
from bot.channels.console import ConsoleChannel, render
from bot.channels.telegram.channel import TelegramChannel
from bot.db.engine import WRITER
from bot.db.models import FigureRow
from bot.db.outbox_models import OutboxRow
from bot.services.people import create_invite, parse_duration
from bot.services.plans import active_plan
from fakes import FakeBotApi

TELEGRAM_TOKEN = "987654:SECRET-token-value"  # the bot the Telegram tests' fake Bot API serves
DEADLINE = 30.0  # seconds a test waits for the system to get somewhere before it fails: generous, never a pace


def wait_until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """Block until condition() holds, checking every few milliseconds; AssertionError naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.005)


async def until(condition: Callable[[], bool | Awaitable[bool]], what: str, timeout: float = DEADLINE,
                every: float = 0.005) -> None:
    """wait_until on the test's event loop (which keeps running the bot meanwhile); condition may be async."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        held = condition()
        if not isinstance(held, bool):
            held = await held
        if held:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(every)


def outbox_busy(app: App) -> int:
    """Outbox rows still to be sent or being sent."""
    with app.uow() as s:
        return sum(1 for r in s.scalars(select(OutboxRow.status)) if r in ("pending", "sending"))


async def idle(channel: TelegramChannel, fake: FakeBotApi | None = None, timeout: float = DEADLINE) -> None:
    """Wait until the Telegram channel has nothing left to do: every update fetched from the fake acknowledged,
    none queued or being handled (replies sent), the inbox drained and the outbox with nothing pending."""

    async def quiet() -> bool:
        if fake is not None and fake.pending_updates:
            return False
        if channel.received or not channel.application.update_queue.empty() or channel.active:
            return False
        if any(w.busy for w in channel.workers):
            return False
        pending = await asyncio.to_thread(channel.inbox.pending)
        return not pending and not await asyncio.to_thread(outbox_busy, channel.app)

    await until(quiet, "the Telegram channel idle (updates handled, inbox and outbox drained)", timeout)



@contextlib.asynccontextmanager
async def running(app: App) -> AsyncIterator[TelegramChannel]:
    """A started Telegram channel on app, stopped at the end of the block."""
    ch = TelegramChannel(app, poll_timeout=1)
    await ch.start()
    try:
        yield ch
    finally:
        await ch.stop()


class TestBot:
    """A console channel with helpers to talk as several people and to make invite codes."""

    __test__ = False

    def __init__(self, app: App) -> None:
        self.app = app
        self.console = ConsoleChannel(app)
        self.last: dict[str, list[str]] = {}
        self.last_labels: dict[str, list[str]] = {}
        self.last_out: dict[str, str] = {}

    def say(self, user: str, text: str, lang: str | None = None) -> str:
        """Send one message as user; the replies rendered as the console shows them."""
        replies = self.console.send(user, text, lang=lang)
        self.last[user] = [b.payload for r in replies for b in r.flat_buttons]
        self.last_labels[user] = [b.label for r in replies for b in r.flat_buttons]
        self.last_out[user] = "\n".join(render(r) for r in replies)
        return self.last_out[user]

    def last_text(self, user: str) -> str:
        """The text of the last replies to user, as the console showed them."""
        return self.last_out.get(user, "")

    def labels(self, user: str) -> list[str]:
        """The button labels of the last replies to user, in order (numbered from 1 on the console)."""
        return self.last_labels.get(user, [])

    def invite(self, role: str, unit: str | None = None, expires: str = "7d") -> str:
        """A fresh invite code, as `planbot invite` makes it."""
        with self.app.uow.begin() as s:
            s.connection(execution_options={WRITER: True})  # it reads, then writes, maybe while the bot writes
            row, _ = active_plan(s)
            code, _ = create_invite(s, row, role, unit, parse_duration(expires), "test", self.app.clock.now())
        return code

    def join(self, user: str, role: str, unit: str | None = None, lang: str = "en") -> str:
        """Bind user with a new invite code; the welcome text."""
        return self.say(user, self.invite(role, unit), lang=lang)


def invite(app: App, role: str, unit: str | None = None) -> str:
    with app.uow.begin() as s:
        s.connection(execution_options={WRITER: True})  # it reads, then writes, maybe while the bot writes
        row, _ = active_plan(s)
        code, _ = create_invite(s, row, role, unit, parse_duration("7d"), "test", app.clock.now())
    return code


class Chat:
    """One person talking to the bot through the fake server."""

    def __init__(self, fake: FakeBotApi, chat_id: int, user_id: int | None = None, chat_type: str = "private",
                 lang: str = "zh-hans") -> None:
        self.fake, self.chat_id, self.user_id, self.chat_type, self.lang = fake, chat_id, user_id, chat_type, lang

    async def _await_reply(self, before: int, expect: int = 1) -> dict[str, Any]:
        sent = await self.fake.wait_for_sent_async(before + expect, self.chat_id, timeout=20)
        new = sent[before:before + expect]
        first = dict(new[0])
        first["text"] = "\n".join(str(m.get("text") or m.get("caption") or "") for m in new)
        return first

    async def say(self, text: str, expect: int = 1) -> dict[str, Any]:
        before = len(self.fake.sent(self.chat_id))
        self.fake.push_update(self.fake.message_update(self.chat_id, text, user_id=self.user_id,
                                                       chat_type=self.chat_type, lang=self.lang))
        return await self._await_reply(before, expect)

    async def press(self, label_part: str) -> dict[str, Any]:
        last = self.fake.sent(self.chat_id)[-1]
        buttons = [b for row in last["reply_markup"]["inline_keyboard"] for b in row]
        data = next(b["callback_data"] for b in buttons if label_part in b["text"])
        return await self.press_data(data)

    async def press_data(self, data: str) -> dict[str, Any]:
        before = len(self.fake.sent(self.chat_id))
        self.fake.push_update(self.fake.callback_update(self.chat_id, data, user_id=self.user_id))
        return await self._await_reply(before)


def figures(app: App) -> list[tuple[str, Decimal, str]]:
    with app.uow() as s:
        return [(f.period, f.value, f.via) for f in s.scalars(select(FigureRow).order_by(FigureRow.id))]


def hold_write_lock(db_file: str, seconds: float, held: threading.Event) -> None:
    """Another process's writer: SQLite's write lock taken and kept for a while."""
    conn = sqlite3.connect(db_file, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
    finally:
        conn.close()


@contextlib.asynccontextmanager
async def write_locked(db_file: str, seconds: float) -> AsyncIterator[None]:
    """Another connection holds SQLite's write lock for `seconds` from the block's start; waited out at its end."""
    held = threading.Event()
    locker = threading.Thread(target=hold_write_lock, args=(db_file, seconds, held))
    locker.start()
    assert held.wait(5)
    try:
        yield
    finally:
        await asyncio.to_thread(locker.join)


async def raw_http_server(answer: Callable[[bytes, bytes], bytes]) -> tuple[asyncio.Server, int, list[bytes]]:
    """A bare HTTP/1.1 server on 127.0.0.1, for what a client library puts on the wire: each request is kept whole
    (head and body) and answered with answer(head, body) as raw bytes (b"": hang up without answering; an answer
    saying Connection: close closes the connection after it). Returns the server, its port and the requests."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            body = await reader.readexactly(length)
            received.append(head + body)
            reply = answer(head, body)
            if not reply:
                break
            writer.write(reply)
            await writer.drain()
            if b"Connection: close" in reply:
                break
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], received
