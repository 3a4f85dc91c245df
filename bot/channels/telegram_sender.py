"""Pushing outbox messages through Telegram, with PTB's errors turned into what the dispatcher should do."""

from __future__ import annotations

from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.channels.telegram import markup
from handlers.types import Button, Reply
from reminders.dispatch import Blocked, Permanent, RetryLater, Transient, Uncertain


def _seconds(e: RetryAfter) -> float:
    value: Any = e.retry_after
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


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
        except TimedOut as e:  # the request may have reached Telegram: its outcome is unknown
            raise Uncertain(str(e) or "timed out") from None
        except BadRequest as e:
            raise Permanent(str(e)) from None
        except NetworkError as e:  # 5xx and refused connections: Telegram did not take the message
            raise Transient(str(e)) from None
        except TelegramError as e:
            raise Permanent(str(e)) from None
        return str(message.message_id)
