"""WeCom pushes and answers with attachments: charts as images, the workbook as a file, reminders and notices
through the outbox (with 签收), WeCom's errcodes recorded as outcomes, and the per-member limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy import select
from wecom_support import Served, served

from bot.app import App
from bot.channels.wecom.api import WeComClient
from bot.channels.wecom.channel import WeComChannel
from bot.channels.wecom.limits import MemberLimiter
from bot.channels.wecom.send import WeComMessenger, WeComSender
from bot.db.chat_models import IdentityRow
from bot.db.outbox import Delivery, enqueue
from bot.db.outbox_models import OutboxRow
from bot.services import notices
from bot.services.people import identity_for
from bot.services.plans import active_plan
from bot.views.notices import stats as notice_stats
from fakes import FakeWeComApi
from fakes.wecom_api import AGENT_ID, CORP_ID, SECRET
from reminders.dispatch import dispatch
from reminders.scheduler import Ticker
from support import invite

pytestmark = pytest.mark.asyncio
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2018, 10, 15, 10, 0, tzinfo=TZ)


@pytest_asyncio.fixture
async def wecom(wc_app: App, wecom_api: FakeWeComApi) -> AsyncIterator[Served]:
    async with served(wc_app, wecom_api, db_processes=0) as running:  # (the router's process: tests/e2e/test_wecom.py)
        yield running


def sender(channel: WeComChannel) -> WeComSender:
    return WeComSender(channel.messenger)


def rows(app: App) -> dict[str, OutboxRow]:
    with app.uow() as s:
        return {r.key: r for r in s.scalars(select(OutboxRow).order_by(OutboxRow.id))}


async def test_a_leaders_lagging_question_gets_the_chart_as_an_image_and_the_workbook_as_a_file(
        wecom: Served, wc_app: App, wecom_api: FakeWeComApi) -> None:
    lee = wecom.member("lee")
    await lee.say(invite(wc_app, "leader"))
    answer = await lee.say("哪些指标滞后？")
    assert "共 17 项指标，其中 17 项需关注" in answer and "17 项缺少最近到期报告期的数据" in answer  # nothing reported
    image = wecom_api.to("lee")[-1]
    assert image["msgtype"] == "image"
    uploaded = wecom_api.media[image["image"]["media_id"]]
    assert uploaded["type"] == "image" and uploaded["size"] > 10_000  # the overview chart, a PNG
    await lee.say("导出")
    file = wecom_api.to("lee")[-1]
    assert file["msgtype"] == "file" and wecom_api.media[file["file"]["media_id"]]["filename"].endswith(".xlsx")


async def test_a_reminder_goes_out_through_the_wecom_sender_and_its_button_starts_the_report(
        wecom: Served, wc_app: App, wecom_api: FakeWeComApi) -> None:
    alice = wecom.member("alice")
    await alice.say(invite(wc_app, "contact", "panshan"))
    due = datetime(2018, 10, 10, 9, 0, tzinfo=TZ)  # Q3 reports fall due on 10 October
    result = Ticker(wc_app, []).sweep_now(due)
    assert result.queued >= 1
    stats = await dispatch(wc_app.uow, sender(wecom.channel), lambda: due)
    assert stats.sent >= 1 and stats.failed == 0
    pushed = [r for r in rows(wc_app).values() if r.channel == "wecom" and r.status != "missed"]
    assert pushed and all(r.status == "sent" and r.chat_id == "alice" and r.platform_message_id for r in pushed)
    missed = [r for r in rows(wc_app).values() if r.status == "missed"]  # earlier steps: recorded, never sent (#16)
    assert all(r.platform_message_id is None for r in missed)
    card = wecom_api.to("alice")[-1]["template_card"]
    assert card["card_type"] == "button_interaction" and "盘山县" in wecom_api.texts("alice")[-1]
    menu = await alice.press(card["button_list"][0]["text"])
    assert "[1] 高新技术企业总数" in menu


async def test_a_notice_is_signed_with_its_button(wecom: Served, wc_app: App, wecom_api: FakeWeComApi) -> None:
    members = [wecom.member(u) for u in ("c0", "c1")]
    for m, unit in zip(members, ("panshan", "dawa"), strict=True):
        await m.say(invite(wc_app, "contact", unit))
    with wc_app.uow.begin() as s:
        plan_row, plan = active_plan(s)
        notice_id = notices.broadcast(s, plan_row, plan, "请于10月20日前报送三季度数据", "role:contact", "admin",
                                      NOW).id
    stats = await dispatch(wc_app.uow, sender(wecom.channel), wc_app.clock.now)
    assert stats.sent == 2
    assert "三季度" in wecom_api.texts("c0")[-1] and "[签收]" in wecom_api.texts("c0")[-1]
    signed = await members[0].press("签收")
    assert "签收" in signed or "已签" in signed
    assert len(wecom_api.updated) == 1  # the pressed card greyed out
    with wc_app.uow() as s:
        counts = notice_stats(s, notice_id)
    assert counts.signed == 1 and counts.delivered == 2


def queue(app: App, users: list[str], n: int = 1, text: str = "通知") -> None:
    with app.uow.begin() as s:
        for user in users:
            ident = s.scalar(select(IdentityRow).where(IdentityRow.channel == "wecom",
                                                       IdentityRow.external_id == user))
            ident = ident or identity_for(s, "wecom", user, user, user, None, NOW)
            for i in range(n):
                enqueue(s, f"t:{user}:{i}:{text}", Delivery(ident.person_id, "wecom", user), "notice",
                        f"{text} {i}", NOW)


@pytest_asyncio.fixture
async def client(wc_app: App, wecom_api: FakeWeComApi) -> AsyncIterator[WeComClient]:
    c = WeComClient(CORP_ID, SECRET, AGENT_ID, wecom_api.url, timeout=0.5)
    yield c
    await c.aclose()


async def test_errcodes_are_recorded_as_outcomes(wc_app: App, wecom_api: FakeWeComApi, client: WeComClient) -> None:
    s = WeComSender(WeComMessenger(client))
    queue(wc_app, ["u1", "u2", "u3", "u4"])
    wecom_api.fail_next(45009)  # frequency limit: try again in a minute
    wecom_api.fail_next(-1)  # system busy: try again later
    wecom_api.unknown_users.add("u3")  # not in the app's visible range: 81013
    stats = await dispatch(wc_app.uow, s, lambda: NOW, concurrency=1)
    assert (stats.sent, stats.retried, stats.failed) == (1, 2, 1)
    by_user = {r.chat_id: r for r in rows(wc_app).values()}
    assert by_user["u1"].status == "pending" and by_user["u1"].not_before - NOW == timedelta(seconds=60)
    assert by_user["u2"].status == "pending" and by_user["u2"].not_before > NOW
    assert by_user["u3"].status == "failed" and "81013" in (by_user["u3"].last_error or "")
    assert by_user["u4"].status == "sent" and by_user["u4"].platform_message_id
    assert [m["touser"] for m in wecom_api.delivered] == ["u4"]


async def test_a_revoked_token_is_fetched_again_once(wc_app: App, wecom_api: FakeWeComApi, client: WeComClient) -> None:
    s = WeComSender(WeComMessenger(client))
    queue(wc_app, ["u1"])
    await dispatch(wc_app.uow, s, lambda: NOW)
    wecom_api.revoke_tokens()
    queue(wc_app, ["u1"], text="again")
    assert (await dispatch(wc_app.uow, s, lambda: NOW)).sent == 1
    assert wecom_api.token_fetches == 2 and client.token_fetches == 2
    wecom_api.fail_next(42001, times=2)  # still refused with the new token: not retried in a loop
    queue(wc_app, ["u1"], text="third")
    stats = await dispatch(wc_app.uow, s, lambda: NOW)
    assert stats.retried == 1 and wecom_api.token_fetches == 3
    assert "message/send" in wecom_api.calls and wecom_api.calls.count("gettoken") == 3


async def test_a_timeout_is_uncertain_and_never_resent(wc_app: App, wecom_api: FakeWeComApi,
                                                      client: WeComClient) -> None:
    queue(wc_app, ["u1"])
    await client.token()
    wecom_api.delay = 1.0  # longer than the client's 0.5 s timeout: WeCom may well have delivered it
    stats = await dispatch(wc_app.uow, WeComSender(WeComMessenger(client)), lambda: NOW)
    wecom_api.delay = 0
    assert stats.uncertain == 1 and [r.status for r in rows(wc_app).values()] == ["uncertain"]


@pytest.mark.parametrize("limited", [True, False])
async def test_the_limiter_keeps_every_member_under_thirty_a_minute(
        wc_app: App, wecom_api: FakeWeComApi, client: WeComClient, limited: bool) -> None:
    limiter = MemberLimiter() if limited else MemberLimiter(windows=((61.0, 1000),))
    queue(wc_app, ["busy"], n=35)
    queue(wc_app, ["quiet"], n=2)
    stats = await dispatch(wc_app.uow, WeComSender(WeComMessenger(client, limiter)), lambda: NOW)
    if not limited:  # the fake drops what WeCom drops: what the limiter is there for
        assert len(wecom_api.dropped) == 5 and stats.sent == 37
        return
    assert wecom_api.dropped == [] and stats.sent == 32 and stats.retried == 5
    later = [r for r in rows(wc_app).values() if r.status == "pending"]
    assert len(later) == 5 and all(r.chat_id == "busy" and r.not_before > NOW for r in later)
    assert len(wecom_api.to("busy")) == 30 and len(wecom_api.to("quiet")) == 2


async def test_the_token_is_fetched_by_one_caller_and_again_when_it_expires(wecom_api: FakeWeComApi) -> None:
    now = [0.0]
    c = WeComClient(CORP_ID, SECRET, AGENT_ID, wecom_api.url, clock=lambda: now[0])
    try:
        await asyncio.gather(*(c.send_text(f"u{i}", "你好") for i in range(20)))
        assert wecom_api.token_fetches == 1  # twenty callers, one gettoken
        now[0] += 7200 - 300 - 1
        await c.send_text("u1", "你好")
        assert wecom_api.token_fetches == 1
        now[0] += 2  # within five minutes of expires_in: fetched afresh
        await c.send_text("u1", "你好")
        assert wecom_api.token_fetches == 2 and len(wecom_api.delivered) == 22
        assert SECRET not in repr(c)
    finally:
        await c.aclose()
