"""Telegram's limits: flood control for PTB's requests, and one chat's updates handled in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, BaseUpdateProcessor

from bot.channels.shared.pacing import ChatPacer, ServerWindow
from reminders.dispatch import on_the_wire

JSON = bool | dict[str, Any] | list[dict[str, Any]]
POSTS = ("send", "copy", "forward")  # Bot API methods that post a new message in a chat


class FloodLimiter(AIORateLimiter):
    """Telegram's limits: a global ceiling, 20 messages a minute per group, and one a second per private chat.

    The global pace is steady: a message every 1/rate seconds, never a burst of a second's quota at once; it may
    catch up at most `catch_up` seconds' worth of slots (1% of a second: 9 messages at 950/s, 1 at 25/s) that a
    busy event loop woke too late for, so that scheduling delays do not eat into the rate (with one slot, a null HTTP
    call reached only 616/s at a 950/s setting). The bucket is checked when a request is let through, so any
    1-second window holds at most rate x 1.01 (+1) messages, after a stall of the loop too. The same bound holds in
    the server's own windows (ServerWindow), when it counts requests later than they were sent.

    A RetryAfter answer pauses every request for retry_after (PTB's AIORateLimiter then retries the request). The
    global slot is taken after any such pause, in every attempt: AIORateLimiter's own overall limiter hands out
    slots during the pause to requests that then all go at once when it ends, a burst that draws the next 429.
    For the same reason, when the calling bot's transport can hold a connection for a task (AiohttpRequest.connection),
    the slot is taken only once a connection is free: while a slow server holds every connection, requests do not
    take slots that they would then use all at once.

    Just before each request leaves (slot taken), the dispatcher's on_the_wire() hook marks its outbox row
    'sending' (see reminders.dispatch): a row still waiting for its slot when the process dies was never sent.

    One message a second per private chat counts messages sent (send*, copy*, forward*): editing a message, e.g.
    greying out the buttons of a prompt just answered, does not delay the reply that follows it.
    """

    def __init__(self, overall_per_second: float = 25, per_chat_per_second: float = 1,
                 group_per_minute: float = 20, max_retries: int = 3, catch_up: float = 0.01,
                 server_window: bool = True) -> None:
        super().__init__(overall_max_rate=0, group_max_rate=group_per_minute, group_time_period=60,
                         max_retries=max_retries)  # the global limit is applied in paced(), see process_request
        slots = max(1, int(overall_per_second * catch_up))
        self._overall = AsyncLimiter(max_rate=slots, time_period=slots / overall_per_second)
        cap = int(overall_per_second * (1 + catch_up)) + 1
        self._window = ServerWindow(cap if server_window else 2**62)  # False: for measuring what it costs
        self._paused_until = 0.0
        self._chats = ChatPacer(1 / per_chat_per_second) if per_chat_per_second else None

    async def _pause(self) -> None:
        """Wait out any flood-control pause."""
        loop = asyncio.get_running_loop()
        while (wait := self._paused_until - loop.time()) > 0:
            await asyncio.sleep(wait)

    async def _slot(self) -> None:
        """Wait out any flood-control pause, then for a global slot; again if a pause began meanwhile."""
        loop = asyncio.get_running_loop()
        while True:
            await self._pause()
            await self._overall.acquire()
            if self._paused_until <= loop.time():
                return

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, JSON]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> JSON:
        """Wait for the private chat's slot; then, in every attempt, for the group's and a global one."""
        chat_id = data.get("chat_id")
        try:
            chat = int(chat_id) if chat_id is not None else 0
        except (TypeError, ValueError):
            chat = 0
        if chat > 0 and self._chats is not None and endpoint.startswith(POSTS) and endpoint != "sendChatAction":
            await self._chats.wait(chat)
        if chat_id is None or data.get("allow_paid_broadcast"):  # as AIORateLimiter's overall limit
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)

        hold = getattr(getattr(getattr(callback, "__self__", None), "request", None), "connection", None)

        async def paced(*a: Any, **kw: Any) -> JSON:
            await self._pause()  # not holding a connection meanwhile
            async with hold() if hold is not None else contextlib.nullcontext():
                await self._slot()
                await on_the_wire()  # an outbox row is marked 'sending' now, not while it waited for its slot
                sent, answered = await self._window.admit(), False
                try:
                    result = await callback(*a, **kw)
                    answered = True
                    return result
                except RetryAfter as e:
                    answered = True
                    seconds = e.retry_after.total_seconds() if isinstance(e.retry_after, timedelta) else e.retry_after
                    until = asyncio.get_running_loop().time() + float(seconds) + 0.1
                    self._paused_until = max(self._paused_until, until)
                    raise
                finally:
                    self._window.done(sent, answered)

        return await super().process_request(paced, args, kwargs, endpoint, data, rate_limit_args)


class PerChatProcessor(BaseUpdateProcessor):
    """Updates from one chat are handled one after another, in order; different chats run in parallel."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Any) -> None:
        """Run the update's handling under its chat's lock."""
        chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else 0
        lock = self._locks.setdefault(chat, asyncio.Lock())
        self._waiting[chat] = self._waiting.get(chat, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[chat] -= 1
            if not self._waiting[chat]:
                del self._waiting[chat]
                self._locks.pop(chat, None)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
