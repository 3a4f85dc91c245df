"""WeCom's per-member limits, kept on our side: beyond them WeCom drops messages silently while answering ok."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

# (window in seconds, messages in it) per member: 30 a minute and 1,000 an hour (path/90236), each window a
# little longer than WeCom's so that transit time cannot squeeze two windows' messages into one of WeCom's
WINDOWS = ((61.0, 30), (3605.0, 1000))


class MemberLimiter:
    """Sliding windows per member: a message is counted when its slot is taken, whatever becomes of it."""

    def __init__(self, windows: tuple[tuple[float, int], ...] = WINDOWS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.windows, self.clock = windows, clock
        self.sent: dict[str, deque[float]] = {}
        self.longest = max(w for w, _ in windows)

    def reserve(self, member: str, n: int = 1) -> float:
        """Take n slots for messages to member and return 0, or take none and return the seconds until n are free."""
        now = self.clock()
        times = self.sent.setdefault(member, deque())
        while times and times[0] <= now - self.longest:
            times.popleft()
        wait = 0.0
        for window, count in self.windows:
            in_window = [t for t in times if t > now - window] if len(times) + n > count else []
            expire = len(in_window) + n - count  # this many of the oldest must leave the window first
            if expire > 0:
                wait = max(wait, (in_window[expire - 1] if expire <= len(in_window) else now) + window - now)
        if wait > 0:
            return wait
        times.extend([now] * n)
        return 0.0

    async def acquire(self, member: str) -> None:
        """Wait until a slot for member is free, and take it."""
        while (wait := self.reserve(member)) > 0:
            await asyncio.sleep(wait)

    def forget_idle(self) -> None:
        """Drop members with nothing in any window (bounds memory in a long run)."""
        cutoff = self.clock() - self.longest
        for member in [m for m, t in self.sent.items() if not t or t[-1] <= cutoff]:
            del self.sent[member]
