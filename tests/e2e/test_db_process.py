"""The Telegram channel's database process: the router in a process of its own, started again if it dies."""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio
from held_support import reply_statuses
from sqlalchemy import create_engine, event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from bot.app import App
from bot.bootstrap import bootstrap
from bot.channels.shared.workers import DbProcess, in_memory
from bot.channels.telegram.channel import TelegramChannel
from bot.config import ConfigError, Settings
from bot.db.inbox import Inbox
from fakes import FakeBotApi
from support import Chat, figures, idle, invite, until

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")
ALICE = 1001


@pytest_asyncio.fixture
async def started(tg_env: dict[str, str]) -> AsyncIterator[tuple[App, TelegramChannel]]:
    app = bootstrap(Settings.from_env(tg_env))
    channel = TelegramChannel(app, poll_timeout=1)
    await channel.start()
    yield app, channel
    await channel.stop()
    app.close()


async def report_and_confirm(fake: FakeBotApi, app: App) -> None:
    alice = Chat(fake, ALICE)
    await alice.say(invite(app, "contact", "panshan"))
    assert "12家" in (await alice.say("高新技术企业 12家"))["text"]
    await alice.press("确认")
    assert figures(app) == [("2018Q3", Decimal(12), "telegram")]


@pytest.mark.asyncio
async def test_by_default_the_router_runs_in_a_database_process_of_its_own(
        fake: FakeBotApi, started: tuple[App, TelegramChannel]) -> None:
    app, channel = started
    expected = 1 if app.engine.dialect.name == "sqlite" else 2  # SQLite takes one writer at a time
    assert len(channel.workers) == expected
    await report_and_confirm(fake, app)
    assert all(w.proc is not None and w.proc.returncode is None for w in channel.workers)
    assert Inbox(app.uow, "telegram").pending() == []


@pytest.mark.asyncio
async def test_with_no_database_process_the_router_runs_on_the_bots_own_threads(
        tg_env: dict[str, str], fake: FakeBotApi) -> None:
    app = bootstrap(Settings.from_env(dict(tg_env, PLANBOT_DB_PROCESSES="0")))
    channel = TelegramChannel(app, poll_timeout=1)
    await channel.start()
    try:
        assert channel.workers == []
        await report_and_confirm(fake, app)
    finally:
        await channel.stop()
        app.close()


@pytest.mark.asyncio
async def test_a_database_process_that_dies_is_started_again_and_no_report_is_lost(
        fake: FakeBotApi, started: tuple[App, TelegramChannel], caplog: pytest.LogCaptureFixture) -> None:
    app, channel = started
    alice = Chat(fake, ALICE)
    await alice.say(invite(app, "contact", "panshan"))
    for worker in channel.workers:
        assert worker.proc is not None
        worker.proc.kill()
        await worker.proc.wait()
    assert "12家" in (await alice.say("高新技术企业 12家"))["text"]
    await alice.press("确认")
    assert figures(app) == [("2018Q3", Decimal(12), "telegram")]
    assert "the database process ended" in caplog.text
    assert any(w.proc is not None and w.proc.returncode is None for w in channel.workers)  # started again
    await idle(channel, fake)
    assert len(fake.sent(ALICE)) == 3 and Inbox(app.uow, "telegram").pending() == []


@pytest.mark.asyncio
async def test_a_database_process_killed_while_updates_wait_for_it_loses_none(
        fake: FakeBotApi, started: tuple[App, TelegramChannel]) -> None:
    app, channel = started
    chats = [Chat(fake, ALICE + i) for i in range(6)]
    for chat, unit in zip(chats, ["panshan", "dawa", "shuangtaizi", "xinglongtai", "liaodongwan", "liaohekou"],
                          strict=True):
        await chat.say(invite(app, "contact", unit))
    for chat in chats:
        fake.push_update(fake.message_update(chat.chat_id, "高新技术企业 12家", user_id=chat.chat_id))
    await until(lambda: any(w.busy for w in channel.workers), "an update sent to the database process",
                every=0.001)
    for worker in channel.workers:
        assert worker.proc is not None
        worker.proc.kill()
    for chat in chats:
        sent = await fake.wait_for_sent_async(2, chat.chat_id, timeout=20)
        assert "12家" in sent[1]["text"]
    await idle(channel, fake)
    assert all(len(fake.sent(c.chat_id)) == 2 for c in chats)
    assert Inbox(app.uow, "telegram").pending() == []


@pytest.mark.asyncio
async def test_ctrl_c_or_a_service_stop_does_not_end_the_database_process_before_the_bot(
        fake: FakeBotApi, started: tuple[App, TelegramChannel]) -> None:
    app, channel = started
    procs = [w.proc for w in channel.workers]
    for proc in procs:
        assert proc is not None
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGTERM)
    await report_and_confirm(fake, app)  # the bot stops them in order, after the updates in hand
    assert [w.proc for w in channel.workers] == procs  # the same processes, none started again
    assert all(p is not None and p.returncode is None for p in procs)
    await channel.stop()
    assert all(p is not None and p.returncode == 0 for p in procs)


@pytest.mark.asyncio
async def test_a_database_process_that_cannot_start_says_why(tg_env: dict[str, str]) -> None:
    app = bootstrap(Settings.from_env(tg_env))
    try:
        broken = dataclasses.replace(app.settings, database_url="nosuchdatabase://nowhere")
        with pytest.raises((NoSuchModuleError, ArgumentError), match="nosuchdatabase"):
            await DbProcess(broken, app.clock, None, "telegram").start()
    finally:
        app.close()


def test_db_processes_must_be_a_whole_number() -> None:
    assert Settings.from_env({"PLANBOT_DB_PROCESSES": "3"}).db_processes == 3
    assert Settings.from_env({}).db_processes is None
    with pytest.raises(ConfigError, match="PLANBOT_DB_PROCESSES='two' is not a whole number"):
        Settings.from_env({"PLANBOT_DB_PROCESSES": "two"})


def test_an_sqlite_database_in_memory_cannot_be_shared_with_another_process() -> None:
    assert in_memory(create_engine("sqlite://")) and in_memory(create_engine("sqlite:///:memory:"))
    assert not in_memory(create_engine("sqlite:////tmp/planbot.db"))


@pytest.mark.asyncio
async def test_on_sqlite_the_database_process_is_the_only_writer(fake: FakeBotApi,
                                                                started: tuple[App, TelegramChannel]) -> None:
    """On SQLite every write of a conversation (the updates stored, the figure, each reply's 'sending' mark and its
    outcome) is the database process's: the bot's own process writes nothing, so neither waits on the other's lock."""
    app, channel = started
    if app.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL takes many writers: there the bot's own process writes its bookkeeping itself")
    alice = Chat(fake, ALICE)
    code = invite(app, "contact", "panshan")  # (written by the test, before the count starts)
    writes: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            writes.append(statement)

    event.listen(app.engine, "before_cursor_execute", count)
    try:
        await alice.say(code)
        assert "12家" in (await alice.say("高新技术企业 12家"))["text"]
        await alice.press("确认")
        await until(lambda: reply_statuses(app) == {str(ALICE): "sent"}, "the saved reply's outcome written")
        await idle(channel, fake)
    finally:
        event.remove(app.engine, "before_cursor_execute", count)
    assert figures(app) == [("2018Q3", Decimal(12), "telegram")]
    assert writes == []
