"""Dispatchers: claim outbox rows of one channel, send them at the channel's pace, record every outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.db.outbox import REPLY, Outcome, backoff, buttons_of, claim, mark_sending, record, release
from bot.db.outbox_models import OutboxRow
from bot.domain.schedule import QuietHours
from bot.messages import Button

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
_ON_WIRE: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("outbox_on_wire", default=None)


async def on_the_wire() -> None:
    """A sender calls this right before it writes the request of the message being dispatched (after any wait for
    a rate slot): when it returns, the row is durably 'sending', so that a crash from then on leaves it 'uncertain'
    and a crash before leaves it claimed, to be sent after the restart. Outside a dispatch it does nothing."""
    hook = _ON_WIRE.get()
    if hook is not None:
        await hook()


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


class ClaimLost(Exception):
    """The row is no longer claimed by this dispatcher (recovery gave it back): it must not be sent from here."""


class Sender(Protocol):
    """Sends one message on one channel.

    A sender whose `marks_wire` attribute is true calls on_the_wire() just before its request leaves; for any other
    the dispatcher marks the row 'sending' before calling send() (a crash then makes it 'uncertain' even if the
    sender was still waiting)."""

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


# Where a process writes its send bookkeeping, when not on a thread of its own against the database (the default):
# a channel on SQLite hands it to its database process, the one writer (bot.channels.shared.workers).
WriteOutcomes = Callable[[list[Outcome]], Awaitable[None]]
MarkSending = Callable[[list[int]], Awaitable[set[int]]]


class Ledger:
    """Outcomes of sends, written in batches: one transaction per max_rows outcomes or per max_wait seconds.

    A row is 'sending' in the database until its outcome is written: if the process dies first, recovery marks
    it 'uncertain' (never re-sent blindly), as when it died in the middle of the send itself.
    """

    def __init__(self, uow: sessionmaker[Session], *, max_rows: int = 100, max_wait: float = 0.05,
                 write: WriteOutcomes | None = None) -> None:
        self.uow, self.max_rows, self.max_wait = uow, max_rows, max_wait
        self.write: WriteOutcomes = write or outcomes_on_a_thread(uow)
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
                await self.write(batch)
                self.written += len(batch)
        except BaseException as e:  # the database is gone: the rows stay 'sending', recovered as 'uncertain'
            self._error = e
            if not isinstance(e, Exception):
                raise


class WireMarks:
    """Rows marked 'sending' just before their requests leave, written together: each request waits for the one
    transaction that holds its mark (a group commit), and the marks that arrive meanwhile go in the next one."""

    def __init__(self, uow: sessionmaker[Session], write: MarkSending | None = None) -> None:
        self.write: MarkSending = write or marks_on_a_thread(_bind_of(uow))
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def mark(self, row_id: int) -> None:
        """Return once the row is durably 'sending'; raise the database's error if it could not be written."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row_id, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="outbox-wire-marks")
        await future

    async def close(self) -> None:
        """Wait for the last write."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                marked = await self.write([row_id for row_id, _ in batch])
            except BaseException as e:
                for _, f in batch:
                    if not f.done():
                        f.set_exception(e) if isinstance(e, Exception) else f.cancel()
                if not isinstance(e, Exception):
                    raise
                continue
            for row_id, f in batch:
                if not f.done():  # (a caller cancelled meanwhile: its row is given back as claimed-but-unsent)
                    f.set_result(None) if row_id in marked else f.set_exception(ClaimLost(row_id))


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


async def send_one(sender: Sender, row: OutboxRow, now: Callable[[], datetime], stats: DispatchStats,
                    wire: WireMarks, interrupted: list[Outcome],
                    pause: Callable[[], Awaitable[None]]) -> Outcome | None:
    """Send one claimed row. If this is cancelled or fails otherwise, the row's outcome goes to `interrupted`:
    'uncertain' once its request may have left, else pending again (it never left). None: the claim was lost
    (another process's recovery gave the row back), so it was not sent and its outcome is not ours to write."""
    marked = False

    async def mark() -> None:
        nonlocal marked
        if not marked:
            await wire.mark(row.id)
            marked = True

    token = _ON_WIRE.set(mark)
    try:
        await pause()
        if not getattr(sender, "marks_wire", False):
            await mark()
        message_id = await sender.send(row.chat_id, row.text, buttons_of(row))
    except SendError as e:
        return _outcome(row, e, now(), stats)
    except ClaimLost:
        log.warning("outbox row %s was given back while waiting to be sent: not sent from here", row.id)
        return None
    except BaseException as e:
        interrupted.append(Outcome(row.id, "uncertain", now(), f"interrupted while sending ({type(e).__name__})")
                           if marked else release(row))
        raise
    finally:
        _ON_WIRE.reset(token)
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


def write_outcomes(uow: sessionmaker[Session], outcomes: list[Outcome]) -> None:
    """Write outcomes in one transaction of their own."""
    with uow.begin() as s:
        record(s, outcomes)


def marks_on_a_thread(bind: Engine) -> MarkSending:
    """Mark rows 'sending' with _mark on a thread."""
    async def mark(row_ids: list[int]) -> set[int]:
        return await asyncio.to_thread(_mark, bind, row_ids)
    return mark


def outcomes_on_a_thread(uow: sessionmaker[Session]) -> WriteOutcomes:
    """Write outcomes with write_outcomes on a thread (the event loop goes on meanwhile)."""
    async def write(outcomes: list[Outcome]) -> None:
        await asyncio.to_thread(write_outcomes, uow, outcomes)
    return write


def _bind_of(uow: sessionmaker[Session]) -> Engine:
    """The engine (with its execution options, e.g. relaxed durability) that uow's sessions use."""
    bind = uow.kw.get("bind")
    if isinstance(bind, Engine):
        return bind
    with uow() as s:
        engine = s.get_bind()
    if not isinstance(engine, Engine):
        raise TypeError(f"outbox sessions must be bound to an Engine, not {type(engine).__name__}")
    return engine


def _mark(bind: Engine, row_ids: list[int]) -> set[int]:
    """One transaction marking rows 'sending', on a Core connection (no ORM Session: see mark_sending)."""
    with bind.begin() as c:
        return mark_sending(c, row_ids)


async def dispatch(uow: sessionmaker[Session], sender: Sender, now: Callable[[], datetime], *, batch: int = 100,
                   concurrency: int = 50, quiet: QuietHours | None = None,
                   pause: Callable[[], bool] | None = None, bulk_every: float | None = None,
                   ledger_rows: int = 100, ledger_wait: float = 0.05) -> DispatchStats:
    """Send every due row of the sender's channel until none is left; return the tally.

    Rows are claimed batch by batch (the next batch is claimed while the last of the current one is still being
    sent), rows to one chat go one after another in their queue order, at most `concurrency` sends are in flight
    (while pause() is true, one every bulk_every seconds), and outcomes are written in batches (see Ledger). A row
    is marked 'sending' only just before its request leaves (WireMarks). When dispatch is cancelled, rows whose
    request had not left are given back as pending and those in flight are 'uncertain': no row stays claimed or
    'sending'. If the process dies, recovery (recover_sending) does the same from the rows' statuses.
    """
    stats = DispatchStats()
    quiet = quiet or QuietHours()
    ledger = Ledger(uow, max_rows=ledger_rows, max_wait=ledger_wait)
    wire = WireMarks(uow)
    interrupted: list[Outcome] = []
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

    shared_at = -math.inf

    async def wait_for_chat() -> None:
        """People talking to the bot (pause() true) go before bulk sends, but one bulk send may still go every
        bulk_every seconds, so that a notice finishes in bounded time under steady chat traffic."""
        nonlocal shared_at
        loop = asyncio.get_running_loop()
        while pause is not None and pause():
            if bulk_every is not None and loop.time() - shared_at >= bulk_every:
                shared_at = loop.time()
                return
            await asyncio.sleep(0.05 if bulk_every is None else min(0.05, bulk_every))

    last_to: dict[str, asyncio.Future[None]] = {}  # per chat, the send the next one to that chat waits for

    async def worker() -> None:
        while (row := await next_row()) is not None:
            before, mine = last_to.get(row.chat_id), asyncio.get_running_loop().create_future()
            last_to[row.chat_id] = mine  # two messages to one chat (a reminder, then a notice) arrive in queue order
            try:
                if before is not None:
                    try:
                        await asyncio.shield(before)
                    except BaseException:
                        interrupted.append(release(row))  # never handed to the sender
                        raise
                # an exception other than SendError stops the dispatch (the row's outcome goes to interrupted)
                outcome = await send_one(sender, row, now, stats, wire, interrupted, wait_for_chat)
            finally:
                mine.set_result(None)
                if last_to.get(row.chat_id) is mine:
                    del last_to[row.chat_id]
            if outcome is not None:
                ledger.add(outcome)

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
        await wire.close()
        unsent = [release(r) for r in queue] + interrupted
        queue.clear()
        try:
            await ledger.close()
        finally:
            if unsent:
                await asyncio.to_thread(write_outcomes, uow, unsent)
    return stats
