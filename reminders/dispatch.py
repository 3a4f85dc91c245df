"""Dispatchers: claim outbox rows of one channel, send them at the channel's pace, record every outcome."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TextIO

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.db.chat_models import PersonRow
from bot.db.outbox_models import OutboxRow
from handlers.types import Button
from reminders.calendar import QuietHours
from reminders.outbox import REPLY, backoff, buttons_of, claim

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


class SendError(Exception):
    """A message could not be sent; the subclass says what to do next."""


class Blocked(SendError):
    """The person blocked the bot or left: stop writing to them."""


class RetryLater(SendError):
    """The platform asked us to wait (flood control)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class Transient(SendError):
    """A server error before the message was taken: safe to try again later."""


class Uncertain(SendError):
    """The outcome is unknown (a timeout after sending): never re-sent blindly."""


class Permanent(SendError):
    """The platform refused the message itself."""


class Sender(Protocol):
    """Sends one message on one channel."""

    channel: str

    async def send(self, chat_id: str, text: str, buttons: list[Button]) -> str | None:
        """Send; return the platform's message id; raise a SendError subclass on failure."""
        ...


@dataclass
class ConsoleSender:
    """The console channel's pushes: printed (for `planbot remind`) and kept in memory (for tests)."""

    out: TextIO | None = None
    channel: str = "console"
    delivered: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, chat_id: str, text: str, buttons: list[Button]) -> str | None:
        """Print the message for its recipient."""
        self.delivered.append((chat_id, text))
        if self.out is not None:
            labels = "  ".join(f"[{n}] {b.label}" for n, b in enumerate(buttons, 1))
            print(f"→ {chat_id}: {text}" + (f"\n  {labels}" if labels else ""), file=self.out, flush=True)
        return str(len(self.delivered))


@dataclass
class DispatchStats:
    """What one dispatch run did."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    uncertain: int = 0
    blocked: int = 0


def _record(uow: sessionmaker[Session], row_id: int, now: datetime, *, status: str, error: str | None = None,
            not_before: datetime | None = None, message_id: str | None = None, person_id: int | None = None) -> None:
    with uow.begin() as s:
        values: dict[str, object] = {"status": status, "last_error": error}
        if status == "sent":
            values.update(sent_at=now, platform_message_id=message_id)
        if not_before is not None:
            values["not_before"] = not_before
        s.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(**values))
        if person_id is not None:
            s.execute(update(PersonRow).where(PersonRow.id == person_id).values(active=False))


async def _send_one(uow: sessionmaker[Session], sender: Sender, row: OutboxRow, now: Callable[[], datetime],
                    stats: DispatchStats) -> None:
    try:
        message_id = await sender.send(row.chat_id, row.text, buttons_of(row))
    except Blocked as e:
        stats.blocked += 1
        await asyncio.to_thread(_record, uow, row.id, now(), status="failed", error=str(e) or "blocked",
                                person_id=row.person_id)
    except RetryLater as e:
        stats.retried += 1
        await asyncio.to_thread(_record, uow, row.id, now(), status="pending", error=str(e),
                                not_before=now() + timedelta(seconds=e.seconds))
    except Transient as e:
        give_up = row.attempts >= MAX_ATTEMPTS
        stats.failed += give_up
        stats.retried += not give_up
        await asyncio.to_thread(_record, uow, row.id, now(), status="failed" if give_up else "pending",
                                error=str(e), not_before=now() + backoff(row.attempts))
    except Uncertain as e:
        stats.uncertain += 1
        await asyncio.to_thread(_record, uow, row.id, now(), status="uncertain", error=str(e))
    except Permanent as e:
        stats.failed += 1
        await asyncio.to_thread(_record, uow, row.id, now(), status="failed", error=str(e))
    else:
        stats.sent += 1
        await asyncio.to_thread(_record, uow, row.id, now(), status="sent", message_id=message_id)


def _claim(uow: sessionmaker[Session], channel: str, at: datetime, limit: int, quiet: QuietHours) -> list[OutboxRow]:
    with uow.begin() as s:
        rows = claim(s, channel, at, limit)
        if quiet.contains(at):  # in quiet hours only replies to people who are talking go out
            later = [r for r in rows if r.priority > REPLY]
            for r in later:
                r.status, r.attempts, r.not_before = "pending", r.attempts - 1, quiet.next_allowed(at)
            rows = [r for r in rows if r.priority <= REPLY]
        return rows


async def dispatch(uow: sessionmaker[Session], sender: Sender, now: Callable[[], datetime], *, batch: int = 200,
                   concurrency: int = 50, quiet: QuietHours | None = None,
                   pause: Callable[[], bool] | None = None) -> DispatchStats:
    """Send every due row of the sender's channel, batch by batch, until none is left; return the tally."""
    stats = DispatchStats()
    quiet = quiet or QuietHours()
    gate = asyncio.Semaphore(concurrency)

    async def guarded(row: OutboxRow) -> None:
        async with gate:
            while pause is not None and pause():  # people talking to the bot go before bulk sends
                await asyncio.sleep(0.05)
            await _send_one(uow, sender, row, now, stats)

    while True:
        rows = await asyncio.to_thread(_claim, uow, sender.channel, now(), batch, quiet)
        if not rows:
            return stats
        await asyncio.gather(*(guarded(r) for r in rows))
