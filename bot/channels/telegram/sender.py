"""Pushing outbox messages through Telegram, with PTB's errors turned into what the dispatcher should do."""

from __future__ import annotations

from typing import Any

import httpx
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import BaseRateLimiter

from bot.channels.telegram.channel import LeanBot, base_url
from bot.channels.telegram.limits import FloodLimiter
from bot.channels.telegram.transport import AiohttpRequest, NotSent
from bot.messages import Button, Reply
from bot.render.fit import TELEGRAM, split_text
from reminders.dispatch import Blocked, Permanent, RetryLater, SendError, Transient, Uncertain


def _seconds(e: RetryAfter) -> float:
    value: Any = e.retry_after
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


def _not_sent(e: TelegramError) -> bool:
    """A failure before the request left: no free connection in the pool, or no connection made."""
    return isinstance(e.__cause__, httpx.PoolTimeout | httpx.ConnectTimeout | httpx.ConnectError | NotSent)


class TelegramSender:
    """Sends through a PTB Bot whose rate limiter paces every call (global, per chat, per group)."""

    channel = "telegram"

    def __init__(self, bot: LeanBot) -> None:
        self.bot = bot
        self.marks_wire = isinstance(bot.rate_limiter, FloodLimiter)  # it calls on_the_wire() after its slot

    async def send(self, chat_id: str, text: str, buttons: list[Button]) -> str | None:
        """Send one message (the buttons under it); a text longer than Telegram takes goes in parts (those made by
        planbot fit: notices are refused over MAX_NOTICE, reminders list names up to a length). A part after the
        first that fails leaves the outcome Uncertain: what was delivered must not be sent again."""
        parts = split_text(text, TELEGRAM.text or 4096)
        message_id = None
        for n, part in enumerate(parts):
            try:
                message_id = await self._send(chat_id, part, buttons if n == len(parts) - 1 else [])
            except SendError as e:
                if n == 0:
                    raise
                raise Uncertain(f"part {n + 1} of {len(parts)} not sent ({e})") from None
        return message_id

    async def _send(self, chat_id: str, text: str, buttons: list[Button]) -> str | None:
        """Send one message; map Telegram's answers to Blocked, RetryLater, Transient (it never left), Uncertain
        (it left, and the answer says nothing of whether it arrived: a timeout, a 5xx), Permanent."""
        try:
            message = await self.bot.send_text(int(chat_id), text, Reply(text, tuple((b,) for b in buttons)))
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
        except NetworkError as e:
            if _not_sent(e):  # the connection was refused: Telegram never saw the request
                raise Transient(str(e)) from None
            # a 5xx (a gateway's 502/504 may come after Telegram delivered it) or a connection dropped after the
            # request was written: unknown, never re-sent blindly (Telegram has no idempotency key to make it safe)
            raise Uncertain(str(e) or "no answer") from None
        except TelegramError as e:
            raise Permanent(str(e)) from None
        return str(message["message_id"])


def sending_bot(token: str, api_url: str | None, rate_limiter: BaseRateLimiter[Any] | None, *,
                connections: int = 16, read_timeout: float | None = 5.0) -> LeanBot:
    """A Bot for bulk sending: the given rate limiter (share the channel's, so that replies and bulk sends count
    against one global ceiling) and an AiohttpRequest of `connections` kept-alive connections. A FloodLimiter paces
    at the wire: it takes its slot once one of these connections is free (AiohttpRequest.connection)."""
    request = AiohttpRequest(connections, read_timeout=read_timeout)
    return LeanBot(token, base_url=base_url(api_url), rate_limiter=rate_limiter, request=request)
