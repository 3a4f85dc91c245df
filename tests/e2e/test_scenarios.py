"""A newcomer's whole first session, in Chinese, replayed on the console and through Telegram (polling)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Protocol

import pytest
import pytest_asyncio

from bot.bootstrap import App, bootstrap
from bot.channels.console import render
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from fakes import FakeBotApi
from support import Chat, TestBot, figures, invite

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
