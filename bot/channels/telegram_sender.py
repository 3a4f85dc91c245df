"""Pushing outbox messages through Telegram, with PTB's errors turned into what the dispatcher should do."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import BaseRateLimiter, ExtBot
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.channels.telegram import base_url, markup
from handlers.types import Button, Reply
from reminders.dispatch import Blocked, Permanent, RetryLater, Transient, Uncertain

DEFAULT_NONE: Any = BaseRequest.DEFAULT_NONE


def _seconds(e: RetryAfter) -> float:
    value: Any = e.retry_after
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


def _not_sent(e: TimedOut) -> bool:
    """A timeout before the request left: no free connection in the pool, or no connection made."""
    return isinstance(e.__cause__, httpx.PoolTimeout | httpx.ConnectTimeout)


class TelegramSender:
    """Sends through a PTB Bot whose rate limiter paces every call (global, per chat, per group)."""

    channel = "telegram"

    def __init__(self, bot: Any) -> None:
        self.bot = bot

    async def send(self, chat_id: str, text: str, buttons: list[Button]) -> str | None:
        """Send one message; map Telegram's answers to Blocked, RetryLater, Transient, Uncertain, Permanent."""
        reply = Reply(text, tuple((b,) for b in buttons))
        try:
            message = await self.bot.send_message(int(chat_id), text, reply_markup=markup(reply))
        except Forbidden as e:
            raise Blocked(str(e)) from None
        except RetryAfter as e:
            raise RetryLater(_seconds(e)) from None
        except TimedOut as e:
            if _not_sent(e):  # the request never reached Telegram: safe to try again later
                raise Transient(str(e) or "timed out before sending") from None
            raise Uncertain(str(e) or "timed out") from None  # it may have reached Telegram: outcome unknown
        except BadRequest as e:
            raise Permanent(str(e)) from None
        except NetworkError as e:  # 5xx and refused connections: Telegram did not take the message
            raise Transient(str(e)) from None
        except TelegramError as e:
            raise Permanent(str(e)) from None
        return str(message.message_id)


class ShardedRequest(BaseRequest):
    """Bot API requests spread over several small httpx connection pools, each request to the least busy one.

    httpcore scans every connection of its pool (and polls each idle socket) whenever a request starts or ends, so
    the CPU cost per request grows with the pool's size; several pools of a few connections each give as many
    connections in all at a fraction of that cost. Idle connections are kept alive (httpx keeps only 20 by
    default, so a larger pool would reconnect over and over). Requests beyond shards x connections wait in a
    semaphore, which costs nothing per waiting request, rather than in httpcore's queue, which is rescanned.
    """

    def __init__(self, shards: int = 4, connections: int = 8, *, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 5.0) -> None:
        if shards < 1 or connections < 1:
            raise ValueError("shards and connections must be at least 1")
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.shards = [HTTPXRequest(connection_pool_size=connections, read_timeout=read_timeout,
                                    write_timeout=write_timeout, connect_timeout=connect_timeout,
                                    pool_timeout=pool_timeout, httpx_kwargs={"limits": limits})
                       for _ in range(shards)]
        self.busy = [0] * shards
        self._gate = asyncio.Semaphore(shards * connections)

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (that of every shard)."""
        return self.shards[0].read_timeout

    async def initialize(self) -> None:
        """Open every shard's client."""
        for shard in self.shards:
            await shard.initialize()

    async def shutdown(self) -> None:
        """Close every shard's client."""
        for shard in self.shards:
            await shard.shutdown()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = DEFAULT_NONE, write_timeout: Any = DEFAULT_NONE,
                         connect_timeout: Any = DEFAULT_NONE, pool_timeout: Any = DEFAULT_NONE) -> tuple[int, bytes]:
        """Send through the shard with the fewest requests in flight."""
        async with self._gate:
            i = min(range(len(self.busy)), key=self.busy.__getitem__)
            self.busy[i] += 1
            try:
                return await self.shards[i].do_request(url, method, request_data, read_timeout, write_timeout,
                                                       connect_timeout, pool_timeout)
            finally:
                self.busy[i] -= 1


def sending_bot(token: str, api_url: str | None, rate_limiter: BaseRateLimiter[Any] | None, *,
                shards: int = 4, connections: int = 8, read_timeout: float | None = 5.0) -> ExtBot[Any]:
    """A Bot for bulk sending: the given rate limiter (share the channel's, so that replies and bulk sends count
    against one global ceiling) and a ShardedRequest of shards x connections."""
    return ExtBot(token, base_url=base_url(api_url), rate_limiter=rate_limiter,
                  request=ShardedRequest(shards, connections, read_timeout=read_timeout))
