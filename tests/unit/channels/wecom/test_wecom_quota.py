"""The app-wide WeCom limits on a simulated clock: the daily quota, the global pace, pushes kept off :00 and :30."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.channels.wecom.quota import SPREAD_FROM, SPREAD_TO, DailyQuota, Pace, spread_wait

TZ = ZoneInfo("Asia/Shanghai")


class WallClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_pushes_stop_at_the_quota_less_the_replies_share_and_wait_for_the_next_day(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = WallClock(datetime(2018, 10, 15, 16, 0, tzinfo=TZ))
    quota = DailyQuota(100, clock)
    quota.seed(90)  # sent earlier today (the outbox's count at start)
    assert quota.reserve(5) == 0  # 95: the last 5 are kept for replies
    quota.count(5)
    quota.release(5)
    wait = quota.reserve(1)
    assert wait == timedelta(hours=8).total_seconds()  # until 00:00 on the 16th, in the plan's time zone
    assert quota.reserve(1) == wait  # and again: told once
    told = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(told) == 1 and "95 of 100" in told[0].getMessage() and "2018-10-16T00:00" in told[0].getMessage()
    quota.count(5)  # replies still go (and count) up to the quota itself
    assert quota.sent == 100
    clock.at = datetime(2018, 10, 16, 0, 0, tzinfo=TZ)  # a new day: a fresh quota
    assert quota.reserve(95) == 0 and quota.reserve(1) > 0


def test_pushes_under_way_count_so_that_pushes_sent_at_once_cannot_pass_the_quota_together() -> None:
    quota = DailyQuota(20, WallClock(datetime(2018, 10, 15, 9, 0, tzinfo=TZ)), reply_share=0)
    assert [quota.reserve(4) == 0 for _ in range(6)] == [True] * 5 + [False]  # 5 × 4 reserved, none answered yet
    quota.release(4)  # one push failed: its reservation is given back, nothing counted
    assert quota.reserve(4) == 0
    assert DailyQuota(None, WallClock(datetime(2018, 10, 15, tzinfo=TZ))).reserve(10**9) == 0  # no quota set


def test_the_global_pace_spaces_calls_evenly_and_never_bursts_after_a_pause() -> None:
    now = [50.0]
    pace = Pace(100, clock=lambda: now[0])
    assert [round(pace.reserve(), 6) for _ in range(4)] == [0.0, 0.01, 0.02, 0.03]
    now[0] += 10  # a quiet spell: the unused slots are not saved up for a burst
    assert [round(pace.reserve(), 6) for _ in range(3)] == [0.0, 0.01, 0.02]


def test_a_push_due_at_the_hour_or_half_hour_waits_for_its_recipients_own_moment_minutes_later() -> None:
    members = [f"m{i:04d}" for i in range(400)]
    at_nine = datetime(2018, 10, 10, 9, 0, 0, tzinfo=TZ)
    waits = [spread_wait(m, at_nine) for m in members]
    assert all(SPREAD_FROM <= w < SPREAD_TO for w in waits)
    per_minute = [sum(1 for w in waits if int(w // 60) == minute) for minute in range(1, 6)]
    assert all(50 <= n <= 110 for n in per_minute), per_minute  # about 80 a minute over five minutes, not bunched
    half_past = at_nine + timedelta(minutes=30, seconds=20)
    same_moment = [w - 20 for w in waits]
    assert [spread_wait(m, half_past) for m in members] == pytest.approx(same_moment)
    leave = at_nine + timedelta(seconds=waits[0])
    assert spread_wait(members[0], leave) == 0  # at its moment it goes
    assert all(spread_wait(m, at_nine + timedelta(minutes=6)) == 0 for m in members)
    assert all(spread_wait(m, datetime(2018, 10, 10, 14, 17, tzinfo=TZ)) == 0 for m in members)
