"""Replies to committed actions (a figure saved, a notice signed), sent at once by the channel that handled the
update but kept as outbox rows until their outcome is written, so that a crash loses none and doubles none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.db.outbox import Outcome
from bot.db.outbox_models import OutboxRow
from reminders.dispatch import (
    DispatchStats,
    Ledger,
    MarkSending,
    Sender,
    WireMarks,
    WriteOutcomes,
    outcomes_on_a_thread,
    send_one,
)


async def _no_pause() -> None:
    return None


class DurableReplies:
    """Sends replies whose outbox rows this process holds (bot.db.outbox.hold_reply), as the dispatcher sends its
    rows: marked 'sending' just before the request leaves, the outcome written in batches. A reply that could not
    go now (flood control, a refused connection) is left pending for the dispatcher; one interrupted by a stop is
    given back (it never left) or 'uncertain'. Each channel that holds replies keeps one of these."""

    def __init__(self, uow: sessionmaker[Session], sender: Sender, now: Callable[[], datetime], *,
                 mark: MarkSending | None = None, write: WriteOutcomes | None = None) -> None:
        """mark and write, when given, write the 'sending' marks and the outcomes instead of threads of this process
        (a channel on SQLite gives its database process's, so that one process writes)."""
        self.uow, self.sender, self.now = uow, sender, now
        self.stats = DispatchStats()
        self.wire = WireMarks(uow, mark)
        self.write: WriteOutcomes = write or outcomes_on_a_thread(uow)
        self.ledger = Ledger(uow, write=self.write)
        self.interrupted: list[Outcome] = []

    async def send(self, row_id: int, person_id: int | None, chat_id: str, text: str, buttons: str) -> str:
        """Send one held reply; its status afterwards: sent, failed, pending (the dispatcher sends it later),
        uncertain, or "" when recovery had given the row back (then it is the dispatcher's to send)."""
        row = OutboxRow(id=row_id, person_id=person_id, chat_id=chat_id, text=text, buttons=buttons, attempts=1,
                        not_before=self.now(), priority=0, channel=self.sender.channel)
        outcome = await send_one(self.sender, row, self.now, self.stats, self.wire, self.interrupted, _no_pause)
        if outcome is None:
            return ""
        self.ledger.add(outcome)
        return outcome.status

    async def close(self) -> None:
        """Write every outcome still buffered, and give back the replies a stop interrupted."""
        await self.wire.close()
        try:
            await self.ledger.close()
        finally:
            if self.interrupted:
                await self.write(self.interrupted)
                self.interrupted = []
