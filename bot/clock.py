"""The clock, read only at the edges: real time, or a simulated clock started at PLANBOT_NOW."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    """Now in the plan's time zone; when started at a given instant it runs on from there."""

    def __init__(self, start: datetime | None = None, tz: ZoneInfo = TZ) -> None:
        self.tz = tz
        self._offset = timedelta(0)
        if start is not None:
            aware = start if start.tzinfo else start.replace(tzinfo=tz)
            self._offset = aware - datetime.now(tz)

    def set(self, instant: datetime) -> None:
        """Move a simulated clock to instant (it runs on from there); for simulations and tests."""
        aware = instant if instant.tzinfo else instant.replace(tzinfo=self.tz)
        self._offset = aware - datetime.now(self.tz)

    def now(self) -> datetime:
        """The current instant, aware, in the clock's time zone."""
        return (datetime.now(self.tz) + self._offset).astimezone(self.tz)

    def today(self) -> date:
        """Today's date in the clock's time zone."""
        return self.now().date()
