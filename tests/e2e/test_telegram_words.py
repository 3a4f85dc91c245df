"""Conversations in words over real python-telegram-bot and the fake Bot API (issue #13): prompts answered by
typing, a second report kept while the first awaits confirmation, an unknown reply re-asking the same prompt."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.app import App
from bot.channels.telegram.channel import TelegramChannel
from fakes import FakeBotApi
from support import Chat, figures, invite

pytestmark = [pytest.mark.asyncio,
              pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")]
ALICE = 3003


async def test_typed_choices_and_a_kept_report(fake: FakeBotApi, tg_app: App, channel: TelegramChannel) -> None:
    alice = Chat(fake, ALICE)
    await alice.say(invite(tg_app, "contact", "panshan"))
    asked = await alice.say("研究院 2家")
    assert "请确认" in asked["text"] and asked["reply_markup"]["inline_keyboard"]
    again = await alice.say("嗯？什么意思")
    assert "不是可选项" in again["text"] and "请确认" in again["text"] and again["reply_markup"]
    kept = await alice.say("创新团队 1个", expect=2)
    assert "已为您保留" in kept["text"] and "请确认" in kept["text"]
    saved = await alice.say("确认", expect=3)
    assert "已填报：产业技术研究院总数" in saved["text"] and "创新团队" in saved["text"]
    assert "已填报：引进创新团队" in (await alice.say("好的"))["text"]
    assert [(p, v) for p, v, _ in figures(tg_app)] == [("2018Q3", Decimal(2)), ("2018Q3", Decimal(1))]


async def test_period_words_another_unit_and_a_notice_kept_as_typed(fake: FakeBotApi, tg_app: App,
                                                                    channel: TelegramChannel) -> None:
    from sqlalchemy import select

    from bot.db.outbox_models import NoticeRow

    dawa = Chat(fake, ALICE)
    await dawa.say(invite(tg_app, "contact", "dawa"))
    asked = await dawa.say("二季度高企11家")
    assert "2018Q2：11家" in asked["text"] and "请确认" in asked["text"]
    assert "已填报：高新技术企业总数，2018Q2" in (await dawa.say("确认"))["text"]
    assert "不能替盘山县人民政府填报" in (await dawa.say("盘山高企12家"))["text"]
    admin = Chat(fake, 4004)
    await admin.say(invite(tg_app, "admin"))
    text = "请于１０日前报送三季度数据，谢谢！  （市科技局）"
    await admin.say("/broadcast " + text)
    preview = await admin.say("全体人员")
    assert text in preview["text"]
    await admin.say("发送")
    with tg_app.uow() as s:
        assert [n.text for n in s.scalars(select(NoticeRow))] == [text]
    assert [(p, v) for p, v, _ in figures(tg_app)] == [("2018Q2", Decimal(11))]


async def test_cancel_in_words_a_group_message_and_a_timeout_that_says_so(fake: FakeBotApi, tg_app: App,
                                                                          channel: TelegramChannel) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from bot.db.chat_models import ConversationRow

    alice = Chat(fake, ALICE)
    await alice.say(invite(tg_app, "contact", "panshan"))
    await alice.say("高企 12家")
    assert "已取消" in (await alice.say("不对，取消"))["text"]
    await alice.say("高企 12家")
    group = Chat(fake, -1003003, user_id=ALICE, chat_type="supergroup")
    assert "盘山县" in (await group.say("我是谁"))["text"]  # in a group: the private step is set aside, not dropped
    assert "已填报" in (await alice.say("确认"))["text"]
    await alice.say("科小 20家")
    # the channel's database processes keep their own clocks: the step is made to have waited 31 minutes instead
    with tg_app.uow.begin() as s:
        s.execute(update(ConversationRow).values(updated_at=tg_app.clock.now() - timedelta(minutes=31)))
    out = (await alice.say("确认"))["text"]
    assert "30分钟" in out and "科技型中小企业总数" in out and "未保存" in out
    assert [(p, v) for p, v, _ in figures(tg_app)] == [("2018Q3", Decimal(12))]
