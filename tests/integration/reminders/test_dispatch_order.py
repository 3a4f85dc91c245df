"""The outbox dispatch keeps each chat's messages in their queue order, while different chats go in parallel."""

from __future__ import annotations

import asyncio

from bot.channels.console import ConsoleSender
from bot.db.outbox import BULK, REMINDER, Delivery, counts, enqueue
from reminders.dispatch import dispatch
from support import TestBot


class SlowFirsts(ConsoleSender):
    """A platform that takes a while with the messages whose text starts with "slow", and records arrivals."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[tuple[str, str]] = []
        self.overlap = 0  # the most sends under way at once
        self._now = 0

    async def send(self, chat_id: str, text: str, buttons: list) -> str | None:  # type: ignore[type-arg]
        self._now += 1
        self.overlap = max(self.overlap, self._now)
        try:
            if text.startswith("slow"):
                await asyncio.sleep(0.05)
            self.arrived.append((chat_id, text))
            return await super().send(chat_id, text, buttons)
        finally:
            self._now -= 1


def test_two_messages_to_one_chat_arrive_in_queue_order_while_chats_go_in_parallel(bot: TestBot) -> None:
    now = bot.app.clock.now()
    with bot.app.uow.begin() as s:  # per chat: a slow reminder first, then a quick notice
        for chat in ("c1", "c2", "c3"):
            to = Delivery(None, "console", chat)
            enqueue(s, f"r-{chat}", to, "reminder", f"slow reminder to {chat}", now, priority=REMINDER)
            enqueue(s, f"n-{chat}", to, "notice", f"notice to {chat}", now, priority=BULK)
    sender = SlowFirsts()
    stats = asyncio.run(dispatch(bot.app.uow, sender, lambda: now, concurrency=10))
    assert stats.sent == 6
    for chat in ("c1", "c2", "c3"):
        assert [t for c, t in sender.arrived if c == chat] == [f"slow reminder to {chat}", f"notice to {chat}"]
    assert sender.overlap >= 3  # the three chats' first messages were under way together
    with bot.app.uow() as s:
        assert counts(s).get("sent") == 6
