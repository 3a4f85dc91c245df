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

    async def interrupted() -> None:  # the process dies after 4 sends; 2 more had left, 4 were still waiting
        from bot.db.outbox import claim, mark_sending

        with bot.app.uow.begin() as s:
            rows = claim(s, "console", NOW, 10)
        for r in rows[:4]:
            await sender.send(r.chat_id, r.text, [])
            with bot.app.uow.begin() as s:
                s.get(OutboxRow, r.id).status = "sent"  # type: ignore[union-attr]
        with bot.app.uow.begin() as s:
            mark_sending(s, [r.id for r in rows[4:6]])
        for r in rows[4:6]:  # they left; the process died before the answers came
            await sender.send(r.chat_id, r.text, [])

    asyncio.run(interrupted())
    with bot.app.uow.begin() as s:  # the next start
        assert recover_sending(s) == 6  # 4 claimed ones given back, 2 that had left are uncertain
    asyncio.run(dispatch(bot.app.uow, sender, lambda: NOW))
    chats = [chat for chat, _ in sender.delivered]
    assert len(chats) == len(set(chats)) == 12  # nobody twice, nobody left out: the claimed ones went after all
    with bot.app.uow() as s:
        st = notice_views.stats(s, notice_id)
    assert (st.recipients, st.delivered, st.uncertain, st.pending) == (12, 10, 2, 0)


def test_resend_reaches_only_the_unreached_and_resend_unsigned_is_its_own_choice(bot: TestBot) -> None:
    from reminders.dispatch import Permanent, Uncertain

    for n in range(5):
        bot.join(f"r{n}", "contact", ("panshan", "dawa", "liaohekou")[n % 3])
    with bot.app.uow.begin() as s:
        row, plan = active_plan(s)
        notice_id = notices.broadcast(s, row, plan, "请签收", "role:contact", "test", NOW).id
    with bot.app.uow() as s:
        chat = {r.person_id: r.chat_id for r in s.scalars(select(OutboxRow).where(OutboxRow.notice_id == notice_id))}
    people = sorted(chat)
    script = {chat[people[0]]: Permanent("chat not found"), chat[people[1]]: Uncertain("timed out")}

    class Scripted(ConsoleSender):
        async def send(self, chat_id: str, text: str, buttons: list) -> str | None:  # type: ignore[type-arg]
            if chat_id in script:
                raise script[chat_id]
            return await super().send(chat_id, text, buttons)

    first = Scripted()
    asyncio.run(dispatch(bot.app.uow, first, lambda: NOW))
    assert len(first.delivered) == 3
    with bot.app.uow.begin() as s:
        notices.sign(s, notice_id, people[2], NOW)
        assert notices.resend_undelivered(s, notice_id, NOW) == 1  # the failed one only
    again = ConsoleSender()
    asyncio.run(dispatch(bot.app.uow, again, lambda: NOW))
    assert [c for c, _ in again.delivered] == [chat[people[0]]]
    with bot.app.uow.begin() as s:
        assert notices.resend_undelivered(s, notice_id, NOW) == 0  # now it was delivered
        assert notices.resend_unsigned(s, notice_id, NOW) == 4  # explicit: all but the signer, received or not


def test_a_person_who_blocked_the_bot_and_writes_again_is_reached_again(bot: TestBot) -> None:
    from bot.db.chat_models import PersonRow
    from bot.db.outbox import delivery_for
    from reminders.dispatch import Blocked

    bot.join("back", "contact", "panshan")
    with bot.app.uow.begin() as s:
        row, plan = active_plan(s)
        first = notices.broadcast(s, row, plan, "第一份通知", "role:contact", "test", NOW).id

    class Blocking(ConsoleSender):
        async def send(self, chat_id: str, text: str, buttons: list) -> str | None:  # type: ignore[type-arg]
            raise Blocked("Forbidden: bot was blocked by the user")

    assert asyncio.run(dispatch(bot.app.uow, Blocking(), lambda: NOW)).blocked == 1
    with bot.app.uow() as s:
        person = s.scalar(select(PersonRow).join(OutboxRow, OutboxRow.person_id == PersonRow.id)
                          .where(OutboxRow.notice_id == first))
        assert person is not None and not person.active and delivery_for(s, person) is None
    bot.say("back", "帮助")  # they unblocked the bot and wrote to it
    with bot.app.uow.begin() as s:
        person = s.get(PersonRow, person.id)
        assert person is not None and person.active
        row, plan = active_plan(s)
        assert notices.broadcast(s, row, plan, "第二份通知", "role:contact", "test", NOW).recipients == 1


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
