"""Telegram plumbing that is not conversation: flood limits, per-chat ordering, keeping the token out of logs."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Update
from telegram.ext import AIORateLimiter, BaseUpdateProcessor

JSON = bool | dict[str, Any] | list[dict[str, Any]]


class FloodLimiter(AIORateLimiter):
    """Telegram's limits: a global ceiling, 20 messages a minute per group, and one a second per private chat.

    RetryAfter answers are honoured (PTB's AIORateLimiter pauses every request for retry_after, then retries).
    """

    def __init__(self, overall_per_second: float = 25, per_chat_per_second: float = 1,
                 group_per_minute: float = 20, max_retries: int = 3) -> None:
        # one request per 1/rate seconds: a steady pace, never a burst of a whole second's quota at once
        super().__init__(overall_max_rate=1, overall_time_period=1 / overall_per_second,
                         group_max_rate=group_per_minute, group_time_period=60, max_retries=max_retries)
        self._per_chat = per_chat_per_second
        self._chats: dict[int, AsyncLimiter] = {}

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        if len(self._chats) > 4096:  # forget idle chats, whose limiter is full again
            for key, lim in list(self._chats.items()):
                if key != chat_id and lim.has_capacity(lim.max_rate):
                    del self._chats[key]
        if chat_id not in self._chats:
            self._chats[chat_id] = AsyncLimiter(max_rate=1, time_period=1 / self._per_chat)
        return self._chats[chat_id]

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, JSON]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> JSON:
        """Wait for the private chat's slot, then apply the global and group limits."""
        chat_id = data.get("chat_id")
        try:
            chat = int(chat_id) if chat_id is not None else 0
        except (TypeError, ValueError):
            chat = 0
        if chat > 0 and self._per_chat:
            async with self._chat_limiter(chat):
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


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


class RedactToken(logging.Filter):
    """Replaces the bot token (and any bot<digits>:<secret> in a URL) with *** in log records."""

    PATTERN = re.compile(r"bot\d+:[A-Za-z0-9_-]+")

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message without the secret; never drops a record."""
        message = record.getMessage()
        clean = self.PATTERN.sub("bot***", message.replace(self.token, "***")) if self.token else message
        if clean != message:
            record.msg, record.args = clean, None
        return True


def protect_logs(token: str) -> RedactToken:
    """Install the redacting filter on the loggers that see request URLs, and on the root handlers."""
    redact = RedactToken(token)
    for name in ("httpx", "httpcore", "telegram", "telegram.ext", "telegram.request", "uvicorn.access"):
        logging.getLogger(name).addFilter(redact)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    return redact
