"""Dispatchers: claim outbox rows of one channel, send them at the channel's pace, record every outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.db.outbox import REPLY, Outcome, backoff, buttons_of, claim, record, release
from bot.db.outbox_models import OutboxRow
from bot.domain.schedule import QuietHours
from bot.messages import Button

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
class DispatchStats:
    """What one dispatch run did."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    uncertain: int = 0
    blocked: int = 0


class Ledger:
    """Outcomes of sends, written in batches: one transaction per max_rows outcomes or per max_wait seconds.

    A row is 'sending' in the database until its outcome is written: if the process dies first, recovery marks
    it 'uncertain' (never re-sent blindly), as when it died in the middle of the send itself.
    """

    def __init__(self, uow: sessionmaker[Session], *, max_rows: int = 100, max_wait: float = 0.05) -> None:
        self.uow, self.max_rows, self.max_wait = uow, max_rows, max_wait
        self.buffer: list[Outcome] = []
        self.written = 0
        self._more, self._full = asyncio.Event(), asyncio.Event()
        self._closing = False
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    def add(self, outcome: Outcome) -> None:
        """Queue one outcome; raises the writer's error if writing has failed (stop sending then)."""
        if self._error is not None:
            raise self._error
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-ledger")
        self.buffer.append(outcome)
        self._more.set()
        if len(self.buffer) >= self.max_rows:
            self._full.set()

    async def close(self) -> None:
        """Write what is left and stop; raises the writer's error, if any."""
        self._closing = True
        self._more.set()
        self._full.set()
        if self._task is not None:
            await self._task
        if self._error is not None:
            raise self._error

    async def _run(self) -> None:
        try:
            while True:
                if not self.buffer:
                    if self._closing:
                        return
                    self._more.clear()
                    await self._more.wait()
                    continue
                if len(self.buffer) < self.max_rows and not self._closing:
                    self._full.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), self.max_wait)
                batch, self.buffer = self.buffer, []
                await asyncio.to_thread(_write, self.uow, batch)
                self.written += len(batch)
        except BaseException as e:  # the database is gone: the rows stay 'sending', recovered as 'uncertain'
            self._error = e
            if not isinstance(e, Exception):
                raise


def _outcome(row: OutboxRow, error: SendError, at: datetime, stats: DispatchStats) -> Outcome:
    """What a failed send means for the row (and the stats)."""
    if isinstance(error, Blocked):
        stats.blocked += 1
        return Outcome(row.id, "failed", at, str(error) or "blocked", blocked_person=row.person_id)
    if isinstance(error, RetryLater):
        stats.retried += 1
        return Outcome(row.id, "pending", at, str(error), not_before=at + timedelta(seconds=error.seconds))
    if isinstance(error, Transient):
        give_up = row.attempts >= MAX_ATTEMPTS
        stats.failed += give_up
        stats.retried += not give_up
        return Outcome(row.id, "failed" if give_up else "pending", at, str(error),
                       not_before=at + backoff(row.attempts))
    if isinstance(error, Uncertain):
        stats.uncertain += 1
        return Outcome(row.id, "uncertain", at, str(error))
    stats.failed += 1
    return Outcome(row.id, "failed", at, str(error))


async def _send_one(sender: Sender, row: OutboxRow, now: Callable[[], datetime], stats: DispatchStats) -> Outcome:
    try:
        message_id = await sender.send(row.chat_id, row.text, buttons_of(row))
    except SendError as e:
        return _outcome(row, e, now(), stats)
    stats.sent += 1
    return Outcome(row.id, "sent", now(), message_id=message_id)


def _claim(uow: sessionmaker[Session], channel: str, at: datetime, limit: int, quiet: QuietHours) -> list[OutboxRow]:
    with uow.begin() as s:
        rows = claim(s, channel, at, limit)
        if quiet.contains(at):  # in quiet hours only replies to people who are talking go out
            later = [r for r in rows if r.priority > REPLY]
            for r in later:
                r.status, r.attempts, r.not_before = "pending", r.attempts - 1, quiet.next_allowed(at)
            rows = [r for r in rows if r.priority <= REPLY]
        return rows


def _write(uow: sessionmaker[Session], outcomes: list[Outcome]) -> None:
    with uow.begin() as s:
        record(s, outcomes)


async def dispatch(uow: sessionmaker[Session], sender: Sender, now: Callable[[], datetime], *, batch: int = 100,
                   concurrency: int = 50, quiet: QuietHours | None = None,
                   pause: Callable[[], bool] | None = None, ledger_rows: int = 100,
                   ledger_wait: float = 0.05) -> DispatchStats:
    """Send every due row of the sender's channel until none is left; return the tally.

    Rows are claimed batch by batch (the next batch is claimed while the last of the current one is still being
    sent), at most `concurrency` sends are in flight, and outcomes are written in batches (see Ledger). When
    dispatch is cancelled, claimed rows not yet handed to the sender are given back as pending; if the process
    dies, up to batch + concurrency claimed rows that were never sent are recovered as 'uncertain' with the rest,
    so the batch is kept small (several dispatchers also share the last rows more evenly).
    """
    stats = DispatchStats()
    quiet = quiet or QuietHours()
    ledger = Ledger(uow, max_rows=ledger_rows, max_wait=ledger_wait)
    queue: deque[OutboxRow] = deque()
    low_water = max(1, min(batch, concurrency))  # claim the next batch when fewer rows than this wait
    refill: asyncio.Task[bool] | None = None
    exhausted = False

    async def claim_more() -> bool:
        rows = await asyncio.to_thread(_claim, uow, sender.channel, now(), batch, quiet)
        queue.extend(rows)
        return bool(rows)

    async def next_row() -> OutboxRow | None:
        nonlocal refill, exhausted
        while True:
            if refill is not None and refill.done():
                done, refill = refill, None
                exhausted = exhausted or not done.result()  # nothing was due: no more claims in this run
            if refill is None and not exhausted and len(queue) < low_water:
                refill = asyncio.create_task(claim_more(), name="outbox-claim")
            if queue:
                return queue.popleft()
            if refill is None:
                return None
            await asyncio.wait([refill])  # (a worker cancelled here does not cancel the claim)

    async def worker() -> None:
        while (row := await next_row()) is not None:
            while pause is not None and pause():  # people talking to the bot go before bulk sends
                await asyncio.sleep(0.05)
            # an exception other than SendError stops the dispatch: that row's outcome is unknown, it stays 'sending'
            ledger.add(await _send_one(sender, row, now, stats))

    try:
        workers = [asyncio.create_task(worker(), name=f"outbox-send-{i}") for i in range(max(1, concurrency))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
    finally:
        if refill is not None:  # a claim under way when we stopped: its rows are given back too
            with contextlib.suppress(BaseException):
                await refill
        unsent = [release(r) for r in queue]
        queue.clear()
        try:
            await ledger.close()
        finally:
            if unsent:
                await asyncio.to_thread(_write, uow, unsent)
    return stats
