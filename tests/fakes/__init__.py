"""Fakes of outside services for the tests (a Telegram Bot API server, ...)."""

from fakes.asgi import AsgiServer
from fakes.bot_api import FakeBotApi

__all__ = ["AsgiServer", "FakeBotApi"]
