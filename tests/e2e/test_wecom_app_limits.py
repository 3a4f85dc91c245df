"""WeCom's app-wide limits through the outbox, against the fake WeCom API on a simulated clock: pushes due at :00
spread over the next minutes, the daily quota (pushes wait for the next day, replies still go), and the quota
counted on after a restart."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy import update
from test_wecom_push import queue, rows

from bot.app import App
from bot.bootstrap import bootstrap
from bot.channels.wecom.api import WeComClient
from bot.channels.wecom.channel import WeComChannel
from bot.channels.wecom.quota import DailyQuota
from bot.channels.wecom.send import WeComMessenger, WeComSender
from bot.config import Settings
from bot.db.outbox_models import OutboxRow
from fakes import FakeWeComApi
from fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN
from reminders.dispatch import dispatch

pytestmark = pytest.mark.asyncio
TZ = ZoneInfo("Asia/Shanghai")
TEN = datetime(2018, 10, 15, 10, 0, 3, tzinfo=TZ)  # (test_wecom_push.queue queues at 10:00)


class WallClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def api() -> Iterator[FakeWeComApi]:
    with FakeWeComApi() as fake:
        yield fake


def wecom_env(env: dict[str, str], api: FakeWeComApi, **more: str) -> dict[str, str]:
    return dict(env, PLANBOT_NOW=TEN.isoformat(), WECOM_CORP_ID=CORP_ID, WECOM_AGENT_ID=str(AGENT_ID),
                WECOM_SECRET=SECRET, WECOM_TOKEN=TOKEN, WECOM_AES_KEY=AES_KEY, WECOM_API_URL=api.url, **more)


@pytest.fixture
def wc_app(env: dict[str, str], api: FakeWeComApi) -> Iterator[App]:
    app = bootstrap(Settings.from_env(wecom_env(env, api)))
    yield app
    app.close()


@pytest_asyncio.fixture
async def client(api: FakeWeComApi) -> AsyncIterator[WeComClient]:
    c = WeComClient(CORP_ID, SECRET, AGENT_ID, api.url)
    yield c
    await c.aclose()


async def test_pushes_due_at_ten_leave_at_each_recipients_moment_between_ten_o_one_and_ten_o_six(
        wc_app: App, api: FakeWeComApi, client: WeComClient) -> None:
    members = [f"u{i:03d}" for i in range(60)]
    queue(wc_app, members)
    clock = WallClock(TEN)
    sender = WeComSender(WeComMessenger(client), clock)
    held = await dispatch(wc_app.uow, sender, clock)
    assert held.sent == 0 and held.retried == 60 and api.delivered == []  # nothing leaves on the hour
    moments = sorted(r.not_before for r in rows(wc_app).values())
    assert TEN + timedelta(seconds=55) <= moments[0] and moments[-1] < TEN + timedelta(minutes=6)
    assert len({m.minute for m in moments}) == 5  # spread over five minutes
    for minute in range(2, 8):  # the scheduler's ticks: each sends those whose moment has come
        clock.at = TEN.replace(minute=minute, second=0)
        stats = await dispatch(wc_app.uow, sender, clock)
        assert stats.sent == sum(1 for m in moments if clock.at - timedelta(minutes=1) < m <= clock.at)
    assert sorted(m["touser"] for m in api.delivered) == members and api.dropped == []
    assert all(r.status == "sent" for r in rows(wc_app).values())


async def test_past_the_daily_quota_pushes_wait_for_the_next_day_and_replies_still_go(
        wc_app: App, api: FakeWeComApi, client: WeComClient, caplog: pytest.LogCaptureFixture) -> None:
    clock = WallClock(datetime(2018, 10, 15, 16, 10, tzinfo=TZ))
    client.quota = DailyQuota(20, clock)  # 19 for pushes, the last one kept for replies
    queue(wc_app, [f"u{i:02d}" for i in range(25)])
    messenger = WeComMessenger(client)
    sender = WeComSender(messenger, clock)
    stats = await dispatch(wc_app.uow, sender, clock)
    assert (stats.sent, stats.retried, stats.failed) == (19, 6, 0)
    waiting = [r for r in rows(wc_app).values() if r.status == "pending"]
    tomorrow = datetime(2018, 10, 16, 0, 0, tzinfo=TZ)
    assert len(waiting) == 6 and all(r.not_before == tomorrow for r in waiting)
    assert all("daily quota of 20 messages reached" in (r.last_error or "") for r in waiting)  # visible per row
    assert any("daily quota" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    await messenger.deliver("talking", "您好", [])  # someone talking to the bot is still answered
    assert api.texts("talking") == ["您好"] and client.quota.sent == 20
    clock.at = datetime(2018, 10, 16, 8, 10, tzinfo=TZ)  # the next day
    assert (await dispatch(wc_app.uow, sender, clock)).sent == 6
    assert len(api.delivered) == 26 and api.dropped == []


async def test_the_quota_is_counted_on_from_what_the_outbox_sent_today_after_a_restart(
        env: dict[str, str], api: FakeWeComApi) -> None:
    app = bootstrap(Settings.from_env(wecom_env(env, api, WECOM_DAILY_QUOTA="1000", WECOM_MAX_RATE="500")))
    try:
        queue(app, ["a", "b", "c"])
        yesterday = TEN - timedelta(days=1)
        with app.uow.begin() as s:  # two sent this morning, one yesterday
            s.execute(update(OutboxRow).values(status="sent", sent_at=TEN - timedelta(hours=1)))
            s.execute(update(OutboxRow).where(OutboxRow.chat_id == "c").values(sent_at=yesterday))
        channel = WeComChannel(app, db_processes=0)
        try:
            quota, pace = channel.client.quota, channel.client.pace
            assert quota is not None and quota.sent == 2 and quota.push_limit == 950
            assert pace is not None and pace.period == pytest.approx(1 / 500)
        finally:
            await channel.client.aclose()
    finally:
        app.close()
