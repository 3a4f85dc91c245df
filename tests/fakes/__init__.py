"""Fakes of outside services for the tests (a Telegram Bot API server, a WeCom API server, ...)."""

from fakes.asgi import AsgiServer
from fakes.bot_api import FakeBotApi
from fakes.wecom_api import FakeWeComApi, WeComCallbacks

__all__ = ["AsgiServer", "FakeBotApi", "FakeWeComApi", "WeComCallbacks"]
