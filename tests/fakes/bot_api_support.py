"""What the fake Bot API's own tests share: the token it serves, a chat, and an echo bot of python-telegram-bot."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from fakes.bot_api import FakeBotApi

TOKEN = "123456:TEST-token"
CHAT = 4242


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(f"echo: {update.effective_message.text}")


def echo_app(fake: FakeBotApi) -> Application[Any, Any, Any, Any, Any, Any]:
    """An application polling the fake that answers each text "echo: <text>" (not yet initialized)."""
    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    return app
