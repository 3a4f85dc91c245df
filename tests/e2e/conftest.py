"""Console-channel fixtures in the errbot testbot style (push a message, read the replies), the Telegram ones (a
fake Bot API server and the environment that points planbot at it) and the WeCom ones (a fake WeCom API)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from wecom_support import wecom_vars

from bot.app import App
from bot.bootstrap import bootstrap
from bot.channels.telegram.channel import TelegramChannel
from bot.config import Settings
from fakes import FakeBotApi, FakeWeComApi
from support import TELEGRAM_TOKEN, TestBot

NOW = "2018-10-15T10:00:00+08:00"


@pytest.fixture
def chat_env(env: dict[str, str]) -> dict[str, str]:
    """The test environment with the clock at 2018-10-15 10:00 (Q3 reports fell due on 10 October)."""
    return dict(env, PLANBOT_NOW=NOW)


@pytest.fixture
def testbot(chat_env: dict[str, str]) -> Iterator[TestBot]:
    """planbot on the console, on a fresh database, Panjin plan loaded."""
    app = bootstrap(Settings.from_env(chat_env))
    yield TestBot(app)
    app.close()


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    """A fake Bot API server on 127.0.0.1 for the bot TELEGRAM_TOKEN."""
    with FakeBotApi(TELEGRAM_TOKEN) as api:
        yield api


@pytest.fixture
def tg_env(env: dict[str, str], fake: FakeBotApi) -> dict[str, str]:
    """The test environment with the clock at 2018-10-15 10:00 and Telegram pointed at the fake server."""
    return dict(env, PLANBOT_NOW=NOW, TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_API_URL=fake.base_url,
                TELEGRAM_MAX_RATE="1000")


@pytest.fixture
def tg_app(tg_env: dict[str, str]) -> Iterator[App]:
    """planbot bootstrapped for Telegram (tg_env), not yet receiving."""
    app = bootstrap(Settings.from_env(tg_env))
    yield app
    app.close()


@pytest_asyncio.fixture
async def channel(tg_app: App) -> AsyncIterator[TelegramChannel]:
    """The Telegram channel of tg_app, started (polling the fake every second), stopped afterwards."""
    ch = TelegramChannel(tg_app, poll_timeout=1)
    await ch.start()
    yield ch
    await ch.stop()


@pytest.fixture
def wecom_api() -> Iterator[FakeWeComApi]:
    """A fake WeCom API on 127.0.0.1 (Tencent's sample corp id, secret, token and key)."""
    with FakeWeComApi() as api:
        yield api


@pytest.fixture
def wecom_env(env: dict[str, str], wecom_api: FakeWeComApi) -> dict[str, str]:
    """The test environment with the clock at 2018-10-15 10:00 and WeCom configured with Tencent's sample values,
    pointed at the fake API, its callback on a free port."""
    return dict(env, PLANBOT_NOW=NOW, **wecom_vars(wecom_api.url, "127.0.0.1:0"))


@pytest.fixture
def wc_app(wecom_env: dict[str, str]) -> Iterator[App]:
    """planbot bootstrapped for WeCom (wecom_env), not yet receiving."""
    app = bootstrap(Settings.from_env(wecom_env))
    yield app
    app.close()
