"""Pacing any channel's sends: one chat's slots in order, and a cap on what a server may count in its window."""

from __future__ import annotations

import asyncio
import math
from collections import deque


class ChatPacer:
    """At most one message a `period` per chat, in the order asked: each call reserves its chat's next free slot
    and sleeps until it. Chats whose last slot has passed are forgotten (in amortised O(1) per call)."""

    def __init__(self, period: float, keep: int = 4096) -> None:
        self.period, self.keep = period, keep
        self._limit = keep
        self._next: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self._next)

    async def wait(self, chat: int) -> None:
        """Wait for the chat's next slot."""
        now = asyncio.get_running_loop().time()
        if len(self._next) >= self._limit:
            self._next = {c: t for c, t in self._next.items() if t > now}
            self._limit = max(self.keep, 2 * len(self._next))  # a full scan at most every len() calls
        slot = max(now, self._next.get(chat, now))
        self._next[chat] = slot + self.period
        if slot > now:
            await asyncio.sleep(slot - now)


class ServerWindow:
    """At most `cap` requests that the server may count in any one `window` of its clock, however late it counts them.

    A server counts a request when it gets to it, which is not when it was sent: after a hiccup it works through the
    requests that queued meanwhile at once, so requests sent at a steady pace land in one of its windows together
    (sent 35 ms apart, a 100 ms stall puts 3 more in a window). The server counted request j no later than its answer
    came back, less the shortest round trip seen (the answer's way back takes at least that much of it). So a request
    may go when fewer than `cap` requests sent earlier are still in flight or were counted, at the latest, within the
    last `window`. At a steady pace with a steady round trip that holds no request back; after a hiccup it holds the
    next ones back for as long as the hiccup moved the others. O(1) per request.
    """

    def __init__(self, cap: int, window: float = 1.0) -> None:
        self.cap, self.window = cap, window
        self.in_flight = 0
        self._counted: deque[float] = deque()  # latest possible server times, ascending (answers come in order)
        self._min_rtt = math.inf
        self._answered: asyncio.Event | None = None

    def _recent(self, now: float) -> int:
        while self._counted and self._counted[0] <= now - self.window:
            self._counted.popleft()
        return self.in_flight + len(self._counted)

    async def admit(self) -> float:
        """Wait until one more request fits; count it as in flight. Returns its send time (for done())."""
        loop = asyncio.get_running_loop()
        while self._recent(now := loop.time()) >= self.cap:
            if self._counted:
                await asyncio.sleep(self._counted[0] + self.window - now)
            else:  # every counted one is still in flight: wait for an answer
                self._answered = self._answered or asyncio.Event()
                await self._answered.wait()
        self.in_flight += 1
        return now

    def done(self, sent: float, answered: bool) -> None:
        """The request sent at `sent` ended: answered (its round trip then counts), or not (an error, a cancel)."""
        now = asyncio.get_running_loop().time()
        if answered:
            self._min_rtt = min(self._min_rtt, now - sent)
        latest = now - (self._min_rtt if self._min_rtt < math.inf else 0.0)
        if self._counted and latest < self._counted[-1]:  # a smaller shortest round trip moved the bound back
            latest = self._counted[-1]
        self.in_flight -= 1
        self._counted.append(latest)
        if self._answered is not None:
            self._answered.set()
            self._answered = None
