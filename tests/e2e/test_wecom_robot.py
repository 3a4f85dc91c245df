"""WeCom group robots (群机器人) as push-only targets per audience: the weekly digest and notices reach the leaders'
group through the fake WeCom's webhook, within a robot's 20 messages a minute, its key never logged."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.app import App
from bot.bootstrap import bootstrap, dispatch_chat_channels
from bot.channels.wecom.api import WeComClient
from bot.channels.wecom.limits import MemberLimiter
from bot.channels.wecom.robot import RobotSender
from bot.channels.wecom.send import WeComMessenger, WeComSender
from bot.config import ConfigError, Settings
from bot.db.outbox import Delivery, enqueue
from bot.db.outbox_models import OutboxRow
from bot.render.notices import notice_line
from bot.services import notices
from bot.services.people import identity_for, redeem_invite
from bot.services.plans import active_plan
from bot.views.notices import stats as notice_stats
from fakes import FakeWeComApi
from fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN
from i18n import translator_for
from reminders.dispatch import dispatch
from reminders.scheduler import Ticker
from support import invite

pytestmark = pytest.mark.asyncio
TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2018, 10, 15, 9, 10, tzinfo=TZ)  # the weekly digest goes on Mondays at 09:00
LEADERS_KEY = "3f2a9c1e-7b4d-4e8f-a1b2-leaders00001"
CONTACTS_KEY = "9d8c7b6a-5f4e-4d3c-b2a1-contacts0002"


@pytest.fixture
def api() -> Iterator[FakeWeComApi]:
    with FakeWeComApi(robots=(LEADERS_KEY, CONTACTS_KEY)) as fake:
        yield fake


def robot_env(env: dict[str, str], api: FakeWeComApi, keys: str) -> dict[str, str]:
    return dict(env, PLANBOT_NOW=MONDAY.isoformat(), WECOM_CORP_ID=CORP_ID, WECOM_AGENT_ID=str(AGENT_ID),
                WECOM_SECRET=SECRET, WECOM_TOKEN=TOKEN, WECOM_AES_KEY=AES_KEY, WECOM_API_URL=api.url,
                WECOM_ROBOT_KEYS=keys)


@pytest.fixture
def wc_app(env: dict[str, str], api: FakeWeComApi) -> Iterator[App]:
    app = bootstrap(Settings.from_env(robot_env(env, api, f"leaders={LEADERS_KEY}, contacts={CONTACTS_KEY}")))
    yield app
    app.close()


@pytest_asyncio.fixture
async def robots(wc_app: App) -> AsyncIterator[RobotSender]:
    sender = RobotSender(wc_app.settings.wecom_robot_keys, wc_app.settings.wecom_api_url)
    yield sender
    await sender.aclose()


def bind_leader(app: App, user: str) -> None:
    code = invite(app, "leader")
    with app.uow.begin() as s:
        redeem_invite(s, identity_for(s, "wecom", user, user, user, None, MONDAY), code, MONDAY)


def group_rows(app: App) -> list[OutboxRow]:
    with app.uow() as s:
        return list(s.scalars(select(OutboxRow).where(OutboxRow.channel == "wecom_robot").order_by(OutboxRow.id)))


async def test_robot_keys_are_read_per_audience_and_never_shown() -> None:
    settings = Settings.from_env({"WECOM_ROBOT_KEYS": f"leaders={LEADERS_KEY},contacts={CONTACTS_KEY}"})
    assert settings.group_targets == (("wecom_robot", "leaders"), ("wecom_robot", "contacts"))
    assert settings.describe()["wecom_robots"] == "leaders, contacts"
    assert Settings.from_env({}).describe()["wecom_robots"] == "none"
    assert LEADERS_KEY not in repr(settings) + repr(settings.describe())
    for bad in (f"bosses={LEADERS_KEY}", LEADERS_KEY, "leaders=short", "leaders=key with spaces and more"):
        with pytest.raises(ConfigError, match="WECOM_ROBOT_KEYS") as e:
            Settings.from_env({"WECOM_ROBOT_KEYS": bad})
        assert LEADERS_KEY not in str(e.value) and "spaces" not in str(e.value)


async def test_the_weekly_digest_reaches_the_leaders_group_robot_once(
        wc_app: App, api: FakeWeComApi, robots: RobotSender, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = WeComClient(CORP_ID, SECRET, AGENT_ID, api.url)
    ticker = Ticker(wc_app, [WeComSender(WeComMessenger(client)), robots])
    try:
        bind_leader(wc_app, "lee")
        await ticker.tick()
        await ticker.tick()  # a second tick: nothing new for anyone
    finally:
        await client.aclose()
    digest = api.robot_texts(LEADERS_KEY)
    assert len(digest) == 1 and digest[0].startswith("每周简报") and "需关注" in digest[0]
    assert api.robot_texts(CONTACTS_KEY) == []  # the contacts' group gets no digest
    assert [t for t in api.texts("lee") if t.startswith("每周简报")] == digest  # the leader has it too
    assert [(r.chat_id, r.kind, r.status, r.person_id) for r in group_rows(wc_app)] == [
        ("leaders", "digest", "sent", None)]
    assert LEADERS_KEY not in caplog.text and "key=***" in caplog.text  # httpx logs the URL, the key masked


async def test_a_notice_reaches_its_audiences_groups_without_the_sign_button(
        wc_app: App, api: FakeWeComApi, robots: RobotSender) -> None:
    bind_leader(wc_app, "lee")
    with wc_app.uow.begin() as s:
        plan_row, plan = active_plan(s)
        groups = wc_app.settings.group_targets
        to_leaders = notices.broadcast(s, plan_row, plan, "周五下午三点召开推进会", "role:leader", "admin", MONDAY,
                                       groups=groups).id
        notices.broadcast(s, plan_row, plan, "国庆值班安排已发布", "all", "admin", MONDAY, groups=groups)
    with wc_app.uow() as s:
        assert notice_stats(s, to_leaders).groups == (("leaders", "pending"),)
    stats = await dispatch(wc_app.uow, robots, lambda: MONDAY)
    assert stats.sent == 3 and stats.failed == 0
    assert api.robot_texts(LEADERS_KEY) == ["通知：周五下午三点召开推进会", "通知：国庆值班安排已发布"]
    assert api.robot_texts(CONTACTS_KEY) == ["通知：国庆值班安排已发布"]
    with wc_app.uow() as s:
        counts = notice_stats(s, to_leaders)
    assert counts.recipients == 1  # the group is not one of the notice's recipients (nor can it sign)
    assert counts.groups == (("leaders", "sent"),)  # but the admin sees that it was posted there
    assert notice_line(counts, translator_for("zh"), wc_app.clock.tz).endswith("\n  群聊：leaders已发出")
    with wc_app.uow() as s:
        assert notice_stats(s, to_leaders + 1).groups == (("leaders", "sent"), ("contacts", "sent"))


async def test_a_robot_gets_at_most_twenty_a_minute_and_the_rest_wait(
        wc_app: App, api: FakeWeComApi, robots: RobotSender) -> None:
    with wc_app.uow.begin() as s:
        for i in range(25):
            enqueue(s, f"n{i}", Delivery(None, "wecom_robot", "leaders"), "notice", f"通知 {i}", MONDAY)
    stats = await dispatch(wc_app.uow, robots, lambda: MONDAY)
    assert (stats.sent, stats.retried) == (20, 5)
    assert len(api.robot_texts(LEADERS_KEY)) == 20 and api.robot_refused == []  # held here, never refused there
    assert all(r.not_before > MONDAY for r in group_rows(wc_app) if r.status == "pending")


async def test_without_our_limit_the_robot_refuses_45009_and_an_unknown_key_fails_for_good(
        env: dict[str, str], api: FakeWeComApi) -> None:
    app = bootstrap(Settings.from_env(robot_env(env, api, f"leaders={LEADERS_KEY},admins=0000-not-a-robot")))
    sender = RobotSender(app.settings.wecom_robot_keys, api.url, limiter=MemberLimiter(windows=((61.0, 1000),)))
    try:
        with app.uow.begin() as s:
            for i in range(22):
                enqueue(s, f"n{i}", Delivery(None, "wecom_robot", "leaders"), "notice", f"通知 {i}", MONDAY)
            enqueue(s, "lost", Delivery(None, "wecom_robot", "admins"), "notice", "通知", MONDAY)
        stats = await dispatch(app.uow, sender, lambda: MONDAY, concurrency=1)
        assert (stats.sent, stats.retried, stats.failed) == (20, 2, 1)
        assert sorted(code for _, code in api.robot_refused) == [45009, 45009, 93000]
        by_key = {r.key: r for r in group_rows(app)}
        assert by_key["lost"].status == "failed" and "93000" in (by_key["lost"].last_error or "")
        assert "0000-not-a-robot" not in (by_key["lost"].last_error or "")
    finally:
        await sender.aclose()
        app.close()


async def test_planbot_remind_sends_the_groups_rows_too(wc_app: App, api: FakeWeComApi) -> None:
    with wc_app.uow.begin() as s:
        enqueue(s, "digest:test:group:leaders", Delivery(None, "wecom_robot", "leaders"), "digest", "每周简报", MONDAY)
    assert (await dispatch_chat_channels(wc_app, MONDAY)).sent == 1
    assert api.robot_texts(LEADERS_KEY) == ["每周简报"]
