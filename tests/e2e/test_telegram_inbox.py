"""Each update received once and handled once, through the real python-telegram-bot and the fake Bot API: updates
delivered twice, unreadable, replayed after a crash, or meeting a locked database."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from telegram import Update

from bot.app import App
from bot.bootstrap import bootstrap
from bot.channels.telegram.channel import TelegramChannel
from bot.config import Settings
from bot.db.inbox import Inbox
from fakes import FakeBotApi
from support import Chat, figures, idle, invite, running, write_locked

pytestmark = [pytest.mark.asyncio,
              pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")]
ALICE = 1001


async def test_a_redelivered_update_does_nothing_twice(fake: FakeBotApi, tg_app: App,
                                                       channel: TelegramChannel) -> None:
    alice = Chat(fake, ALICE)
    await alice.say(invite(tg_app, "contact", "panshan"))
    await alice.say("高新技术企业 12家")
    press = fake.callback_update(ALICE, fake.sent(ALICE)[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
                                 user_id=ALICE)
    fake.push_update(press)
    await fake.wait_for_sent_async(3, ALICE)  # welcome, confirm?, saved
    assert "update_id" in press
    await channel.receive([press])  # Telegram delivers the same update_id again
    await idle(channel, fake)
    assert figures(tg_app) == [("2018Q3", Decimal(12), "telegram")]
    assert len(fake.sent(ALICE)) == 3


async def test_an_update_that_cannot_be_read_is_skipped_and_the_others_handled(
        fake: FakeBotApi, tg_app: App, channel: TelegramChannel, caplog: pytest.LogCaptureFixture) -> None:
    alice = Chat(fake, ALICE)
    bad = fake.push_update({"message": {"text": "no date, no chat"}})  # PTB cannot build a Message from it
    await alice.say(invite(tg_app, "contact", "panshan"))  # polled after it, maybe in the same batch
    assert "盘山县人民政府" in fake.sent(ALICE)[-1]["text"]
    assert f"skipped update {bad}" in caplog.text
    assert Inbox(tg_app.uow, "telegram").pending() == []
    assert all(int(u["update_id"]) > bad for u in fake.pending_updates)  # acknowledged, not fetched forever


async def test_an_update_received_but_not_handled_is_replayed_after_a_crash(fake: FakeBotApi, tg_app: App) -> None:
    code = invite(tg_app, "contact", "panshan")
    update = fake.message_update(ALICE, code) | {"update_id": 77}
    Inbox(tg_app.uow, "telegram").store([("77", update)], tg_app.clock.now())  # stored, then the process died
    ch = TelegramChannel(tg_app, poll_timeout=1)
    await ch.start()
    try:
        sent = await fake.wait_for_sent_async(1, ALICE)
        assert "盘山县人民政府" in sent[0]["text"]
        await idle(ch, fake)
        assert len(fake.sent(ALICE)) == 1 and Inbox(tg_app.uow, "telegram").pending() == []
    finally:
        await ch.stop()


async def test_an_update_handled_without_being_stored_is_recorded_so_a_redelivery_does_nothing(
        fake: FakeBotApi, tg_app: App, channel: TelegramChannel) -> None:
    alice = Chat(fake, ALICE)
    await alice.say(invite(tg_app, "contact", "panshan"))
    update = fake.message_update(ALICE, "高新技术企业 12家") | {"update_id": 4242}
    await channel.on_update(Update.de_json(update, channel.bot), None)  # type: ignore[arg-type]  # not via the inbox
    assert "12" in fake.sent(ALICE)[-1]["text"] and len(fake.sent(ALICE)) == 2
    assert Inbox(tg_app.uow, "telegram").pending() == []
    await channel.receive([update])  # Telegram delivers it again
    await idle(channel, fake)
    assert len(fake.sent(ALICE)) == 2


@pytest.fixture
def impatient_sqlite(tg_env: dict[str, str]) -> Iterator[tuple[App, str]]:
    """An app on SQLite that waits only 0.2 s for the write lock (the URL's timeout), and its database file."""
    url = tg_env["PLANBOT_DATABASE_URL"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    app = bootstrap(Settings.from_env(dict(tg_env, PLANBOT_DATABASE_URL=url + "?timeout=0.2")))
    yield app, url.split("///", 1)[1]
    app.close()


async def stored_report(fake: FakeBotApi, app: App, update_id: int) -> dict[str, object]:
    """Alice joins as panshan's contact; her report "高新技术企业 12家" is stored in the inbox, not yet handled."""
    await Chat(fake, ALICE).say(invite(app, "contact", "panshan"))
    update = fake.message_update(ALICE, "高新技术企业 12家") | {"update_id": update_id}
    Inbox(app.uow, "telegram").store([(str(update_id), update)], app.clock.now())
    return update


async def test_an_update_that_meets_a_locked_database_is_retried_and_handled_once(
        fake: FakeBotApi, impatient_sqlite: tuple[App, str]) -> None:
    app, db_file = impatient_sqlite
    async with running(app) as ch:
        update = await stored_report(fake, app, 9001)
        async with write_locked(db_file, 1.2):  # the first two attempts fail, the third succeeds
            await ch.on_update(Update.de_json(update, ch.bot), None)  # type: ignore[arg-type]  # (unused context)
        assert [m["text"] for m in fake.sent(ALICE)][1:] == [fake.sent(ALICE)[-1]["text"]]
        assert "12" in fake.sent(ALICE)[-1]["text"]
        assert Inbox(app.uow, "telegram").pending() == []


async def test_an_update_the_locked_database_keeps_refusing_stays_pending_and_is_handled_on_restart(
        fake: FakeBotApi, impatient_sqlite: tuple[App, str]) -> None:
    app, db_file = impatient_sqlite
    async with running(app) as ch:
        update = await stored_report(fake, app, 9002)
        async with write_locked(db_file, 3.5):  # all three attempts fail: given up, not marked
            await ch.on_update(Update.de_json(update, ch.bot), None)  # type: ignore[arg-type]  # (unused context)
        assert len(fake.sent(ALICE)) == 1
        assert [u["update_id"] for u in Inbox(app.uow, "telegram").pending()] == [9002]
    async with running(app) as ch:  # replays what the inbox holds
        sent = await fake.wait_for_sent_async(2, ALICE)
        assert "12" in sent[1]["text"]
        await idle(ch, fake)
        assert len(fake.sent(ALICE)) == 2 and Inbox(app.uow, "telegram").pending() == []


async def test_updates_that_cannot_be_stored_are_not_acknowledged_and_are_fetched_again(
        fake: FakeBotApi, impatient_sqlite: tuple[App, str]) -> None:
    app, db_file = impatient_sqlite
    async with running(app) as ch:
        async with write_locked(db_file, 1.5):
            fake.push_update(fake.message_update(ALICE, "你好", lang="en"))  # getUpdates brings it while locked
        sent = await fake.wait_for_sent_async(1, ALICE, timeout=20)
        assert "invite code" in sent[0]["text"]
        await idle(ch, fake)
        assert len(fake.sent(ALICE)) == 1 and Inbox(app.uow, "telegram").pending() == []
