"""WeCom group robots (群机器人): push-only senders into chat groups, one webhook key per audience (WECOM_ROBOT_KEYS).
A robot takes at most 20 messages a minute; its key is a secret, kept out of logs and error texts."""

from __future__ import annotations

import logging

import httpx

from bot.channels.wecom.api import RedactSecrets, WeComApiError, answer_of, protect_logs
from bot.channels.wecom.limits import MemberLimiter
from bot.channels.wecom.send import send_error, split_text
from bot.config import ROBOT_CHANNEL
from bot.messages import Button
from reminders.dispatch import Permanent, RetryLater

log = logging.getLogger(__name__)
ROBOT_WINDOWS = ((61.0, 20),)  # 20 messages a minute per robot, the window a little longer than WeCom's
SEND = "/cgi-bin/webhook/send"


class RobotSender:
    """The outbox's sender for group robots: a row's chat id is an audience, sent to that audience's robot as text
    (buttons are left out: a group has none to press); a robot at its limit gets RetryLater, never a burst."""

    channel = ROBOT_CHANNEL

    def __init__(self, keys: tuple[tuple[str, str], ...], base_url: str, *, timeout: float = 10.0,
                 limiter: MemberLimiter | None = None) -> None:
        self.keys = dict(keys)
        self.redact: RedactSecrets = protect_logs(*self.keys.values())
        self.limiter = limiter or MemberLimiter(windows=ROBOT_WINDOWS)
        self.http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    def __repr__(self) -> str:  # never a key
        return f"RobotSender(audiences={sorted(self.keys)!r})"

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()

    async def send(self, chat_id: str, text: str, buttons: list[Button]) -> str | None:
        """Send one outbox row to the robot of the audience chat_id; a SendError subclass on failure."""
        key = self.keys.get(chat_id)
        if key is None:  # (WECOM_ROBOT_KEYS changed since the row was queued)
            raise Permanent(f"no group robot is configured for {chat_id}")
        pieces = split_text(text)
        wait = self.limiter.reserve(key, len(pieces))  # (counted per robot: two audiences may share one)
        if wait > 0:
            raise RetryLater(wait)
        try:
            for piece in pieces:
                answer_of(await self.http.post(SEND, params={"key": key},
                                             json={"msgtype": "text", "text": {"content": piece}}))
        except (WeComApiError, httpx.HTTPError) as e:
            raise send_error(e) from None
        finally:
            self.limiter.done(key, len(pieces))
        return None
