"""WeCom's limits on the app as a whole, beside the per-member ones (limits.py): the app's daily quota of messages,
a global pace of message/send calls, and pushes kept off :00 and :30 of the hour, as WeCom advises."""

from __future__ import annotations

import asyncio
import logging
import math
import time
import zlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.app import App
from bot.db.outbox import sent_since
from reminders.dispatch import RetryLater

if TYPE_CHECKING:
    from bot.channels.wecom.api import WeComClient

log = logging.getLogger(__name__)
REPLY_SHARE = 0.05  # of the daily quota kept for replies to people talking to the bot: pushes stop before it
SPREAD_FROM, SPREAD_TO = 60, 360  # a push due at :00 or :30 leaves 1 to 6 minutes after, at its recipient's moment


class QuotaReached(RetryLater):
    """The app's daily quota is used up: the push waits until the next day (recorded as the row's last error)."""

    def __init__(self, seconds: float, limit: int) -> None:
        super().__init__(seconds)
        self.args = (f"WeCom daily quota of {limit} messages reached: waits until tomorrow",)


class DailyQuota:
    """Messages the app sent on the current day of the clock (the plan's time zone), against WECOM_DAILY_QUOTA.

    Every message counts once answered (count(), called by the API client for replies and pushes alike); a push
    reserves its messages first, so that pushes sent at once cannot pass the quota together. Pushes stop when the
    quota less REPLY_SHARE is used, so that people talking to the bot are still answered. None: no quota."""

    def __init__(self, limit: int | None, now: Callable[[], datetime], *, reply_share: float = REPLY_SHARE) -> None:
        self.limit, self.now = limit, now
        self.push_limit = None if limit is None else math.floor(limit * (1 - reply_share))
        self.day: date | None = None
        self.sent = 0  # answered today
        self.in_flight = 0  # reserved by pushes not yet answered
        self._told: date | None = None

    def _today(self) -> datetime:
        now = self.now()
        if now.date() != self.day:
            self.day, self.sent = now.date(), 0
        return now

    def seed(self, sent_today: int) -> None:
        """Start from the messages already sent today (the outbox's count, at start)."""
        self._today()
        self.sent += sent_today

    def count(self, n: int = 1) -> None:
        """n messages were answered ok by WeCom."""
        self._today()
        self.sent += n

    def reserve(self, n: int) -> float:
        """Reserve n messages of today's quota for a push and return 0, or reserve none and return the seconds until
        the next day (logged once a day)."""
        now = self._today()
        if self.push_limit is None or self.sent + self.in_flight + n <= self.push_limit:
            self.in_flight += n
            return 0.0
        tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
        if self._told != self.day:
            self._told = self.day
            log.warning("WeCom's daily quota for the app is used up (%d of %d messages today, the last %d kept for "
                        "replies): pushes wait until %s", self.sent, self.limit, (self.limit or 0) - self.push_limit,
                        tomorrow.isoformat(timespec="minutes"))
        return max(1.0, (tomorrow - now).total_seconds())

    def release(self, n: int) -> None:
        """A push's reservation ends (its messages were answered, and counted, or failed)."""
        self.in_flight = max(0, self.in_flight - n)


class Pace:
    """At most per_second message/send calls a second overall, evenly spaced (never a burst): each call takes the
    next free slot and waits for it."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.period, self.clock = 1.0 / per_second, clock
        self._next = -math.inf

    def reserve(self) -> float:
        """Take the next free slot; the seconds until it."""
        now = self.clock()
        slot = max(now, self._next)
        self._next = slot + self.period
        return slot - now

    async def wait(self) -> None:
        """Wait for the next free slot."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


def spread_wait(chat_id: str, now: datetime) -> float:
    """Seconds to hold a push to chat_id that would leave in the first minutes after :00 or :30 (when everyone's
    scheduled pushes reach WeCom at once): each recipient has its own moment 1 to 6 minutes after the half hour,
    the same every time (a hash of the chat id), and a push before it waits for it; 0 at any other time."""
    into = (now.minute % 30) * 60 + now.second + now.microsecond / 1e6
    moment = SPREAD_FROM + zlib.crc32(chat_id.encode()) % ((SPREAD_TO - SPREAD_FROM) * 1000) / 1000
    return moment - into if into < moment else 0.0


def apply_app_limits(app: App, client: WeComClient) -> DailyQuota:
    """Give the client the app's global pace (WECOM_MAX_RATE) and its daily quota (WECOM_DAILY_QUOTA), counted on
    from the messages the outbox sent today (replies before a restart are not in it)."""
    settings = app.settings
    client.pace = Pace(settings.wecom_max_rate)
    client.quota = quota = DailyQuota(settings.wecom_daily_quota, app.clock.now)
    if settings.wecom_daily_quota is not None:
        now = app.clock.now()
        with app.uow() as s:
            quota.seed(sent_since(s, "wecom", datetime.combine(now.date(), datetime.min.time(), tzinfo=now.tzinfo)))
    return quota
