"""Pushing the outbox through the real python-telegram-bot to the fake Bot API: 429, 5xx, blocked, timeouts, paces."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy import select
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.request import HTTPXRequest

from bot.app import App
from bot.bootstrap import bootstrap
from bot.channels.shared.pacing import ChatPacer
from bot.channels.telegram.channel import LeanBot, base_url
from bot.channels.telegram.limits import FloodLimiter
from bot.channels.telegram.sender import TelegramSender, sending_bot
from bot.channels.telegram.transport import AiohttpRequest, ShardedRequest
from bot.config import Settings
from bot.db.chat_models import PersonRow
from bot.db.outbox import Delivery, enqueue
from bot.db.outbox_models import OutboxRow
from bot.services.people import identity_for
from fakes import FakeBotApi
from reminders.dispatch import dispatch
from support import DEADLINE

pytestmark = [pytest.mark.asyncio,
              pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")]
TOKEN = "4242:dispatch-token"
NOW = datetime(2018, 10, 9, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest_asyncio.fixture(params=["httpx", "aiohttp"])
async def setup(env: dict[str, str], request: pytest.FixtureRequest) -> AsyncIterator[tuple[FakeBotApi, App, LeanBot]]:
    """The fake, an app, and a bot over PTB's HTTPXRequest or over the sender's AiohttpRequest."""
    with known(FakeBotApi(TOKEN)) as fake:
        app = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW=NOW.isoformat())))
        transport = (HTTPXRequest(read_timeout=0.5, connection_pool_size=16) if request.param == "httpx" else
                     AiohttpRequest(16, read_timeout=0.5))
        bot = LeanBot(TOKEN, base_url=base_url(fake.base_url),
                             rate_limiter=FloodLimiter(overall_per_second=200, max_retries=0), request=transport)
        async with bot:
            yield fake, app, bot
        app.close()


def known(fake: FakeBotApi) -> FakeBotApi:
    """The fake, knowing the chats queue() writes to (people who started the bot before: Telegram refuses a message
    to a chat that never wrote to it)."""
    fake.add_chat(*range(100, 1000), 77, 78)
    return fake


def queue(app: App, n: int) -> list[int]:
    people = []
    with app.uow.begin() as s:
        for i in range(n):
            ident = identity_for(s, "telegram", str(100 + i), str(100 + i), f"p{i}", None, NOW)
            enqueue(s, f"test:{i}", Delivery(ident.person_id, "telegram", str(100 + i)), "notice", f"通知 {i}", NOW)
            people.append(ident.person_id)
    return people


def statuses(app: App) -> dict[str, str]:
    with app.uow() as s:
        return {r.key: r.status for r in s.scalars(select(OutboxRow))}


async def test_outcomes_are_recorded_as_they_happened(setup: tuple[FakeBotApi, App, LeanBot]) -> None:
    fake, app, bot = setup
    people = queue(app, 4)
    fake.fail_next("sendMessage", 502)  # a gateway error: Telegram may or may not have delivered it
    stats = await dispatch(app.uow, TelegramSender(bot), lambda: NOW, concurrency=1)
    assert stats.sent == 3 and stats.uncertain == 1
    assert sorted(statuses(app).values()) == ["sent", "sent", "sent", "uncertain"]

    def later() -> datetime:
        return NOW.replace(minute=5)

    assert (await dispatch(app.uow, TelegramSender(bot), later)).sent == 0  # never re-sent blindly
    assert len(fake.sent()) == 3

    more = queue_more(app, people)
    fake.fail_next("sendMessage", 403, description="Forbidden: bot was blocked by the user")
    stats = await dispatch(app.uow, TelegramSender(bot), later, concurrency=1)
    assert stats.blocked == 1
    with app.uow() as s:
        assert s.get(PersonRow, more[0]).active is False  # type: ignore[union-attr]

    fake.fail_next("sendMessage", 429, retry_after=3)        # flood control: wait as told
    queue_more(app, people[1:2], suffix="b")
    stats = await dispatch(app.uow, TelegramSender(bot), later, concurrency=1)
    assert stats.retried == 1
    with app.uow() as s:
        row = s.scalar(select(OutboxRow).where(OutboxRow.key == "again-b:0"))
        assert row is not None and row.status == "pending"
        assert (row.not_before - later()).total_seconds() == pytest.approx(3, abs=0.5)


def queue_more(app: App, people: list[int], suffix: str = "") -> list[int]:
    with app.uow.begin() as s:
        for i, pid in enumerate(people):
            enqueue(s, f"again{'-' + suffix if suffix else ''}:{i}", Delivery(pid, "telegram", str(100 + i)),
                    "notice", f"再次 {i}", NOW)
    return people


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_a_server_error_after_delivery_is_uncertain_and_never_resent(
        setup: tuple[FakeBotApi, App, LeanBot], status: int) -> None:
    """A gateway in front of Telegram answers 5xx for a message Telegram delivered: a blind retry doubles it."""
    fake, app, bot = setup
    queue(app, 3)
    fake.fail_next("sendMessage", status, times=3, after_delivery=True)
    stats = await dispatch(app.uow, TelegramSender(bot), lambda: NOW)
    assert (stats.sent, stats.uncertain, stats.retried) == (0, 3, 0)
    for minutes in (5, 30):
        await dispatch(app.uow, TelegramSender(bot), lambda m=minutes: NOW.replace(minute=m))  # type: ignore[misc]
    assert sorted(m["chat_id"] for m in fake.sent()) == [100, 101, 102]  # each delivered once, not again
    assert list(statuses(app).values()) == ["uncertain"] * 3


async def test_a_refused_connection_never_left_so_it_is_retried(env: dict[str, str]) -> None:
    app = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW=NOW.isoformat())))
    try:
        queue(app, 2)
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()  # nobody listens there now
        for transport in (HTTPXRequest(connection_pool_size=2), AiohttpRequest(2)):
            bot = LeanBot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot",
                          rate_limiter=FloodLimiter(overall_per_second=200, max_retries=0), request=transport)
            await transport.initialize()  # (not the bot: its getMe would fail the same way)
            try:
                stats = await dispatch(app.uow, TelegramSender(bot), lambda: NOW)
            finally:
                await transport.shutdown()
            assert (stats.sent, stats.retried, stats.uncertain) == (0, 2, 0)
            with app.uow.begin() as s:
                for row in s.scalars(select(OutboxRow)):
                    row.not_before = NOW
        assert list(statuses(app).values()) == ["pending"] * 2
    finally:
        app.close()


async def test_a_timeout_is_uncertain_and_never_resent(setup: tuple[FakeBotApi, App, LeanBot]) -> None:
    fake, app, bot = setup
    queue(app, 1)
    fake.delay = 1.0  # longer than the 0.5 s read timeout: Telegram may well have delivered it
    stats = await dispatch(app.uow, TelegramSender(bot), lambda: NOW)
    fake.delay = 0
    assert stats.uncertain == 1
    assert list(statuses(app).values()) == ["uncertain"]
    assert (await dispatch(app.uow, TelegramSender(bot), lambda: NOW.replace(hour=10))).sent == 0


async def test_a_pool_timeout_never_left_so_it_is_retried_not_uncertain(env: dict[str, str]) -> None:
    with known(FakeBotApi(TOKEN)) as fake:
        app = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW=NOW.isoformat())))
        try:
            queue(app, 2)
            fake.delay = 0.6  # the first send holds the only connection longer than the second may wait for it
            bot = LeanBot(TOKEN, base_url=base_url(fake.base_url),
                                 rate_limiter=FloodLimiter(overall_per_second=200, max_retries=0),
                                 request=HTTPXRequest(read_timeout=5, connection_pool_size=1, pool_timeout=0.1))
            async with bot:
                stats = await dispatch(app.uow, TelegramSender(bot), lambda: NOW, concurrency=2)
            assert (stats.sent, stats.retried, stats.uncertain) == (1, 1, 0)
            assert sorted(statuses(app).values()) == ["pending", "sent"]
            assert len(fake.sent()) == 1
        finally:
            app.close()


async def test_the_sending_bot_spreads_requests_over_small_pools(env: dict[str, str]) -> None:
    with known(FakeBotApi(TOKEN)) as fake:
        app = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW=NOW.isoformat())))
        try:
            queue(app, 40)
            fake.delay = 0.02
            request = ShardedRequest(3, 2)
            bot = LeanBot(TOKEN, base_url=base_url(fake.base_url),
                                 rate_limiter=FloodLimiter(overall_per_second=1000), request=request)
            async with bot:
                stats = await dispatch(app.uow, TelegramSender(bot), lambda: NOW, concurrency=20)
            assert stats.sent == 40 and sorted({int(m["chat_id"]) for m in fake.sent()}) == list(range(100, 140))
            assert request.busy == [0, 0, 0]
            assert list(statuses(app).values()) == ["sent"] * 40
        finally:
            app.close()


async def test_the_aiohttp_transport_keeps_connections_alive(env: dict[str, str]) -> None:
    with known(FakeBotApi(TOKEN)) as fake:
        app = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW=NOW.isoformat())))
        try:
            queue(app, 60)
            bot = sending_bot(TOKEN, fake.base_url, FloodLimiter(overall_per_second=1000), connections=4)
            async with bot:
                stats = await dispatch(app.uow, TelegramSender(bot), lambda: NOW, concurrency=20)
            assert stats.sent == 60 and len(fake.sent()) == 60
            assert isinstance(bot.request, AiohttpRequest) and bot.request.opened <= 4
        finally:
            app.close()


async def test_the_flood_limiter_keeps_its_pace_without_bursts(env: dict[str, str]) -> None:
    """Never faster than the pace: 360 messages at 300/s take at least (360 - 3) / 300 s (3 slots of catch-up for
    late wake-ups), and none is refused or lost. The busiest second at the server, which a loaded machine can crowd,
    is measured by bench/telegram_pace.py."""
    with known(FakeBotApi(TOKEN)) as fake:
        app = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW=NOW.isoformat())))
        try:
            queue(app, 360)
            limiter = FloodLimiter(overall_per_second=300, max_retries=0)
            bot = sending_bot(TOKEN, fake.base_url, limiter)
            async with bot:
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                stats = await dispatch(app.uow, TelegramSender(bot), lambda: NOW)
                elapsed = loop.time() - t0
            assert fake.too_many_requests == 0 and stats.sent == 360 and len(fake.sent()) == 360
            assert sorted(int(m["chat_id"]) for m in fake.sent()) == list(range(100, 460))
            assert elapsed >= (360 - 3) / 300  # a lower bound: a slow machine only makes it longer
        finally:
            app.close()


async def test_per_chat_pacing_spaces_one_chat_and_forgets_idle_ones() -> None:
    pacer = ChatPacer(0.05, keep=8)
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one(chat: int) -> None:
        await pacer.wait(chat)
        times.append(loop.time())

    await asyncio.gather(*(one(7) for _ in range(3)))
    assert all(b - a >= 0.045 for a, b in itertools.pairwise(times))
    for chat in range(100):  # distinct chats go at once
        await pacer.wait(1000 + chat)
    assert len(pacer) <= 2 * 100  # chats still within their period are kept; the table grows to twice them
    await asyncio.sleep(0.06)
    sizes = []
    for chat in range(300):
        await pacer.wait(5000 + chat)
        sizes.append(len(pacer))
    assert min(sizes) < 100  # the idle chats were forgotten on a later scan


async def test_after_flood_control_sending_resumes_at_the_pace_not_in_a_burst(env: dict[str, str]) -> None:
    """PTB's own overall limiter hands out slots during a RetryAfter pause, and those requests all go when it ends:
    a burst that draws the next 429. FloodLimiter takes the slot after the pause, so the 119 messages after the
    1 s pause still take 118 / 50 s more (a burst would save the second's worth of slots handed out during it).
    How the server's busiest second looks under load is measured by bench/telegram_pace.py."""
    with known(FakeBotApi(TOKEN)) as fake:
        app = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW=NOW.isoformat())))
        try:
            queue(app, 120)
            fake.fail_next("sendMessage", 429, retry_after=1)  # the first send: pause everything for a second
            bot = sending_bot(TOKEN, fake.base_url, FloodLimiter(overall_per_second=50, max_retries=3))
            async with bot:
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                stats = await dispatch(app.uow, TelegramSender(bot), lambda: NOW)
                elapsed = loop.time() - t0
            assert stats.sent == 120 and len(fake.sent()) == 120
            assert fake.too_many_requests == 1  # only the injected one
            assert elapsed >= 1 + (120 - 2) / 50  # the pause, then the pace (a lower bound: load only adds)
        finally:
            app.close()


async def test_editing_a_message_does_not_take_the_chats_one_message_a_second() -> None:
    """Greying out a prompt's buttons is an edit, not a message: it neither waits for its chat's next message slot
    nor takes one from the reply that follows it. With one message per 100 s per chat, any wait for a slot would
    outlast the generous deadline."""
    with known(FakeBotApi(TOKEN)) as fake:
        bot = sending_bot(TOKEN, fake.base_url, FloodLimiter(overall_per_second=100, per_chat_per_second=0.01))
        async with bot:
            yes = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="yes")]])
            prompt = await bot.send_message(77, "确认吗？", reply_markup=yes)  # chat 77's slot is taken for 100 s
            await asyncio.wait_for(bot.edit_message_reply_markup(77, prompt.message_id), DEADLINE)
            async with Bot(TOKEN, base_url=fake.base_url) as other:  # (not through this bot's chat pacing)
                earlier = await other.send_message(78, "确认吗？")
            await bot.edit_message_text("已确认", chat_id=78, message_id=earlier.message_id)  # chat 78: an edit ...
            await asyncio.wait_for(bot.send_message(78, "已保存"), DEADLINE)  # ... then a message, at once
            with pytest.raises(TimeoutError):  # the check can fail: a second message in chat 77 does wait
                await asyncio.wait_for(bot.send_message(77, "已保存"), 0.5)
    assert [(m["method"], m["chat_id"]) for m in fake.sent()] == [
        ("sendMessage", 77), ("sendMessage", 78), ("editMessageText", 78), ("sendMessage", 78)]
