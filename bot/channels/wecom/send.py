"""Replies and outbox messages as WeCom messages; WeCom's answers turned into what the dispatcher should do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

from bot.channels.console import render
from bot.channels.wecom.api import WeComApiError, WeComClient
from bot.channels.wecom.limits import MemberLimiter
from bot.channels.wecom.quota import QuotaReached, spread_wait
from bot.messages import Button, Reply
from reminders.dispatch import Permanent, RetryLater, SendError, Transient, Uncertain

CHANNEL = "wecom"
MAX_BUTTONS = 6  # a button_interaction card's button_list
TITLE_CHARS = 26  # main_title.title, as WeCom recommends
CARD_TEXT_CHARS = 112  # sub_title_text
TEXT_BYTES = 2048  # a text message is truncated beyond this
FREQUENCY = {45009: 60.0, 45033: 2.0, 45011: 60.0, 45047: 60.0}  # errcode -> seconds to wait before trying again
BUSY = {-1, 40001}  # system busy; (40001 after a fresh token: a secret WeCom cannot check right now)


def send_error(e: Exception) -> SendError:
    """The dispatcher's reading of a failed call: RetryLater, Transient, Uncertain or Permanent."""
    if isinstance(e, WeComApiError):
        if e.errcode in FREQUENCY:
            return RetryLater(FREQUENCY[e.errcode])
        if e.errcode in BUSY or e.errcode in (40014, 42001, 41001):
            return Transient(str(e))
        return Permanent(str(e))  # 81013 (no valid recipient: not in the app's visible range), 60111, ...
    if isinstance(e, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Transient(type(e).__name__)  # never reached WeCom
    if isinstance(e, httpx.HTTPStatusError):
        return Transient(f"HTTP {e.response.status_code}") if e.response.status_code >= 500 else Permanent(
            f"HTTP {e.response.status_code}")
    if isinstance(e, httpx.HTTPError):
        return Uncertain(type(e).__name__)  # a timeout or a broken connection after sending: outcome unknown
    raise e


def split_text(text: str, limit: int = TEXT_BYTES) -> list[str]:
    """Text in pieces of at most limit UTF-8 bytes, cut at line ends where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # one very long line: cut at a character boundary
            cut = len(line.encode()[:limit].decode("utf-8", "ignore"))
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut])
            line = line[cut:]
        if len((current + line).encode()) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current or not pieces:
        pieces.append(current)
    return [p.rstrip("\n") for p in pieces]


def card_parts(text: str) -> tuple[str, str, str]:
    """(text sent before the card, the card's title, the card's text): all in the card when it fits."""
    first, _, rest = text.partition("\n")
    if len(first) <= TITLE_CHARS and len(rest) <= CARD_TEXT_CHARS:
        return "", first, rest
    title = first if len(first) <= TITLE_CHARS else first[:TITLE_CHARS - 1] + "…"
    return text, title, ""


class WeComMessenger:
    """Sends replies and pushes to members, each send taking a slot of the member's limiter first."""

    def __init__(self, client: WeComClient, limiter: MemberLimiter | None = None) -> None:
        self.client, self.limiter = client, limiter or MemberLimiter()

    async def _send_text(self, user: str, text: str, *, dedupe: bool, reserved: bool) -> str | None:
        msgid = None
        for piece in split_text(text):
            if reserved:
                msgid = (await self.client.send_text(user, piece, dedupe=dedupe)).get("msgid")
                continue
            await self.limiter.acquire(user)
            try:
                msgid = (await self.client.send_text(user, piece, dedupe=dedupe)).get("msgid")
            finally:
                self.limiter.done(user)
        return msgid

    async def deliver(self, user: str, text: str, buttons: list[Button], *, dedupe: bool = False,
                      reserved: bool = False) -> str | None:
        """Text, with buttons as a template card (or numbered choices past six); WeCom's msgid of the last part.

        Each message takes a slot of the member's limiter first, unless the caller reserved them (message_count).
        """
        if buttons and len(buttons) > MAX_BUTTONS:  # numbered choices: the router accepts the number typed back
            text, buttons = render(Reply(text, tuple((b,) for b in buttons))), []
        if not buttons:
            return await self._send_text(user, text, dedupe=dedupe, reserved=reserved)
        before, title, body = card_parts(text)
        if before:
            await self._send_text(user, before, dedupe=dedupe, reserved=reserved)
        if not reserved:
            await self.limiter.acquire(user)
        try:
            answer = await self.client.send_card(user, title, body, [(b.label, b.payload) for b in buttons],
                                                 dedupe=dedupe)
        finally:
            if not reserved:
                self.limiter.done(user)
        return answer.get("msgid")

    async def reply(self, user: str, reply: Reply) -> None:
        """Send one router reply: its text (and buttons), then its image or file; WeComApiError or httpx.HTTPError
        when a part was not sent."""
        await self.deliver(user, reply.text, reply.flat_buttons)
        for path, kind in ((reply.image, "image"), (reply.document, "file")):
            if path is not None:
                await self.limiter.acquire(user)
                try:
                    await self.client.send_media(user, path, kind)
                finally:
                    self.limiter.done(user)


class WeComSender:
    """The outbox's sender for WeCom (reminders/dispatch.py): never waits on a member's limit, asks to retry.
    A row is marked 'sending' when its first request starts to leave (the client's trace hook), not before."""

    channel = CHANNEL
    marks_wire = True

    def __init__(self, messenger: WeComMessenger, clock: Callable[[], datetime] | None = None) -> None:
        self.messenger = messenger
        self.clock = clock  # the wall clock that keeps pushes off :00 and :30 (none: not kept off)

    async def send(self, chat_id: str, text: str, buttons: list[Button]) -> str | None:
        """Send one outbox message; RetryLater with the seconds to wait before :00/:30 + the recipient's moment,
        past the app's daily quota (QuotaReached), or when the member is at their limit."""
        if self.clock is not None and (wait := spread_wait(chat_id, self.clock())) > 0:
            raise RetryLater(wait)
        count = message_count(text, buttons)
        quota = self.messenger.client.quota
        if quota is not None and (wait := quota.reserve(count)) > 0:
            raise QuotaReached(wait, quota.limit or 0)
        try:
            wait = self.messenger.limiter.reserve(chat_id, count)
            if wait > 0:
                raise RetryLater(wait)
            try:
                return await self.messenger.deliver(chat_id, text, buttons, dedupe=True, reserved=True)
            except (WeComApiError, httpx.HTTPError) as e:
                raise send_error(e) from None
            finally:  # stamped when the last part was answered: never earlier than WeCom counted any of them
                self.messenger.limiter.done(chat_id, count)
        finally:
            if quota is not None:
                quota.release(count)


class WeComReplySender:
    """The sender of replies held as outbox rows (reminders.replies.DurableReplies): sent as any reply to a member
    talking to the bot is, waiting for the member's slots (limits.py) and counted in the day's quota without
    reserving the pushes' share of it; the row marked 'sending' when the request starts to leave, so a crash while
    it waited gives the row to the dispatcher. WeCom's answers read as the dispatcher reads them (send_error)."""

    channel = CHANNEL
    marks_wire = True

    def __init__(self, messenger: WeComMessenger) -> None:
        self.messenger = messenger

    async def send(self, chat_id: str, text: str, buttons: list[Button]) -> str | None:
        """Send one held reply; WeCom's msgid of its last part, or a SendError."""
        try:
            return await self.messenger.deliver(chat_id, text, buttons)
        except (WeComApiError, httpx.HTTPError) as e:
            raise send_error(e) from None


def message_count(text: str, buttons: list[Button]) -> int:
    """How many WeCom messages deliver() sends for this text and these buttons."""
    if buttons and len(buttons) <= MAX_BUTTONS:
        before = card_parts(text)[0]
        return (len(split_text(before)) if before else 0) + 1
    if buttons:
        text = render(Reply(text, tuple((b,) for b in buttons)))
    return len(split_text(text))
