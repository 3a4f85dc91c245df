"""WeCom's per-member limits, kept on our side: beyond them WeCom drops messages silently while answering ok."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# (window in seconds, messages in it) per member: 30 a minute and 1,000 an hour (path/90236), each window a
# little longer than WeCom's, for the time between WeCom counting a message and its answer reaching us
WINDOWS = ((61.0, 30), (3605.0, 1000))
IN_FLIGHT_WAIT = 1.0  # seconds to wait when the window is full of messages still on their way


@dataclass
class _Member:
    sent: deque[float] = field(default_factory=deque)  # when each message's answer came back, oldest first
    in_flight: int = 0  # slots taken by messages not yet answered: counted in every window


class MemberLimiter:
    """Sliding windows per member. A slot is taken before a message is sent and stamped when WeCom has answered
    (done): WeCom counts a message when it arrives, which may be long after the slot was taken (a queue for a
    connection), so a window is measured from the answers, never from the reservations."""

    def __init__(self, windows: tuple[tuple[float, int], ...] = WINDOWS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.windows, self.clock = windows, clock
        self.members: dict[str, _Member] = {}
        self.longest = max(w for w, _ in windows)

    def reserve(self, member: str, n: int = 1) -> float:
        """Take n slots for messages to member and return 0, or take none and return the seconds until n are free."""
        now = self.clock()
        m = self.members.setdefault(member, _Member())
        while m.sent and m.sent[0] <= now - self.longest:
            m.sent.popleft()
        wait = 0.0
        for window, count in self.windows:
            in_window = [t for t in m.sent if t > now - window] if len(m.sent) + m.in_flight + n > count else []
            expire = len(in_window) + m.in_flight + n - count  # this many must leave the window first
            if expire > len(in_window):  # not even all the answered ones leaving would do: wait for answers
                wait = max(wait, IN_FLIGHT_WAIT if m.in_flight else window)
            elif expire > 0:
                wait = max(wait, in_window[expire - 1] + window - now)
        if wait > 0:
            return wait
        m.in_flight += n
        return 0.0

    def done(self, member: str, n: int = 1) -> None:
        """n messages to member have been answered (or failed: counted all the same), now."""
        m = self.members.setdefault(member, _Member())
        m.in_flight = max(0, m.in_flight - n)
        m.sent.extend([self.clock()] * n)

    async def acquire(self, member: str) -> None:
        """Wait until a slot for member is free, and take it (call done once the message is answered)."""
        while (wait := self.reserve(member)) > 0:
            await asyncio.sleep(wait)

    def forget_idle(self) -> None:
        """Drop members with nothing in any window and nothing in flight (bounds memory in a long run)."""
        cutoff = self.clock() - self.longest
        for member in [k for k, m in self.members.items() if not m.in_flight and (not m.sent or m.sent[-1] <= cutoff)]:
            del self.members[member]
