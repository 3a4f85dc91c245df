"""Dates people see are the plan's local dates: an instant just after midnight in Shanghai is already that day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.render.provenance import local_day, local_time

SH = ZoneInfo("Asia/Shanghai")


def test_a_notice_sent_at_one_in_the_morning_shows_that_day() -> None:
    sent = datetime(2018, 10, 14, 17, 0, tzinfo=UTC)  # 2018-10-15 01:00 in Shanghai
    assert sent.date() == date(2018, 10, 14)
    assert local_day(sent, SH) == date(2018, 10, 15)
    assert local_time(sent, SH) == "2018-10-15 01:00"
