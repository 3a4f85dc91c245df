"""A newcomer's whole first session, in Chinese, replayed on the console and through Telegram (polling, webhook)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, Protocol

import httpx
import pytest
import pytest_asyncio

from bot.app import App
from bot.bootstrap import bootstrap, run_channels
from bot.channels.console import render
from bot.channels.telegram.channel import TelegramChannel
from bot.config import Settings
from fakes import FakeBotApi
from support import Chat, TestBot, figures, invite, until

pytestmark = [pytest.mark.asyncio,
              pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")]
NOW = "2018-10-15T10:00:00+08:00"


class Person(Protocol):
    async def say(self, text: str, expect: int = 1) -> str: ...
    async def press(self, label: str) -> str: ...


class ConsolePerson:
    """Types on the console; pressing a button is typing its number."""

    def __init__(self, bot: TestBot, name: str) -> None:
        self.bot, self.name, self.labels = bot, name, list[str]()

    async def say(self, text: str, expect: int = 1) -> str:
        replies = self.bot.console.send(self.name, text)
        self.labels = [b.label for r in replies for b in r.flat_buttons]
        return "\n".join(render(r) for r in replies)

    async def press(self, label: str) -> str:
        number = next(i for i, text in enumerate(self.labels, 1) if label in text)
        return await self.say(str(number))


class TelegramPerson:
    """Writes in a private Telegram chat; presses inline buttons."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat

    async def say(self, text: str, expect: int = 1) -> str:
        return str((await self.chat.say(text, expect))["text"])

    async def press(self, label: str) -> str:
        return str((await self.chat.press(label))["text"])


async def newcomer_session(app: App, alice: Person, lee: Person) -> None:
    """Bind as a contact, report guided and one-shot, correct, switch to English; a leader asks two questions."""
    assert "盘山县人民政府" in await alice.say(invite(app, "contact", "panshan"))
    assert "尚有7项待填报" in await alice.say("填报")
    assert "2018Q3" in await alice.press("高新技术企业总数")
    assert "请确认" in await alice.say("12家")
    assert "12家" in await alice.press("确认")
    assert "105家" in await alice.say("科技型中小企业：一百零五")
    await alice.press("确认")
    assert "理由" in await alice.say("更正 高企 13家")
    assert "13家" in await alice.say("统计口径调整")
    assert "12家 → 13家" in await alice.press("确认")
    assert "English" in await alice.say("/language en")
    assert "Nothing has been reported" not in await alice.say("/correct")
    assert "领导" in await lee.say(invite(app, "leader"))
    lagging = await lee.say("哪些指标滞后？", expect=2)  # the list, then the overview chart
    assert "需关注" in lagging and "核心技术攻关项目" in lagging and "落后序时进度" not in lagging.split("\n\n")[0]
    assert "序时进度总览" in lagging  # the chart's caption
    missing = await lee.say("谁还没报")
    assert "兴隆台区人民政府" in missing and "盘山县人民政府：高新技术企业总数" not in missing
    assert [(p, v) for p, v, _ in figures(app)] == [("2018Q3", Decimal(13)), ("2018Q3", Decimal(105))]


@pytest.fixture
def scenario_env(env: dict[str, str]) -> dict[str, str]:
    return dict(env, PLANBOT_NOW=NOW)


async def test_on_the_console(scenario_env: dict[str, str]) -> None:
    app = bootstrap(Settings.from_env(scenario_env))
    try:
        bot = TestBot(app)
        await newcomer_session(app, ConsolePerson(bot, "alice"), ConsolePerson(bot, "lee"))
    finally:
        app.close()


@pytest_asyncio.fixture
async def telegram_app(scenario_env: dict[str, str]) -> AsyncIterator[tuple[FakeBotApi, App]]:
    with FakeBotApi("555:scenario-token") as fake:
        env = dict(scenario_env, TELEGRAM_BOT_TOKEN="555:scenario-token", TELEGRAM_API_URL=fake.base_url)
        app = bootstrap(Settings.from_env(env))
        channel = TelegramChannel(app, poll_timeout=1)
        await channel.start()
        try:
            yield fake, app
        finally:
            await channel.stop()
            app.close()


async def test_through_telegram(telegram_app: tuple[FakeBotApi, App]) -> None:
    fake, app = telegram_app
    await newcomer_session(app, TelegramPerson(Chat(fake, 31)), TelegramPerson(Chat(fake, 32)))


class WebhookChat(Chat):
    """A private chat whose updates the fake Telegram POSTs to the bot's webhook, instead of keeping them for
    getUpdates; each must be answered 200."""

    async def say(self, text: str, expect: int = 1) -> dict[str, Any]:
        before = len(self.fake.sent(self.chat_id))
        update = self.fake.message_update(self.chat_id, text, user_id=self.user_id, chat_type=self.chat_type,
                                          lang=self.lang)
        assert await self.fake.deliver_webhook_async(update) == 200
        return await self._await_reply(before, expect)

    async def press_data(self, data: str) -> dict[str, Any]:
        before = len(self.fake.sent(self.chat_id))
        assert await self.fake.deliver_webhook_async(self.fake.callback_update(self.chat_id, data,
                                                                               user_id=self.user_id)) == 200
        return await self._await_reply(before)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest_asyncio.fixture
async def webhook_app(scenario_env: dict[str, str]) -> AsyncIterator[tuple[FakeBotApi, App]]:
    """planbot in webhook mode (its ASGI server on a free port), registered with the fake Telegram."""
    with FakeBotApi("556:scenario-token") as fake:
        port = free_port()
        env = dict(scenario_env, TELEGRAM_BOT_TOKEN="556:scenario-token", TELEGRAM_API_URL=fake.base_url,
                   TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook/telegram",
                   TELEGRAM_WEBHOOK_SECRET="scenario-secret", PLANBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}")
        app = bootstrap(Settings.from_env(env))
        stop = asyncio.Event()
        task = asyncio.create_task(run_channels(app, stop, reminders=False))
        try:
            async with httpx.AsyncClient(timeout=5) as client:

                async def up() -> bool:
                    assert not task.done(), task.exception()
                    if not (fake.webhook and fake.webhook.get("url")):
                        return False
                    try:
                        return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
                    except httpx.TransportError:
                        return False

                await until(up, "the webhook registered and its server answering /healthz", timeout=60)
            yield fake, app
        finally:
            stop.set()
            await task
            app.close()


async def test_through_telegram_webhook(webhook_app: tuple[FakeBotApi, App]) -> None:
    fake, app = webhook_app
    await newcomer_session(app, TelegramPerson(WebhookChat(fake, 41)), TelegramPerson(WebhookChat(fake, 42)))
    assert not fake.pending_updates  # nothing went through getUpdates
