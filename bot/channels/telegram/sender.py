"""Pushing outbox messages through Telegram, with PTB's errors turned into what the dispatcher should do."""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import urlencode

import httpx
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import BaseRateLimiter

from bot.channels.telegram.channel import LeanBot, base_url, markup
from bot.channels.telegram.limits import FloodLimiter
from bot.channels.telegram.transport import AiohttpRequest, FormBody, NotSent
from bot.messages import Button, Reply
from bot.render.fit import TELEGRAM, split_text
from reminders.dispatch import Blocked, Permanent, RetryLater, SendError, Transient, Uncertain


def _seconds(e: RetryAfter) -> float:
    value: Any = e.retry_after
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


def _not_sent(e: TelegramError) -> bool:
    """A failure before the request left: no free connection in the pool, or no connection made."""
    return isinstance(e.__cause__, httpx.PoolTimeout | httpx.ConnectTimeout | httpx.ConnectError | NotSent)


class LeanMessages:
    """sendMessage without PTB's parameter objects, for the bulk sends: the form body (chat_id, text, the inline
    keyboard as JSON) is encoded here, its text and keyboard once per distinct message (a notice to thousands of
    people is one), and posted through PTB's BaseRequest.post on the bot's AiohttpRequest, so that the answer's
    status, JSON and errors are mapped by PTB as for any other call, paced by the bot's rate limiter exactly as
    ExtBot would (the FloodLimiter takes a connection, then its slot, then calls on_the_wire()). The body is the one
    PTB would send: the same parameters, in the same order, encoded the same way.

    Only where nothing of PTB's would change the parameters: a bot without Defaults and without arbitrary callback
    data (see usable())."""

    ENDPOINT = "sendMessage"
    CACHED = 64  # distinct (text, keyboard) encodings kept

    def __init__(self, bot: LeanBot) -> None:
        self.bot = bot
        self.request = bot.request  # FloodLimiter finds the connection to hold through callback.__self__.request
        self.url = f"{bot.base_url}/{self.ENDPOINT}"
        self._tails: dict[tuple[str, tuple[tuple[str, str], ...]], bytes] = {}

    @staticmethod
    def usable(bot: LeanBot) -> bool:
        """True if PTB would send a sendMessage of this bot's as given (no Defaults, no callback data cache) over
        an AiohttpRequest."""
        return bot.defaults is None and bot.callback_data_cache is None and isinstance(bot.request, AiohttpRequest)

    def body(self, chat_id: int, text: str, buttons: list[Button]) -> bytes:
        """The form-encoded parameters, as PTB's RequestData.url_encoded_parameters would give them."""
        key = (text, tuple((b.label, b.payload) for b in buttons))
        tail = self._tails.get(key)
        if tail is None:
            params = {"text": text}
            keyboard = markup(Reply(text, tuple((b,) for b in buttons)))
            if keyboard is not None:
                params["reply_markup"] = json.dumps(keyboard.to_dict())
            tail = urlencode(params).encode()
            if len(self._tails) >= self.CACHED:
                self._tails.clear()
            self._tails[key] = tail
        return b"chat_id=%d&%s" % (chat_id, tail)

    async def post(self, body: FormBody) -> Any:
        """Post one encoded sendMessage; the result (the message as a dict). PTB's errors, as from any call."""
        return await self.request.post(self.url, cast(Any, body))

    async def send(self, chat_id: int, text: str, buttons: list[Button]) -> dict[str, Any]:
        """sendMessage through the bot's rate limiter (if any); the sent message as a dict."""
        body = FormBody(self.body(chat_id, text, buttons))
        limiter = self.bot.rate_limiter
        if limiter is None:
            result = await self.post(body)
        else:
            result = await limiter.process_request(self.post, (body,), {}, self.ENDPOINT,
                                                   {"chat_id": chat_id, "text": text}, None)
        return cast(dict[str, Any], result)


class TelegramSender:
    """Sends through a PTB Bot whose rate limiter paces every call (global, per chat, per group). sendMessage goes
    the lean way (LeanMessages) when the bot allows it."""

    channel = "telegram"

    def __init__(self, bot: LeanBot) -> None:
        self.bot = bot
        self.marks_wire = isinstance(bot.rate_limiter, FloodLimiter)  # it calls on_the_wire() after its slot
        self.lean = LeanMessages(bot) if LeanMessages.usable(bot) else None

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
            if self.lean is not None:
                message = await self.lean.send(int(chat_id), text, buttons)
            else:
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
                connections: int = 32, read_timeout: float | None = 5.0) -> LeanBot:
    """A Bot for bulk sending: the given rate limiter (share the channel's, so that replies and bulk sends count
    against one global ceiling) and an AiohttpRequest of `connections` kept-alive connections. A FloodLimiter paces
    at the wire: it takes its slot once one of these connections is free (AiohttpRequest.connection)."""
    request = AiohttpRequest(connections, read_timeout=read_timeout)
    return LeanBot(token, base_url=base_url(api_url), rate_limiter=rate_limiter, request=request)
