"""Notices on SQLite and PostgreSQL: broadcast in chat, delivery, 签收, counts, re-send, restart mid-broadcast."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.bootstrap import bootstrap
from bot.channels.console import ConsoleSender
from bot.config import Settings
from bot.db.outbox import recover_sending
from bot.db.outbox_models import OutboxRow
from bot.errors import UserError
from bot.services import notices
from bot.services.plans import active_plan
from bot.views import notices as notice_views
from reminders.dispatch import dispatch
from support import TestBot

NOW = datetime(2018, 10, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def bot(env: dict[str, str]) -> Iterator[TestBot]:
    app = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW=NOW.isoformat())))
    yield TestBot(app)
    app.close()


def send_all(bot: TestBot) -> ConsoleSender:
    sender = ConsoleSender()
    asyncio.run(dispatch(bot.app.uow, sender, bot.app.clock.now))
    return sender


def test_broadcast_in_chat_delivery_signing_and_resend(bot: TestBot) -> None:
    for n, unit in enumerate(("panshan", "dawa", "xinglongtai")):
        bot.join(f"c{n}", "contact", unit)
    bot.join("lee", "leader")
    bot.join("ada", "admin")
    assert "Only administrators" in bot.say("c0", "/broadcast 请于10日前报送")
    out = bot.say("ada", "/broadcast 请于10月20日前报送三季度数据")
    assert "Who should receive it?" in out
    number = next(i for i, label in enumerate(bot.labels("ada"), 1) if "counties_and_zones" in label)
    out = bot.say("ada", str(number))
    assert "goes to 3 people" in out and "三季度" in out
    assert "queued for 3 people" in bot.say("ada", "1")
    sender = send_all(bot)
    assert len(sender.delivered) == 3 and all("三季度" in text for _, text in sender.delivered)
    with bot.app.uow() as s:
        notice_id = notice_views.recent(s)[0].id
        rows = list(s.scalars(select(OutboxRow).where(OutboxRow.notice_id == notice_id)))
    assert {r.kind for r in rows} == {"notice"} and all(r.status == "sent" for r in rows)
    signed = bot.console.press("c0", f"0|sign|{notice_id}")
    assert "Signed for notice" in signed[0].text
    assert "already signed" in bot.console.press("c0", f"0|sign|{notice_id}")[0].text  # twice is harmless
    assert "not sent to you" in bot.console.press("lee", f"0|sign|{notice_id}")[0].text
    with bot.app.uow() as s:
        st = notice_views.stats(s, notice_id)
    assert (st.recipients, st.delivered, st.signed, st.failed, st.pending) == (3, 3, 1, 0, 0)
    out = bot.say("ada", "/notices")
    assert "recipients 3, delivered 3, signed 1" in out
    assert "queued again for 2 people" in bot.say("ada", "1")  # the re-send button
    assert len(send_all(bot).delivered) == 2
    with bot.app.uow() as s:
        assert notice_views.stats(s, notice_id).recipients == 3


def test_a_restart_in_the_middle_of_a_broadcast_loses_nothing(bot: TestBot) -> None:
    for n in range(12):
        bot.join(f"p{n}", "contact", ("panshan", "dawa", "liaohekou")[n % 3])
    with bot.app.uow.begin() as s:
        row, plan = active_plan(s)
        notice = notices.broadcast(s, row, plan, "年终考核材料请于12月10日前报送", "role:contact", "test", NOW)
        notice_id = notice.id
    sender = ConsoleSender()

    async def interrupted() -> None:  # the process dies after a few sends, two more were in flight
        from bot.db.outbox import claim

        with bot.app.uow.begin() as s:
            rows = claim(s, "console", NOW, 6)
        for r in rows[:4]:
            await sender.send(r.chat_id, r.text, [])
            with bot.app.uow.begin() as s:
                s.get(OutboxRow, r.id).status = "sent"  # type: ignore[union-attr]

    asyncio.run(interrupted())
    with bot.app.uow.begin() as s:  # the next start
        assert recover_sending(s) == 2
    asyncio.run(dispatch(bot.app.uow, sender, lambda: NOW))
    chats = [chat for chat, _ in sender.delivered]
    assert len(chats) == len(set(chats)) == 10  # nobody twice; the two uncertain ones are not re-sent blindly
    with bot.app.uow() as s:
        st = notice_views.stats(s, notice_id)
    assert (st.recipients, st.delivered, st.uncertain, st.pending) == (12, 10, 2, 0)


def delivered_to(bot: TestBot, audience: str) -> list[str]:
    """Broadcast to an audience and send: who got it, sorted."""
    with bot.app.uow.begin() as s:
        row, plan = active_plan(s)
        notices.broadcast(s, row, plan, f"致 {audience}", audience, "test", bot.app.clock.now())
    return sorted(chat for chat, text in send_all(bot).delivered if audience in text)


def test_each_audience_reaches_exactly_its_people(bot: TestBot) -> None:
    bot.join("pan", "contact", "panshan")
    bot.join("da", "contact", "dawa")
    bot.join("xing", "contact", "xinglongtai")
    bot.join("lee", "leader")
    bot.join("boss", "leader", "panshan")  # Panshan's leader contact
    bot.join("ada", "admin")
    for text in ("高新技术企业 30家", "科技型中小企业 40家", "核心技术攻关 3项", "产业技术研究院 2家",
                 "高层次人才 2人", "创新团队 1个", "成果转化 9项"):  # Dawa owes nothing any more
        assert "2018Q3" in bot.say("da", text), text
        assert "Saved" in bot.say("da", "1")
    assert delivered_to(bot, "overdue") == ["pan", "xing"]
    assert delivered_to(bot, "units:panshan,dawa") == ["da", "pan"]
    assert delivered_to(bot, "role:leader") == ["boss", "lee"]
    assert delivered_to(bot, "role:contact") == ["da", "pan", "xing"]
    assert delivered_to(bot, "all") == ["ada", "boss", "da", "lee", "pan", "xing"]
    with bot.app.uow.begin() as s, pytest.raises(UserError, match="No unit matches"):
        row, plan = active_plan(s)
        notices.resolve(s, row, plan, "units:panshan,atlantis", bot.app.clock.now())
